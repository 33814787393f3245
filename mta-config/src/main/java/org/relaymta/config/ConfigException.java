package org.relaymta.config;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * A configuration input is invalid. The message always names where the bad value came from:
 * an environment variable, or a file and line number.
 *
 * <pre>{@code
 * try {
 *     builder.configDirectory(Path.of("/tmp/docker-mailserver"), System.getenv());
 * } catch (ConfigException e) {
 *     System.err.println(e.source() + ": " + e.getMessage());   // postfix-relaymap.cf:12: ...
 * }
 * }</pre>
 */
public class ConfigException extends RuntimeException {
    private final String source;

    public ConfigException(String source, String problem) {
        super(source + ": " + problem);
        this.source = source;
    }

    public ConfigException(String source, String problem, Throwable cause) {
        super(source + ": " + problem, cause);
        this.source = source;
    }

    /** Where the bad input is, for example {@code postfix-relaymap.cf:12} or {@code RELAY_PORT}. */
    public String source() {
        return source;
    }

    /** Why a file could not be read, in words ("permission denied"), not just the path the JDK puts in the message. */
    public static String why(IOException e) {
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof NoSuchFileException) {
            return "no such file";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof FileSystemException fse && fse.getReason() != null) {
            return fse.getReason();
        }
        if (e instanceof CharacterCodingException) {
            return "not valid text (" + e.getClass().getSimpleName() + ")";
        }
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
