package org.relaymta.core.internal.delivery;

/**
 * A destination's TLS policy cannot be had or says the destination cannot be used: the mail is
 * deferred ({@code 4.7.5}), never sent in clear. {@code resultType} is the RFC 8460 failure type.
 */
final class TlsPolicyException extends Exception {
    private final String resultType;

    TlsPolicyException(String resultType, String message) {
        super(message, null, false, false);
        this.resultType = resultType;
    }

    String resultType() {
        return resultType;
    }
}
