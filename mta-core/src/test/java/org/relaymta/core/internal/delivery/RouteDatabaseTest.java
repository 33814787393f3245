package org.relaymta.core.internal.delivery;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RouteDatabaseTest {
    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final RouteDatabase routes = new RouteDatabase(now::get);

    private static Target target(String host, String ip) throws Exception {
        return new Target(host, InetAddress.getByName(ip), 25);
    }

    @Test
    void aTargetThatFailedIsTriedLastUntilItsTimeIsUpOrItWorks() throws Exception {
        Target mx1 = target("mx1.ext.test", "192.0.2.1");
        Target mx2 = target("mx2.ext.test", "192.0.2.2");
        Target mx3 = target("mx3.ext.test", "192.0.2.3");
        List<Target> byPreference = List.of(mx1, mx2, mx3);
        assertThat(routes.order(byPreference)).containsExactly(mx1, mx2, mx3);

        routes.failed(mx1, Duration.ofSeconds(300));
        assertThat(routes.order(byPreference)).containsExactly(mx2, mx3, mx1);
        routes.failed(mx2, Duration.ofSeconds(300));
        assertThat(routes.order(byPreference)).as("failed ones keep their order").containsExactly(mx3, mx1, mx2);

        routes.succeeded(mx2);
        assertThat(routes.order(byPreference)).containsExactly(mx2, mx3, mx1);
        now.addAndGet(Duration.ofSeconds(301).toNanos());
        assertThat(routes.order(byPreference)).as("time is up").containsExactly(mx1, mx2, mx3);
    }
}
