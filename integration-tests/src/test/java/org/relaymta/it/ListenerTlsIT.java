package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import jakarta.mail.Message;
import jakarta.mail.Session;
import jakarta.mail.Transport;
import jakarta.mail.internet.InternetAddress;
import jakarta.mail.internet.MimeMessage;
import java.io.StringWriter;
import java.math.BigInteger;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLSocket;
import org.apache.commons.codec.digest.Crypt;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.Env;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.server.RelayServer;
import org.relaymta.server.ServerSettings;
import org.subethamail.wiser.Wiser;

/** The listener's own certificate from PEM files, and the implicit-TLS (port 465 style) listener. */
class ListenerTlsIT {
    @TempDir
    Path temp;

    @Test
    void pemCertificateIsPresentedAndImplicitTlsSubmissionWorks() throws Exception {
        // An RSA key in PKCS#1 PEM ("BEGIN RSA PRIVATE KEY"), as many existing setups have.
        KeyPairGenerator gen = KeyPairGenerator.getInstance("RSA");
        gen.initialize(2048);
        KeyPair keys = gen.generateKeyPair();
        X500Name name = new X500Name("CN=mail.one.test");
        X509Certificate cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(name,
                BigInteger.TEN, Date.from(Instant.now().minus(Duration.ofHours(1))),
                Date.from(Instant.now().plus(Duration.ofDays(1))), name, keys.getPublic())
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(keys.getPrivate())));
        Path config = temp.resolve("config");
        Files.createDirectories(config);
        for (Object[] f : List.of(new Object[] {"key.pem", keys.getPrivate()}, new Object[] {"cert.pem", cert})) {
            StringWriter out = new StringWriter();
            try (JcaPEMWriter w = new JcaPEMWriter(out)) {
                w.writeObject(f[1]);
            }
            Files.writeString(config.resolve((String) f[0]), out.toString());
        }
        Files.writeString(config.resolve("postfix-main.cf"), "myhostname = relay.test\nsmtpd_tls_cert_file = cert.pem\n"
                + "smtpd_tls_key_file = key.pem\n");
        Files.write(config.resolve("postfix-accounts.cf"), List.of("alice@one.test|{SHA256-CRYPT}" + Crypt.crypt("pw", "$5$salt")));
        int upstreamPort = RelayHarness.freePort();
        Wiser upstream = Wiser.port(upstreamPort);
        upstream.start();
        LinkedBlockingQueue<DeliveryEvent> events = new LinkedBlockingQueue<>();
        ServerSettings settings = new ServerSettings(new InetSocketAddress("127.0.0.1", 0), temp.resolve("spool"), config,
                new Env(Map.of("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstreamPort, "MTA_MYNETWORKS", "192.0.2.0/24")),
                List.of(), 25, null).withSubmission(null, new InetSocketAddress("127.0.0.1", 0));
        try (RelayServer relay = RelayServer.start(settings, events::add)) {
            try (Socket plain = new Socket("127.0.0.1", relay.port())) {
                plain.setSoTimeout(5000);
                ListenerSecurityIT.readReply(plain.getInputStream());
                plain.getOutputStream().write("EHLO x\r\n".getBytes(StandardCharsets.US_ASCII));
                ListenerSecurityIT.readReply(plain.getInputStream());
                SSLSocket tls = ListenerSecurityIT.startTls(plain, relay.port());
                X509Certificate presented = (X509Certificate) tls.getSession().getPeerCertificates()[0];
                assertThat(presented.getSubjectX500Principal().getName()).isEqualTo("CN=mail.one.test");
                assertThat(tls.getSession().getProtocol()).isIn("TLSv1.2", "TLSv1.3");
            }

            int smtpsPort = relay.extraPorts().get(0);
            Properties p = SubmissionAndMetricsIT.clientProperties(smtpsPort);
            p.put("mail.smtp.ssl.enable", "true");
            MimeMessage m = new MimeMessage(Session.getInstance(p));
            m.setFrom(new InternetAddress("alice@one.test"));
            m.setRecipient(Message.RecipientType.TO, new InternetAddress("bob@ext.test"));
            m.setSubject("implicit tls");
            m.setText("x");
            Transport.send(m, "alice@one.test", "pw");
            DeliveryEvent e = events.poll(20, TimeUnit.SECONDS);
            assertThat(e).isNotNull();
            assertThat(e.status()).isEqualTo(DeliveryEvent.Status.SENT);
            String data = new String(upstream.getMessages().get(0).getData(), StandardCharsets.UTF_8);
            assertThat(data).contains("with ESMTPSA id");
        } finally {
            upstream.stop();
        }
    }
}
