package org.relaymta.core.internal.sink;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.relaymta.config.internal.EventSettings;
import org.relaymta.core.event.DeliveryEvent;
import org.relaymta.core.event.EventJson;
import org.relaymta.core.internal.outbox.EventSink;
import org.relaymta.core.internal.outbox.SinkException;

/**
 * Publishes events to a Kafka topic with the official client: idempotent, {@code acks=all}, the
 * queue id as the key so one message's events land in one partition in order, the event's JSON as
 * the value. A batch counts as delivered once every record of it is acknowledged. Records never
 * expire in the producer ({@code delivery.timeout.ms} unbounded): an expired record with later ones
 * acknowledged would put a message's events out of order. So a batch not acknowledged within
 * {@value #ACK_WAIT_SECONDS} s is a failure to retry that sends nothing again: the next try waits
 * for the same records. A record refused outright closes the producer (an idempotent producer that
 * gave up may be fenced) and the next try sends the whole batch again: at least once.
 */
public final class KafkaSink implements EventSink {
    private final EventSettings.Kafka settings;
    private final String name;
    static final int ACK_WAIT_SECONDS = 30;
    private KafkaProducer<String, byte[]> producer;
    /** The records of the batch being tried, while they wait for their acknowledgement. */
    private List<Future<RecordMetadata>> pending;
    private long pendingFirst = -1;
    private long pendingLast = -1;

    private KafkaSink(EventSettings.Kafka settings) {
        this.settings = settings;
        this.name = "kafka-" + HexFormat.of().formatHex(sha256((settings.bootstrap() + "/" + settings.topic())
                .getBytes(StandardCharsets.UTF_8)), 0, 6);
    }

    static KafkaSink open(EventSettings.Kafka settings) {
        return new KafkaSink(settings);
    }

    /** The producer's settings; the SASL password goes into the JAAS line, which Kafka treats as a password. */
    static Properties properties(EventSettings.Kafka k) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, k.bootstrap());
        p.put(ProducerConfig.CLIENT_ID_CONFIG, "relay-mta");
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        p.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, "5");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        p.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, "10000");
        p.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, String.valueOf(Integer.MAX_VALUE));
        p.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, "15000");
        p.put(ProducerConfig.RECONNECT_BACKOFF_MAX_MS_CONFIG, "10000");   // a broker that is away: a warning every 10 s at most
        p.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
        p.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class.getName());
        p.put("security.protocol", k.securityProtocol());
        if (k.securityProtocol().startsWith("SASL")) {
            String module = k.saslMechanism().equals("PLAIN") ? "org.apache.kafka.common.security.plain.PlainLoginModule"
                    : "org.apache.kafka.common.security.scram.ScramLoginModule";
            p.put("sasl.mechanism", k.saslMechanism());
            p.put("sasl.jaas.config", module + " required username=\"" + jaas(k.username().orElseThrow())
                    + "\" password=\"" + jaas(k.password().orElseThrow().value()) + "\";");
        }
        k.caFile().ifPresent(f -> {
            p.put("ssl.truststore.type", "PEM");
            p.put("ssl.truststore.location", f.toString());
        });
        return p;
    }

    private static String jaas(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String label() {
        return "kafka " + settings.bootstrap() + " topic " + settings.topic();
    }

    @Override
    public int maxBatch() {
        return 500;
    }

    @Override
    public boolean wants(DeliveryEvent event) {
        return true;
    }

    @Override
    public void deliver(List<DeliveryEvent> batch) throws SinkException, InterruptedException {
        long first = batch.get(0).sequence();
        long last = batch.get(batch.size() - 1).sequence();
        try {
            if (pending == null || pendingFirst != first || pendingLast != last) {
                KafkaProducer<String, byte[]> p = producer();
                List<Future<RecordMetadata>> sent = new ArrayList<>(batch.size());
                for (DeliveryEvent e : batch) {
                    sent.add(p.send(new ProducerRecord<>(settings.topic(), e.queueId(),
                            EventJson.write(e).getBytes(StandardCharsets.UTF_8))));
                }
                pending = sent;
                pendingFirst = first;
                pendingLast = last;
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(ACK_WAIT_SECONDS);
            for (Future<RecordMetadata> f : pending) {
                f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
            pending = null;
        } catch (TimeoutException e) {
            throw new SinkException("records not acknowledged within " + ACK_WAIT_SECONDS + " s (the broker is away?)", false);
        } catch (ExecutionException e) {
            Throwable c = e.getCause() == null ? e : e.getCause();
            reset();
            throw new SinkException(c.getClass().getSimpleName() + ": " + c.getMessage(), c instanceof RecordTooLargeException);
        } catch (org.apache.kafka.common.KafkaException e) {
            reset();   // nothing of this batch is out yet: send() found no metadata in time, or the producer failed
            throw new SinkException(e.getClass().getSimpleName() + ": " + e.getMessage(), false);
        }
    }

    private synchronized KafkaProducer<String, byte[]> producer() {
        if (producer == null) {
            producer = new KafkaProducer<>(properties(settings));
        }
        return producer;
    }

    private synchronized void reset() {
        pending = null;
        if (producer != null) {
            producer.close(java.time.Duration.ZERO);
            producer = null;
        }
    }

    @Override
    public synchronized void close() {
        if (producer != null) {
            producer.close(java.time.Duration.ofSeconds(5));
            producer = null;
        }
    }

    private static byte[] sha256(byte[] b) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(b);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
