package org.relaymta.it;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Debian's Chromium, headless, driven over the DevTools protocol (a WebSocket, the JDK's client):
 * open a page, run JavaScript in it, wait until something on it is true. Enough for a test to use a
 * page as a person would, without a browser driver.
 */
final class HeadlessChromium implements AutoCloseable {
    static final Path BINARY = Path.of("/usr/bin/chromium");

    private final Process process;
    private final WebSocket socket;
    private final Map<Integer, CompletableFuture<JsonObject>> pending = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();

    static boolean available() {
        return Files.isExecutable(BINARY);
    }

    HeadlessChromium(Path profile) throws Exception {
        Files.createDirectories(profile);
        process = new ProcessBuilder(BINARY.toString(), "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--remote-debugging-port=0", "--user-data-dir=" + profile, "about:blank")
                .redirectErrorStream(true).redirectOutput(profile.resolve("chromium.log").toFile()).start();
        Path portFile = profile.resolve("DevToolsActivePort");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(portFile) || Files.readAllLines(portFile).isEmpty()) {
            if (System.nanoTime() > deadline || !process.isAlive()) {
                throw new IOException("chromium did not start: " + Files.readString(profile.resolve("chromium.log")));
            }
            Thread.sleep(50);
        }
        int port = Integer.parseInt(Files.readAllLines(portFile).get(0).strip());
        HttpClient http = HttpClient.newHttpClient();
        String list = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/json/list")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        String ws = null;
        for (JsonElement e : JsonParser.parseString(list).getAsJsonArray()) {
            if ("page".equals(e.getAsJsonObject().get("type").getAsString())) {
                ws = e.getAsJsonObject().get("webSocketDebuggerUrl").getAsString();
            }
        }
        if (ws == null) {
            throw new IOException("chromium has no page: " + list);
        }
        socket = http.newWebSocketBuilder().buildAsync(URI.create(ws), new WebSocket.Listener() {
            private final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    JsonObject message = JsonParser.parseString(partial.toString()).getAsJsonObject();
                    partial.setLength(0);
                    if (message.has("id")) {
                        CompletableFuture<JsonObject> f = pending.remove(message.get("id").getAsInt());
                        if (f != null) {
                            f.complete(message);
                        }
                    }
                }
                webSocket.request(1);
                return null;
            }
        }).get(10, TimeUnit.SECONDS);
    }

    private JsonObject call(String method, JsonObject params) throws Exception {
        int id = ids.incrementAndGet();
        JsonObject message = new JsonObject();
        message.addProperty("id", id);
        message.addProperty("method", method);
        message.add("params", params);
        CompletableFuture<JsonObject> answer = new CompletableFuture<>();
        pending.put(id, answer);
        socket.sendText(message.toString(), true).get(10, TimeUnit.SECONDS);
        JsonObject result = answer.get(30, TimeUnit.SECONDS);
        if (result.has("error")) {
            throw new IOException(method + ": " + result.get("error"));
        }
        return result.getAsJsonObject("result");
    }

    void open(String url) throws Exception {
        JsonObject p = new JsonObject();
        p.addProperty("url", url);
        call("Page.navigate", p);
    }

    /** Runs {@code expression} in the page (promises awaited) and returns its value as JSON; an exception fails. */
    JsonElement eval(String expression) throws Exception {
        JsonObject p = new JsonObject();
        p.addProperty("expression", expression);
        p.addProperty("returnByValue", true);
        p.addProperty("awaitPromise", true);
        JsonObject r = call("Runtime.evaluate", p);
        if (r.has("exceptionDetails")) {
            throw new IOException("the page threw: " + r.get("exceptionDetails"));
        }
        JsonObject value = r.getAsJsonObject("result");
        return value.has("value") ? value.get("value") : new JsonArray();
    }

    String text(String selector) throws Exception {
        JsonElement v = eval("(document.querySelector(" + new JsonPrimitive(selector) + ") || {}).textContent || ''");
        return v.getAsString();
    }

    /** Waits until {@code expression} is true in the page. */
    void await(String expression, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            JsonElement v;
            try {
                v = eval("!!(" + expression + ")");
            } catch (IOException stillLoading) {
                v = null;   // the page is not there yet (no body while it loads)
            }
            if (v != null && v.isJsonPrimitive() && v.getAsBoolean()) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not true in the page within " + timeout + ": " + expression + "; page: "
                        + eval("document.body.innerText").getAsString());
            }
            Thread.sleep(100);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            socket.abort();
        } finally {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        }
    }
}
