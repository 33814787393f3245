package org.relaymta.server.logging;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.relaymta.config.internal.LogText;
import org.slf4j.ILoggerFactory;
import org.slf4j.IMarkerFactory;
import org.slf4j.Logger;
import org.slf4j.Marker;
import org.slf4j.event.Level;
import org.slf4j.helpers.BasicMarkerFactory;
import org.slf4j.helpers.LegacyAbstractLogger;
import org.slf4j.helpers.MessageFormatter;
import org.slf4j.helpers.NOPMDCAdapter;
import org.slf4j.spi.MDCAdapter;
import org.slf4j.spi.SLF4JServiceProvider;

/** The SLF4J binding of the relay process: every logger writes through {@link RelayLog}. */
public final class RelayLogProvider implements SLF4JServiceProvider {
    private final Map<String, Logger> loggers = new ConcurrentHashMap<>();
    private final ILoggerFactory factory = name -> loggers.computeIfAbsent(name, RelayLogger::new);
    private final IMarkerFactory markers = new BasicMarkerFactory();
    private final MDCAdapter mdc = new NOPMDCAdapter();

    @Override
    public ILoggerFactory getLoggerFactory() {
        return factory;
    }

    @Override
    public IMarkerFactory getMarkerFactory() {
        return markers;
    }

    @Override
    public MDCAdapter getMDCAdapter() {
        return mdc;
    }

    @Override
    public String getRequestedApiVersion() {
        return "2.0.99";
    }

    @Override
    public void initialize() {
        // configured from the environment by RelayLog, and by mta run
    }

    private static final class RelayLogger extends LegacyAbstractLogger {
        RelayLogger(String name) {
            this.name = name;
        }

        @Override
        protected String getFullyQualifiedCallerName() {
            return null;
        }

        /**
         * The pattern is the relay's own text; every argument is data (an address, a reply, a name
         * from DNS) and gets its control characters escaped before it is put in, so no value can
         * end the line or forge another, in any format.
         */
        @Override
        protected void handleNormalizedLoggingCall(Level level, Marker marker, String pattern, Object[] arguments,
                                                   Throwable throwable) {
            String message;
            if (arguments == null) {
                message = pattern;
            } else {
                Object[] escaped = new Object[arguments.length];
                for (int i = 0; i < arguments.length; i++) {
                    escaped[i] = arguments[i] == null ? null : LogText.controls(String.valueOf(arguments[i]));
                }
                message = MessageFormatter.basicArrayFormat(pattern, escaped);
            }
            RelayLog.write(name, level, message, throwable);
        }

        @Override
        public boolean isTraceEnabled() {
            return RelayLog.enabled(name, Level.TRACE);
        }

        @Override
        public boolean isDebugEnabled() {
            return RelayLog.enabled(name, Level.DEBUG);
        }

        @Override
        public boolean isInfoEnabled() {
            return RelayLog.enabled(name, Level.INFO);
        }

        @Override
        public boolean isWarnEnabled() {
            return RelayLog.enabled(name, Level.WARN);
        }

        @Override
        public boolean isErrorEnabled() {
            return RelayLog.enabled(name, Level.ERROR);
        }
    }
}
