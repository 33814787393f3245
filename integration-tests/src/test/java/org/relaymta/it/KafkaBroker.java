package org.relaymta.it;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.common.Uuid;

/**
 * A real single-node Kafka broker in KRaft mode (broker and controller in one process), started
 * from the Kafka Maven artifacts on the test class path as its own JVM: the storage formatted
 * with {@code kafka.tools.StorageTool}, then {@code kafka.Kafka}. Its output goes to
 * {@code kafka.log} in its directory.
 */
final class KafkaBroker implements AutoCloseable {
    final int port;
    private final Path dir;
    private final Path config;
    private Process process;

    private KafkaBroker(int port, Path dir, Path config) {
        this.port = port;
        this.dir = dir;
        this.config = config;
    }

    /** Formats the storage of a new broker on free ports; {@link #start()} runs it. */
    static KafkaBroker create(Path dir) throws Exception {
        Files.createDirectories(dir);
        int port = RelayHarness.freePort();
        int controller = RelayHarness.freePort();
        Path config = dir.resolve("server.properties");
        Files.write(config, List.of("process.roles=broker,controller", "node.id=1",
                "controller.quorum.bootstrap.servers=127.0.0.1:" + controller,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controller,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port, "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                "log.dirs=" + dir.resolve("data"), "num.partitions=3", "offsets.topic.replication.factor=1",
                "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
                "share.coordinator.state.topic.replication.factor=1", "share.coordinator.state.topic.min.isr=1",
                "group.initial.rebalance.delay.ms=0", "auto.create.topics.enable=true"));
        Process format = java(dir, "kafka.tools.StorageTool", "format", "--standalone", "-t", Uuid.randomUuid().toString(),
                "-c", config.toString());
        if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
            format.destroyForcibly();
            throw new IllegalStateException("kafka storage format failed: " + Files.readString(dir.resolve("kafka.log")));
        }
        return new KafkaBroker(port, dir, config);
    }

    private static Process java(Path dir, String main, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new java.util.ArrayList<>(List.of(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp",
                System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("kafka.log").toFile())).start();
    }

    /** Starts the broker and waits until it accepts connections. */
    KafkaBroker start() throws Exception {
        process = java(dir, "kafka.Kafka", config.toString());
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (System.nanoTime() < deadline && process.isAlive()) {
            try (Socket s = new Socket("127.0.0.1", port)) {
                return this;
            } catch (IOException e) {
                Thread.sleep(100);
            }
        }
        process.destroyForcibly();
        throw new IllegalStateException("the Kafka broker did not start: " + Files.readString(dir.resolve("kafka.log")));
    }

    String bootstrap() {
        return "127.0.0.1:" + port;
    }

    @Override
    public void close() throws Exception {
        if (process != null) {
            process.destroyForcibly().waitFor(20, TimeUnit.SECONDS);
        }
    }
}
