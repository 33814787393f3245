/**
 * The queue as an application or operator sees it: {@link org.relaymta.core.queue.QueueControl}
 * (Postfix's mailq, postqueue and postsuper as Java calls), the messages and recipients it lists,
 * the {@link org.relaymta.core.queue.QueueAction}s and their results, and the exceptions of submitting.
 */
package org.relaymta.core.queue;
