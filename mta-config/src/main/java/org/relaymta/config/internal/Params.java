package org.relaymta.config.internal;

import static org.relaymta.config.internal.Param.Section.CLUSTER;
import static org.relaymta.config.internal.Param.Section.CONTENT;
import static org.relaymta.config.internal.Param.Section.DELIVERY;
import static org.relaymta.config.internal.Param.Section.EVENTS;
import static org.relaymta.config.internal.Param.Section.LISTENER;
import static org.relaymta.config.internal.Param.Section.LOGGING;
import static org.relaymta.config.internal.Param.Section.PROCESS;
import static org.relaymta.config.internal.Param.Section.QUEUE;
import static org.relaymta.config.internal.Param.Section.ROUTING;
import static org.relaymta.config.internal.Param.count;
import static org.relaymta.config.internal.Param.duration;
import static org.relaymta.config.internal.Param.mainCf;
import static org.relaymta.config.internal.Param.number;
import static org.relaymta.config.internal.Param.oneOf;
import static org.relaymta.config.internal.Param.text;
import static org.relaymta.config.internal.Param.variable;
import static org.relaymta.config.internal.Param.yesNo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.relaymta.config.TlsLevel;
import org.relaymta.config.internal.Param.Precedence;

/**
 * Every setting of the relay, declared once (Postfix's {@code mail_params.h}): the main.cf
 * parameters with Postfix's names and defaults ({@code postconf -d} on Postfix 3.7), the
 * docker-mailserver variables, and the relay's own {@code MTA_*} variables. Table-valued settings
 * are declared with their text here and read as tables by the loader.
 *
 * <p>Over 400 lines: it is the table itself, one declaration (name, default, parser, unit,
 * meaning) per setting, and splitting it would bring back the lists that drifted apart.
 */
public final class Params {
    private static final List<Param<?>> ALL = new ArrayList<>();
    private static final String TIME = "time (s, m, h, d, w)";

    private static <T> Param<T> add(Param<T> p) {
        ALL.add(p);
        return p;
    }

    private Params() {
    }

    // ---------------------------------------------------------------- routing and credentials

