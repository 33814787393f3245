package org.relaymta.server.cli;

import java.io.BufferedReader;
import java.io.Console;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.relaymta.config.ConfigException;
import org.relaymta.config.internal.Credentials;
import org.relaymta.config.internal.DkimKeyGenerator;
import org.relaymta.config.internal.Env;
import org.relaymta.config.internal.NextHop;
import org.relaymta.config.internal.PostfixTable;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.config.internal.RelayFileEditor;
import org.relaymta.config.internal.RouteReport;
import org.relaymta.config.internal.TransportTable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/** {@code mta setup relay ...}: docker-mailserver's {@code setup relay} commands. */
@Command(name = "setup", mixinStandardHelpOptions = true,
        description = "Edit the relay configuration files, like docker-mailserver's 'setup' command.",
        subcommands = {SetupCommand.Relay.class, SetupCommand.Dkim.class})
final class SetupCommand implements Runnable {
    @picocli.CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(System.out);
    }

    @Command(name = "relay", mixinStandardHelpOptions = true,
            description = "Manage sender-dependent relay hosts and credentials (postfix-relaymap.cf, postfix-sasl-password.cf). "
                    + "A running relay picks changes up without restart.")
    static final class Relay implements Runnable {
        @picocli.CommandLine.Spec
        CommandLine.Model.CommandSpec spec;

        @Mixin
        ConfigDirOption configDir;

        @Override
        public void run() {
            spec.commandLine().usage(System.out);
        }

        private RelayFileEditor editor() {
            return new RelayFileEditor(configDir.resolve(Env.system()));
        }

        @Command(name = "add-domain", mixinStandardHelpOptions = true,
                description = "Send mail from DOMAIN through HOST:PORT (writes '@DOMAIN [HOST]:PORT', port default 25).")
        int addDomain(@Parameters(paramLabel = "DOMAIN") String domain, @Parameters(paramLabel = "HOST") String host,
                      @Parameters(paramLabel = "PORT", arity = "0..1") String port) {
            return edit(() -> editor().addDomain(domain, host, port), editor().relayMapFile().toString());
        }

        @Command(name = "add-auth", mixinStandardHelpOptions = true,
                description = {"Authenticate mail from DOMAIN as USERNAME (prompts twice for the password when it is not given).",
                        "--password-stdin reads it from the first line of standard input (scripts); a PASSWORD argument "
                                + "works too, but every user of the machine sees it in the process list.",
                        "With --oauth2 PROFILE, authenticate with tokens of that profile of oauth2-clients.cf instead."})
        int addAuth(@Parameters(paramLabel = "DOMAIN") String domain, @Parameters(paramLabel = "USERNAME") String username,
                    @Parameters(paramLabel = "PASSWORD", arity = "0..1") String password,
                    @picocli.CommandLine.Option(names = "--password-stdin",
                            description = "Read the password from the first line of standard input.") boolean passwordStdin,
                    @picocli.CommandLine.Option(names = "--oauth2", paramLabel = "PROFILE",
                            description = "OAuth2 profile (XOAUTH2 / OAUTHBEARER) instead of a password.") String oauth2) {
            String secret = password;
            if ((password != null ? 1 : 0) + (passwordStdin ? 1 : 0) + (oauth2 != null ? 1 : 0) > 1) {
                System.err.println("mta setup: give one of PASSWORD, --password-stdin and --oauth2 PROFILE");
                return 2;
            }
            if (password != null) {
                System.err.println("mta setup: warning: a password given as an argument is visible to every user in the process "
                        + "list; use --password-stdin or the prompt");
            }
            if (passwordStdin) {
                try {
                    String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
                    secret = line == null ? "" : line;
                } catch (IOException e) {
                    System.err.println("mta setup: cannot read the password: " + e.getMessage());
                    return 1;
                }
                if (secret.isEmpty()) {
                    System.err.println("Password must not be empty");
                    return 1;
                }
            }
            if (oauth2 != null) {
                if (!oauth2.matches("[A-Za-z0-9_-]+")) {
                    System.err.println("mta setup: invalid OAuth2 profile name '" + oauth2 + "'");
                    return 2;
                }
                secret = Credentials.OAUTH2_PREFIX + oauth2;
            }
            if (secret == null) {
                try {
                    secret = promptPassword();
                } catch (IOException e) {
                    System.err.println("mta setup: cannot read the password: " + e.getMessage());
                    return 1;
                }
                if (secret == null) {
                    return 1;
                }
            }
            String finalSecret = secret;
            return edit(() -> editor().addAuth(domain, username, finalSecret), editor().saslPasswordFile().toString());
        }

        @Command(name = "add-recipient-domain", mixinStandardHelpOptions = true,
                description = {"Send mail TO DOMAIN through HOST:PORT, whoever sends it (writes 'DOMAIN smtp:[HOST]:PORT' to "
                        + "postfix-transport.cf, port default 25; it wins over the sender relay map and the default relay host).",
                        "HOST 'direct' sends that domain's mail to its own MX instead ('DOMAIN smtp:')."})
        int addRecipientDomain(@Parameters(paramLabel = "DOMAIN") String domain, @Parameters(paramLabel = "HOST") String host,
                               @Parameters(paramLabel = "PORT", arity = "0..1") String port) {
            return edit(() -> editor().addRecipientDomain(domain, host, port), editor().transportFile().toString());
        }

        @Command(name = "remove-recipient-domain", mixinStandardHelpOptions = true,
                description = "Remove DOMAIN's entry from postfix-transport.cf.")
        int removeRecipientDomain(@Parameters(paramLabel = "DOMAIN") String domain) {
            try {
                int n = editor().removeRecipientDomain(domain);
                System.out.println(n == 0 ? "no transport entry for " + domain + " found" : "removed the transport entry for " + domain);
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println("mta setup relay: " + e.getMessage());
                return 2;
            } catch (IOException e) {
                System.err.println("mta setup relay: cannot write: " + e.getMessage());
                return 1;
            }
        }

        @Command(name = "exclude-domain", mixinStandardHelpOptions = true,
                description = "Deliver mail from DOMAIN directly to the recipients' MX (writes the opt-out line '@DOMAIN').")
        int excludeDomain(@Parameters(paramLabel = "DOMAIN") String domain) {
            return edit(() -> editor().excludeDomain(domain), editor().relayMapFile().toString());
        }

        @Command(name = "remove", mixinStandardHelpOptions = true,
                description = "Remove DOMAIN's relay host, opt-out and credentials entries.")
        int remove(@Parameters(paramLabel = "DOMAIN") String domain) {
            try {
                int n = editor().remove(domain);
                System.out.println(n == 0 ? "no entries for @" + domain.replaceFirst("^@", "") + " found"
                        : "removed " + n + " entr" + (n == 1 ? "y" : "ies") + " for @" + domain.replaceFirst("^@", ""));
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println("mta setup relay: " + e.getMessage());
                return 2;
            } catch (IOException e) {
                System.err.println("mta setup relay: cannot write: " + e.getMessage());
                return 1;
            }
        }

        @Command(name = "list", mixinStandardHelpOptions = true,
                description = "Show the effective relay mappings and credentials (passwords masked).")
        int list() {
            RelayConfig cfg = configDir.load();
            if (cfg == null) {
                return 2;
            }
            System.out.println("default relay host: " + cfg.routing().defaultRelayText().orElse("none (direct delivery)"));
            System.out.println("TLS level: " + cfg.routing().tlsLevel().postfixName()
                    + ", AUTH " + (cfg.routing().saslEnabled() ? "enabled" : "not configured"));
            System.out.println("sender-dependent relay hosts:");
            int n = 0;
            for (PostfixTable.Entry e : cfg.routing().senderRelayMap().entries().values()) {
                String target = e.value().isEmpty() ? "direct delivery (opted out)" : e.value();
                System.out.println("  " + e.key() + " -> " + target + "   (" + e.location() + ")");
                n++;
            }
            for (Map.Entry<String, List<NextHop>> e : cfg.routing().implicitRelayDomains().entrySet()) {
                System.out.println("  @" + e.getKey() + " -> " + e.getValue().get(0).asWritten() + "   (RELAY_HOST, local sender domain)");
                n++;
            }
            if (n == 0) {
                System.out.println("  (none)");
            }
            System.out.println("recipient domains (transport_maps, before the above):");
            if (cfg.routing().transports().isEmpty()) {
                System.out.println("  (none)");
            }
            for (TransportTable.Entry t : cfg.routing().transports().entries()) {
                System.out.println("  " + t.key() + " -> " + RouteReport.describe(t) + "   (" + t.location() + ")");
            }
            System.out.println("credentials:");
            if (cfg.routing().credentials().isEmpty()) {
                System.out.println("  (none)");
            }
            for (Credentials c : cfg.routing().credentials().values()) {
                System.out.println("  " + c.key() + " " + c.username() + ":********");
            }
            return 0;
        }

        private interface Edit {
            String apply() throws IOException;
        }

        private static int edit(Edit edit, String file) {
            try {
                String line = edit.apply();
                System.out.println("wrote '" + line + "' to " + file);
                return 0;
            } catch (IllegalArgumentException e) {
                System.err.println("mta setup relay: " + e.getMessage());
                return e.getMessage().startsWith("Password") ? 1 : 2;
            } catch (ConfigException e) {
                System.err.println("mta setup relay: " + e.getMessage());
                return 2;
            } catch (IOException e) {
                System.err.println("mta setup relay: cannot write " + file + ": " + e.getMessage());
                return 1;
            }
        }

        /** Twice, without echo on a terminal; from standard input otherwise (scripts, tests). */
        private static String promptPassword() throws IOException {
            Console console = System.console();
            String first;
            String second;
            if (console != null) {
                char[] a = console.readPassword("Enter Password: ");
                char[] b = console.readPassword("Confirm Password: ");
                first = a == null ? "" : new String(a);
                second = b == null ? "" : new String(b);
                if (a != null) {
                    Arrays.fill(a, '\0');
                }
                if (b != null) {
                    Arrays.fill(b, '\0');
                }
            } else {
                BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
                System.err.print("Enter Password: ");
                System.err.flush();
                first = in.readLine();
                System.err.print("Confirm Password: ");
                System.err.flush();
                second = in.readLine();
                System.err.println();
                first = first == null ? "" : first;
                second = second == null ? "" : second;
            }
            if (first.isEmpty()) {
                System.err.println("Password must not be empty");
                return null;
            }
            if (!first.equals(second)) {
                System.err.println("Passwords do not match!");
                return null;
            }
            return first;
        }
    }

    @Command(name = "dkim", mixinStandardHelpOptions = true,
            description = "Generate DKIM keys for DOMAIN... in docker-mailserver's OpenDKIM layout (opendkim/keys/DOMAIN/"
                    + "SELECTOR.private, KeyTable, SigningTable) and print the DNS TXT record to publish. A running relay "
                    + "signs with them without restart.")
    static final class Dkim implements Callable<Integer> {
        @Mixin
        ConfigDirOption configDir;

        @Parameters(paramLabel = "DOMAIN", arity = "1..*", description = "Sender domains (the From: address's domain).")
        List<String> domains;

        @picocli.CommandLine.Option(names = "--selector", defaultValue = "mail", description = "Selector (default ${DEFAULT-VALUE}).")
        String selector;

        @picocli.CommandLine.Option(names = "--keytype", defaultValue = "rsa",
                description = "rsa, ed25519, or both (ed25519 gets the selector SELECTOR-ed25519); default ${DEFAULT-VALUE}.")
        String keyType;

        @picocli.CommandLine.Option(names = "--keysize", defaultValue = "2048", description = "RSA key size (default ${DEFAULT-VALUE}).")
        int keySize;

        @Override
        public Integer call() {
            DkimKeyGenerator generator =
                    new DkimKeyGenerator(configDir.resolve(Env.system()));
            List<String> types = keyType.equals("both") ? List.of("rsa", "ed25519") : List.of(keyType);
            try {
                for (String domain : domains) {
                    for (String type : types) {
                        String sel = type.equals("ed25519") && types.size() > 1 ? selector + "-ed25519" : selector;
                        DkimKeyGenerator.Generated g = generator.generate(domain, sel, type, keySize);
                        System.out.println(g.recordName() + ". IN TXT " + DkimKeyGenerator.quoted(g.txt()));
                        System.err.println("mta: " + g.algorithm() + " key for " + g.domain() + " in " + g.privateKey()
                                + "; publish the TXT record above");
                    }
                }
                return 0;
            } catch (ConfigException e) {
                System.err.println("mta: " + e.getMessage());
                return 2;
            } catch (IOException e) {
                System.err.println("mta: " + e.getMessage());
                return 1;
            }
        }
    }
}
