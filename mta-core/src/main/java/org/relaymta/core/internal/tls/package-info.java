/**
 * Not API. PKIX trust for the relay's outbound TLS: the trust store that SMTP peers at the
 * verifying levels and MTA-STS policy hosts are checked against.
 */
package org.relaymta.core.internal.tls;