    public static final Param<String> RELAYHOST = add(mainCf("relayhost", ROUTING, "",
            text(), "next hops", "The default relay host for all mail, as written: [host]:port, host:port, [host], host, or a "
                    + "failover list. Empty: direct delivery to the recipients' MX.")
            .alsoVariable("DEFAULT_RELAY_HOST", Precedence.MAIN_CF));
    public static final Param<String> RELAY_HOST = add(variable("RELAY_HOST", ROUTING, "", text(), "host",
            "docker-mailserver's legacy relay: mail of the local sender domains goes to [RELAY_HOST]:RELAY_PORT."));
    public static final Param<Integer> RELAY_PORT = add(variable("RELAY_PORT", ROUTING, "25", count(1, 65535), "port",
            "The port of RELAY_HOST."));
    public static final Param<String> RELAY_USER = add(variable("RELAY_USER", ROUTING, "", text(), "",
            "The SASL user name for DEFAULT_RELAY_HOST (or RELAY_HOST); used only with RELAY_PASSWORD."));
    public static final Param<String> RELAY_PASSWORD = add(variable("RELAY_PASSWORD", ROUTING, "", text(), "",
            "The password for RELAY_USER, or {oauth2}PROFILE. RELAY_PASSWORD__FILE reads it from a file.").asSecret());
    public static final Param<String> LOCAL_SENDER_DOMAINS = add(variable("LOCAL_SENDER_DOMAINS", ROUTING, "", text(),
            "domains", "More local sender domains for RELAY_HOST, besides those of postfix-accounts.cf and postfix-virtual.cf."));
    public static final Param<String> SENDER_DEPENDENT_RELAYHOST_MAPS = add(mainCf("sender_dependent_relayhost_maps", ROUTING,
            "texthash:postfix-relaymap.cf", text(), "table", "The sender-dependent relay host map (docker-mailserver's "
                    + "postfix-relaymap.cf); an empty value turns it off."));
    public static final Param<String> SMTP_SASL_PASSWORD_MAPS = add(mainCf("smtp_sasl_password_maps", ROUTING,
            "texthash:postfix-sasl-password.cf", text(), "table", "Credentials by sender, relay host or next hop "
                    + "(docker-mailserver's postfix-sasl-password.cf)."));
    public static final Param<Boolean> SMTP_SASL_AUTH_ENABLE = add(mainCf("smtp_sasl_auth_enable", ROUTING,
            "(yes when credentials are configured)", yesNo(), "", "Whether the client authenticates at all."));
    public static final Param<String> SMTP_SASL_SECURITY_OPTIONS = add(mainCf("smtp_sasl_security_options", ROUTING,
            "noanonymous", text(), "", "Accepted for compatibility: an anonymous mechanism is never used."));
    public static final Param<String> SMTP_SASL_MECHANISM_FILTER = add(mainCf("smtp_sasl_mechanism_filter", ROUTING, "",
            text(), "mechanisms", "Only these SASL mechanisms (PLAIN, LOGIN, CRAM-MD5, XOAUTH2, OAUTHBEARER); empty: any offered."));
    public static final Param<Boolean> SMTP_SENDER_DEPENDENT_AUTHENTICATION = add(mainCf(
            "smtp_sender_dependent_authentication", ROUTING, "(yes when the credentials file exists)", yesNo(), "",
            "Look credentials up by sender first."));
    public static final Param<TlsLevel> SMTP_TLS_SECURITY_LEVEL = add(mainCf("smtp_tls_security_level", ROUTING,
            "(encrypt when credentials are configured, else may)", TlsLevel::parse, "level",
            "none, may, encrypt, dane, dane-only, verify or secure: TLS to relay hosts and MX hosts (smtp_tls_policy_maps per destination)."));
    public static final Param<String> TRANSPORT_MAPS = add(mainCf("transport_maps", ROUTING,
            "(postfix-transport.cf when present)", text(), "table", "Routes by recipient, over the sender map and the relay "
                    + "host: domain, .domain, user@domain or * -> smtp:[host]:port, smtp:host, smtp:, relay:, error:5.x.x text, "
                    + "retry:4.x.x text, discard:, or : (the usual route)."));
    public static final Param<Boolean> SMTP_TLS_WRAPPERMODE = add(mainCf("smtp_tls_wrappermode", ROUTING, "no", yesNo(), "",
            "Implicit TLS before the greeting (port 465 style); raises the level to encrypt."));
    public static final Param<String> SMTP_FALLBACK_RELAY = add(mainCf("smtp_fallback_relay", ROUTING, "", text(),
            "next hops", "Tried after the route's own next hops have failed."));

    // ---------------------------------------------------------------- listeners

