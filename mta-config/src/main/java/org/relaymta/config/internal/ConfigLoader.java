package org.relaymta.config.internal;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
import org.relaymta.config.TlsLevel;

/**
 * Builds a {@link RelayConfig} snapshot from docker-mailserver's environment variables and config
 * directory (relay-semantics section 1). Every error names the variable, or the file and line.
 *
 * <p>Over 400 lines: it still reads every parameter in one pass; the parameter registry the
 * architecture page plans (name, default, parser) is what will shrink it.
 */
public final class ConfigLoader {

    public static final String RELAY_MAP_FILE = "postfix-relaymap.cf";
    public static final String SASL_PASSWORD_FILE = "postfix-sasl-password.cf";
    public static final String MAIN_CF_FILE = "postfix-main.cf";
    public static final String ACCOUNTS_FILE = "postfix-accounts.cf";
    public static final String VIRTUAL_FILE = "postfix-virtual.cf";

    /** The {@code postfix-main.cf} parameters this relay understands. */
    static final Set<String> SUPPORTED_PARAMETERS = Set.of(
            "relayhost", "sender_dependent_relayhost_maps", "smtp_sasl_password_maps", "smtp_sasl_auth_enable",
            "smtp_sasl_security_options", "smtp_sasl_mechanism_filter", "smtp_sender_dependent_authentication",
            "smtp_tls_security_level", "smtp_tls_wrappermode", "smtp_fallback_relay", "mynetworks", "myhostname",
            "message_size_limit", "smtpd_forbid_bare_newline", "header_checks", "smtp_header_checks", "relay_failure_threshold",
            "smtpd_milters", "non_smtpd_milters", "milter_default_action", "milter_protocol", "milter_connect_timeout",
            "milter_command_timeout", "milter_content_timeout", "milter_connect_macros", "milter_helo_macros",
            "milter_mail_macros", "milter_rcpt_macros", "milter_data_macros", "milter_end_of_header_macros",
            "milter_end_of_data_macros",
            "queue_run_delay", "minimal_backoff_time", "maximal_backoff_time", "maximal_queue_lifetime",
            "bounce_queue_lifetime", "delay_warning_time", "default_destination_concurrency_limit",
            "default_destination_recipient_limit", "bounce_size_limit", "queue_minfree", "smtp_connect_timeout", "smtp_helo_timeout", "smtp_mail_timeout",
            "smtp_rcpt_timeout", "smtp_starttls_timeout", "smtp_data_init_timeout", "smtp_data_xfer_timeout",
            "smtp_data_done_timeout", "smtp_quit_timeout", "smtp_connection_cache_time_limit", "smtp_line_length_limit", "smtp_tls_CAfile",
            "smtp_tls_mandatory_protocols", "smtp_tls_protocols", "smtpd_tls_cert_file", "smtpd_tls_key_file",
            "smtpd_tls_chain_files", "smtpd_client_connection_count_limit", "default_process_limit",
            "smtpd_recipient_limit", "smtpd_timeout", "smtpd_error_sleep_time", "smtpd_hard_error_limit", "syslog_name",
            "smtpd_recipient_overshoot_limit", "smtpd_client_connection_rate_limit", "anvil_rate_time_unit",
            "smtpd_sender_restrictions", "smtpd_sender_login_maps", "smtpd_sasl_authenticated_header");

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
        for (String name : main.parameters().keySet()) {
            if (!SUPPORTED_PARAMETERS.contains(name)) {
                warnings.add(main.get(name).location() + ": unsupported parameter '" + name + "' is ignored");
            }
        }

