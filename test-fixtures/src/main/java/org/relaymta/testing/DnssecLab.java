package org.relaymta.testing;

import java.io.IOException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * A DNSSEC-validating resolver on loopback, as a DANE deployment runs one: Debian's {@code nsd}
 * serves zones signed by {@code ldns-signzone} (and unsigned ones), {@code unbound} validates them
 * with the signed zone's key as trust anchor and sets the AD bit. A record changed after signing
 * makes its answers bogus (SERVFAIL), as a forged answer would. Both run in the foreground and are
 * stopped by {@link #close()}.
 *
 * <pre>{@code
 * try (DnssecLab dns = DnssecLab.in(dir).signed("test.", "ok.test. MX 10 mx.ok.test.", "mx.ok.test. A 127.0.0.2")
 *         .unsigned("plain.test.", "plain.test. MX 10 mx.ok.test.").start()) { ... dns.resolver() ... }
 * }</pre>
 */
public final class DnssecLab implements AutoCloseable {
    private static final Path NSD = Path.of("/usr/sbin/nsd");
    private static final Path UNBOUND = Path.of("/usr/sbin/unbound");
    private static final Path KEYGEN = Path.of("/usr/bin/ldns-keygen");
    private static final Path SIGNZONE = Path.of("/usr/bin/ldns-signzone");

    private final Path dir;
    private final Map<String, List<String>> signed = new LinkedHashMap<>();
    private final Map<String, List<String>> unsigned = new LinkedHashMap<>();
    private final List<String[]> tampered = new ArrayList<>();
    private final List<Process> processes = new ArrayList<>();
    private int resolverPort;

    private DnssecLab(Path dir) {
        this.dir = dir;
    }

    /** Whether nsd, unbound and ldnsutils are installed (Debian packages; .ci/run installs them). */
    public static boolean available() {
        return Files.isExecutable(NSD) && Files.isExecutable(UNBOUND) && Files.isExecutable(KEYGEN)
                && Files.isExecutable(SIGNZONE);
    }

    public static DnssecLab in(Path dir) {
        return new DnssecLab(dir);
    }

    /** A zone signed with its own keys, its KSK the resolver's trust anchor; records in zone-file syntax with full names. */
    public DnssecLab signed(String zone, String... records) {
        signed.put(absolute(zone), List.of(records));
        return this;
    }

    /** A zone served unsigned and declared insecure to the resolver (no chain of trust: answers without AD). */
    public DnssecLab unsigned(String zone, String... records) {
        unsigned.put(absolute(zone), List.of(records));
        return this;
    }

    /**
     * After signing, replaces {@code original} by {@code forged} in the signed zone file: the
     * signature no longer fits, so the resolver answers SERVFAIL for that name and type (bogus).
     */
    public DnssecLab tamper(String original, String forged) {
        tampered.add(new String[] {original, forged});
        return this;
    }

    public DnssecLab start() throws IOException, InterruptedException {
        Files.createDirectories(dir);
        int nsdPort = freePort();
        resolverPort = freePort();
        StringBuilder nsdConf = new StringBuilder("server:\n  ip-address: 127.0.0.1@" + nsdPort + "\n  database: \"\"\n"
                + "  username: \"\"\n  zonesdir: \"" + dir + "\"\n  pidfile: \"" + dir.resolve("nsd.pid") + "\"\n"
                + "  xfrdfile: \"" + dir.resolve("xfrd.state") + "\"\n  zonelistfile: \"" + dir.resolve("zone.list") + "\"\n"
                + "remote-control:\n  control-enable: no\n");
        StringBuilder unboundConf = new StringBuilder("server:\n  interface: 127.0.0.1\n  port: " + resolverPort + "\n"
                + "  username: \"\"\n  chroot: \"\"\n  directory: \"" + dir + "\"\n  pidfile: \"" + dir.resolve("unbound.pid")
                + "\"\n  do-not-query-localhost: no\n  module-config: \"validator iterator\"\n  use-syslog: no\n"
                + "  logfile: \"\"\n  verbosity: 1\n  val-log-level: 2\n  do-ip6: no\n  num-threads: 1\n"
                + "  auto-trust-anchor-file: \"\"\n");
        StringBuilder stubs = new StringBuilder();
        int n = 0;
        for (Map.Entry<String, List<String>> z : signed.entrySet()) {
            String file = "zone" + n++;
            Files.writeString(dir.resolve(file), zoneText(z.getKey(), z.getValue()), StandardCharsets.UTF_8);
            String zsk = run(dir, KEYGEN.toString(), "-a", "ECDSAP256SHA256", z.getKey()).strip();
            String ksk = run(dir, KEYGEN.toString(), "-a", "ECDSAP256SHA256", "-k", z.getKey()).strip();
            run(dir, SIGNZONE.toString(), "-n", file, zsk, ksk);
            Path signedFile = dir.resolve(file + ".signed");
            String text = Files.readString(signedFile);
            for (String[] t : tampered) {
                if (text.contains(t[0])) {
                    text = text.replace(t[0], t[1]);
                }
            }
            Files.writeString(signedFile, text);
            nsdConf.append("zone:\n  name: ").append(z.getKey()).append("\n  zonefile: ").append(file).append(".signed\n");
            unboundConf.append("  trust-anchor-file: \"").append(dir.resolve(ksk + ".key")).append("\"\n");
            unboundConf.append("  local-zone: \"").append(z.getKey()).append("\" nodefault\n");
            stubs.append("stub-zone:\n  name: \"").append(z.getKey()).append("\"\n  stub-addr: 127.0.0.1@").append(nsdPort)
                    .append("\n");
        }
        for (Map.Entry<String, List<String>> z : unsigned.entrySet()) {
            String file = "zone" + n++;
            Files.writeString(dir.resolve(file), zoneText(z.getKey(), z.getValue()), StandardCharsets.UTF_8);
            nsdConf.append("zone:\n  name: ").append(z.getKey()).append("\n  zonefile: ").append(file).append("\n");
            unboundConf.append("  domain-insecure: \"").append(z.getKey()).append("\"\n");
            unboundConf.append("  local-zone: \"").append(z.getKey()).append("\" nodefault\n");
            stubs.append("stub-zone:\n  name: \"").append(z.getKey()).append("\"\n  stub-addr: 127.0.0.1@").append(nsdPort)
                    .append("\n");
        }
        Files.writeString(dir.resolve("nsd.conf"), nsdConf);
        Files.writeString(dir.resolve("unbound.conf"), unboundConf.append(stubs));
        processes.add(daemon("nsd", NSD.toString(), "-d", "-c", dir.resolve("nsd.conf").toString()));
        await("nsd", "nsd started");
        processes.add(daemon("unbound", UNBOUND.toString(), "-d", "-c", dir.resolve("unbound.conf").toString()));
        await("unbound", "start of service");
        return this;
    }

    /** The validating resolver's address: give it to the relay as its only DNS server. */
    public InetSocketAddress resolver() {
        return new InetSocketAddress(InetAddress.getLoopbackAddress(), resolverPort);
    }

    private static String absolute(String zone) {
        return zone.endsWith(".") ? zone : zone + ".";
    }

    private static String zoneText(String zone, List<String> records) {
        StringBuilder sb = new StringBuilder("$ORIGIN " + zone + "\n$TTL 300\n");
        sb.append(zone).append(" IN SOA ns.").append(zone).append(" admin.").append(zone).append(" 1 3600 600 86400 300\n");
        sb.append(zone).append(" IN NS ns.").append(zone).append("\n");
        sb.append("ns.").append(zone).append(" IN A 127.0.0.1\n");
        for (String r : records) {
            sb.append(r).append('\n');
        }
        return sb.toString();
    }

    private Process daemon(String name, String... command) throws IOException {
        return new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(dir.resolve(name + ".log").toFile()).start();
    }

    private void await(String name, String line) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        Path log = dir.resolve(name + ".log");
        while (System.nanoTime() < deadline) {
            String text = Files.exists(log) ? Files.readString(log) : "";
            if (text.contains(line)) {
                return;
            }
            if (!processes.get(processes.size() - 1).isAlive()) {
                throw new IOException(name + " exited: " + text);
            }
            Thread.sleep(20);
        }
        throw new IOException(name + " did not start within 15 s: " + Files.readString(log));
    }

    private static String run(Path dir, String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out);
        }
        return out;
    }

    private static int freePort() throws IOException {
        for (int tries = 0; tries < 50; tries++) {
            int port;
            try (DatagramSocket udp = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
                port = udp.getLocalPort();
            }
            try (ServerSocket tcp = new ServerSocket()) {
                tcp.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
                return port;
            } catch (IOException taken) {
                // the TCP port of that number is in use: another
            }
        }
        throw new IOException("no free port for UDP and TCP");
    }

    @Override
    public void close() {
        for (Process p : processes) {
            p.destroy();
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }
}