    public static final Param<String> MYHOSTNAME = add(mainCf("myhostname", PROCESS, "(the machine's canonical name)", text(),
            "host name", "This relay's name: EHLO, the greeting, Received: lines, Message-IDs.")
            .alsoVariable("MTA_HOSTNAME", Precedence.MAIN_CF));
    public static final Param<String> MYNETWORKS = add(mainCf("mynetworks", LISTENER, Networks.POSTFIX_DEFAULT, text(),
            "networks", "Clients that may relay without AUTH on the relay listener.")
            .alsoVariable("MTA_MYNETWORKS", Precedence.VARIABLE));
    public static final Param<String> SMTPD_TLS_CERT_FILE = add(mainCf("smtpd_tls_cert_file", LISTENER,
            "(a self-signed certificate in data/tls)", text(), "file", "The listeners' certificate (PEM).")
            .alsoVariable("MTA_TLS_CERT", Precedence.MAIN_CF));
    public static final Param<String> SMTPD_TLS_KEY_FILE = add(mainCf("smtpd_tls_key_file", LISTENER,
            "(the certificate file)", text(), "file", "The listeners' private key (PEM).")
            .alsoVariable("MTA_TLS_KEY", Precedence.MAIN_CF));
    public static final Param<String> SMTPD_TLS_CHAIN_FILES = add(mainCf("smtpd_tls_chain_files", LISTENER, "", text(),
            "files", "Key and certificate chain in one list (Postfix 3.4+), instead of the two above."));
    public static final Param<Integer> SMTPD_CLIENT_CONNECTION_COUNT_LIMIT = add(mainCf("smtpd_client_connection_count_limit",
            LISTENER, "50", count(0, Integer.MAX_VALUE), "sessions", "Sessions at once per client address (mynetworks exempt)."));
    public static final Param<Integer> DEFAULT_PROCESS_LIMIT = add(mainCf("default_process_limit", LISTENER, "100",
            count(1, Integer.MAX_VALUE), "sessions", "Inbound sessions at once in all; at 80% the listener is under stress."));
    public static final Param<Integer> SMTPD_RECIPIENT_LIMIT = add(mainCf("smtpd_recipient_limit", LISTENER, "1000",
            count(0, Integer.MAX_VALUE), "recipients", "Recipients per message; more get 452 4.5.3."));
    public static final Param<Integer> SMTPD_RECIPIENT_OVERSHOOT_LIMIT = add(mainCf("smtpd_recipient_overshoot_limit", LISTENER,
            "1000", count(0, Integer.MAX_VALUE), "recipients", "Recipients over the limit that do not count as errors."));
    public static final Param<String> SMTPD_TIMEOUT = add(mainCf("smtpd_timeout", LISTENER, "${stress?{10}:{300}}s", text(),
            TIME, "Idle time before a client is dropped, shorter under stress; also bounds the whole DATA phase."));
    public static final Param<Duration> SMTPD_ERROR_SLEEP_TIME = add(mainCf("smtpd_error_sleep_time", LISTENER, "1s",
            duration('s'), TIME, "Added delay per failed AUTH after the third."));
    public static final Param<Integer> SMTPD_HARD_ERROR_LIMIT = add(mainCf("smtpd_hard_error_limit", LISTENER, "20",
            count(1, Integer.MAX_VALUE), "errors", "Refused commands before the session is dropped."));
    public static final Param<Integer> SMTPD_CLIENT_CONNECTION_RATE_LIMIT = add(mainCf("smtpd_client_connection_rate_limit",
            LISTENER, "0", count(0, Integer.MAX_VALUE), "connections", "Connections per client address per anvil_rate_time_unit; 0: no limit."));
    public static final Param<Duration> ANVIL_RATE_TIME_UNIT = add(mainCf("anvil_rate_time_unit", LISTENER, "60s",
            duration('s'), TIME, "The window of the rate limits."));
    public static final Param<BareNewlinePolicy> SMTPD_FORBID_BARE_NEWLINE = add(mainCf("smtpd_forbid_bare_newline", LISTENER,
            "normalize", BareNewlinePolicy::parse, "", "normalize (bare LF/CR made CRLF) or reject (550 5.5.2)."));
    public static final Param<String> SMTPD_SENDER_RESTRICTIONS = add(mainCf("smtpd_sender_restrictions", LISTENER, "", text(),
            "restrictions", "Evaluated at MAIL FROM on every listener: permit, reject, permit_mynetworks, "
                    + "permit_sasl_authenticated, reject_sender_login_mismatch and its three variants."));
    public static final Param<String> SMTPD_SENDER_LOGIN_MAPS = add(mainCf("smtpd_sender_login_maps", LISTENER,
            "(docker-mailserver's: each address by itself, postfix-virtual.cf and postfix-regexp.cf aliases by their targets)",
            text(), "tables", "Which SASL logins own which sender addresses."));
    public static final Param<Boolean> SMTPD_SASL_AUTHENTICATED_HEADER = add(mainCf("smtpd_sasl_authenticated_header", LISTENER,
            "yes", yesNo(), "", "Received: names the authenticated user (Postfix's default is no)."));
    public static final Param<String> SPOOF_PROTECTION = add(variable("SPOOF_PROTECTION", LISTENER, "1",
            (text, where) -> {
                if (!text.equals("0") && !text.equals("1")) {
                    throw new IllegalArgumentException("is not 0 or 1: '" + text + "'");
                }
                return text;
            }, "0 or 1", "1: submission and smtps users send only as addresses they own (Postfix's "
                    + "reject_authenticated_sender_login_mismatch). docker-mailserver's default is 0."));

    // ---------------------------------------------------------------- content