        // Default relay host: postfix-main.cf overrides the variable, as DMS applies it last.
        List<NextHop> defaultRelay = List.of();
        Optional<String> defaultRelayText = Optional.empty();
        MainCf.Parameter relayhostParam = main.get("relayhost");
        if (relayhostParam != null) {
            if (!relayhostParam.value().isEmpty()) {
                defaultRelay = NextHop.parseList(relayhostParam.value(), relayhostParam.location());
                defaultRelayText = Optional.of(relayhostParam.value());
            }
        } else {
            Optional<String> v = env.get("DEFAULT_RELAY_HOST");
            if (v.isPresent()) {
                defaultRelay = NextHop.parseList(v.get(), "DEFAULT_RELAY_HOST");
                defaultRelayText = v;
            }
        }

        List<NextHop> fallback = List.of();
        MainCf.Parameter fallbackParam = main.get("smtp_fallback_relay");
        if (fallbackParam != null && !fallbackParam.value().isEmpty()) {
            fallback = NextHop.parseList(fallbackParam.value(), fallbackParam.location());
        }

        // Legacy RELAY_HOST: always [host]:port, mapped to every local sender domain.
        Optional<String> relayHostEntry = Optional.empty();
        Optional<String> relayHost = env.get("RELAY_HOST");
        if (relayHost.isPresent()) {
            String host = relayHost.get();
            if (host.startsWith("[") && host.endsWith("]") && host.length() > 2) {
                host = host.substring(1, host.length() - 1);
                warnings.add("RELAY_HOST: brackets are added automatically; '" + relayHost.get() + "' used as '" + host + "'");
            }
            int port = NextHop.DEFAULT_PORT;
            Optional<String> portText = env.get("RELAY_PORT");
            if (portText.isPresent()) {
                try {
                    port = Integer.parseInt(portText.get());
                } catch (NumberFormatException e) {
                    throw new ConfigException("RELAY_PORT", "'" + portText.get() + "' is not a port number");
                }
                if (port < 1 || port > 65535) {
                    throw new ConfigException("RELAY_PORT", "'" + portText.get() + "' is not a port number from 1 to 65535");
                }
            }
            String entry = "[" + host + "]:" + port;
            NextHop.parse(entry, "RELAY_HOST");
            relayHostEntry = Optional.of(entry);
        }

        mapPath(main, "sender_dependent_relayhost_maps", RELAY_MAP_FILE).ifPresent(sources::add);
        mapPath(main, "smtp_sasl_password_maps", SASL_PASSWORD_FILE).ifPresent(sources::add);
        PostfixTable relayMap = readTable(main, "sender_dependent_relayhost_maps", RELAY_MAP_FILE);
        for (PostfixTable.Entry e : relayMap.entries().values()) {
            if (!e.value().isEmpty() && !e.value().equalsIgnoreCase("DUNNO")) {
                NextHop.parseList(e.value(), e.location());
            }
            if (!e.key().equals("<>") && e.key().indexOf('@') < 0) {
                throw new ConfigException(e.location(), "relay map key '" + e.key()
                        + "' is not a sender address, @domain or <>");
            }
        }

        Map<String, String> accounts = accounts();
        Map<String, List<NextHop>> implicit = new LinkedHashMap<>();
        if (relayHostEntry.isPresent()) {
            List<NextHop> hops = List.of(NextHop.parse(relayHostEntry.get(), "RELAY_HOST"));
            for (String domain : localSenderDomains(accounts.keySet())) {
                if (relayMap.lookup("@" + domain).isEmpty()) {
                    implicit.put(domain, hops);
                }
            }
        }

