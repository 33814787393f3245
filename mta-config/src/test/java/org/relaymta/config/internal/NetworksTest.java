package org.relaymta.config.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import org.junit.jupiter.api.Test;

class NetworksTest {

    @Test
    void postfixDefaultIsLoopbackOnly() throws Exception {
        Networks n = Networks.parse(Networks.POSTFIX_DEFAULT, "default");
        assertThat(n.contains(InetAddress.getByName("127.0.0.1"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("127.255.0.9"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("::1"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("10.0.0.1"))).isFalse();
        assertThat(n.contains(InetAddress.getByName("::2"))).isFalse();
    }

    @Test
    void cidrBlocksWithOddPrefixesAndSingleAddresses() throws Exception {
        Networks n = Networks.parse("192.168.1.0/23, 10.1.2.3 [2001:db8::]/33", "mynetworks");
        assertThat(n.contains(InetAddress.getByName("192.168.0.200"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("192.168.2.1"))).isFalse();
        assertThat(n.contains(InetAddress.getByName("10.1.2.3"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("10.1.2.4"))).isFalse();
        assertThat(n.contains(InetAddress.getByName("2001:db8:7fff::1"))).isTrue();
        assertThat(n.contains(InetAddress.getByName("2001:db8:8000::1"))).isFalse();
        assertThat(n.contains(InetAddress.getByName("::ffff:10.1.2.3"))).isTrue();
    }

    @Test
    void badEntriesNameTheSource() {
        assertThatThrownBy(() -> Networks.parse("127.0.0.0/8 example.com", "postfix-main.cf:4"))
                .hasMessageStartingWith("postfix-main.cf:4: invalid network 'example.com'");
        assertThatThrownBy(() -> Networks.parse("10.0.0.0/40", "MTA_MYNETWORKS"))
                .hasMessageStartingWith("MTA_MYNETWORKS: invalid network '10.0.0.0/40'");
    }
}
