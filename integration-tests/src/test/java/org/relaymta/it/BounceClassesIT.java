package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.BounceClasses;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.internal.EngineAccess;
import org.relaymta.testing.ScriptedSmtpServer;

/**
 * Every row of the shipped bounce-class table met through a real session: a scripted upstream gives
 * each recipient a provider's reply, and the relay's event for it carries the row's class; the log
 * line, the bounce report and the delivery metric say the class too.
 */
class BounceClassesIT {
    private static final Duration WAIT = Duration.ofSeconds(30);
    /** Reply to RCPT and the class it must get. */
    private static final List<String[]> CASES = List.of(
            new String[] {"550 5.7.26 This mail has been blocked because the sender is unauthenticated", "policy-authentication"},
            new String[] {"550 5.7.515 Access denied, sending domain does not meet the required authentication level", "policy-authentication"},
            new String[] {"421 4.7.28 Our system has detected an unusual rate of unsolicited mail", "rate-limited"},
            new String[] {"451 4.7.500 Server busy. Please try again later", "rate-limited"},
            new String[] {"421 4.7.0 [TSS04] Messages from 192.0.2.1 temporarily deferred due to unexpected volume", "rate-limited"},
            new String[] {"454 Throttling failure: Maximum sending rate exceeded.", "rate-limited"},
            new String[] {"550 5.7.606 Access denied, banned sending IP [192.0.2.1]", "spam-block"},
            new String[] {"550 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled", "auth-failed"},
            new String[] {"535 5.7.8 Username and Password not accepted", "auth-failed"},
            new String[] {"454 4.7.8 Temporary authentication failure", "auth-failed"},
            new String[] {"554 5.7.1 <x@ext.test>: Relay access denied", "relay-denied"},
            new String[] {"454 4.7.4 TLS not available due to local problem", "tls-required"},
            new String[] {"530 5.7.0 Must issue a STARTTLS command first", "tls-required"},
            new String[] {"552 5.3.4 Message size exceeds fixed limit", "message-too-large"},
            new String[] {"552 Message too big", "message-too-large"},
            new String[] {"552 5.2.2 Mailbox full", "mailbox-full"},
            new String[] {"450 Mailbox over quota", "mailbox-full"},
            new String[] {"550 5.1.1 <x@ext.test>: Recipient address rejected: User unknown", "invalid-recipient"},
            new String[] {"550 No such user here", "invalid-recipient"},
            new String[] {"550 5.4.4 Unable to route", "dns-failure"},
            new String[] {"451 Name service error for name=x.test", "dns-failure"},
            new String[] {"451 4.7.1 Please slow down", "rate-limited"},
            new String[] {"550 5.7.1 Message rejected as spam by Content Filtering", "spam-block"},
            new String[] {"550 5.7.350 Remote server returned an error", "spam-block"},
            new String[] {"451 4.4.1 Connection timed out", "other"});
    private static final Pattern CASE = Pattern.compile("RCPT TO:<CASE(\\d+)@");

    @TempDir
    Path temp;

    @Test
    void eachShippedRowGivesItsClassOnTheEventTheLogTheReportAndTheMetric() throws Exception {
        try (ScriptedSmtpServer upstream = ScriptedSmtpServer.concurrent(InetAddress.getLoopbackAddress(), 0, line -> {
            String cmd = line.toUpperCase(Locale.ROOT);
            Matcher m = CASE.matcher(cmd);
            if (m.find()) {
                return CASES.get(Integer.parseInt(m.group(1)))[0];
            }
            if (cmd.startsWith("EHLO")) {
                return "250 scripted.test";
            }
            return cmd.equals("DATA") ? "354 go" : cmd.equals("QUIT") ? "221 bye" : "250 ok";
        });
             RelayHarness relay = new RelayHarness(temp).env("DEFAULT_RELAY_HOST", "[127.0.0.1]:" + upstream.port())) {
            relay.start();
            for (int i = 0; i < CASES.size(); i++) {
                // The null sender: no bounce report for each (one report is looked at below).
                relay.server.engine().submit("", List.of("case" + i + "@ext.test"), ("Subject: case " + i + "\r\n\r\nx\r\n")
                        .getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            }
            Map<String, DeliveryEvent> byRecipient = new HashMap<>();
            while (byRecipient.size() < CASES.size()) {
                DeliveryEvent e = relay.nextEvent(WAIT);
                assertThat(e).as("an event for each case; so far " + byRecipient.keySet()).isNotNull();
                if (e.recipient().startsWith("case") && (e.status() == DeliveryEvent.Status.BOUNCED
                        || e.status() == DeliveryEvent.Status.DEFERRED)) {
                    byRecipient.putIfAbsent(e.recipient(), e);
                }
            }
            Set<String> rowsMet = new HashSet<>();
            for (int i = 0; i < CASES.size(); i++) {
                DeliveryEvent e = byRecipient.get("case" + i + "@ext.test");
                assertThat(e.bounceClass()).as(CASES.get(i)[0] + " -> " + e.reason()).isEqualTo(CASES.get(i)[1]);
                assertThat(e.replyCode()).isEqualTo(Integer.parseInt(CASES.get(i)[0].substring(0, 3)));
                assertThat(e.logLine()).endsWith(" class=" + CASES.get(i)[1]);
                BounceClasses.Row row = BounceClasses.shipped().rowFor(e.dsn(), e.reason());
                if (row != null) {
                    rowsMet.add(row.location());
                }
            }
            assertThat(rowsMet).as("every shipped row met by a case")
                    .containsExactlyInAnyOrderElementsOf(BounceClasses.shipped().rows().stream().map(BounceClasses.Row::location).toList());

            // A bounce report to a real sender names the class; the metric counts by class.
            relay.server.engine().submit("alice@one.test", List.of("case17@ext.test"), "Subject: report\r\n\r\nx\r\n"
                    .getBytes(StandardCharsets.US_ASCII)).get(10, TimeUnit.SECONDS);
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (upstream.content.stream().noneMatch(c -> c.contains("X-Bounce-Class")) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            // The report's lines (the server keeps each line of each message's data).
            String report = String.join("\n", upstream.content);
            assertThat(report).contains("Final-Recipient: rfc822; case17@ext.test\nOriginal-Recipient: rfc822;case17@ext.test\n"
                    + "Action: failed\nStatus: 5.1.1\n");
            assertThat(report).containsPattern("Diagnostic-Code: smtp; 550 5.1.1 [^\n]*\nX-Bounce-Class: invalid-recipient");
            assertThat(EngineAccess.internals(relay.server.engine()).metrics().registry().get("mta.deliveries")
                    .tag("status", "bounced").tag("class", "invalid-recipient").counters())
                    .isNotEmpty().allSatisfy(c -> assertThat(c.count()).isPositive());
        }
    }
}
