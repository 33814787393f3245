/**
 * Not API. MTA-STS (RFC 8461): a recipient domain's published policy, found by its
 * {@code _mta-sts} TXT record, fetched over HTTPS from {@code mta-sts.<domain>}, kept in the spool
 * directory across restarts; the delivery step turns it into TLS requirements.
 */
package org.relaymta.core.internal.sts;
