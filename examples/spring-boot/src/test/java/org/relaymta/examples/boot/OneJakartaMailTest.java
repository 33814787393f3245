package org.relaymta.examples.boot;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.URL;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A Boot application with the relay's starter and Spring's mail starter has each Jakarta Mail class once. */
class OneJakartaMailTest {
    @Test
    void jakartaMailIsOnTheClassPathOnce() throws Exception {
        for (String c : List.of("jakarta/mail/Session.class", "org/eclipse/angus/mail/smtp/SMTPTransport.class")) {
            List<URL> copies = Collections.list(getClass().getClassLoader().getResources(c));
            assertEquals(1, copies.size(), c + " is on the class path " + copies.size() + " times: " + copies);
        }
    }
}
