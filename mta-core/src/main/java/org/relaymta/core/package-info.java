/**
 * Relay MTA as a library: {@link org.relaymta.core.RelayEngine} (start a relay on a spool
 * directory, submit messages, listen to events, control the queue) and
 * {@link org.relaymta.core.RelaySettings} (its settings as Java values, by the same rules as a
 * docker-mailserver config directory).
 */
package org.relaymta.core;
