package org.relaymta.spring;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * {@code relaymta.*}: where the relay keeps its spool, where it relays to, and whether it also
 * listens for SMTP. The relay settings are docker-mailserver's: with {@code config-dir} they are
 * read from that directory ({@code postfix-relaymap.cf}, {@code postfix-sasl-password.cf},
 * {@code postfix-main.cf}) and the variables below, as {@code mta run} reads them.
 *
 * <pre>
 * relaymta.spool-dir=/var/lib/myapp/relay-spool
 * relaymta.default-relay-host=[email-smtp.eu-west-1.amazonaws.com]:587
 * relaymta.relay-user=AKIAEXAMPLE
 * relaymta.relay-password=${SES_SMTP_PASSWORD}
 * </pre>
 */
@ConfigurationProperties(prefix = "relaymta")
public class RelayMtaProperties {
    /** Whether to start a relay at all. */
    private boolean enabled = true;
    /** The spool: mail is durable here before send() returns; keep it on a persistent volume. */
    private Path spoolDir = Path.of("data", "relaymta-spool");
    /** A docker-mailserver config directory (hot-reloaded); unset: only the properties here. */
    private Path configDir;
    /** DEFAULT_RELAY_HOST: the smarthost for all mail, like {@code [smtp.example.com]:587}; unset: direct to MX. */
    private String defaultRelayHost;
    /** RELAY_USER: SASL user for the smarthost (TLS then becomes mandatory, as in docker-mailserver). */
    private String relayUser;
    /** RELAY_PASSWORD, or {oauth2}PROFILE with an oauth2-clients.cf in config-dir. */
    private String relayPassword;
    /** The name sent in EHLO and used in bounces; default: the machine's name. */
    private String hostname;
    /** Other docker-mailserver or MTA_ variables by name (RELAY_HOST, RELAY_PORT, MTA_MYNETWORKS); needs config-dir. */
    private Map<String, String> env = new LinkedHashMap<>();
    /** How long running deliveries may finish when the application stops; the rest stays spooled. */
    private Duration shutdownTimeout = Duration.ofSeconds(10);
    /** Retry backoff bounds (Postfix minimal_backoff_time, maximal_backoff_time) when config-dir is unset. */
    private Duration minimalBackoff;
    private Duration maximalBackoff;
    /** Publish every delivery event (received, delivered, bounced, ...) as a Spring application event. */
    private boolean publishEvents = true;
    private final MailSender mailSender = new MailSender();
    private final Listener listener = new Listener();

    public static class MailSender {
        /** Whether to offer a JavaMailSender that queues into the relay (unless the application defines one). */
        private boolean enabled = true;

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }
    }

    public static class Listener {
        /** Whether to accept SMTP too (needs org.relaymta:mta-server on the classpath). */
        private boolean enabled;
        /** Where to listen, HOST:PORT. */
        private String address = "127.0.0.1:2525";

        public boolean isEnabled() {
            return enabled;
        }

        public void setEnabled(boolean enabled) {
            this.enabled = enabled;
        }

        public String getAddress() {
            return address;
        }

        public void setAddress(String address) {
            this.address = address;
        }
    }

    public boolean isEnabled() {
        return enabled;
    }

    public void setEnabled(boolean enabled) {
        this.enabled = enabled;
    }

    public boolean isPublishEvents() {
        return publishEvents;
    }

    public void setPublishEvents(boolean publishEvents) {
        this.publishEvents = publishEvents;
    }

    public Path getSpoolDir() {
        return spoolDir;
    }

    public void setSpoolDir(Path spoolDir) {
        this.spoolDir = spoolDir;
    }

    public Path getConfigDir() {
        return configDir;
    }

    public void setConfigDir(Path configDir) {
        this.configDir = configDir;
    }

    public String getDefaultRelayHost() {
        return defaultRelayHost;
    }

    public void setDefaultRelayHost(String defaultRelayHost) {
        this.defaultRelayHost = defaultRelayHost;
    }

    public String getRelayUser() {
        return relayUser;
    }

    public void setRelayUser(String relayUser) {
        this.relayUser = relayUser;
    }

    public String getRelayPassword() {
        return relayPassword;
    }

    public void setRelayPassword(String relayPassword) {
        this.relayPassword = relayPassword;
    }

    public String getHostname() {
        return hostname;
    }

    public void setHostname(String hostname) {
        this.hostname = hostname;
    }

    public Map<String, String> getEnv() {
        return env;
    }

    public void setEnv(Map<String, String> env) {
        this.env = env;
    }

    public Duration getShutdownTimeout() {
        return shutdownTimeout;
    }

    public void setShutdownTimeout(Duration shutdownTimeout) {
        this.shutdownTimeout = shutdownTimeout;
    }

    public Duration getMinimalBackoff() {
        return minimalBackoff;
    }

    public void setMinimalBackoff(Duration minimalBackoff) {
        this.minimalBackoff = minimalBackoff;
    }

    public Duration getMaximalBackoff() {
        return maximalBackoff;
    }

    public void setMaximalBackoff(Duration maximalBackoff) {
        this.maximalBackoff = maximalBackoff;
    }

    public MailSender getMailSender() {
        return mailSender;
    }

    public Listener getListener() {
        return listener;
    }

    @Override
    public String toString() {
        // Never the password.
        return "relaymta(spool-dir=" + spoolDir + ", config-dir=" + configDir + ", default-relay-host=" + defaultRelayHost
                + ", relay-user=" + relayUser + ", relay-password=" + (relayPassword == null ? "unset" : "set") + ")";
    }
}
