package org.relaymta.config.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.relaymta.config.ConfigException;
import org.relaymta.config.QueueSettings;
import org.relaymta.config.SmtpClientSettings;

/**
 * Builds a {@link RelayConfig} snapshot from docker-mailserver's environment variables and config
 * directory: the {@link Params} values in force ({@link ParamValues}),
 * the tables of the directory, and one method per section. Every error names the variable, or the
 * file and line.
 */
public final class ConfigLoader {

    public static final String RELAY_MAP_FILE = "postfix-relaymap.cf";
    public static final String SASL_PASSWORD_FILE = "postfix-sasl-password.cf";
    public static final String MAIN_CF_FILE = "postfix-main.cf";
    public static final String ACCOUNTS_FILE = "postfix-accounts.cf";
    public static final String VIRTUAL_FILE = "postfix-virtual.cf";

    private final Env env;
    private final Path configDir;

    public ConfigLoader(Env env, Path configDir) {
        this.env = env;
        this.configDir = configDir;
    }

    public RelayConfig load() {
        List<String> warnings = new ArrayList<>();
        if (!Files.isDirectory(configDir)) {
            warnings.add("config directory " + configDir + " does not exist: only environment variables and defaults apply");
        }
        List<Path> sources = new ArrayList<>(List.of(configDir.resolve(MAIN_CF_FILE), configDir.resolve(ACCOUNTS_FILE),
                configDir.resolve(VIRTUAL_FILE), configDir.resolve(OAuth2Profiles.FILE)));
        MainCf main = readMainCf();
        for (MainCf.Parameter p : main.parameters().values()) {
            if (Params.forMainCf(p.name()).isEmpty()) {
                warnings.add(p.location() + ": unsupported parameter '" + p.name() + "' is ignored");
            }
        }
        ParamValues v = ParamValues.of(main, env);
        Map<String, String> accounts = accounts();
        tablePath(v, Params.SMTP_SASL_PASSWORD_MAPS, SASL_PASSWORD_FILE).ifPresent(ConfigLoader::refuseIfOthersMayWrite);
        PostfixTable saslTable = readTable(v, Params.SMTP_SASL_PASSWORD_MAPS, SASL_PASSWORD_FILE, sources, false);
        Routing routing = routing(v, accounts, saslTable, warnings, sources);
        ListenerSettings listener = listener(v, accounts, warnings, sources);
        ContentSettings content = content(v, sources);
        RelayConfig config = new RelayConfig(myhostname(v), routing, listener, delivery(v, sources), queue(v), content,
                EventSettings.from(v, configDir), ClusterSettings.from(v), List.copyOf(warnings), List.copyOf(sources));
        List<String> unused = new ArrayList<>(credentialsForDirectRoutes(config, saslTable));
        unused.addAll(ConfigFindings.of(config, saslTable, env));
        return unused.isEmpty() ? config : config.withMoreWarnings(unused);
    }

    // ---------------------------------------------------------------- sections

