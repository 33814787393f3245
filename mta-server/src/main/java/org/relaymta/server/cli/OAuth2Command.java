package org.relaymta.server.cli;

import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import org.relaymta.config.internal.OAuth2Profile;
import org.relaymta.config.internal.RelayConfig;
import org.relaymta.core.internal.oauth2.AccessToken;
import org.relaymta.core.internal.oauth2.OAuth2Exception;
import org.relaymta.core.internal.oauth2.OAuth2Tokens;
import org.relaymta.server.oauth2.BrowserLogin;
import org.relaymta.server.oauth2.DeviceLogin;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code mta oauth2 token PROFILE}: checks a profile of oauth2-clients.cf end to end by fetching a token. */
@Command(name = "oauth2", description = "OAuth2 relay authentication (profiles in oauth2-clients.cf).",
        subcommands = {OAuth2Command.Token.class, OAuth2Command.Login.class})
final class OAuth2Command implements Runnable {
    @Override
    public void run() {
        System.err.println("mta oauth2: give a subcommand: token PROFILE, login PROFILE");
    }

    @Command(name = "token", description = {"Fetches an access token for PROFILE from its token endpoint and prints "
            + "its expiry and scope (never the token). Exit 0 when one was issued, 1 when the endpoint refused, "
            + "2 for a configuration error."})
    static final class Token implements Callable<Integer> {
        @Mixin
        ConfigDirOption configDir;

        @Parameters(index = "0", paramLabel = "PROFILE", description = "Profile name in oauth2-clients.cf.")
        String profile;

        @Override
        public Integer call() {
            RelayConfig config = configDir.load();
            if (config == null) {
                return 2;
            }
            if (!config.routing().oauth2Profiles().containsKey(profile)) {
                System.err.println("mta oauth2: no profile '" + profile + "' in oauth2-clients.cf (profiles: "
                        + String.join(", ", new TreeSet<>(config.routing().oauth2Profiles().keySet())) + ")");
                return 2;
            }
            Clock clock = Clock.systemUTC();
            try {
                AccessToken token = new OAuth2Tokens(() -> config, clock).token(profile).join();
                long seconds = Duration.between(clock.instant(), token.expires()).toSeconds();
                System.out.println("profile " + profile + ": access token issued, expires " + token.expires() + " (in "
                        + seconds + " s), scope " + token.scope());
                return 0;
            } catch (CompletionException e) {
                Throwable cause = e.getCause() != null ? e.getCause() : e;
                System.err.println("mta oauth2: " + cause.getMessage());
                return 1;
            }
        }
    }

    @Command(name = "login", description = {"Gets the first refresh token of a delegated PROFILE (grant refresh_token): "
            + "by the device code flow (prints a code to enter at the provider's sign-in page), or for Google and with "
            + "--browser by a browser sign-in with a loopback redirect (PKCE); saves the refresh token to the profile's "
            + "refresh_token_file (owner-only). Never prints a token."})
    static final class Login implements Callable<Integer> {
        @Mixin
        ConfigDirOption configDir;

        @Parameters(index = "0", paramLabel = "PROFILE", description = "Profile name in oauth2-clients.cf.")
        String profile;

        @picocli.CommandLine.Option(names = "--browser",
                description = "Sign in with a browser and a loopback redirect instead of a device code (always so for Google).")
        boolean browser;

        @Override
        public Integer call() {
            RelayConfig config = configDir.load();
            if (config == null) {
                return 2;
            }
            OAuth2Profile p = config.routing().oauth2Profiles().get(profile);
            if (p == null) {
                System.err.println("mta oauth2: no profile '" + profile + "' in oauth2-clients.cf");
                return 2;
            }
            try {
                if (p.provider() == OAuth2Profile.Provider.GOOGLE || browser) {
                    // Google allows no device flow for mail: a browser sign-in with a loopback redirect.
                    new BrowserLogin().login(p, url -> {
                        System.out.println("Open this address in a browser on this machine (or forward the port"
                                + " it redirects to) and sign in:");
                        System.out.println(url);
                        System.out.flush();
                    }, Duration.ofMinutes(10));
                } else {
                    new DeviceLogin().login(p, prompt -> {
                        System.out.println(prompt.message());
                        System.out.flush();
                    });
                }
                System.out.println("profile " + profile + ": signed in; refresh token saved to " + p.refreshTokenFile().get());
                return 0;
            } catch (OAuth2Exception | IOException e) {
                System.err.println("mta oauth2: " + e.getMessage());
                return 1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return 1;
            }
        }
    }
}
