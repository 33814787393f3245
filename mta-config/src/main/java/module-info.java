/**
 * Relay MTA's settings: {@link org.relaymta.config.RelaySettings} (relay hosts, credentials,
 * sender routes, TLS level, queue timing as Java values) and the errors a configuration can have.
 * Reading docker-mailserver's variables and config directory, the Postfix table syntax and the
 * router are internal.
 */
module org.relaymta.config {
    requires org.slf4j;
    requires com.google.gson;

    exports org.relaymta.config;
    exports org.relaymta.config.internal to org.relaymta.core, org.relaymta.server;
}
