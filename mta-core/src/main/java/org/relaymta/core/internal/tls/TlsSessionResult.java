package org.relaymta.core.internal.tls;

/**
 * How one session to a recipient domain's MX went, as far as TLS is concerned.
 *
 * @param policy      the policy it ran under
 * @param mxHost      the MX host name ({@code receiving-mx-hostname})
 * @param sendingIp   the relay's address of the connection ({@code sending-mta-ip})
 * @param receivingIp the MX's address ({@code receiving-ip})
 * @param result      {@code success}, or an RFC 8460 result type ({@code starttls-not-supported}, ...)
 * @param detail      what happened, in words ({@code additional-information}); empty for a success
 */
public record TlsSessionResult(ReportPolicy policy, String mxHost, String sendingIp, String receivingIp, String result,
                               String detail) {
    public static final String SUCCESS = "success";

    public boolean success() {
        return SUCCESS.equals(result);
    }
}