    private Routing routing(ParamValues v, Map<String, String> accounts, PostfixTable saslTable, List<String> warnings,
                            List<Path> sources) {
        // relayhost in postfix-main.cf overrides DEFAULT_RELAY_HOST, as DMS applies main.cf last; an empty one turns it off.
        Optional<String> defaultRelayText = v.explicit(Params.RELAYHOST);
        List<NextHop> defaultRelay = defaultRelayText.map(t -> NextHop.parseList(t, v.where(Params.RELAYHOST))).orElse(List.of());
        List<NextHop> fallback = v.explicit(Params.SMTP_FALLBACK_RELAY)
                .map(t -> NextHop.parseList(t, v.where(Params.SMTP_FALLBACK_RELAY))).orElse(List.of());

        Optional<String> relayHostEntry = relayHostEntry(v, warnings);
        PostfixTable relayMap = readTable(v, Params.SENDER_DEPENDENT_RELAYHOST_MAPS, RELAY_MAP_FILE, sources, false);
        for (PostfixTable.Entry e : relayMap.entries().values()) {
            if (!e.value().isEmpty() && !e.value().equalsIgnoreCase("DUNNO")) {
                NextHop.parseList(e.value(), e.location());
            }
            if (!e.key().equals("<>") && e.key().indexOf('@') < 0) {
                throw new ConfigException(e.location(), "relay map key '" + e.key() + "' is not a sender address, @domain or <>");
            }
        }
        Map<String, List<NextHop>> implicit = new LinkedHashMap<>();
        if (relayHostEntry.isPresent()) {
            List<NextHop> hops = List.of(NextHop.parse(relayHostEntry.get(), "RELAY_HOST"));
            for (String domain : localSenderDomains(accounts.keySet(), v)) {
                if (relayMap.lookup("@" + domain).isEmpty()) {
                    implicit.put(domain, hops);
                }
            }
        }

        // Credentials: the file, then the RELAY_USER / RELAY_PASSWORD pair under the default relay host.
        Map<String, Credentials> table = new LinkedHashMap<>();
        for (PostfixTable.Entry e : saslTable.entries().values()) {
            table.put(e.key().toLowerCase(Locale.ROOT), Credentials.parse(e.value(), e.key(), e.location()));
        }
        boolean saslFilePresent = tablePath(v, Params.SMTP_SASL_PASSWORD_MAPS, SASL_PASSWORD_FILE).filter(Files::exists).isPresent();
        Optional<String> user = v.explicit(Params.RELAY_USER);
        Optional<String> password = v.explicit(Params.RELAY_PASSWORD);
        Optional<Credentials> relayCredentials = Optional.empty();
        if (user.isPresent() && password.isPresent()) {
            Optional<String> key = env.get("DEFAULT_RELAY_HOST").or(() -> relayHostEntry);
            if (key.isEmpty()) {
                warnings.add("RELAY_USER and RELAY_PASSWORD are set but neither DEFAULT_RELAY_HOST nor RELAY_HOST is: credentials unused");
            } else {
                relayCredentials = Optional.of(new Credentials(user.get(), password.get(), key.get()));
            }
        }
        v.explicit(Params.SMTP_SASL_SECURITY_OPTIONS).filter(o -> !o.toLowerCase(Locale.ROOT).contains("noanonymous"))
                .ifPresent(o -> warnings.add(v.where(Params.SMTP_SASL_SECURITY_OPTIONS)
                        + ": smtp_sasl_security_options without noanonymous: anonymous AUTH is never used here anyway"));
        boolean envCredentials = user.isPresent() && password.isPresent();
        TransportTable transports = TransportTable.load(v.isSet(Params.TRANSPORT_MAPS) ? Optional.of(v.explicit(
                Params.TRANSPORT_MAPS).orElse("")) : Optional.empty(), v.where(Params.TRANSPORT_MAPS), configDir);
        sources.addAll(transports.sources());
        return Routing.derive(new Routing.Input(defaultRelay, defaultRelayText, fallback, relayMap, implicit, table,
                relayCredentials, envCredentials || saslFilePresent, saslFilePresent, v.explicit(Params.SMTP_SASL_AUTH_ENABLE),
                v.explicit(Params.SMTP_SENDER_DEPENDENT_AUTHENTICATION), v.explicit(Params.SMTP_TLS_SECURITY_LEVEL),
                v.get(Params.SMTP_TLS_WRAPPERMODE), OAuth2Profiles.load(configDir)), warnings).withTransports(transports);
    }

    /** Legacy {@code RELAY_HOST}: always {@code [host]:port}, mapped to every local sender domain. */
    private static Optional<String> relayHostEntry(ParamValues v, List<String> warnings) {
        Optional<String> relayHost = v.explicit(Params.RELAY_HOST);
        if (relayHost.isEmpty()) {
            return Optional.empty();
        }
        String host = relayHost.get();
        if (host.startsWith("[") && host.endsWith("]") && host.length() > 2) {
            host = host.substring(1, host.length() - 1);
            warnings.add("RELAY_HOST: brackets are added automatically; '" + relayHost.get() + "' used as '" + host + "'");
        }
        int port;
        try {
            port = v.get(Params.RELAY_PORT);
        } catch (ConfigException e) {
            throw new ConfigException("RELAY_PORT", "'" + v.origin(Params.RELAY_PORT).map(ParamValues.Origin::text).orElse("")
                    + "' is not a port number" + (e.getMessage().contains("non-negative") ? "" : " from 1 to 65535"));
        }
        String entry = "[" + host + "]:" + port;
        NextHop.parse(entry, "RELAY_HOST");
        return Optional.of(entry);
    }

