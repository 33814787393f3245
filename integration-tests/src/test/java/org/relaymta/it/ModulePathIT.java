package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.StringWriter;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.module.ModuleReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.subethamail.wiser.Wiser;

/**
 * The library on the module path: its modules export only the API packages, an application module
 * that reaches into an internal package does not compile, and one that uses the API runs and
 * relays (Jakarta Mail finding the transport through the module's {@code provides}).
 */
class ModulePathIT {
    @TempDir
    Path temp;

    /** The library's jars and their dependencies, from this test's classpath. */
    private static String modulePath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> Path.of(e).getFileName().toString().matches("(mta-core|mta-config|netty-|micrometer-core|micrometer-commons"
                        + "|micrometer-observation|HdrHistogram|LatencyUtils|jakarta\\.mail-api|jakarta\\.activation-api|angus-mail"
                        + "|angus-activation|slf4j-api|gson).*|classes")
                        && !e.contains("integration-tests"))
                .collect(Collectors.joining(File.pathSeparator));
    }

    private static ModuleDescriptor descriptor(String name) {
        ModuleFinder finder = ModuleFinder.of(Arrays.stream(modulePath().split(File.pathSeparator)).map(Path::of).toArray(Path[]::new));
        return finder.find(name).map(ModuleReference::descriptor).orElseThrow(() -> new AssertionError("no module " + name));
    }

    private static Set<String> unqualifiedExports(ModuleDescriptor d) {
        return d.exports().stream().filter(e -> !e.isQualified()).map(ModuleDescriptor.Exports::source).collect(Collectors.toSet());
    }

    @Test
    void onlyTheApiPackagesAreExported() {
        assertThat(unqualifiedExports(descriptor("org.relaymta.core"))).containsExactlyInAnyOrder("org.relaymta.core", "org.relaymta.core.event",
                "org.relaymta.core.queue", "org.relaymta.core.mail");
        assertThat(unqualifiedExports(descriptor("org.relaymta.config"))).containsExactlyInAnyOrder("org.relaymta.config");
        assertThat(descriptor("org.relaymta.core").exports().stream().filter(ModuleDescriptor.Exports::isQualified))
                .allMatch(e -> e.source().contains(".internal") && e.targets().equals(Set.of("org.relaymta.server")));
    }

    private int compile(Path sources, Path out, StringWriter errors) throws Exception {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> files;
        try (var walk = Files.walk(sources)) {
            files = walk.filter(p -> p.toString().endsWith(".java")).map(Path::toString).toList();
        }
        List<String> args = new ArrayList<>(List.of("--module-path", modulePath(), "-d", out.toString()));
        args.addAll(files);
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int rc = javac.run(null, err, err, args.toArray(String[]::new));
        errors.write(err.toString(StandardCharsets.UTF_8));
        return rc;
    }

    @Test
    void anApplicationModuleUsesTheApiButCannotReachTheInternals() throws Exception {
        Path src = temp.resolve("src");
        Files.createDirectories(src.resolve("app"));
        Files.writeString(src.resolve("module-info.java"), "module app { requires org.relaymta.core; }\n");
        Files.writeString(src.resolve("app/Main.java"), """
                package app;
                import jakarta.mail.*;
                import jakarta.mail.internet.*;
                import java.nio.file.Path;
                import java.time.Duration;
                import java.util.Properties;
                import org.relaymta.core.RelaySettings;
                import org.relaymta.core.RelayEngine;
                public class Main {
                    public static void main(String[] args) throws Exception {
                        try (RelayEngine relay = RelayEngine.builder().spoolDirectory(Path.of(args[0]))
                                .settings(RelaySettings.defaults().defaultRelayHost(args[1]).hostname("app.test")).build().start()) {
                            Properties props = new Properties();
                            props.setProperty("mail.transport.protocol", "relaymta");
                            MimeMessage m = new MimeMessage(Session.getInstance(props));
                            m.setFrom(new InternetAddress("app@example.test"));
                            m.setRecipient(Message.RecipientType.TO, new InternetAddress("user@example.org"));
                            m.setSubject("from a module");
                            m.setText("hi");
                            Transport.send(m);
                            System.out.println(relay.queue().awaitEmpty(Duration.ofSeconds(30)) ? "delivered" : "still queued");
                        }
                    }
                }
                """);
        StringWriter errors = new StringWriter();
        assertThat(compile(src, temp.resolve("classes"), errors)).as(errors.toString()).isZero();

        Path bad = temp.resolve("bad");
        Files.createDirectories(bad.resolve("bad"));
        Files.writeString(bad.resolve("module-info.java"), "module bad { requires org.relaymta.core; }\n");
        Files.writeString(bad.resolve("bad/Peek.java"),
                "package bad; public class Peek { Object q = org.relaymta.core.internal.queue.QueueManager.class; }\n");
        StringWriter badErrors = new StringWriter();
        assertThat(compile(bad, temp.resolve("bad-classes"), badErrors)).isNotZero();
        assertThat(badErrors.toString()).contains("package org.relaymta.core.internal.queue is not visible");

        Wiser wiser = Wiser.port(RelayHarness.freePort());
        wiser.start();
        try {
            Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "--module-path", temp.resolve("classes") + File.pathSeparator + modulePath(), "-m", "app/app.Main",
                    temp.resolve("spool").toString(), "[127.0.0.1]:" + wiser.getServer().getPortAllocated())
                    .redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(output).isZero();
            assertThat(output).contains("delivered");
            assertThat(wiser.getMessages()).hasSize(1);
        } finally {
            wiser.stop();
        }
    }
}
