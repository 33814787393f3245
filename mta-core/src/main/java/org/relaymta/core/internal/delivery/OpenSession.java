package org.relaymta.core.internal.delivery;

/** A greeted session ready for MAIL: EHLO'd, and per policy encrypted and authenticated. */
record OpenSession(SmtpConnection connection, Capabilities capabilities, String tls) {
}
