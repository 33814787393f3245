package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaging files a user installs: the systemd unit passes systemd's own checks. */
class PackagingIT {
    private static final Path UNIT = Path.of("..", "packaging", "systemd", "relay-mta.service");
    private static final Path LAUNCHER = Path.of("..", "packaging", "bin", "mta");

    /** The installed mta command runs the jar, with the same JVM defaults as ./mta (one heap default everywhere). */
    @Test
    void theInstalledMtaCommandRunsTheJarWithTheDefaultsOfTheRepositoryLauncher() throws Exception {
        Pattern opts = Pattern.compile("(?m)^default_opts=\"([^\"]+)\"");
        Matcher installed = opts.matcher(Files.readString(LAUNCHER));
        Matcher repository = opts.matcher(Files.readString(Path.of("..", "mta")));
        assertThat(installed.find() && repository.find()).isTrue();
        assertThat(installed.group(1)).isEqualTo(repository.group(1));
        assertThat(Files.readString(Path.of("..", "packaging", "container", "Containerfile")))
                .contains("COPY mta /usr/local/bin/mta", "ENTRYPOINT [\"/usr/local/bin/mta\"]").doesNotContain("-Xmx");

        ProcessBuilder pb = new ProcessBuilder("sh", LAUNCHER.toString(), "--version").redirectErrorStream(true);
        pb.environment().put("MTA_JAR", MtaProcessIT.serverJar().toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out).startsWith("mta ");
    }

    @TempDir
    Path temp;

    @Test
    void theSystemdUnitVerifiesAndReloadsWithHangup() throws Exception {
        String unit = Files.readString(UNIT);
        assertThat(unit).contains("Type=exec", "ExecReload=/bin/kill -HUP $MAINPID", "NoNewPrivileges=yes",
                "ProtectSystem=strict", "ExecStart=/usr/local/bin/mta run").doesNotContain("-Xmx");
        Path analyze = Path.of("/usr/bin/systemd-analyze");
        assumeTrue(Files.isExecutable(analyze) && Files.isExecutable(Path.of("/usr/bin/java")),
                "systemd-analyze (or /usr/bin/java, which the unit runs) is not installed: unit not verified");
        Path copy = temp.resolve("relay-mta.service");
        // The launcher where the unit expects it, here in a temporary place.
        Path launcher = temp.resolve("mta");
        Files.copy(LAUNCHER, launcher);
        Files.writeString(copy, unit.replace("/usr/local/bin/mta", launcher.toString()));
        Process p = new ProcessBuilder(analyze.toString(), "verify", copy.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        assertThat(out.strip()).as("systemd-analyze verify has nothing to say").isEmpty();
    }

    /** Every metric the Grafana dashboard charts is one the relay registers (Micrometer's dotted name). */
    @Test
    void theGrafanaDashboardChartsOnlyMetricsTheRelayExports() throws Exception {
        String dashboard = Files.readString(Path.of("..", "packaging", "grafana", "relay-mta-dashboard.json"));
        String sources = Files.readString(Path.of("..", "mta-core", "src", "main", "java", "org", "relaymta", "core", "internal",
                "metrics", "RelayMetrics.java"));
        Matcher m = Pattern.compile("\\b(mta_[a-z_]+)").matcher(dashboard);
        int found = 0;
        while (m.find()) {
            String dotted = m.group(1).replaceFirst("_(total|seconds)$", "").replace('_', '.');
            assertThat(sources).as(m.group(1) + " in the dashboard").contains("\"" + dotted + "\"");
            found++;
        }
        assertThat(found).isGreaterThan(8);
    }
}
