package org.relaymta.config.internal;

import java.net.URI;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One OAuth2 client of {@code oauth2-clients.cf}: how to get access tokens for relay
 * authentication with a password written {@code {oauth2}NAME}. {@link #toString()} never shows
 * the client secret.
 *
 * @param name               the profile name (the prefix of its keys)
 * @param provider           whose token endpoint and defaults apply
 * @param grant              how tokens are obtained
 * @param tokenUrl           the token endpoint (the provider's, or {@code token_url})
 * @param clientId           {@code client_id} (empty for a Google service account, whose file holds it)
 * @param clientSecret       {@code client_secret}, or read from {@code client_secret_file}; empty when not needed
 * @param scope              {@code scope}, or the provider's default for the grant
 * @param refreshTokenFile   where the refresh token is kept (and rewritten when it rotates)
 * @param serviceAccountFile a Google service account's JSON key file
 * @param subject            the mailbox a Google service account acts for (domain-wide delegation)
 * @param location           {@code oauth2-clients.cf:LINE} of the profile's first key, for errors
 * @param authUrl            the authorization endpoint for a browser sign-in ({@code auth_url}, or the provider's)
 */
public record OAuth2Profile(String name, Provider provider, Grant grant, URI tokenUrl, String clientId,
                            Optional<String> clientSecret, String scope, Optional<Path> refreshTokenFile,
                            Optional<Path> serviceAccountFile, Optional<String> subject, String location, URI authUrl) {

    public enum Provider {
        MICROSOFT("microsoft"), GOOGLE("google"), GOOGLE_SERVICE_ACCOUNT("google-service-account"), GENERIC("generic");

        private final String configName;

        Provider(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    public enum Grant {
        CLIENT_CREDENTIALS("client_credentials"), REFRESH_TOKEN("refresh_token"), JWT_BEARER("jwt_bearer");

        private final String configName;

        Grant(String configName) {
            this.configName = configName;
        }

        public String configName() {
            return configName;
        }
    }

    @Override
    public String toString() {
        return "OAuth2Profile[name=" + name + ", provider=" + provider.configName() + ", grant=" + grant.configName()
                + ", tokenUrl=" + tokenUrl + ", clientId=" + clientId + ", clientSecret="
                + (clientSecret.isPresent() ? "****" : "none") + ", scope=" + scope + "]";
    }
}
