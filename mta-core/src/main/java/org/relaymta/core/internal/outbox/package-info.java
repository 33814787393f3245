/**
 * Not API. The durable event outbox: events recorded before the spool change they describe,
 * checkpoints, and the feed that hands them to listeners from their positions.
 */
package org.relaymta.core.internal.outbox;
