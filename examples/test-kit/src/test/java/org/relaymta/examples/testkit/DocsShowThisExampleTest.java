package org.relaymta.examples.testkit;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** docs/library.md shows this project whole (its pom, its code, its tests): what a reader copies builds and passes. */
class DocsShowThisExampleTest {

    private static String normalized(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.joining("\n"));
    }

    @Test
    void theDocsShowEachFileWordForWord() throws Exception {
        String docs = normalized(Files.readString(Path.of("../../docs/library.md")));
        for (String file : new String[] {"pom.xml", "src/main/java/org/relaymta/examples/testkit/WelcomeMailer.java",
            "src/test/java/org/relaymta/examples/testkit/WelcomeMailerTest.java"}) {
            assertTrue(docs.contains(normalized(Files.readString(Path.of(file)))), "docs/library.md must show " + file + " as it is");
        }
    }
}
