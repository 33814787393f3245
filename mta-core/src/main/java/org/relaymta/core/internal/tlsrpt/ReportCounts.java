package org.relaymta.core.internal.tlsrpt;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.relaymta.core.internal.tls.ReportPolicy;
import org.relaymta.core.internal.tls.TlsSessionResult;

/**
 * One domain's session counts for one report period: per policy, the successful sessions and the
 * failed ones by (result type, sending address, MX host, MX address). A count line has a stable text
 * form ({@link #field}) so a shared store can keep it as a Redis hash field.
 */
public final class ReportCounts {
    /** The policy part of a report entry. */
    public record PolicyKey(String type, String domain, List<String> strings, List<String> mxHosts) {
    }

    /** One failure-details row. */
    public record FailureKey(String resultType, String sendingIp, String mxHost, String receivingIp) {
    }

    /** Counts under one policy. */
    public static final class PolicyCounts {
        long success;
        final Map<FailureKey, Long> failures = new LinkedHashMap<>();
        final Map<FailureKey, String> details = new LinkedHashMap<>();

        public long success() {
            return success;
        }

        public long failure() {
            return failures.values().stream().mapToLong(Long::longValue).sum();
        }

        public Map<FailureKey, Long> failures() {
            return failures;
        }

        public Optional<String> detail(FailureKey k) {
            return Optional.ofNullable(details.get(k)).filter(d -> !d.isEmpty());
        }
    }

    private final Map<PolicyKey, PolicyCounts> policies = new LinkedHashMap<>();

    public Map<PolicyKey, PolicyCounts> policies() {
        return policies;
    }

    public boolean isEmpty() {
        return policies.isEmpty();
    }

    /** Adds everything {@code other} counted. */
    public void add(ReportCounts other) {
        JsonObject o = other.toJson();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            JsonArray v = e.getValue().getAsJsonArray();
            add(e.getKey(), v.get(0).getAsLong(), v.get(1).getAsString());
        }
    }

    public void add(TlsSessionResult r) {
        add(field(r), 1, r.detail());
    }

    /** Adds {@code n} sessions of the count line {@code field} ({@link #field}). */
    public void add(String field, long n, String detail) {
        JsonArray a = JsonParser.parseString(field).getAsJsonArray();
        PolicyKey p = new PolicyKey(a.get(0).getAsString(), a.get(1).getAsString(), strings(a.get(2)), strings(a.get(3)));
        PolicyCounts c = policies.computeIfAbsent(p, k -> new PolicyCounts());
        String result = a.get(4).getAsString();
        if (TlsSessionResult.SUCCESS.equals(result)) {
            c.success += n;
        } else {
            FailureKey f = new FailureKey(result, a.get(5).getAsString(), a.get(6).getAsString(), a.get(7).getAsString());
            c.failures.merge(f, n, Long::sum);
            if (detail != null && !detail.isEmpty()) {
                c.details.putIfAbsent(f, detail.length() > 500 ? detail.substring(0, 500) : detail);
            }
        }
    }

    /**
     * The count line of a session: policy type, domain, policy strings, MX hosts, result, and for a
     * failure the sending address, MX host and MX address (a JSON array, so any text is safe in it).
     */
    public static String field(TlsSessionResult r) {
        JsonArray a = new JsonArray();
        a.add(r.policy().type());
        a.add(r.policy().domain());
        a.add(array(r.policy().strings()));
        a.add(array(r.policy().mxHosts()));
        a.add(r.result());
        boolean failed = !r.success();
        a.add(failed ? r.sendingIp() : "");
        a.add(failed ? r.mxHost() : "");
        a.add(failed ? r.receivingIp() : "");
        return a.toString();
    }

    /** Everything as JSON: {"field": [count, detail], ...}, for a file that keeps counts across restarts. */
    public JsonObject toJson() {
        JsonObject o = new JsonObject();
        for (Map.Entry<PolicyKey, PolicyCounts> e : policies.entrySet()) {
            PolicyKey p = e.getKey();
            if (e.getValue().success > 0) {
                o.add(line(p, TlsSessionResult.SUCCESS, "", "", ""), countAndDetail(e.getValue().success, ""));
            }
            for (Map.Entry<FailureKey, Long> f : e.getValue().failures.entrySet()) {
                FailureKey k = f.getKey();
                o.add(line(p, k.resultType(), k.sendingIp(), k.mxHost(), k.receivingIp()),
                        countAndDetail(f.getValue(), e.getValue().details.getOrDefault(k, "")));
            }
        }
        return o;
    }

    public static ReportCounts fromJson(JsonObject o) {
        ReportCounts c = new ReportCounts();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            JsonArray v = e.getValue().getAsJsonArray();
            c.add(e.getKey(), v.get(0).getAsLong(), v.size() > 1 ? v.get(1).getAsString() : "");
        }
        return c;
    }

    private static String line(PolicyKey p, String result, String sending, String mx, String receiving) {
        return field(new TlsSessionResult(new ReportPolicy(p.type(), p.domain(), p.strings(), p.mxHosts(), Optional.empty()),
                mx, sending, receiving, result, ""));
    }

    private static JsonArray countAndDetail(long n, String detail) {
        JsonArray a = new JsonArray();
        a.add(n);
        a.add(detail);
        return a;
    }

    private static JsonArray array(List<String> list) {
        JsonArray a = new JsonArray();
        list.forEach(a::add);
        return a;
    }

    private static List<String> strings(JsonElement e) {
        List<String> out = new ArrayList<>();
        e.getAsJsonArray().forEach(x -> out.add(x.getAsString()));
        return out;
    }
}