    public static final Param<Long> MESSAGE_SIZE_LIMIT = add(mainCf("message_size_limit", CONTENT, "10240000",
            number(0, Long.MAX_VALUE), "bytes", "The largest message accepted (and a milter may make); 0: no limit."));
    public static final Param<String> HEADER_CHECKS = add(mainCf("header_checks", CONTENT, "", text(), "tables",
            "regexp: or pcre: tables applied to each header line when mail is accepted."));
    public static final Param<String> SMTP_HEADER_CHECKS = add(mainCf("smtp_header_checks", CONTENT, "", text(), "tables",
            "regexp: or pcre: tables applied at each delivery (IGNORE, REPLACE, PREPEND, WARN)."));
    public static final Param<String> SMTPD_MILTERS = add(mainCf("smtpd_milters", CONTENT, "", text(), "milters",
            "Milters for mail received over SMTP: inet:host:port, inet:port@host or unix:/path."));
    public static final Param<String> NON_SMTPD_MILTERS = add(mainCf("non_smtpd_milters", CONTENT, "", text(), "milters",
            "Milters for mail the library submits and mta sendmail spools."));
    public static final Param<String> MILTER_DEFAULT_ACTION = add(mainCf("milter_default_action", CONTENT, "tempfail",
            (text, where) -> {
                String a = text.strip().toLowerCase(Locale.ROOT);
                if (!MilterSettings.DEFAULT_ACTIONS.contains(a)) {
                    throw new IllegalArgumentException("'" + text + "' is not tempfail, accept, reject or quarantine");
                }
                return a;
            }, "", "What a milter that cannot be reached or times out counts as: tempfail, accept, reject, quarantine."));
    public static final Param<Integer> MILTER_PROTOCOL = add(mainCf("milter_protocol", CONTENT, "6", count(2, 6), "version",
            "The milter protocol version offered."));
    public static final Param<Duration> MILTER_CONNECT_TIMEOUT = add(mainCf("milter_connect_timeout", CONTENT, "30s",
            duration('s'), TIME, "Connecting to a milter."));
    public static final Param<Duration> MILTER_COMMAND_TIMEOUT = add(mainCf("milter_command_timeout", CONTENT, "30s",
            duration('s'), TIME, "Each command a milter answers."));
    public static final Param<Duration> MILTER_CONTENT_TIMEOUT = add(mainCf("milter_content_timeout", CONTENT, "300s",
            duration('s'), TIME, "The body and end of message."));
    public static final Param<String> MILTER_CONNECT_MACROS = add(macros("connect", "j {daemon_name} {daemon_addr} v _"));
    public static final Param<String> MILTER_HELO_MACROS = add(macros("helo", "{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}"));
    public static final Param<String> MILTER_MAIL_MACROS = add(macros("mail", "i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}"));
    public static final Param<String> MILTER_RCPT_MACROS = add(macros("rcpt", "{rcpt_addr} {rcpt_host} {rcpt_mailer}"));
    public static final Param<String> MILTER_DATA_MACROS = add(macros("data", "i"));
    public static final Param<String> MILTER_END_OF_HEADER_MACROS = add(macros("end_of_header", ""));
    public static final Param<String> MILTER_END_OF_DATA_MACROS = add(macros("end_of_data", "i"));

    private static Param<String> macros(String stage, String defaults) {
        return mainCf("milter_" + stage + "_macros", CONTENT, defaults, text(), "macros", "Macros sent to milters at " + stage.replace('_', ' ') + ".");
    }

    // ---------------------------------------------------------------- queue

