/**
 * The Jakarta Mail transport {@code relaymta}: {@code Transport.send} returns once the message is
 * durable in an embedded relay's spool.
 */
package org.relaymta.core.mail;
