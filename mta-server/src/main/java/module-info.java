/**
 * Relay MTA's server: the SMTP listeners ({@link org.relaymta.server.smtp.RelayListener}, which an
 * application may start over its own engine), the {@code mta} command line, the admin endpoint and
 * the log formats. Only the listener is API; the rest is the {@code mta} process.
 */
module org.relaymta.server {
    requires org.relaymta.core;
    requires io.netty.buffer;
    requires io.netty.codec;
    requires io.netty.codec.http;
    requires io.netty.common;
    requires io.netty.handler;
    requires io.netty.transport;
    requires info.picocli;
    requires org.bouncycastle.pkix;
    requires org.bouncycastle.provider;
    requires org.apache.commons.codec;
    requires micrometer.registry.prometheus;
    requires java.net.http;
    requires jdk.httpserver;
    requires jdk.unsupported;   // sun.misc.Signal: SIGHUP reloads
    requires org.slf4j;
    requires com.google.gson;

    exports org.relaymta.server.smtp;
    // picocli reads the commands' annotated fields; SLF4J loads the log provider by name (slf4j.provider)
    opens org.relaymta.server.cli to info.picocli;
    exports org.relaymta.server.logging to org.slf4j;
}