    public static final Param<Duration> QUEUE_RUN_DELAY = add(mainCf("queue_run_delay", QUEUE, "300s", duration('s'), TIME,
            "How often deferred mail is looked at."));
    public static final Param<Duration> MINIMAL_BACKOFF_TIME = add(mainCf("minimal_backoff_time", QUEUE, "300s", duration('s'),
            TIME, "The shortest wait before a deferred message is tried again; a dead destination is suspended this long."));
    public static final Param<Duration> MAXIMAL_BACKOFF_TIME = add(mainCf("maximal_backoff_time", QUEUE, "4000s", duration('s'),
            TIME, "The longest wait between attempts."));
    public static final Param<Duration> MAXIMAL_QUEUE_LIFETIME = add(mainCf("maximal_queue_lifetime", QUEUE, "5d", duration('d'),
            TIME, "After this a deferred message is bounced."));
    public static final Param<Duration> BOUNCE_QUEUE_LIFETIME = add(mainCf("bounce_queue_lifetime", QUEUE, "5d", duration('d'),
            TIME, "The same for bounces (null sender), which are then dropped."));
    public static final Param<Duration> DELAY_WARNING_TIME = add(mainCf("delay_warning_time", QUEUE, "0h", duration('h'), TIME,
            "When the sender hears that a message is delayed; 0: never."));
    public static final Param<Integer> DEFAULT_DESTINATION_CONCURRENCY_LIMIT = add(mainCf("default_destination_concurrency_limit",
            QUEUE, "20", count(1, Integer.MAX_VALUE), "deliveries", "Deliveries at once per destination."));
    public static final Param<Integer> DEFAULT_DESTINATION_RECIPIENT_LIMIT = add(mainCf("default_destination_recipient_limit",
            QUEUE, "50", count(1, Integer.MAX_VALUE), "recipients", "Recipients per transaction."));
    public static final Param<Long> BOUNCE_SIZE_LIMIT = add(mainCf("bounce_size_limit", QUEUE, "50000", number(0, Long.MAX_VALUE),
            "bytes", "Bounces quote the whole message up to this size, its headers above."));
    public static final Param<Long> QUEUE_MINFREE = add(mainCf("queue_minfree", QUEUE, "0", number(0, Long.MAX_VALUE), "bytes",
            "Free space the spool's file system must keep; at least 1.5 x message_size_limit anyway."));

    // ---------------------------------------------------------------- delivery