    private ListenerSettings listener(ParamValues v, Map<String, String> accounts, List<String> warnings, List<Path> sources) {
        Optional<Path> cert;
        Optional<Path> key;
        Optional<String> chain = v.explicit(Params.SMTPD_TLS_CHAIN_FILES);
        if (chain.isPresent()) {
            // One PEM file with key and chain, or key file then certificate file(s).
            String[] files = chain.get().split("[,\\s]+");
            key = Optional.of(configDir.resolve(files[0]));
            cert = Optional.of(configDir.resolve(files.length > 1 ? files[1] : files[0]));
        } else {
            cert = v.explicit(Params.SMTPD_TLS_CERT_FILE).map(this::fileInConfig);
            Optional<Path> certFile = cert;
            key = v.explicit(Params.SMTPD_TLS_KEY_FILE).map(this::fileInConfig).or(() -> certFile);
        }
        for (Optional<Path> f : List.of(cert, key)) {
            if (f.isPresent() && !Files.isReadable(f.get())) {
                throw new ConfigException(chain.isPresent() ? v.where(Params.SMTPD_TLS_CHAIN_FILES) : "smtpd_tls_cert_file/MTA_TLS_CERT",
                        "TLS file " + f.get() + " is not readable");
            }
        }
        return ListenerSettings.of(v, accounts, cert, key, senderPolicy(v, warnings, sources));
    }

    /** A file named in main.cf (relative to the config directory) or by a variable (as given). */
    private Path fileInConfig(String name) {
        return configDir.resolve(name);
    }

    /**
     * smtpd_sender_restrictions for every listener; SPOOF_PROTECTION (docker-mailserver's name) puts
     * reject_authenticated_sender_login_mismatch first on the submission and smtps listeners, and
     * is on unless set to 0 [improvement: DMS and Postfix leave it off]; the login map is
     * smtpd_sender_login_maps, or docker-mailserver's own.
     */
    private SenderPolicy senderPolicy(ParamValues v, List<String> warnings, List<Path> sources) {
        List<SenderPolicy.Restriction> relay = v.explicit(Params.SMTPD_SENDER_RESTRICTIONS)
                .map(t -> SenderPolicy.parse(t, v.where(Params.SMTPD_SENDER_RESTRICTIONS), warnings)).orElse(List.of());
        List<SenderPolicy.Restriction> submission = new ArrayList<>();
        if (!v.get(Params.SPOOF_PROTECTION).equals("0")) {
            submission.add(SenderPolicy.Restriction.REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH);
        }
        submission.addAll(relay);
        SenderLogins logins = v.explicit(Params.SMTPD_SENDER_LOGIN_MAPS)
                .map(t -> SenderLogins.load(t, v.where(Params.SMTPD_SENDER_LOGIN_MAPS), configDir))
                .orElseGet(() -> SenderLogins.dockerMailserver(configDir));
        addSources(sources, logins.sources());
        return new SenderPolicy(logins, relay, List.copyOf(submission), v.get(Params.SMTPD_SASL_AUTHENTICATED_HEADER));
    }

    private DeliverySettings delivery(ParamValues v, List<Path> sources) {
        List<String> filter = v.explicit(Params.SMTP_SASL_MECHANISM_FILTER)
                .map(t -> List.of(t.toUpperCase(Locale.ROOT).split("[,\\s]+"))).orElse(List.of());
        SmtpClientSettings smtp = new SmtpClientSettings(v.get(Params.SMTP_CONNECT_TIMEOUT), v.get(Params.SMTP_HELO_TIMEOUT),
                v.get(Params.SMTP_MAIL_TIMEOUT), v.get(Params.SMTP_RCPT_TIMEOUT), v.get(Params.SMTP_STARTTLS_TIMEOUT),
                v.get(Params.SMTP_DATA_INIT_TIMEOUT), v.get(Params.SMTP_DATA_XFER_TIMEOUT), v.get(Params.SMTP_DATA_DONE_TIMEOUT),
                v.get(Params.SMTP_QUIT_TIMEOUT), v.get(Params.SMTP_CONNECTION_CACHE_TIME_LIMIT), filter, caFile(v),
                TlsProtocols.of(v), v.get(Params.SMTP_LINE_LENGTH_LIMIT));
        RelayLimits limits = RelayLimits.load(configDir);
        sources.add(configDir.resolve(RelayLimits.FILE));
        TlsPolicies policies = TlsPolicies.load(v.explicit(Params.SMTP_TLS_POLICY_MAPS), v.where(Params.SMTP_TLS_POLICY_MAPS),
                configDir);
        sources.addAll(policies.sources());
        String host = myhostname(v);
        TlsSecurity.Reporting reports = new TlsSecurity.Reporting(v.get(Params.SMTP_TLSRPT_ENABLE),
                v.explicit(Params.TLSRPT_ORGANIZATION_NAME).orElse(host),
                v.explicit(Params.TLSRPT_CONTACT_INFO).orElse("postmaster@" + host),
                v.explicit(Params.TLSRPT_SENDER).orElse("postmaster@" + host), v.get(Params.TLSRPT_INTERVAL));
        TlsSecurity tls = new TlsSecurity(policies, caPath(v), v.get(Params.SMTP_DNS_SUPPORT_LEVEL).equals("dnssec"),
                v.get(Params.SMTP_MTA_STS), v.get(Params.MTA_STS_PORT), reports);
        BounceClasses classes = BounceClasses.load(configDir);
        sources.add(configDir.resolve(BounceClasses.FILE));
        ShapingRules shaping = ShapingRules.load(configDir);
        sources.add(configDir.resolve(ShapingRules.FILE));
        return new DeliverySettings(smtp, v.get(Params.RELAY_FAILURE_THRESHOLD), limits, tls, classes, shaping);
    }

