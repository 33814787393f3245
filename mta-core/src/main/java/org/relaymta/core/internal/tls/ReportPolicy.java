package org.relaymta.core.internal.tls;

import java.util.List;
import java.util.Optional;

/**
 * The policy a session to a recipient domain's MX ran under, as an RFC 8460 report names it.
 *
 * @param type             {@code sts}, {@code tlsa} or {@code no-policy-found}
 * @param domain           the recipient domain ({@code policy-domain})
 * @param strings          the policy: MTA-STS policy lines, or TLSA records as text ({@code policy-string})
 * @param mxHosts          MTA-STS mx patterns, or the TLSA record's host ({@code mx-host})
 * @param discoveryFailure a failure to find the policy that counts every session under it as failed
 *                         ({@code sts-policy-fetch-error}, {@code sts-policy-invalid}, ...)
 */
public record ReportPolicy(String type, String domain, List<String> strings, List<String> mxHosts,
                           Optional<String> discoveryFailure) {
    public ReportPolicy {
        strings = List.copyOf(strings);
        mxHosts = List.copyOf(mxHosts);
    }

    public static ReportPolicy noPolicy(String domain) {
        return new ReportPolicy("no-policy-found", domain, List.of(), List.of(), Optional.empty());
    }
}
