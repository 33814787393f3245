/**
 * Relay MTA's configuration vocabulary: {@link org.relaymta.config.TlsLevel},
 * {@link org.relaymta.config.QueueSettings}, {@link org.relaymta.config.SmtpClientSettings} and
 * {@link org.relaymta.config.ConfigException}, the errors a configuration can have. Reading
 * docker-mailserver's variables and config directory, the parameter table, the Postfix table
 * syntax and the router are internal; applications give settings as Java values with
 * {@code org.relaymta.core.RelaySettings}.
 */
module org.relaymta.config {
    requires org.slf4j;
    requires com.google.gson;

    exports org.relaymta.config;
    exports org.relaymta.config.internal to org.relaymta.core, org.relaymta.server;
}
