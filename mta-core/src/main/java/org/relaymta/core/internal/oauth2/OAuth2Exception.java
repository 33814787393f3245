package org.relaymta.core.internal.oauth2;

/** A token could not be had: the message says from where and the endpoint's error code, never a secret. */
public final class OAuth2Exception extends RuntimeException {
    public OAuth2Exception(String message, Throwable cause) {
        super(message, cause);
    }

    public OAuth2Exception(String message) {
        super(message);
    }
}
