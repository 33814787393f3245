package org.relaymta.core.internal.delivery;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** What a server's EHLO reply offers, parsed once per session: extensions, AUTH mechanisms, SIZE. */
final class Capabilities {
    /** A server that answered HELO only: no extensions. */
    static final Capabilities NONE = new Capabilities(Set.of(), List.of(), 0);

    private final Set<String> keywords;
    private final List<String> authMechanisms;
    private final long sizeLimit;

    private Capabilities(Set<String> keywords, List<String> authMechanisms, long sizeLimit) {
        this.keywords = keywords;
        this.authMechanisms = authMechanisms;
        this.sizeLimit = sizeLimit;
    }

    /** Parses the lines after the first of a positive EHLO reply. */
    static Capabilities parse(SmtpReply ehlo) {
        Set<String> keywords = new HashSet<>();
        List<String> auth = new ArrayList<>();
        long size = 0;
        List<String> lines = ehlo.lines();
        for (int i = 1; i < lines.size(); i++) {
            String[] words = lines.get(i).strip().split("[\\s=]+");
            if (words.length == 0 || words[0].isEmpty()) {
                continue;
            }
            String keyword = words[0].toUpperCase(Locale.ROOT);
            keywords.add(keyword);
            if (keyword.equals("AUTH")) {
                for (int w = 1; w < words.length; w++) {
                    String mech = words[w].toUpperCase(Locale.ROOT);
                    if (!auth.contains(mech)) {
                        auth.add(mech);
                    }
                }
            } else if (keyword.equals("SIZE") && words.length > 1) {
                try {
                    size = Long.parseLong(words[1]);
                } catch (NumberFormatException ignored) {
                    // a malformed SIZE value is treated as "no limit announced"
                }
            }
        }
        return new Capabilities(Set.copyOf(keywords), List.copyOf(auth), size);
    }

    boolean has(String keyword) {
        return keywords.contains(keyword);
    }

    List<String> authMechanisms() {
        return authMechanisms;
    }

    /** The announced SIZE limit, 0 when none. */
    long sizeLimit() {
        return sizeLimit;
    }
}