        // Credentials: the file, then the RELAY_USER / RELAY_PASSWORD pair.
        Map<String, Credentials> credentials = new LinkedHashMap<>();
        Optional<Path> saslFile = mapPath(main, "smtp_sasl_password_maps", SASL_PASSWORD_FILE);
        boolean saslFilePresent = saslFile.isPresent() && Files.exists(saslFile.get());
        PostfixTable saslTable = readTable(main, "smtp_sasl_password_maps", SASL_PASSWORD_FILE);
        for (PostfixTable.Entry e : saslTable.entries().values()) {
            credentials.put(e.key().toLowerCase(Locale.ROOT), Credentials.parse(e.value(), e.key(), e.location()));
        }
        Optional<String> user = env.get("RELAY_USER");
        Optional<String> password = env.get("RELAY_PASSWORD");
        boolean envCredentials = user.isPresent() && password.isPresent();
        if (envCredentials) {
            final Optional<String> legacyKey = relayHostEntry;
            Optional<String> key = env.get("DEFAULT_RELAY_HOST").or(() -> legacyKey);
            if (key.isEmpty()) {
                warnings.add("RELAY_USER and RELAY_PASSWORD are set but neither DEFAULT_RELAY_HOST nor RELAY_HOST is: credentials unused");
            } else {
                credentials.putIfAbsent(key.get().toLowerCase(Locale.ROOT), new Credentials(user.get(), password.get(), key.get()));
                // Postfix looks credentials up per next hop; a failover list needs them under each hop.
                List<NextHop> hops = NextHop.parseList(key.get(), "DEFAULT_RELAY_HOST");
                if (hops.size() > 1) {
                    for (NextHop hop : hops) {
                        credentials.putIfAbsent(hop.asWritten().toLowerCase(Locale.ROOT),
                                new Credentials(user.get(), password.get(), hop.asWritten()));
                    }
                }
            }
        }

        boolean credentialsConfigured = envCredentials || saslFilePresent;
        boolean saslEnabled = booleanParam(main, "smtp_sasl_auth_enable", credentialsConfigured);
        boolean senderDependentAuth = booleanParam(main, "smtp_sender_dependent_authentication", saslFilePresent);
        MainCf.Parameter secOptions = main.get("smtp_sasl_security_options");
        if (secOptions != null && !secOptions.value().toLowerCase(Locale.ROOT).contains("noanonymous")) {
            warnings.add(secOptions.location() + ": smtp_sasl_security_options without noanonymous: anonymous AUTH is never used here anyway");
        }

        TlsLevel tlsLevel = credentialsConfigured ? TlsLevel.ENCRYPT : TlsLevel.MAY;
        MainCf.Parameter tlsParam = main.get("smtp_tls_security_level");
        if (tlsParam != null && !tlsParam.value().isEmpty()) {
            tlsLevel = TlsLevel.parse(tlsParam.value(), tlsParam.location());
        }
        boolean wrapperMode = booleanParam(main, "smtp_tls_wrappermode", false);
        if (wrapperMode && !tlsLevel.mandatory()) {
            // Implicit TLS cannot fall back to plaintext: raise the level rather than pretend.
            warnings.add("smtp_tls_wrappermode = yes requires TLS level encrypt or higher; using encrypt");
            tlsLevel = TlsLevel.ENCRYPT;
        }

        Networks mynetworks;
        Optional<String> envNetworks = env.get("MTA_MYNETWORKS");
        MainCf.Parameter networksParam = main.get("mynetworks");
        if (envNetworks.isPresent()) {
            mynetworks = Networks.parse(envNetworks.get(), "MTA_MYNETWORKS");
        } else if (networksParam != null) {
            mynetworks = Networks.parse(networksParam.value(), networksParam.location());
        } else {
            mynetworks = Networks.parse(Networks.POSTFIX_DEFAULT, "default mynetworks");
        }

        String myhostname = stringParam(main, "myhostname").or(() -> env.get("MTA_HOSTNAME")).orElseGet(ConfigLoader::localHostName);

        long sizeLimit = longParam(main, "message_size_limit", RelayConfig.DEFAULT_MESSAGE_SIZE_LIMIT);
        BareNewlinePolicy bareNewline = BareNewlinePolicy.NORMALIZE;
        MainCf.Parameter bareParam = main.get("smtpd_forbid_bare_newline");
        if (bareParam != null) {
            bareNewline = BareNewlinePolicy.parse(bareParam.value(), bareParam.location());
        }

