/**
 * Relay MTA's test kit for applications' own tests: {@link org.relaymta.test.RelayMtaExtension}
 * (a JUnit 5 extension running an embedded relay) and {@link org.relaymta.test.TestUpstream} (a
 * capturing SMTP server, SubEthaSMTP's Wiser, standing for the smarthost).
 */
module org.relaymta.test {
    requires transitive org.relaymta.core;
    requires transitive org.junit.jupiter.api;
    requires subethasmtp;

    exports org.relaymta.test;
}
