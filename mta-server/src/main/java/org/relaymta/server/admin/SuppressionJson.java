package org.relaymta.server.admin;

import com.google.gson.JsonObject;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.relaymta.config.internal.Json;
import org.relaymta.core.queue.Suppression;

/** The suppression list as the admin endpoint and {@code mta suppress} show it: JSON lines, or a table. */
public final class SuppressionJson {
    private static final DateTimeFormatter DAY = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm").withZone(ZoneOffset.UTC);

    private SuppressionJson() {
    }

    /** One compact JSON object per entry: address, since, expires (ISO-8601 UTC), reason. */
    public static String lines(List<Suppression> list) {
        StringBuilder sb = new StringBuilder();
        for (Suppression s : list) {
            JsonObject o = new JsonObject();
            o.addProperty("address", s.address());
            o.addProperty("since", s.since().toString());
            o.addProperty("expires", s.expires().toString());
            o.addProperty("reason", s.reason());
            sb.append(Json.write(o)).append('\n');
        }
        return sb.toString();
    }

    public static String table(List<Suppression> list) {
        StringBuilder sb = new StringBuilder(String.format("%-40s %-16s %-16s %s%n", "ADDRESS", "SINCE (UTC)", "EXPIRES", "REASON"));
        for (Suppression s : list) {
            sb.append(String.format("%-40s %-16s %-16s %s%n", s.address(), DAY.format(s.since()), DAY.format(s.expires()),
                    s.reason()));
        }
        sb.append("-- ").append(list.size()).append(list.size() == 1 ? " address" : " addresses").append(" suppressed\n");
        return sb.toString();
    }
}
