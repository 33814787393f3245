package org.relaymta.core.queue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.util.List;
import org.relaymta.config.internal.Json;

/**
 * What an operator action did: the ids acted on at once, those in delivery (the action takes effect
 * when their attempt ends, and a recipient already sent is never sent again), and ids not queued.
 *
 * <pre>{@code
 * ActionResult held = relay.queue().hold("ALL");
 * System.out.println(held.count() + " held, " + held.inDelivery().size() + " once their attempt ends");
 * }</pre>
 *
 * @param action     what was done
 * @param done       acted on now
 * @param inDelivery being delivered now: applied when the attempt ends
 * @param notFound   named ids that are not in the queue
 */
public record ActionResult(QueueAction action, List<String> done, List<String> inDelivery, List<String> notFound) {

    public ActionResult {
        done = List.copyOf(done);
        inDelivery = List.copyOf(inDelivery);
        notFound = List.copyOf(notFound);
    }

    /** How many messages the action applies to, now or at the end of their attempt. */
    public int count() {
        return done.size() + inDelivery.size();
    }

    /** One JSON object: {@code {"action": "hold", "count": 2, "done": [...], "in_delivery": [...], "not_found": [...]}}. */
    public String json() {
        JsonObject o = Json.object();
        o.addProperty("action", action.label());
        o.addProperty("count", count());
        o.add("done", array(done));
        o.add("in_delivery", array(inDelivery));
        o.add("not_found", array(notFound));
        return Json.write(o);
    }

    private static JsonArray array(List<String> ids) {
        JsonArray a = new JsonArray(ids.size());
        ids.forEach(a::add);
        return a;
    }
}