    /** The queue section: every value the table's, so its defaults are Postfix's. */
    static QueueSettings queue(ParamValues v) {
        return new QueueSettings(v.get(Params.QUEUE_RUN_DELAY), v.get(Params.MINIMAL_BACKOFF_TIME),
                v.get(Params.MAXIMAL_BACKOFF_TIME), v.get(Params.MAXIMAL_QUEUE_LIFETIME), v.get(Params.BOUNCE_QUEUE_LIFETIME),
                v.get(Params.DELAY_WARNING_TIME), v.get(Params.DEFAULT_DESTINATION_CONCURRENCY_LIMIT),
                v.get(Params.DEFAULT_DESTINATION_RECIPIENT_LIMIT), v.get(Params.BOUNCE_SIZE_LIMIT), v.get(Params.QUEUE_MINFREE));
    }

    private ContentSettings content(ParamValues v, List<Path> sources) {
        HeaderChecks headerChecks = headerChecks(v, Params.HEADER_CHECKS, EnumSet.allOf(HeaderChecks.Action.class));
        HeaderChecks smtpHeaderChecks = headerChecks(v, Params.SMTP_HEADER_CHECKS, HeaderChecks.DELIVERY_ACTIONS);
        sources.addAll(headerChecks.sources());
        sources.addAll(smtpHeaderChecks.sources());
        DkimTable dkim = DkimTable.load(configDir);
        addSources(sources, dkim.sources());
        return new ContentSettings(v.get(Params.MESSAGE_SIZE_LIMIT), headerChecks, smtpHeaderChecks, milters(v), dkim);
    }

    private MilterSettings milters(ParamValues v) {
        List<MilterSettings.Address> smtpd = MilterSettings.parseList(v.explicit(Params.SMTPD_MILTERS).orElse(""),
                v.where(Params.SMTPD_MILTERS));
        List<MilterSettings.Address> nonSmtpd = MilterSettings.parseList(v.explicit(Params.NON_SMTPD_MILTERS).orElse(""),
                v.where(Params.NON_SMTPD_MILTERS));
        Map<String, List<String>> macros = new LinkedHashMap<>(MilterSettings.defaultMacros());
        Map<String, Param<String>> byStage = new LinkedHashMap<>();
        byStage.put("connect", Params.MILTER_CONNECT_MACROS);
        byStage.put("helo", Params.MILTER_HELO_MACROS);
        byStage.put("mail", Params.MILTER_MAIL_MACROS);
        byStage.put("rcpt", Params.MILTER_RCPT_MACROS);
        byStage.put("data", Params.MILTER_DATA_MACROS);
        byStage.put("eoh", Params.MILTER_END_OF_HEADER_MACROS);
        byStage.put("end_of_data", Params.MILTER_END_OF_DATA_MACROS);
        byStage.forEach((stage, p) -> v.explicit(p).ifPresent(t -> macros.put(stage, List.of(t.strip().split("[,\\s]+")))));
        return new MilterSettings(smtpd, nonSmtpd, v.get(Params.MILTER_DEFAULT_ACTION), v.get(Params.MILTER_PROTOCOL),
                v.get(Params.MILTER_CONNECT_TIMEOUT), v.get(Params.MILTER_COMMAND_TIMEOUT), v.get(Params.MILTER_CONTENT_TIMEOUT),
                Map.copyOf(macros));
    }

    private static String myhostname(ParamValues v) {
        return v.explicit(Params.MYHOSTNAME).orElseGet(ConfigLoader::localHostName);
    }

    // ---------------------------------------------------------------- findings that need the whole snapshot

