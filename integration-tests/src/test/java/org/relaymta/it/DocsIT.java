package org.relaymta.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The documentation as a reader meets it: every relative link of the README and the pages in docs/
 * (and the provider examples' page) leads to a file, and to a heading when it names one; every shell
 * block marked {@code <!-- tested -->} runs from the repository's root and succeeds.
 */
class DocsIT {
    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*\\]\\(([^)\\s]+)\\)");
    private static final Pattern TESTED = Pattern.compile("<!-- tested -->\\s*\\n```(?:sh|bash)\\n(.*?)\\n```", Pattern.DOTALL);

    private static List<Path> pages() throws Exception {
        List<Path> pages = new ArrayList<>(List.of(ROOT.resolve("README.md"), ROOT.resolve("examples/providers/README.md")));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        return pages;
    }

    /** GitHub's anchors: lower case, punctuation but '-' and '_' dropped, spaces as '-'. */
    static Set<String> anchors(String markdown) {
        Set<String> out = new HashSet<>();
        boolean fence = false;
        for (String line : markdown.split("\n")) {
            if (line.startsWith("```")) {
                fence = !fence;
            }
            if (!fence && line.matches("^#{1,6} .*")) {
                String title = line.replaceFirst("^#+ ", "").strip().toLowerCase(Locale.ROOT);
                out.add(title.replaceAll("[^\\p{L}\\p{N}_\\- ]", "").replace(' ', '-'));
            }
        }
        return out;
    }

    @Test
    void everyRelativeLinkLeadsToAFileAndItsHeading() throws Exception {
        List<String> broken = new ArrayList<>();
        int checked = 0;
        for (Path page : pages()) {
            String text = Files.readString(page);
            Matcher m = LINK.matcher(text.replaceAll("(?s)```.*?```", ""));
            while (m.find()) {
                String target = m.group(1);
                if (target.matches("^[a-z]+:.*")) {
                    continue;   // http:, https:, mailto: are not checked offline
                }
                checked++;
                String file = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
                String anchor = target.contains("#") ? target.substring(target.indexOf('#') + 1) : null;
                Path dest = file.isEmpty() ? page : page.getParent().resolve(file).normalize();
                if (!Files.exists(dest)) {
                    broken.add(ROOT.relativize(page) + ": " + target + " (no such file)");
                } else if (anchor != null && Files.isRegularFile(dest) && dest.toString().endsWith(".md")
                        && !anchors(Files.readString(dest)).contains(anchor)) {
                    broken.add(ROOT.relativize(page) + ": " + target + " (no such heading)");
                }
            }
        }
        assertThat(broken).isEmpty();
        assertThat(checked).isGreaterThan(30);
    }

    @Test
    void everyTestedShellBlockRuns() throws Exception {
        int ran = 0;
        for (Path page : pages()) {
            Matcher m = TESTED.matcher(Files.readString(page));
            while (m.find()) {
                String script = m.group(1);
                Process p = new ProcessBuilder("bash", "-euo", "pipefail", "-c", script).directory(ROOT.toFile())
                        .redirectErrorStream(true).start();
                String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
                assertThat(p.exitValue()).as(ROOT.relativize(page) + ":\n" + script + "\n" + out).isZero();
                ran++;
            }
        }
        assertThat(ran).isGreaterThanOrEqualTo(2);
    }
}
