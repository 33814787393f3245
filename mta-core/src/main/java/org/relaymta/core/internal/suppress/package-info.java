/**
 * The suppression list: {@link org.relaymta.core.internal.suppress.LocalSuppressions} in the spool,
 * {@link org.relaymta.core.internal.suppress.SharedSuppressions} mirrored through Redis.
 */
package org.relaymta.core.internal.suppress;
