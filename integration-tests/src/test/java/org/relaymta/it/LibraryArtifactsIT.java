package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * What {@code mvn install -DskipTests} gives an application developer: each library jar with its
 * {@code -sources} and {@code -javadoc} jars, the javadoc covering the API and not the internals.
 */
class LibraryArtifactsIT {
    private static final List<String> LIBRARIES = List.of("mta-config", "mta-core", "mta-server", "relay-mta-test",
            "relay-mta-spring-boot-starter");

    private static Path artifact(String module, String classifier) {
        return Path.of("..", module, "target", module + "-0.1.0-SNAPSHOT" + classifier + ".jar").toAbsolutePath().normalize();
    }

    @Test
    void everyLibraryJarHasItsSourcesAndJavadoc() throws Exception {
        for (String module : LIBRARIES) {
            assertThat(artifact(module, "")).as(module).exists();
            assertThat(artifact(module, "-sources")).as(module + " sources").exists();
            assertThat(artifact(module, "-javadoc")).as(module + " javadoc").exists();
        }
        try (JarFile javadoc = new JarFile(artifact("mta-core", "-javadoc").toFile());
             JarFile sources = new JarFile(artifact("mta-core", "-sources").toFile())) {
            List<String> pages = javadoc.stream().map(e -> e.getName()).toList();
            assertThat(pages).anyMatch(p -> p.endsWith("org/relaymta/core/RelayEngine.html"))
                    .anyMatch(p -> p.endsWith("org/relaymta/core/queue/QueueControl.html"))
                    .anyMatch(p -> p.endsWith("org/relaymta/core/event/DeliveryListener.html"))
                    .noneMatch(p -> p.contains("/internal/"));
            assertThat(sources.getEntry("org/relaymta/core/RelayEngine.java")).isNotNull();
            assertThat(sources.getEntry("module-info.java")).isNotNull();
        }
        assertThat(Files.size(artifact("mta-config", "-javadoc"))).isPositive();
    }
}