    /**
     * Credentials keyed by a sender whose mail is delivered directly (no relay host for it, or opted
     * out): they are never used, because credentials are never sent to a recipient's MX.
     */
    static List<String> credentialsForDirectRoutes(RelayConfig config, PostfixTable saslTable) {
        List<String> warnings = new ArrayList<>();
        if (!config.routing().saslEnabled()) {
            return warnings;
        }
        for (PostfixTable.Entry e : saslTable.entries().values()) {
            String key = e.key();
            if (key.indexOf('@') < 0) {
                continue;   // a relay host or [host]:port: used whenever that host is the next hop
            }
            String sender = key.startsWith("@") ? "postmaster" + key : key;
            Route route = Router.route(config, sender, "someone@example.invalid");
            if (route.direct()) {
                warnings.add(e.location() + ": credentials for " + key + " are never used: mail from " + key
                        + (route.source() == Route.Source.OPT_OUT ? " is opted out of relaying" : " has no relay host")
                        + " and goes directly to the recipients' MX, which never gets relay credentials");
            }
        }
        return warnings;
    }

    // ---------------------------------------------------------------- files of the config directory

    /** {@code user@domain|{SCHEME}hash} lines of postfix-accounts.cf. */
    private Map<String, String> accounts() {
        Map<String, String> accounts = new LinkedHashMap<>();
        List<String> lines = readLines(configDir.resolve(ACCOUNTS_FILE));
        for (int i = 0; i < lines.size(); i++) {
            String s = lines.get(i).strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            int bar = s.indexOf('|');
            if (bar <= 0 || bar == s.length() - 1) {
                throw new ConfigException(ACCOUNTS_FILE + ":" + (i + 1), "expected 'user@domain|{SCHEME}hash'");
            }
            // DMS may append "|" fields (quota etc.) after the hash.
            String rest = s.substring(bar + 1);
            int nextBar = rest.indexOf('|');
            accounts.put(s.substring(0, bar).toLowerCase(Locale.ROOT), nextBar < 0 ? rest : rest.substring(0, nextBar));
        }
        return Map.copyOf(accounts);
    }

    private Optional<Path> caPath(ParamValues v) {
        Optional<String> name = v.explicit(Params.SMTP_TLS_CAPATH);
        if (name.isEmpty()) {
            return Optional.empty();
        }
        Path dir = configDir.resolve(name.get());
        if (!Files.isDirectory(dir)) {
            throw v.error(Params.SMTP_TLS_CAPATH, "smtp_tls_CApath " + dir + " is not a directory");
        }
        return Optional.of(dir);
    }

    private Optional<Path> caFile(ParamValues v) {
        Optional<String> name = v.explicit(Params.SMTP_TLS_CAFILE);
        if (name.isEmpty()) {
            return Optional.empty();
        }
        Path file = configDir.resolve(name.get());
        if (!Files.isReadable(file)) {
            throw v.error(Params.SMTP_TLS_CAFILE, "smtp_tls_CAfile " + file + " is not a readable file");
        }
        return Optional.of(file);
    }

    /** The {@code postfix-main.cf} parameters as written, with their file:line, in file order. */
    public Collection<MainCf.Parameter> parameters() {
        return readMainCf().parameters().values();
    }

    /** The values in force of every setting, with where each came from ({@code mta config}). */
    public ParamValues values() {
        return ParamValues.of(readMainCf(), env);
    }

    /** Whether this relay understands a {@code postfix-main.cf} parameter (others are warned about and ignored). */
    public static boolean supported(String parameter) {
        return Params.forMainCf(parameter).isPresent();
    }

    /** One {@code postfix-main.cf} parameter as written (for settings read before the configuration, like logging). */
    public Optional<String> parameter(String name) {
        MainCf.Parameter p = readMainCf().get(name);
        return p == null ? Optional.empty() : Optional.of(p.value());
    }

    private MainCf readMainCf() {
        Path file = configDir.resolve(MAIN_CF_FILE);
        return Files.exists(file) ? MainCf.read(file) : MainCf.empty();
    }

    /** The table file: the parameter's path ({@code texthash:/path} or a bare path), else the DMS default; empty when turned off. */
    private Optional<Path> tablePath(ParamValues v, Param<String> p, String defaultFile) {
        if (!v.isSet(p)) {
            return Optional.of(configDir.resolve(defaultFile));
        }
        Optional<String> value = v.explicit(p);
        if (value.isEmpty()) {
            return Optional.empty();
        }
        String text = value.get();
        int colon = text.indexOf(':');
        if (colon > 0 && !text.startsWith("/")) {
            String type = text.substring(0, colon);
            if (!type.equals("texthash") && !type.equals("hash") && !type.equals("lmdb")) {
                throw v.error(p, "unsupported table type '" + type + "' (use texthash:/path or a path)");
            }
            text = text.substring(colon + 1);
        }
        return Optional.of(configDir.resolve(text));
    }

