/**
 * Configuration values that the API shows: {@link org.relaymta.config.TlsLevel}, the queue and
 * SMTP client settings, and {@link org.relaymta.config.ConfigException} (what was wrong, and where).
 */
package org.relaymta.config;
