import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A webhook receiver for the benchmark (bench/tls-smarthost.sh with BENCH_WEBHOOK=1): takes every
 * POST with 204, counts requests and bytes, and prints "posts=N bytes=N" every second. It checks
 * no signature: the cost measured is the relay's.
 */
public final class WebhookReceiver {
    public static void main(String[] args) throws Exception {
        AtomicLong posts = new AtomicLong();
        AtomicLong bytes = new AtomicLong();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), Integer.parseInt(args[0])), 50);
        server.createContext("/", x -> {
            try (InputStream in = x.getRequestBody()) {
                bytes.addAndGet(in.readAllBytes().length);
            }
            posts.incrementAndGet();
            x.sendResponseHeaders(204, -1);
            x.close();
        });
        server.setExecutor(Executors.newFixedThreadPool(2));
        server.start();
        while (true) {
            System.out.println("posts=" + posts.get() + " bytes=" + bytes.get());
            System.out.flush();
            Thread.sleep(1000);
        }
    }
}