    public static final Param<Duration> SMTP_CONNECT_TIMEOUT = add(client("connect", "30s", "Connecting to a server."));
    public static final Param<Duration> SMTP_HELO_TIMEOUT = add(client("helo", "300s", "The greeting and the EHLO reply."));
    public static final Param<Duration> SMTP_MAIL_TIMEOUT = add(client("mail", "300s", "The MAIL FROM reply."));
    public static final Param<Duration> SMTP_RCPT_TIMEOUT = add(client("rcpt", "300s", "Each RCPT TO reply."));
    public static final Param<Duration> SMTP_STARTTLS_TIMEOUT = add(client("starttls", "300s", "STARTTLS and the handshake."));
    public static final Param<Duration> SMTP_DATA_INIT_TIMEOUT = add(client("data_init", "120s", "The DATA reply."));
    public static final Param<Duration> SMTP_DATA_XFER_TIMEOUT = add(client("data_xfer", "180s", "Between writes of the content."));
    public static final Param<Duration> SMTP_DATA_DONE_TIMEOUT = add(client("data_done", "600s", "The reply after the final dot."));
    public static final Param<Duration> SMTP_QUIT_TIMEOUT = add(client("quit", "300s", "The QUIT reply."));
    public static final Param<Duration> SMTP_CONNECTION_CACHE_TIME_LIMIT = add(mainCf("smtp_connection_cache_time_limit", DELIVERY,
            "2s", duration('s'), TIME, "How long an idle session to a destination with a backlog is kept for the next message."));
    public static final Param<Integer> SMTP_LINE_LENGTH_LIMIT = add(mainCf("smtp_line_length_limit", DELIVERY, "998",
            count(0, Integer.MAX_VALUE), "characters", "Longer lines are folded (CR LF SPACE); 0: no limit."));
    public static final Param<String> SMTP_TLS_CAFILE = add(mainCf("smtp_tls_CAfile", DELIVERY, "(the system trust store)", text(),
            "file", "Certificates trusted for the verify and secure levels (PEM)."));
    public static final Param<String> SMTP_TLS_MANDATORY_PROTOCOLS = add(mainCf("smtp_tls_mandatory_protocols", DELIVERY,
            ">=TLSv1.2", text(), "protocols", "TLS protocols for the mandatory levels; never below TLS 1.2."));
    public static final Param<String> SMTP_TLS_PROTOCOLS = add(mainCf("smtp_tls_protocols", DELIVERY, ">=TLSv1.2", text(),
            "protocols", "Used when smtp_tls_mandatory_protocols is not set."));
    public static final Param<String> SMTP_TLS_CAPATH = add(mainCf("smtp_tls_CApath", DELIVERY, "", text(), "directory",
            "A directory of PEM certificates trusted like smtp_tls_CAfile (both add to each other; neither: the system trust store)."));
    public static final Param<String> SMTP_TLS_POLICY_MAPS = add(mainCf("smtp_tls_policy_maps", DELIVERY,
            "(postfix-tls-policy.cf when present)", text(), "table",
            "TLS level per destination: domain, .domain or [host]:port -> none, may, encrypt, dane, dane-only, fingerprint, "
                    + "verify or secure, with match=, protocols=, ciphers=."));
    public static final Param<String> SMTP_DNS_SUPPORT_LEVEL = add(mainCf("smtp_dns_support_level", DELIVERY, "enabled",
            oneOf("enabled", "dnssec"), "",
            "dnssec: trust the AD bit of the (loopback, validating) resolver for MX, address and TLSA answers: DANE works."));
    public static final Param<Boolean> SMTP_MTA_STS = add(mainCf("smtp_mta_sts", DELIVERY, "yes", yesNo(), "",
            "MTA-STS (RFC 8461) for direct delivery: a domain's enforce policy makes TLS with a PKIX-valid certificate for "
                    + "a listed MX mandatory; testing only reports."));
    public static final Param<Integer> MTA_STS_PORT = add(variable("MTA_STS_PORT", DELIVERY, "443", count(1, 65535), "port",
            "The HTTPS port of MTA-STS policy hosts (tests and closed networks)."));
    public static final Param<Boolean> SMTP_TLSRPT_ENABLE = add(mainCf("smtp_tlsrpt_enable", DELIVERY, "yes", yesNo(), "",
            "SMTP TLS reports (RFC 8460): count direct sessions to domains that publish _smtp._tls and send them a daily "
                    + "report."));
    public static final Param<String> TLSRPT_ORGANIZATION_NAME = add(mainCf("tlsrpt_organization_name", DELIVERY,
            "(myhostname)", text(), "", "organization-name of the TLS reports."));
    public static final Param<String> TLSRPT_CONTACT_INFO = add(mainCf("tlsrpt_contact_info", DELIVERY,
            "(postmaster@myhostname)", text(), "", "contact-info of the TLS reports."));
    public static final Param<String> TLSRPT_SENDER = add(mainCf("tlsrpt_sender", DELIVERY, "(postmaster@myhostname)",
            text(), "address", "The sender of TLS reports by mail."));
    public static final Param<Duration> TLSRPT_INTERVAL = add(mainCf("tlsrpt_interval", DELIVERY, "1d", duration('s'), TIME,
            "The period one report covers (aligned to UTC midnight for a day; shorter for tests)."));
    public static final Param<Integer> RELAY_FAILURE_THRESHOLD = add(mainCf("relay_failure_threshold", DELIVERY, "3",
            count(1, 1000), "sessions", "Failed sessions in a row that open a relay next hop's circuit breaker."));

    private static Param<Duration> client(String step, String defaultText, String doc) {
        return mainCf("smtp_" + step + "_timeout", DELIVERY, defaultText, duration('s'), TIME, doc);
    }

    // ---------------------------------------------------------------- delivery events and suppression

