package org.relaymta.config.internal;

import com.google.gson.FormattingStyle;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import com.google.gson.stream.JsonWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The relay's one JSON library (Gson), configured once: what the relay writes ({@code /health},
 * {@code postqueue -j} lines, route reports, action results, the JSON log) is one line per
 * document with a space after each separator ({@code {"status": "ok", "queue_size": 0}}), nothing
 * HTML-escaped, nulls kept; what it reads (token endpoint answers, service-account files, the
 * relay's own {@code /health}) goes through the same parser. No reflection: documents are built
 * as {@link JsonObject}s.
 */
public final class Json {
    private static final Gson GSON = new GsonBuilder()
            .setFormattingStyle(FormattingStyle.COMPACT.withSpaceAfterSeparators(true))
            .disableHtmlEscaping()
            .serializeNulls()
            .create();

    private Json() {
    }

    /** One document on one line. */
    public static String write(JsonElement document) {
        return GSON.toJson(document);
    }

    /**
     * A streaming writer with the same style, for documents written often (the event outbox's
     * lines), where building a tree per document would cost more than the document.
     */
    public static JsonWriter writer(Writer out) {
        try {
            return GSON.newJsonWriter(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A JSON string literal, quotes and escapes included. */
    public static String string(String s) {
        return GSON.toJson(new JsonPrimitive(s));
    }

    /** The top-level object of {@code text}; {@link IllegalArgumentException} when it is not a JSON object. */
    public static JsonObject object(String text) {
        try {
            JsonElement e = JsonParser.parseString(text);
            if (!e.isJsonObject()) {
                throw new IllegalArgumentException("not a JSON object");
            }
            return e.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new IllegalArgumentException("not JSON: " + e.getMessage(), e);
        }
    }

    /**
     * The top-level members of an object as Java values: a string as {@code String}, a number as a
     * {@code Number}, {@code true}/{@code false} as {@code Boolean}, null as null, anything else as
     * its {@link JsonElement} (for answers read field by field).
     */
    public static Map<String, Object> members(JsonObject o) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : o.entrySet()) {
            JsonElement v = e.getValue();
            Object value = v;
            if (v.isJsonNull()) {
                value = null;
            } else if (v.isJsonPrimitive()) {
                JsonPrimitive p = v.getAsJsonPrimitive();
                value = p.isString() ? p.getAsString() : p.isNumber() ? p.getAsNumber() : (Object) p.getAsBoolean();
            }
            out.put(e.getKey(), value);
        }
        return out;
    }

    /** A new object, filled with {@link JsonObject#addProperty}. */
    public static JsonObject object() {
        return new JsonObject();
    }
}