    /**
     * A password map every user may write is refused: anyone on the machine could then send the
     * relay's mail with credentials of their choosing. One others may read is only warned about.
     */
    static void refuseIfOthersMayWrite(Path file) {
        try {
            if (Files.exists(file) && Files.getPosixFilePermissions(file).contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new ConfigException(file.toString(), "every user may write this file of passwords ("
                        + PosixFilePermissions.toString(Files.getPosixFilePermissions(file)) + "): chmod o-w " + file);
            }
        } catch (IOException | UnsupportedOperationException e) {
            // cannot tell
        }
    }

    private PostfixTable readTable(ParamValues v, Param<String> p, String defaultFile, List<Path> sources, boolean joinDuplicates) {
        Optional<Path> path = tablePath(v, p, defaultFile);
        path.ifPresent(sources::add);
        if (path.isEmpty()) {
            return PostfixTable.empty(defaultFile);
        }
        if (!Files.exists(path.get())) {
            if (v.isSet(p)) {
                throw v.error(p, "table file " + path.get() + " does not exist");
            }
            return PostfixTable.empty(defaultFile);
        }
        return PostfixTable.read(path.get(), joinDuplicates);
    }

    /** Domains this mail stack sends as: accounts, virtual keys, the variable. */
    Set<String> localSenderDomains(Set<String> accountAddresses, ParamValues v) {
        Set<String> domains = new LinkedHashSet<>();
        for (String address : accountAddresses) {
            addDomain(domains, address);
        }
        for (String line : readLines(configDir.resolve(VIRTUAL_FILE))) {
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            int ws = PostfixTable.indexOfWhitespace(s);
            addDomain(domains, ws < 0 ? s : s.substring(0, ws));
        }
        v.explicit(Params.LOCAL_SENDER_DOMAINS).ifPresent(text -> {
            for (String d : text.split("[,\\s]+")) {
                if (!d.isBlank()) {
                    domains.add(d.strip().toLowerCase(Locale.ROOT));
                }
            }
        });
        return domains;
    }

    private static void addDomain(Set<String> domains, String address) {
        int at = address.lastIndexOf('@');
        if (at >= 0 && at < address.length() - 1) {
            domains.add(address.substring(at + 1).toLowerCase(Locale.ROOT));
        }
    }

    private static List<String> readLines(Path file) {
        if (!Files.exists(file)) {
            return List.of();
        }
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new ConfigException(file.toString(), "cannot read: " + ConfigException.why(e), e);
        }
    }

    private static void addSources(List<Path> sources, List<Path> more) {
        for (Path p : more) {
            if (!sources.contains(p)) {
                sources.add(p);
            }
        }
    }

    /**
     * Postfix's default {@code myhostname}: the machine's fully-qualified name (the canonical name of
     * its host name, else the host name itself when it has a dot), else its bare host name.
     */
    static String localHostName() {
        List<String> candidates = new ArrayList<>();
        try {
            InetAddress local = InetAddress.getLocalHost();
            candidates.add(local.getCanonicalHostName());
            candidates.add(local.getHostName());
        } catch (IOException e) {
            // no name from the resolver: the kernel's below
        }
        try {
            candidates.add(Files.readString(Path.of("/etc/hostname")).strip());
        } catch (IOException | RuntimeException e) {
            // not on this system
        }
        candidates.removeIf(c -> c == null || c.isBlank() || NextHop.isIpLiteral(c) || Hostnames.problem(c).isPresent()
                || c.toLowerCase(Locale.ROOT).startsWith("localhost"));
        for (String c : candidates) {
            if (c.indexOf('.') > 0) {
                return c.toLowerCase(Locale.ROOT);
            }
        }
        return candidates.isEmpty() ? "localhost" : candidates.get(0).toLowerCase(Locale.ROOT);
    }

    private HeaderChecks headerChecks(ParamValues v, Param<String> p, Set<HeaderChecks.Action> allowed) {
        Optional<String> value = v.explicit(p).filter(t -> !t.isBlank());
        return value.isEmpty() ? HeaderChecks.none() : HeaderChecks.load(p.name(), value.get(), v.where(p), configDir, allowed);
    }
}