    public static final Param<String> EVENT_WEBHOOKS = add(mainCf("event_webhooks", EVENTS, "", text(), "URLs",
            "Where delivery events are POSTed as JSON arrays: URL [events=delivered,bounced,...] ..., each URL with its own "
                    + "position in the event outbox. https:// (verified); http:// only to a loopback address. Read at start."));
    public static final Param<String> EVENT_WEBHOOK_SECRET_FILE = add(mainCf("event_webhook_secret_file", EVENTS, "", text(),
            "file", "The key of the X-Relay-Signature HMAC (the file's first line); required with event_webhooks."));
    public static final Param<Integer> EVENT_WEBHOOK_BATCH_LIMIT = add(mainCf("event_webhook_batch_limit", EVENTS, "100",
            count(1, 10000), "events", "At most this many events in one POST."));
    public static final Param<Duration> EVENT_WEBHOOK_TIMEOUT = add(mainCf("event_webhook_timeout", EVENTS, "10s",
            duration('s'), TIME, "How long one POST may take, connection and answer included."));
    public static final Param<String> EVENT_KAFKA_BOOTSTRAP = add(mainCf("event_kafka_bootstrap", EVENTS, "", text(),
            "host:port,...", "A Kafka cluster to publish delivery events to (kafka-clients on the class path); off when empty."));
    public static final Param<String> EVENT_KAFKA_TOPIC = add(mainCf("event_kafka_topic", EVENTS, "relay-mta-events", text(),
            "topic", "The topic; the key is the queue id, so one message's events stay in order."));
    public static final Param<String> EVENT_KAFKA_SECURITY_PROTOCOL = add(mainCf("event_kafka_security_protocol", EVENTS,
            "PLAINTEXT", oneOf("plaintext", "ssl", "sasl_plaintext", "sasl_ssl"), "",
            "Kafka's security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."));
    public static final Param<String> EVENT_KAFKA_SASL_MECHANISM = add(mainCf("event_kafka_sasl_mechanism", EVENTS, "PLAIN",
            oneOf("plain", "scram-sha-256", "scram-sha-512"), "", "With SASL: PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."));
    public static final Param<String> EVENT_KAFKA_USERNAME = add(mainCf("event_kafka_username", EVENTS, "", text(), "",
            "The SASL user name."));
    public static final Param<String> EVENT_KAFKA_PASSWORD_FILE = add(mainCf("event_kafka_password_file", EVENTS, "", text(),
            "file", "The SASL password (the file's first line)."));
    public static final Param<String> EVENT_KAFKA_CAFILE = add(mainCf("event_kafka_cafile", EVENTS, "", text(), "file",
            "PEM certificates the brokers' TLS certificates are verified against (default: the system's)."));
    public static final Param<Long> EVENT_QUEUE_LIMIT = add(mainCf("event_queue_limit", EVENTS, "1073741824",
            number(1024 * 1024, Long.MAX_VALUE), "bytes", "The event outbox's size on disk: past it the oldest events a "
                    + "sink has not taken are dropped (counted, logged and reported in /health), never the mail."));
    public static final Param<Duration> EVENT_RETRY_MAXIMUM = add(mainCf("event_retry_maximum", EVENTS, "300s",
            duration('s'), TIME, "The longest wait between two tries of a sink that fails (exponential from 1 s, with jitter)."));
    public static final Param<Boolean> SUPPRESS_HARD_BOUNCES = add(mainCf("suppress_hard_bounces", EVENTS, "no", yesNo(), "",
            "Suppress recipients that bounced with a class of suppression_classes: later mail to them bounces at once."));
    public static final Param<String> SUPPRESSION_CLASSES = add(mainCf("suppression_classes", EVENTS, "invalid-recipient",
            text(), "classes", "The bounce classes that suppress a recipient."));
    public static final Param<Duration> SUPPRESSION_LIFETIME = add(mainCf("suppression_lifetime", EVENTS, "90d",
            duration('d'), TIME, "How long a suppression lasts."));

    // ---------------------------------------------------------------- several nodes

    public static final Param<String> MTA_REDIS_URL = add(variable("MTA_REDIS_URL", CLUSTER, "", text(), "URL",
            "redis://[user:password@]host:port[/db] (rediss:// for TLS): share quotas and relay health with other nodes.")
            .asSecret());
    public static final Param<String> MTA_REDIS_PASSWORD = add(variable("MTA_REDIS_PASSWORD", CLUSTER, "", text(), "",
            "The Redis password, instead of in the URL (MTA_REDIS_PASSWORD__FILE reads it from a file).").asSecret());
    public static final Param<Integer> MTA_CLUSTER_NODES = add(variable("MTA_CLUSTER_NODES", CLUSTER, "1", count(1, 1000),
            "nodes", "How many nodes there are: each counts this share of every quota while Redis is away."));
    public static final Param<Boolean> MTA_SPOOL_TAKEOVER = add(variable("MTA_SPOOL_TAKEOVER", CLUSTER, "off", yesNo(), "",
            "on: spools under one MTA_SPOOL_DIR root (one per MTA_NODE_ID); a dead node's spool is delivered by another."));
    public static final Param<String> MTA_NODE_ID = add(variable("MTA_NODE_ID", CLUSTER, "", text(), "name",
            "This node's stable name (a StatefulSet ordinal): its spool is MTA_SPOOL_DIR/NAME; default the host name."));
    public static final Param<Duration> SPOOL_LEASE_TIME = add(mainCf("spool_lease_time", CLUSTER, "15s", duration('s'), TIME,
            "How long a node's hold on its spool lasts unless renewed (every third of it); a spool is taken over after twice this."));
    public static final Param<String> MTA_SPOOL_FENCED = add(variable("MTA_SPOOL_FENCED", CLUSTER, "exit", oneOf("exit", "wait"),
            "", "What a node does when another took its spool over: exit (to be restarted), or wait without delivering."));

