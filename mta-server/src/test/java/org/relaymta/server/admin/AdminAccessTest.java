package org.relaymta.server.admin;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.relaymta.config.internal.Env;

/** Who may use the admin endpoint: the token, browsers (Origin), DNS rebinding (Host). */
class AdminAccessTest {
    private static final InetSocketAddress LOOPBACK = new InetSocketAddress("127.0.0.1", 8025);

    @TempDir
    Path spool;

    private AdminAccess configured(String token) throws Exception {
        return AdminAccess.forRelay(new Env(Map.of("MTA_ADMIN_TOKEN", token)), spool, LOOPBACK);
    }

    private static HttpHeaders headers(String... nameValue) {
        HttpHeaders h = new DefaultHttpHeaders();
        for (int i = 0; i < nameValue.length; i += 2) {
            h.add(nameValue[i], nameValue[i + 1]);
        }
        return h;
    }

    @Test
    void readOnlyPagesNeedNoTokenButControlDoes() throws Exception {
        AdminAccess access = configured("t0ken-from-env");

        assertThat(access.check(headers("Host", "127.0.0.1:8025"), false)).isNull();
        AdminAccess.Refusal noToken = access.check(headers("Host", "127.0.0.1:8025"), true);
        assertThat(noToken.status()).isEqualTo(401);
        assertThat(noToken.error()).contains("admin token is required");
    }

    @Test
    void theConfiguredTokenOpensControlAndAnyOtherIsRefused() throws Exception {
        AdminAccess access = configured("  t0ken-from-env \n");   // stripped, as a file's line end

        assertThat(access.check(headers("Host", "localhost", "Authorization", "Bearer t0ken-from-env"), true)).isNull();
        assertThat(access.check(headers("Host", "localhost", "Authorization", "bearer t0ken-from-env"), true))
                .as("the scheme is case-insensitive").isNull();
        AdminAccess.Refusal wrong = access.check(headers("Host", "localhost", "Authorization", "Bearer t0ken-from-en"), true);
        assertThat(wrong.status()).isEqualTo(401);
        assertThat(wrong.error()).isEqualTo("wrong admin token").doesNotContain("t0ken");
        assertThat(access.check(headers("Host", "localhost", "Authorization", "Basic dTpw"), true).status()).isEqualTo(401);
        assertThat(access.check(headers("Host", "localhost", "Authorization", "Bearer t0ken-from-envX"), true).status())
                .isEqualTo(401);
        assertThat(access.check(headers("Host", "localhost", "Authorization", "Bearer"), true).status()).isEqualTo(401);
        assertThat(Files.exists(spool.resolve(AdminAccess.TOKEN_FILE))).as("a configured token is not written").isFalse();
    }

    @Test
    void withoutAConfiguredTokenARandomOneIsWrittenOwnerOnly() throws Exception {
        AdminAccess access = AdminAccess.forRelay(new Env(Map.of("MTA_ADMIN_TOKEN", "   ")), spool, LOOPBACK);

        Path file = spool.resolve(AdminAccess.TOKEN_FILE);
        String token = Files.readString(file, StandardCharsets.US_ASCII).strip();
        assertThat(token).matches("[A-Za-z0-9_-]{43}");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(file))).isEqualTo("rw-------");
        assertThat(access.check(headers("Authorization", "Bearer " + token), true)).isNull();

        AdminAccess again = AdminAccess.forRelay(new Env(Map.of()), spool, LOOPBACK);
        String second = Files.readString(file, StandardCharsets.US_ASCII).strip();
        assertThat(second).as("each start makes a new one").isNotEqualTo(token);
        assertThat(again.check(headers("Authorization", "Bearer " + token), true).status()).isEqualTo(401);
        assertThat(again.check(headers("Authorization", "Bearer " + second), true)).isNull();
        assertThat(Files.exists(spool.resolve(AdminAccess.TOKEN_FILE + ".tmp"))).isFalse();
    }

    @Test
    void aRequestFromAWebPageIsRefusedEvenWithTheToken() throws Exception {
        AdminAccess access = configured("tok");

        AdminAccess.Refusal r = access.check(headers("Host", "localhost", "Origin", "https://evil.test",
                "Authorization", "Bearer tok"), true);
        assertThat(r.status()).isEqualTo(403);
        assertThat(r.error()).contains("Origin");
        assertThat(access.check(headers("Origin", "null"), false).status()).isEqualTo(403);
        // The endpoint's own dashboard calls it from its own origin.
        assertThat(access.check(headers("Host", "127.0.0.1:9108", "Origin", "http://127.0.0.1:9108"), false)).isNull();
        assertThat(access.check(headers("Host", "127.0.0.1:9108", "Origin", "http://127.0.0.1:9109"), false).status())
                .isEqualTo(403);
    }

    @Test
    void aHostThatIsNotThisMachineIsRefused() throws Exception {
        AdminAccess access = configured("tok");

        for (String host : new String[]{"evil.test", "evil.test:8025", "127.0.0.1.evil.test", "[::2]:8025"}) {
            AdminAccess.Refusal r = access.check(headers("Host", host), false);
            assertThat(r).as(host).isNotNull();
            assertThat(r.status()).as(host).isEqualTo(403);
            assertThat(r.error()).contains("Host header");
        }
        for (String host : new String[]{"localhost", "LOCALHOST:8025", "127.0.0.1", "127.0.0.1:8025", "[::1]", "[::1]:8025"}) {
            assertThat(access.check(headers("Host", host), false)).as(host).isNull();
        }
    }

    @Test
    void twoHostHeadersAreRefused() throws Exception {
        AdminAccess access = configured("tok");

        assertThat(access.check(headers("Host", "localhost", "Host", "evil.test"), false).status()).isEqualTo(403);
        assertThat(access.check(headers("Host", "localhost", "Host", "localhost"), false).status()).isEqualTo(403);
    }

    @Test
    void anHttp10RequestWithoutHostStillNeedsTheToken() throws Exception {
        AdminAccess access = configured("tok");

        assertThat(access.check(headers(), false)).isNull();
        assertThat(access.check(headers(), true).status()).isEqualTo(401);
        assertThat(access.check(headers("Authorization", "Bearer tok"), true)).isNull();
    }

    @Test
    void theListenNameIsAnAllowedHost() throws Exception {
        InetSocketAddress named = InetSocketAddress.createUnresolved("Relay-Admin.internal.test", 8025);
        AdminAccess access = AdminAccess.forRelay(new Env(Map.of("MTA_ADMIN_TOKEN", "tok")), spool, named);

        assertThat(access.check(headers("Host", "relay-admin.internal.test:8025"), false)).isNull();
        assertThat(access.check(headers("Host", "other.internal.test:8025"), false).status()).isEqualTo(403);
    }
}
