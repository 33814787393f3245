package org.relaymta.server.admin;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The dashboard's files (HTML, a script, a style sheet), served as they are from the jar: the page
 * reads /metrics and /health, and the queue with the token the operator types in. No build step.
 */
final class Dashboard {
    private static final Map<String, String> FILES = new ConcurrentHashMap<>();

    private Dashboard() {
    }

    static String resource(String name) {
        return FILES.computeIfAbsent(name, n -> {
            try (InputStream in = Dashboard.class.getResourceAsStream(n)) {
                if (in == null) {
                    throw new IllegalStateException("dashboard file " + n + " is missing from the jar");
                }
                return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