    // ---------------------------------------------------------------- the mta process

    public static final Param<String> MTA_LISTEN = add(variable("MTA_LISTEN", PROCESS, "127.0.0.1:2525", text(), "host:port",
            "The relay listener (mynetworks or AUTH); also --listen."));
    public static final Param<String> MTA_SUBMISSION_LISTEN = add(variable("MTA_SUBMISSION_LISTEN", PROCESS, "", text(),
            "host:port", "A submission listener (STARTTLS and AUTH required); off when empty."));
    public static final Param<String> MTA_SMTPS_LISTEN = add(variable("MTA_SMTPS_LISTEN", PROCESS, "", text(), "host:port",
            "An implicit-TLS listener (AUTH required); off when empty."));
    public static final Param<String> MTA_ADMIN_LISTEN = add(variable("MTA_ADMIN_LISTEN", PROCESS, "127.0.0.1:9108", text(),
            "host:port", "The admin endpoint (mta queue, /health, /metrics); off turns it off."));
    public static final Param<String> MTA_ADMIN_TOKEN = add(variable("MTA_ADMIN_TOKEN", PROCESS,
            "(random, written to <spool>/admin.token)", text(), "", "The bearer token for /queue.").asSecret());
    public static final Param<String> MTA_SPOOL_DIR = add(variable("MTA_SPOOL_DIR", PROCESS, "./data/spool", text(), "directory",
            "The spool; one relay owns it at a time."));
    public static final Param<String> MTA_CONFIG_DIR = add(variable("MTA_CONFIG_DIR", PROCESS, "./config", text(), "directory",
            "The config directory in docker-mailserver's layout."));
    public static final Param<String> MTA_DNS_SERVERS = add(variable("MTA_DNS_SERVERS", PROCESS, "(those of /etc/resolv.conf)",
            text(), "host:port,...", "DNS servers for MX and address lookups."));
    public static final Param<Integer> MTA_DIRECT_PORT = add(variable("MTA_DIRECT_PORT", PROCESS, "25", count(1, 65535), "port",
            "The port of direct MX delivery (tests and closed networks)."));
    public static final Param<String> MTA_LOG_FORMAT = add(variable("MTA_LOG_FORMAT", LOGGING, "plain", text(), "",
            "plain, postfix (syslog lines pflogsumm reads) or json."));
    public static final Param<String> MTA_LOG_LEVEL = add(variable("MTA_LOG_LEVEL", LOGGING, "info", text(), "",
            "error, warn, info, debug or trace."));
    public static final Param<String> SYSLOG_NAME = add(mainCf("syslog_name", LOGGING, "postfix", text(), "",
            "The program prefix of postfix-format log lines."));

    /** Every setting, in the order of the reference page. */
    public static List<Param<?>> all() {
        return Collections.unmodifiableList(ALL);
    }

    /** The main.cf parameter of this name, if this relay has one. */
    public static Optional<Param<?>> forMainCf(String name) {
        return ALL.stream().filter(p -> p.inMainCf() && p.name().equals(name)).findFirst();
    }

    /** The setting an environment variable sets, if any. */
    public static Optional<Param<?>> forVariable(String variable) {
        return ALL.stream().filter(p -> p.variable().filter(variable::equals).isPresent()).findFirst();
    }

    /** By section, in table order. */
    public static Map<Param.Section, List<Param<?>>> bySection() {
        Map<Param.Section, List<Param<?>>> m = new LinkedHashMap<>();
        for (Param.Section s : Param.Section.values()) {
            m.put(s, new ArrayList<>());
        }
        ALL.forEach(p -> m.get(p.section()).add(p));
        return m;
    }
}
