/**
 * Not API. SMTP TLS reporting (RFC 8460): the outcome of every TLS session to a recipient domain's
 * MX, counted per published policy for the domains that ask for reports ({@code _smtp._tls} TXT),
 * kept across restarts (or in Redis, shared by the nodes), and sent once per period and domain as
 * the RFC's gzipped JSON, by mail through the relay's own queue or by HTTPS POST.
 */
package org.relaymta.core.internal.tlsrpt;
