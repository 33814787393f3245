package org.relaymta.core.internal.sts;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One domain's MTA-STS policy (RFC 8461 section 3.2) as fetched: its mode, the MX patterns, how long
 * it may be cached, the TXT record's id it was fetched under, and when.
 *
 * @param id      the {@code id=} of the {@code _mta-sts} TXT record at fetch time
 * @param mode    enforce, testing or none
 * @param mx      MX host patterns ({@code mail.example.com}, {@code *.example.net})
 * @param maxAge  {@code max_age}
 * @param fetched when it was fetched
 * @param text    the policy as served, for the TLS reports' {@code policy-string}
 */
public record StsPolicy(String id, Mode mode, List<String> mx, Duration maxAge, Instant fetched, String text) {
    /** RFC 8461: at most one year. */
    static final long MAX_AGE_LIMIT = 31_557_600;

    public enum Mode {
        ENFORCE, TESTING, NONE;

        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public StsPolicy {
        mx = List.copyOf(mx);
    }

    /**
     * Parses a policy body. Fields are {@code key: value} lines (CRLF or LF); {@code version} must be
     * STSv1, {@code mode} and {@code max_age} are required, {@code mx} is required unless the mode is
     * none; unknown fields are ignored, as the RFC asks.
     *
     * @throws IllegalArgumentException with what is wrong (an {@code sts-policy-invalid} failure)
     */
    public static StsPolicy parse(String id, String body, Instant fetched) {
        String version = null;
        Mode mode = null;
        Long maxAge = null;
        List<String> mx = new ArrayList<>();
        for (String raw : body.split("\r?\n", -1)) {
            String line = raw.strip();
            if (line.isEmpty()) {
                continue;
            }
            int colon = line.indexOf(':');
            if (colon <= 0) {
                throw new IllegalArgumentException("line '" + clip(line) + "' is not 'key: value'");
            }
            String key = line.substring(0, colon).strip();
            String value = line.substring(colon + 1).strip();
            switch (key) {
                case "version" -> {
                    if (version != null) {
                        throw new IllegalArgumentException("version given twice");
                    }
                    version = value;
                }
                case "mode" -> {
                    if (mode != null) {
                        throw new IllegalArgumentException("mode given twice");
                    }
                    mode = switch (value) {
                        case "enforce" -> Mode.ENFORCE;
                        case "testing" -> Mode.TESTING;
                        case "none" -> Mode.NONE;
                        default -> throw new IllegalArgumentException("mode '" + clip(value) + "' is not enforce, testing or none");
                    };
                }
                case "max_age" -> {
                    if (!value.matches("[0-9]{1,10}") || Long.parseLong(value) > MAX_AGE_LIMIT) {
                        throw new IllegalArgumentException("max_age '" + clip(value) + "' is not 0.." + MAX_AGE_LIMIT);
                    }
                    maxAge = Long.parseLong(value);
                }
                case "mx" -> {
                    String p = value.toLowerCase(Locale.ROOT);
                    if (!p.matches("(\\*\\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\\.?")) {
                        throw new IllegalArgumentException("mx '" + clip(value) + "' is not a host name or *.domain");
                    }
                    mx.add(p.endsWith(".") ? p.substring(0, p.length() - 1) : p);
                }
                default -> {
                    // extensions: ignored (RFC 8461 section 3.2)
                }
            }
        }
        if (!"STSv1".equals(version)) {
            throw new IllegalArgumentException(version == null ? "no version field" : "version '" + clip(version) + "' is not STSv1");
        }
        if (mode == null) {
            throw new IllegalArgumentException("no mode field");
        }
        if (maxAge == null) {
            throw new IllegalArgumentException("no max_age field");
        }
        if (mx.isEmpty() && mode != Mode.NONE) {
            throw new IllegalArgumentException("no mx field");
        }
        return new StsPolicy(id, mode, mx, Duration.ofSeconds(maxAge), fetched, body);
    }

    /** Whether {@code mxHost} is one of the policy's MX hosts: exact, or one label in place of {@code *}. */
    public boolean matches(String mxHost) {
        String h = mxHost.toLowerCase(Locale.ROOT);
        if (h.endsWith(".")) {
            h = h.substring(0, h.length() - 1);
        }
        for (String p : mx) {
            if (p.startsWith("*.")) {
                int dot = h.indexOf('.');
                if (dot > 0 && h.substring(dot + 1).equals(p.substring(2))) {
                    return true;
                }
            } else if (p.equals(h)) {
                return true;
            }
        }
        return false;
    }

    public boolean expired(Instant now) {
        return !now.isBefore(fetched.plus(maxAge));
    }

    /** The policy's lines without blank ones, as RFC 8460 reports list them. */
    public List<String> lines() {
        List<String> out = new ArrayList<>();
        for (String l : text.split("\r?\n")) {
            if (!l.isBlank()) {
                out.add(l.strip());
            }
        }
        return out;
    }

    private static String clip(String s) {
        String t = s.length() > 64 ? s.substring(0, 64) + "..." : s;
        StringBuilder sb = new StringBuilder();
        for (char c : t.toCharArray()) {
            sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        }
        return sb.toString();
    }
}
