package org.relaymta.server.admin;

import com.google.gson.JsonObject;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;
import org.relaymta.config.internal.Json;
import org.relaymta.config.internal.LogText;
import org.relaymta.config.internal.ShapingRules;
import org.relaymta.core.internal.shaping.ShapingAction;

/** The shaping actions in force as {@code /shaping}, {@code /health} and {@code mta shaping list} show them. */
public final class ShapingJson {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    private ShapingJson() {
    }

    /** One action as a JSON object: destination, rule, action, since, ends, and for a throttle its rate, concurrency and step. */
    public static JsonObject object(ShapingAction a) {
        JsonObject o = Json.object();
        o.addProperty("destination", a.destination());
        o.addProperty("rule", a.rule());
        o.addProperty("action", a.action().word());
        o.addProperty("since", a.since().toString());
        o.addProperty("ends", a.ends().toString());
        if (a.action() == ShapingRules.Action.THROTTLE) {
            o.addProperty("messages_per_second", Math.round(a.ratePerSecond() * 1000) / 1000.0);
            o.addProperty("concurrency", a.concurrency());
            o.addProperty("step", a.level());
            o.addProperty("next_step_back", a.nextStep().toString());
        }
        o.addProperty("started_by", a.node());
        o.addProperty("reply", LogText.controls(a.reply()));
        return o;
    }

    public static String lines(List<ShapingAction> actions) {
        StringBuilder sb = new StringBuilder();
        actions.forEach(a -> sb.append(Json.write(object(a))).append('\n'));
        return sb.toString();
    }

    public static String table(List<ShapingAction> actions) {
        StringBuilder sb = new StringBuilder(String.format("%-28s %-18s %-9s %-19s %s%n", "DESTINATION", "RULE", "ACTION",
                "ENDS (UTC)", "NOW"));
        for (ShapingAction a : actions) {
            String now = a.action() == ShapingRules.Action.THROTTLE
                    ? String.format(Locale.ROOT, "%.3g msg/s, concurrency %d, step %d", a.ratePerSecond(), a.concurrency(), a.level())
                    : "no sessions";
            sb.append(String.format("%-28s %-18s %-9s %-19s %s%n", a.destination(), a.rule(), a.action().word(),
                    TIME.format(a.ends()), now));
        }
        sb.append("-- ").append(actions.size()).append(actions.size() == 1 ? " action" : " actions").append(" in force\n");
        return sb.toString();
    }
}
