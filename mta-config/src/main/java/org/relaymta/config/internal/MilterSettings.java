package org.relaymta.config.internal;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.relaymta.config.ConfigException;

/**
 * Postfix's milter parameters: {@code smtpd_milters} (mail received over SMTP),
 * {@code non_smtpd_milters} (the library and {@code mta sendmail}), {@code milter_default_action},
 * {@code milter_protocol}, the three timeouts and the macro lists, with Postfix's defaults.
 *
 * @param smtpd          milters for mail received over SMTP, in order
 * @param nonSmtpd       milters for mail submitted otherwise
 * @param defaultAction  what a milter that cannot be reached or fails means: tempfail, accept, reject, quarantine
 * @param protocol       the milter protocol version offered (2 to 6)
 * @param connectTimeout {@code milter_connect_timeout}
 * @param commandTimeout {@code milter_command_timeout}
 * @param contentTimeout {@code milter_content_timeout}
 * @param macros         macro names sent at each stage ({@code connect}, {@code helo}, {@code mail}, {@code rcpt},
 *                       {@code data}, {@code eoh}, {@code end_of_data})
 */
public record MilterSettings(List<Address> smtpd, List<Address> nonSmtpd, String defaultAction, int protocol,
                             Duration connectTimeout, Duration commandTimeout, Duration contentTimeout,
                             Map<String, List<String>> macros) {

    /** One milter: {@code inet:host:port} or {@code unix:/path}. */
    public record Address(String written, String host, int port, Path socket) {
        public boolean unix() {
            return socket != null;
        }

        @Override
        public String toString() {
            return written;
        }
    }

    public static final List<String> DEFAULT_ACTIONS = List.of("tempfail", "accept", "reject", "quarantine");

    /** Postfix's defaults (milter_*_macros as in postconf(5)). */
    /** The macro lists of {@link Params}' defaults, by stage ({@code eoh} for end of header). */
    public static Map<String, List<String>> defaultMacros() {
        Map<String, List<String>> m = new LinkedHashMap<>();
        m.put("connect", words(Params.MILTER_CONNECT_MACROS));
        m.put("helo", words(Params.MILTER_HELO_MACROS));
        m.put("mail", words(Params.MILTER_MAIL_MACROS));
        m.put("rcpt", words(Params.MILTER_RCPT_MACROS));
        m.put("data", words(Params.MILTER_DATA_MACROS));
        m.put("eoh", words(Params.MILTER_END_OF_HEADER_MACROS));
        m.put("end_of_data", words(Params.MILTER_END_OF_DATA_MACROS));
        return m;
    }

    private static List<String> words(Param<String> p) {
        return p.defaultText().isBlank() ? List.of() : List.of(p.defaultText().strip().split("[,\\s]+"));
    }

    public static MilterSettings none() {
        return new MilterSettings(List.of(), List.of(), "tempfail", 6, Duration.ofSeconds(30), Duration.ofSeconds(30),
                Duration.ofSeconds(300), defaultMacros());
    }

    public boolean isEmpty() {
        return smtpd.isEmpty() && nonSmtpd.isEmpty();
    }

    /** {@code inet:host:port}, {@code inet:port@host} (Sendmail style), {@code unix:/path} or {@code local:/path}. */
    public static List<Address> parseList(String value, String where) {
        List<Address> out = new ArrayList<>();
        if (value == null || value.isBlank()) {
            return out;
        }
        if (value.contains("{")) {
            throw new ConfigException(where, "per-milter settings in { } are not supported; use milter_default_action and "
                    + "the milter_*_timeout parameters");
        }
        for (String item : value.split("[,\\s]+")) {
            if (item.isBlank()) {
                continue;
            }
            String lower = item.toLowerCase(Locale.ROOT);
            if (lower.startsWith("unix:") || lower.startsWith("local:")) {
                String path = item.substring(item.indexOf(':') + 1);
                if (path.isBlank()) {
                    throw new ConfigException(where, "'" + item + "' has no socket path");
                }
                out.add(new Address(item, null, 0, Path.of(path)));
            } else if (lower.startsWith("inet:")) {
                String rest = item.substring(5);
                String host;
                String port;
                if (rest.contains("@")) {
                    port = rest.substring(0, rest.indexOf('@'));
                    host = rest.substring(rest.indexOf('@') + 1);
                } else {
                    int colon = rest.lastIndexOf(':');
                    if (colon < 0) {
                        throw new ConfigException(where, "'" + item + "' is not inet:HOST:PORT");
                    }
                    host = rest.substring(0, colon).replace("[", "").replace("]", "");
                    port = rest.substring(colon + 1);
                }
                int p;
                try {
                    p = Integer.parseInt(port);
                } catch (NumberFormatException e) {
                    p = -1;
                }
                if (p < 1 || p > 65535 || host.isBlank()) {
                    throw new ConfigException(where, "'" + item + "' is not inet:HOST:PORT with a port from 1 to 65535");
                }
                out.add(new Address(item, host, p, null));
            } else {
                throw new ConfigException(where, "'" + item + "' is not inet:HOST:PORT or unix:/path");
            }
        }
        return out;
    }
}