        QueueSettings qd = QueueSettings.postfixDefaults();
        QueueSettings queue = new QueueSettings(
                durationParam(main, "queue_run_delay", 's', qd.queueRunDelay()),
                durationParam(main, "minimal_backoff_time", 's', qd.minimalBackoffTime()),
                durationParam(main, "maximal_backoff_time", 's', qd.maximalBackoffTime()),
                durationParam(main, "maximal_queue_lifetime", 'd', qd.maximalQueueLifetime()),
                durationParam(main, "bounce_queue_lifetime", 'd', qd.bounceQueueLifetime()),
                durationParam(main, "delay_warning_time", 'h', qd.delayWarningTime()),
                (int) longParam(main, "default_destination_concurrency_limit", qd.destinationConcurrencyLimit()),
                (int) longParam(main, "default_destination_recipient_limit", qd.destinationRecipientLimit()),
                longParam(main, "bounce_size_limit", qd.bounceSizeLimit()),
                longParam(main, "queue_minfree", qd.queueMinfree()));
        SmtpClientSettings sd = SmtpClientSettings.postfixDefaults();
        List<String> mechanismFilter = stringParam(main, "smtp_sasl_mechanism_filter")
                .map(v -> List.of(v.toUpperCase(Locale.ROOT).split("[,\\s]+"))).orElse(List.of());
        SmtpClientSettings smtp = new SmtpClientSettings(
                durationParam(main, "smtp_connect_timeout", 's', sd.connectTimeout()),
                durationParam(main, "smtp_helo_timeout", 's', sd.heloTimeout()),
                durationParam(main, "smtp_mail_timeout", 's', sd.mailTimeout()),
                durationParam(main, "smtp_rcpt_timeout", 's', sd.rcptTimeout()),
                durationParam(main, "smtp_starttls_timeout", 's', sd.starttlsTimeout()),
                durationParam(main, "smtp_data_init_timeout", 's', sd.dataInitTimeout()),
                durationParam(main, "smtp_data_xfer_timeout", 's', sd.dataXferTimeout()),
                durationParam(main, "smtp_data_done_timeout", 's', sd.dataDoneTimeout()),
                durationParam(main, "smtp_quit_timeout", 's', sd.quitTimeout()),
                durationParam(main, "smtp_connection_cache_time_limit", 's', sd.connectionCacheTimeLimit()),
                mechanismFilter,
                caFile(main),
                tlsProtocols(main),
                (int) longParam(main, "smtp_line_length_limit", sd.lineLengthLimit()));

