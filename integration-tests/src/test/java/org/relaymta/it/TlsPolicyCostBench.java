package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.testing.DnssecLab;
import org.relaymta.testing.StsPolicyServer;
import org.relaymta.testing.TestCertificates;
import org.subethamail.smtp.server.SMTPServer;
import org.subethamail.wiser.Wiser;

/**
 * Not a test (no *Test or *IT name: {@code mvn verify} does not run it): what one message to a
 * recipient's MX costs, from submit to the sent event, under no policy, DANE and MTA-STS, for a
 * domain seen for the first time (cold) and again (the relay's policy cache and the resolver's warm;
 * the connection cache expired in between, so each message has its own TLS session). Run by
 * {@code bench/tls-policy-cost.sh}; prints a table of medians.
 */
class TlsPolicyCostBench {
    private static final int SAMPLES = Integer.getInteger("bench.samples", 5);

    @TempDir
    Path temp;

    @Test
    void costOfAPolicy() throws Exception {
        assumeTrue(DnssecLab.available(), "nsd, unbound and ldnsutils are needed");
        int port = RelayHarness.freePort();
        TestCertificates.Ca ca = TestCertificates.ca();
        TestCertificates.Pki mxCert = ca.issue("mx.bench.test", "mx.plain.lab");
        Wiser mx = Wiser.create(SMTPServer.port(port).bindAddress(InetAddress.getByName("127.0.0.2"))
                .startTlsSocketFactory(mxCert.serverContext()).enableTLS());
        mx.start();
        List<String> stsHosts = new ArrayList<>();
        List<String> signed = new ArrayList<>(List.of("mx.bench.test. A 127.0.0.2",
                "_" + port + "._tcp.mx.bench.test. TLSA 3 1 1 " + TestCertificates.sha256OfPublicKey(mxCert.serverCert())));
        List<String> plain = new ArrayList<>(List.of("mx.plain.lab. A 127.0.0.2"));
        for (int i = 0; i < SAMPLES; i++) {
            signed.add("dane" + i + ".test. MX 10 mx.bench.test.");
            plain.add("none" + i + ".plain.lab. MX 10 mx.plain.lab.");
            plain.add("sts" + i + ".plain.lab. MX 10 mx.plain.lab.");
            plain.add("_mta-sts.sts" + i + ".plain.lab. TXT \"v=STSv1; id=1\"");
            plain.add("mta-sts.sts" + i + ".plain.lab. A 127.0.0.5");
            stsHosts.add("mta-sts.sts" + i + ".plain.lab");
        }
        TestCertificates.Pki stsCert = ca.issue(stsHosts.toArray(String[]::new));
        try (DnssecLab dns = DnssecLab.in(temp.resolve("dns")).signed("test.", signed.toArray(String[]::new))
                .unsigned("plain.lab.", plain.toArray(String[]::new)).start();
             StsPolicyServer policies = new StsPolicyServer(InetAddress.getByName("127.0.0.5"), 0, stsCert.serverContext())) {
            for (int i = 0; i < SAMPLES; i++) {
                policies.policy("sts" + i + ".plain.lab", StsPolicyServer.policyText("enforce", 86400, "mx.plain.lab"));
            }
            RelayHarness relay = new RelayHarness(temp.resolve("relay")).dns(dns.resolver(), port)
                    .env("MTA_STS_PORT", String.valueOf(policies.port()));
            Files.writeString(relay.configDir.resolve("ca.pem"), ca.pem());
            relay.mainCf("smtp_tls_CAfile = ca.pem").mainCf("smtp_dns_support_level = dnssec")
                    .mainCf("smtp_tls_security_level = dane").mainCf("smtp_connection_cache_time_limit = 1s");
            relay.start();
            try {
                // JIT and first-connection costs out of the way: one of each, not measured.
                send(relay, "warm@none0.plain.lab", "may");
                String[][] kinds = {{"no policy (may)", "none%d.plain.lab", "may"}, {"DANE", "dane%d.test", "verified(dane)"},
                        {"MTA-STS enforce", "sts%d.plain.lab", "verified(sts)"}};
                System.out.println("| policy | first message to the domain (cold) | next message (cached) |");
                System.out.println("|---|---|---|");
                for (String[] k : kinds) {
                    List<Double> cold = new ArrayList<>();
                    List<Double> cached = new ArrayList<>();
                    for (int i = k[0].startsWith("no") ? 1 : 0; i < SAMPLES; i++) {
                        String domain = String.format(Locale.ROOT, k[1], i);
                        cold.add(send(relay, "a@" + domain, k[2]));
                        cached.add(send(relay, "b@" + domain, k[2]));
                    }
                    System.out.printf(Locale.ROOT, "| %s | %.1f ms | %.1f ms |%n", k[0], median(cold), median(cached));
                }
            } finally {
                relay.close();
            }
        } finally {
            mx.stop();
        }
    }

    /** Milliseconds from submit to the sent event; the connection cache has expired before it. */
    private static double send(RelayHarness relay, String rcpt, String outcome) throws Exception {
        Thread.sleep(1300);
        long start = System.nanoTime();
        relay.server.engine().submit("bench@one.test", List.of(rcpt), "Subject: bench\r\n\r\nx\r\n".getBytes(StandardCharsets.US_ASCII))
                .get(10, TimeUnit.SECONDS);
        DeliveryEvent e = relay.nextEvent(Duration.ofSeconds(20));
        double ms = (System.nanoTime() - start) / 1e6;
        assertThat(e.status()).as(e.logLine()).isEqualTo(DeliveryEvent.Status.SENT);
        assertThat(e.tlsOutcome()).as(e.logLine()).isEqualTo(outcome);
        return ms;
    }

    private static double median(List<Double> v) {
        List<Double> s = new ArrayList<>(v);
        Collections.sort(s);
        return s.size() % 2 == 1 ? s.get(s.size() / 2) : (s.get(s.size() / 2 - 1) + s.get(s.size() / 2)) / 2;
    }
}
