package org.relaymta.server.smtp;

/**
 * BDAT (RFC 3030 CHUNKING) is not offered; a client that sends it anyway is refused, and the chunk
 * it announced is read and thrown away first, so that its bytes are never taken for commands. A
 * chunk whose size cannot be known, or that is larger than any message could be, ends the session.
 */
final class BdatVerb implements Verb {
    /** Chunks up to this size are skipped when no message size limit is set. */
    private static final long MAX_SKIP = 64L * 1024 * 1024;

    @Override
    public void handle(SmtpSession session, String arg) {
        String[] words = arg.split(" +");
        long size = -1;
        if (words.length >= 1 && words.length <= 2 && words[0].matches("[0-9]{1,18}")
                && (words.length == 1 || words[1].equalsIgnoreCase("LAST"))) {
            size = Long.parseLong(words[0]);
        }
        long limit = session.state().config().content().messageSizeLimit() > 0 ? session.state().config().content().messageSizeLimit() : MAX_SKIP;
        if (size < 0 || size > limit) {
            session.closeWith("421 4.7.0 " + session.state().config().myhostname()
                    + " Error: BDAT is not supported and its chunk cannot be skipped");
            return;
        }
        session.discard(size, () -> session.reply(502, "5.5.1 Error: command not implemented"));
    }
}
