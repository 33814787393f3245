/**
 * Not API. The spool, the truth about every accepted message: the journal of new messages, queue
 * files and state files, the owner lock, restart scans.
 */
package org.relaymta.core.internal.spool;
