/**
 * Not API. The queue manager after Postfix's qmgr: scheduling, destination limits, attempts and
 * what their outcomes mean, bounces, operator actions, and the reconciliation with the outbox at start.
 */
package org.relaymta.core.internal.queue;