        Map<String, OAuth2Profile> oauth2 = OAuth2Profiles.load(configDir);
        DkimTable dkim = DkimTable.load(configDir);
        RelayLimits limits = RelayLimits.load(configDir);
        sources.add(configDir.resolve(RelayLimits.FILE));
        HeaderChecks headerChecks = headerChecks(main, "header_checks", java.util.EnumSet.allOf(HeaderChecks.Action.class));
        HeaderChecks smtpHeaderChecks = headerChecks(main, "smtp_header_checks", HeaderChecks.DELIVERY_ACTIONS);
        sources.addAll(headerChecks.sources());
        sources.addAll(smtpHeaderChecks.sources());
        for (java.nio.file.Path p : dkim.sources()) {
            if (!sources.contains(p)) {
                sources.add(p);
            }
        }
        for (Credentials c : credentials.values()) {
            String profile = c.oauth2Profile().orElse(null);
            if (profile != null) {
                if (!oauth2.containsKey(profile)) {
                    throw new ConfigException("credentials for " + c.key(), "password {oauth2}" + profile
                            + " names an OAuth2 profile that " + OAuth2Profiles.FILE + " does not define");
                }
            }
        }
        ListenerSettings listener = listenerSettings(main, warnings, sources);   // before the warnings are copied
        RelayConfig config = new RelayConfig(defaultRelay, defaultRelayText, fallback, relayMap, Map.copyOf(implicit),
                Map.copyOf(credentials), senderDependentAuth, saslEnabled, tlsLevel, wrapperMode, mynetworks,
                myhostname, sizeLimit, bareNewline, queue, smtp, List.copyOf(warnings), List.copyOf(sources),
                listener, accounts, oauth2, dkim, headerChecks, smtpHeaderChecks, milters(main),
                relayFailureThreshold(main), limits, ClusterSettings.from(env));
        List<String> unused = credentialsForDirectRoutes(config, saslTable);
        return unused.isEmpty() ? config : config.withMoreWarnings(unused);
    }

    /**
     * Credentials keyed by a sender whose mail is delivered directly (no relay host for it, or opted
     * out): they are never used, because credentials are never sent to a recipient's MX.
     */
    static List<String> credentialsForDirectRoutes(RelayConfig config, PostfixTable saslTable) {
        List<String> warnings = new ArrayList<>();
        if (!config.saslEnabled()) {
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

    private ListenerSettings listenerSettings(MainCf main, List<String> warnings, List<Path> sources) {
        ListenerSettings d = ListenerSettings.postfixDefaults();
        Optional<Path> cert = Optional.empty();
        Optional<Path> key = Optional.empty();
        MainCf.Parameter chain = main.get("smtpd_tls_chain_files");
        if (chain != null && !chain.value().isEmpty()) {
            // One PEM file with key and chain, or key file then certificate file(s).
            String[] files = chain.value().split("[,\\s]+");
            key = Optional.of(configDir.resolve(files[0]));
            cert = Optional.of(configDir.resolve(files.length > 1 ? files[1] : files[0]));
        } else {
            Optional<Path> certParam = stringParam(main, "smtpd_tls_cert_file").map(configDir::resolve);
            cert = certParam;
            key = stringParam(main, "smtpd_tls_key_file").map(configDir::resolve).or(() -> certParam);
        }
        cert = cert.or(() -> env.get("MTA_TLS_CERT").map(Path::of));
        key = key.or(() -> env.get("MTA_TLS_KEY").map(Path::of)).or(() -> env.get("MTA_TLS_CERT").map(Path::of));
        for (Optional<Path> f : List.of(cert, key)) {
            if (f.isPresent() && !Files.isReadable(f.get())) {
                throw new ConfigException(chain != null ? chain.location() : "smtpd_tls_cert_file/MTA_TLS_CERT",
                        "TLS file " + f.get() + " is not readable");
            }
        }
        return new ListenerSettings(cert, key,
                (int) longParam(main, "smtpd_client_connection_count_limit", d.clientConnectionLimit()),
                (int) longParam(main, "default_process_limit", d.sessionLimit()),
                (int) longParam(main, "smtpd_recipient_limit", d.recipientLimit()),
                stressParam(main, "smtpd_timeout", false, d.timeout()),
                durationParam(main, "smtpd_error_sleep_time", 's', d.errorSleepTime()),
                (int) longParam(main, "smtpd_hard_error_limit", d.hardErrorLimit()),
                (int) longParam(main, "smtpd_recipient_overshoot_limit", d.recipientOvershootLimit()),
                (int) longParam(main, "smtpd_client_connection_rate_limit", d.clientConnectionRateLimit()),
                durationParam(main, "anvil_rate_time_unit", 's', d.rateTimeUnit()),
                stressParam(main, "smtpd_timeout", true, d.stressTimeout()), senderPolicy(main, warnings, sources));
    }

    /**
     * smtpd_sender_restrictions for every listener; SPOOF_PROTECTION (docker-mailserver's name) puts
     * reject_authenticated_sender_login_mismatch first on the submission and smtps listeners, and
     * is on unless set to 0 [improvement: DMS and Postfix leave it off]; the login map is
     * smtpd_sender_login_maps, or docker-mailserver's own.
     */
    private SenderPolicy senderPolicy(MainCf main, List<String> warnings, List<Path> sources) {
        MainCf.Parameter restrictionsParam = main.get("smtpd_sender_restrictions");
        List<SenderPolicy.Restriction> relay = restrictionsParam == null ? List.of()
                : SenderPolicy.parse(restrictionsParam.value(), restrictionsParam.location(), warnings);
        String spoof = env.get("SPOOF_PROTECTION").map(String::strip).orElse("");
        if (!spoof.isEmpty() && !spoof.equals("0") && !spoof.equals("1")) {
            throw new ConfigException("SPOOF_PROTECTION", "'" + spoof + "' is not 0 or 1");
        }
        List<SenderPolicy.Restriction> submission = new ArrayList<>();
        if (!spoof.equals("0")) {
            submission.add(SenderPolicy.Restriction.REJECT_AUTHENTICATED_SENDER_LOGIN_MISMATCH);
        }
        submission.addAll(relay);
        MainCf.Parameter mapsParam = main.get("smtpd_sender_login_maps");
        SenderLogins logins = mapsParam != null && !mapsParam.value().isBlank()
                ? SenderLogins.load(mapsParam.value(), mapsParam.location(), configDir)
                : SenderLogins.dockerMailserver(configDir);
        for (Path p : logins.sources()) {
            if (!sources.contains(p)) {
                sources.add(p);
            }
        }
        return new SenderPolicy(logins, relay, List.copyOf(submission),
                booleanParam(main, "smtpd_sasl_authenticated_header", true));
    }

    /** {@code user@domain|{SCHEME}hash} lines of postfix-accounts.cf. */
    private Map<String, String> accounts() {
        Map<String, String> accounts = new LinkedHashMap<>();
        Path file = configDir.resolve(ACCOUNTS_FILE);
        List<String> lines = readLines(file);
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

    private Optional<Path> caFile(MainCf main) {
        MainCf.Parameter p = main.get("smtp_tls_CAfile");
        if (p == null || p.value().isEmpty()) {
            return Optional.empty();
        }
        Path file = configDir.resolve(p.value());
        if (!Files.isReadable(file)) {
            throw new ConfigException(p.location(), "smtp_tls_CAfile " + file + " is not a readable file");
        }
        return Optional.of(file);
    }

    /**
     * Postfix protocol lists ({@code >=TLSv1.2}, {@code !TLSv1, !TLSv1.1}, {@code TLSv1.3}): the
     * protocols allowed, never below TLS 1.2.
     */
    static List<String> tlsProtocols(MainCf main) {
        MainCf.Parameter p = main.get("smtp_tls_mandatory_protocols");
        if (p == null) {
            p = main.get("smtp_tls_protocols");
        }
        if (p == null || p.value().isEmpty()) {
            return SmtpClientSettings.DEFAULT_TLS_PROTOCOLS;
        }
        List<String> allowed = new ArrayList<>(SmtpClientSettings.DEFAULT_TLS_PROTOCOLS);
        List<String> only = new ArrayList<>();
        for (String word : p.value().split("[,:\\s]+")) {
            if (word.isEmpty()) {
                continue;
            }
            if (word.startsWith("!")) {
                allowed.remove(word.substring(1));
            } else if (word.startsWith(">=")) {
                if (word.substring(2).equals("TLSv1.3")) {
                    allowed.remove("TLSv1.2");
                }
            } else {
                only.add(word);
            }
        }
        if (!only.isEmpty()) {
            allowed.retainAll(only);
        }
        if (allowed.isEmpty()) {
            throw new ConfigException(p.location(), p.name() + " leaves no supported protocol (TLSv1.2 and TLSv1.3 are supported)");
        }
        return List.copyOf(allowed);
    }

    /** The {@code postfix-main.cf} parameters as written, with their file:line, in file order. */
    public java.util.Collection<MainCf.Parameter> parameters() {
        return readMainCf().parameters().values();
    }

    /** Whether this relay understands a {@code postfix-main.cf} parameter (others are warned about and ignored). */
    public static boolean supported(String parameter) {
        return SUPPORTED_PARAMETERS.contains(parameter);
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

    /** The table file: the main.cf parameter's path ({@code texthash:/path} or a bare path), else the DMS default. */
    private Optional<Path> mapPath(MainCf main, String parameter, String defaultFile) {
        MainCf.Parameter p = main.get(parameter);
        if (p == null) {
            return Optional.of(configDir.resolve(defaultFile));
        }
        String value = p.value();
        if (value.isEmpty()) {
            return Optional.empty();
        }
        int colon = value.indexOf(':');
        if (colon > 0 && !value.startsWith("/")) {
            String type = value.substring(0, colon);
            if (!type.equals("texthash") && !type.equals("hash") && !type.equals("lmdb")) {
                throw new ConfigException(p.location(), "unsupported table type '" + type + "' (use texthash:/path or a path)");
            }
            value = value.substring(colon + 1);
        }
        return Optional.of(configDir.resolve(value));
    }

    private PostfixTable readTable(MainCf main, String parameter, String defaultFile) {
        Optional<Path> path = mapPath(main, parameter, defaultFile);
        if (path.isEmpty()) {
            return PostfixTable.empty(defaultFile);
        }
        if (!Files.exists(path.get())) {
            if (main.get(parameter) != null) {
                throw new ConfigException(main.get(parameter).location(), "table file " + path.get() + " does not exist");
            }
            return PostfixTable.empty(defaultFile);
        }
        return PostfixTable.read(path.get());
    }

    /** Domains this mail stack sends as (relay-semantics section 1.3): accounts, virtual keys, the variable. */
    Set<String> localSenderDomains(Set<String> accountAddresses) {
        Set<String> domains = new LinkedHashSet<>();
        for (String address : accountAddresses) {
            addDomain(domains, address);
        }
        Path virtual = configDir.resolve(VIRTUAL_FILE);
        for (String line : readLines(virtual)) {
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("#")) {
                continue;
            }
            int ws = PostfixTable.indexOfWhitespace(s);
            String key = ws < 0 ? s : s.substring(0, ws);
            addDomain(domains, key);
        }
        env.get("LOCAL_SENDER_DOMAINS").ifPresent(v -> {
            for (String d : v.split("[,\\s]+")) {
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

    private static Optional<String> stringParam(MainCf main, String name) {
        MainCf.Parameter p = main.get(name);
        return p == null || p.value().isEmpty() ? Optional.empty() : Optional.of(p.value());
    }

    private static boolean booleanParam(MainCf main, String name, boolean defaultValue) {
        MainCf.Parameter p = main.get(name);
        if (p == null) {
            return defaultValue;
        }
        switch (p.value().toLowerCase(Locale.ROOT)) {
            case "yes": case "true": case "on": return true;
            case "no": case "false": case "off": return false;
            default: throw new ConfigException(p.location(), name + " must be yes or no, not '" + p.value() + "'");
        }
    }

    private static long longParam(MainCf main, String name, long defaultValue) {
        MainCf.Parameter p = main.get(name);
        if (p == null) {
            return defaultValue;
        }
        try {
            long v = Long.parseLong(p.value());
            if (v < 0) {
                throw new NumberFormatException();
            }
            return v;
        } catch (NumberFormatException e) {
            throw new ConfigException(p.location(), name + " must be a non-negative number, not '" + p.value() + "'");
        }
    }

    private static Duration durationParam(MainCf main, String name, char defaultUnit, Duration defaultValue) {
        MainCf.Parameter p = main.get(name);
        return p == null ? defaultValue : Durations.parse(p.value(), defaultUnit, p.location());
    }

    private static final java.util.regex.Pattern STRESS =
            java.util.regex.Pattern.compile("\\$\\{stress\\?\\{?([^}:]*)\\}?:\\{?([^}]*)\\}?\\}(\\w*)");

    /**
     * A duration that may differ under stress, written as Postfix does: {@code ${stress?{10}:{300}}s}.
     * A plain value applies in both states, except that the stress default stays when it is shorter.
     */
    private static Duration stressParam(MainCf main, String name, boolean stress, Duration defaultValue) {
        MainCf.Parameter p = main.get(name);
        if (p == null) {
            return defaultValue;
        }
        java.util.regex.Matcher m = STRESS.matcher(p.value().strip());
        if (m.matches()) {
            String value = (stress ? m.group(1) : m.group(2)).strip() + m.group(3);
            return Durations.parse(value, 's', p.location());
        }
        Duration plain = Durations.parse(p.value(), 's', p.location());
        return stress && defaultValue.compareTo(plain) < 0 ? defaultValue : plain;
    }

    private static String localHostName() {
        try {
            String name = InetAddress.getLocalHost().getCanonicalHostName();
            return name == null || name.isBlank() ? "localhost" : name;
        } catch (IOException e) {
            return "localhost";
        }
    }

    private HeaderChecks headerChecks(MainCf main, String name, java.util.Set<HeaderChecks.Action> allowed) {
        MainCf.Parameter p = main.get(name);
        if (p == null || p.value().isBlank()) {
            return HeaderChecks.none();
        }
        return HeaderChecks.load(name, p.value(), p.location(), configDir, allowed);
    }

    private MilterSettings milters(MainCf main) {
        MilterSettings d = MilterSettings.none();
        List<MilterSettings.Address> smtpd = MilterSettings.parseList(stringParam(main, "smtpd_milters").orElse(""),
                locationOf(main, "smtpd_milters"));
        List<MilterSettings.Address> nonSmtpd = MilterSettings.parseList(stringParam(main, "non_smtpd_milters").orElse(""),
                locationOf(main, "non_smtpd_milters"));
        String action = stringParam(main, "milter_default_action").orElse("tempfail").toLowerCase(Locale.ROOT);
        if (!MilterSettings.DEFAULT_ACTIONS.contains(action)) {
            throw new ConfigException(locationOf(main, "milter_default_action"), "'" + action
                    + "' is not tempfail, accept, reject or quarantine");
        }
        int protocol = (int) longParam(main, "milter_protocol", 6);
        if (protocol < 2 || protocol > 6) {
            throw new ConfigException(locationOf(main, "milter_protocol"), protocol + " is not a milter protocol version from 2 to 6");
        }
        java.util.Map<String, List<String>> macros = new java.util.LinkedHashMap<>(MilterSettings.defaultMacros());
        for (String stage : List.of("connect", "helo", "mail", "rcpt", "data", "end_of_header", "end_of_data")) {
            String key = stage.equals("end_of_header") ? "eoh" : stage;
            stringParam(main, "milter_" + stage + "_macros").ifPresent(v -> macros.put(key, List.of(v.strip().split("[,\\s]+"))));
        }
        return new MilterSettings(smtpd, nonSmtpd, action, protocol,
                durationParam(main, "milter_connect_timeout", 's', d.connectTimeout()),
                durationParam(main, "milter_command_timeout", 's', d.commandTimeout()),
                durationParam(main, "milter_content_timeout", 's', d.contentTimeout()), java.util.Map.copyOf(macros));
    }

    private static int relayFailureThreshold(MainCf main) {
        long n = longParam(main, "relay_failure_threshold", 3);
        if (n < 1 || n > 1000) {
            throw new ConfigException(locationOf(main, "relay_failure_threshold"), n + " is not a number of failed sessions from 1 to 1000");
        }
        return (int) n;
    }

    private static String locationOf(MainCf main, String name) {
        MainCf.Parameter p = main.get(name);
        return p == null ? name : p.location();
    }
}
