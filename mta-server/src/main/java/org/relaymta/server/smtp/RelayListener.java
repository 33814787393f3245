package org.relaymta.server.smtp;

import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.relaymta.config.RelayConfig;
import org.relaymta.core.RelayEngine;
import org.subethamail.smtp.server.SMTPServer;

/** The inbound SMTP listener (SubEthaSMTP) in front of the relay engine. */
public final class RelayListener implements AutoCloseable {
    private final SMTPServer server;

    public RelayListener(RelayEngine engine, InetSocketAddress listen) {
        RelayConfig config = engine.config();
        long limit = config.messageSizeLimit();
        this.server = SMTPServer.port(listen.getPort())
                .bindAddress(listen.getAddress())
                .hostName(config.myhostname())
                .softwareName("Relay MTA")
                .messageHandlerFactory(ctx -> new RelayMessageHandler(engine, ctx))
                // SubEthaSMTP only advertises this and checks MAIL FROM SIZE=; DATA is counted in the handler.
                .maxMessageSize(limit <= 0 || limit > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) limit)
                .insertReceivedHeaders()
                .connectionTimeout(300, TimeUnit.SECONDS)
                .serverThreadName("mta-smtp-listener")
                .build();
    }

    public void start() {
        server.start();
    }

    public boolean running() {
        return server.isRunning();
    }

    public int port() {
        return server.getPortAllocated();
    }

    @Override
    public void close() {
        server.stop();
    }
}
