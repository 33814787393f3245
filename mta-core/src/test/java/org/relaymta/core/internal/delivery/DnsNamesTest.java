package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The names the resolver is willing to ask DNS about. */
class DnsNamesTest {
    @Test
    void hostNamesAreLookedUpInternationalNamesAsALabelsAndGarbageIsABounceWithoutAQuery() throws Exception {
        assertThat(DnsHostResolver.lookupName("MX1.Example.COM")).isEqualTo("mx1.example.com");
        assertThat(DnsHostResolver.lookupName("bücher.example")).isEqualTo("xn--bcher-kva.example");
        assertThatThrownBy(() -> DnsHostResolver.lookupName("x\"} fake\r.bank.test")).isInstanceOf(ResolveException.class)
                .satisfies(e -> assertThat(((ResolveException) e).dsn()).isEqualTo("5.1.2"))
                .hasMessageContaining("Malformed domain name x\\\"} fake\\r.bank.test").hasMessageNotContaining("\r");
        assertThatThrownBy(() -> DnsHostResolver.lookupName("a..b")).isInstanceOf(ResolveException.class);
    }
}
