/**
 * Not API. The parameter table and the loader of docker-mailserver config directories into immutable
 * snapshots, the Postfix table syntaxes, the pure router, the provider catalogue and the JSON library.
 */
package org.relaymta.config.internal;
