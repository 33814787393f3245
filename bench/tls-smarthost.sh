#!/usr/bin/env bash
# The TLS smarthost path, what most users run: smtp-source -> relay -> a sink that offers STARTTLS
# and AUTH (bench/TlsSink.java: Netty, BouncyCastle certificate, discards), with RELAY_USER /
# RELAY_PASSWORD set (TLS level encrypt, AUTH PLAIN). Then Postfix relaying through the same sink
# with smtp_tls_security_level=encrypt and SASL, and, when BENCH_HARAKA=1, Haraka (npm) as a
# queueing relay with the sink as its smarthost.
#
#   bench/tls-smarthost.sh [MESSAGES] [SESSIONS] [SIZE_BYTES]        (defaults 10000 20 4096)
#   BENCH_SKIP_POSTFIX=1 ...  this relay only     BENCH_WARMUP=N  warm-up messages (default 20000)
#   BENCH_PLAIN=1 ...         the same without TLS and AUTH (the sink offers neither), for the difference
#   BENCH_WEBHOOK=1 ...       with every delivery event POSTed to a webhook (bench/WebhookReceiver.java)
#   BENCH_KAFKA=1 ...         with every delivery event published to a local single-node Kafka broker (KRaft,
#                             run from the integration tests' class path: build with mvn install first)
#   BENCH_MAIN_CF="a = b;c = d"  more postfix-main.cf lines for the relay (';' separates them)
#
# Per relay: a warm-up load of BENCH_WARMUP messages (reported as "cold": a fresh process), then
# the measured load of MESSAGES ("warm"). Reported per load:
#   msg/s            end to end: from the first message injected to the last one the sink took
#   cpu/msg          whole-machine CPU time (/proc/stat) during the load, minus the CPU of
#                    smtp-source and of the sink (both measured in the same run), per message;
#                    on 2 cores the load generator caps msg/s, so this is the figure to compare
#   handshakes/1000  TLS handshakes the sink completed per 1000 messages (session reuse keeps it small)
#   p99 250          this relay only: end of DATA to the 250, 99th percentile, from the relay's
#                    mta_smtp_data_reply histogram (bucket counts before and after the load)
#
# Needs Debian's postfix (smtp-source) and libsasl2-modules (Postfix's SASL client); installs them
# when missing. The Postfix run reconfigures the machine's Postfix instance and restores it.
set -euo pipefail

N=${1:-10000}
SESSIONS=${2:-20}
SIZE=${3:-4096}
WARMUP=${BENCH_WARMUP:-20000}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/tls-bench.XXXXXX)"
SINK_PORT=${SINK_PORT:-12627}
RELAY_PORT=${RELAY_PORT:-12525}
ADMIN_PORT=${ADMIN_PORT:-19108}
POSTFIX_PORT=${POSTFIX_PORT:-12526}
HARAKA_PORT=${HARAKA_PORT:-12528}
USER_NAME=bench-user
[ "${BENCH_PLAIN:-0}" = "1" ] && USER_NAME=-
PASSWORD='bench-secret'

if ! command -v smtp-source >/dev/null || ! dpkg -s libsasl2-modules >/dev/null 2>&1; then
  echo "installing postfix and libsasl2-modules..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix libsasl2-modules >/dev/null
fi
export PATH="$PATH:/usr/sbin"

sink_pid=""; relay_pid=""; haraka_pid=""
cleanup() {
  for p in "$relay_pid" "$sink_pid" "$haraka_pid" "${hook_pid:-}" "${kafka_pid:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  if [ -f "$work/main.cf.orig" ]; then
    postfix stop >/dev/null 2>&1 || true
    cp "$work/main.cf.orig" /etc/postfix/main.cf
    cp "$work/master.cf.orig" /etc/postfix/master.cf
  fi
  rm -rf "$work"
}
trap cleanup EXIT

(cd "$root" && ./mta --version >/dev/null)   # builds when needed, outside the measurement
jar="$(ls "$root"/mta-server/target/mta-server-*-all.jar | head -n 1)"

start_sink() {
  : > "$work/sink.out"
  java -XX:+UseSerialGC -Xmx256m -cp "$jar" "$root/bench/TlsSink.java" "$SINK_PORT" "$USER_NAME" "$PASSWORD" \
    > "$work/sink.out" 2>"$work/sink.err" &
  sink_pid=$!
  for _ in $(seq 1 100); do grep -q '^sess=' "$work/sink.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "the TLS sink did not start:" >&2; cat "$work/sink.err" >&2; exit 1
}
sink_field() { tail -n 1 "$work/sink.out" | grep -o "$1=[0-9]*" | cut -d= -f2; }
proc_cpu() {  # utime+stime of a process, in clock ticks
  awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
machine_cpu() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat; }  # user nice system irq softirq
TICKS=$(getconf CLK_TCK)

p99_buckets() {  # "le cumulative_count" lines of the relay's data-reply histogram (+Inf as 1e99)
  curl -s "127.0.0.1:$ADMIN_PORT/metrics" | grep '^mta_smtp_data_reply_seconds_bucket' \
    | sed -E 's/.*le="([^"]*)".* ([0-9.eE+]+)$/\1 \2/; s/^\+Inf /1e99 /'
}
p99_of_delta() {  # bucket counts before ($1) and after ($2): the 99th percentile's bucket bound, in ms
  join <(sort "$1") <(sort "$2") | awk '{ print $1, $3 - $2 }' | sort -g \
    | awk '{ le[NR] = $1; c[NR] = $2 } END { total = c[NR]; if (total == 0) { print "n/a"; exit }
        for (i = 1; i <= NR; i++) if (c[i] >= 0.99 * total) { printf "%.1f", le[i] * 1000; exit } }'
}

# One load through PORT: prints "msgs_per_s cpu_ms_per_msg handshakes_per_1000".
run_load() {
  local port=$1 count=$2
  local m0 h0 s0 c0 t0 t1 gen sinkcpu m1 h1
  m0=$(sink_field mesg); h0=$(sink_field tls); s0=$(proc_cpu "$sink_pid"); c0=$(machine_cpu); t0=$(date +%s.%N)
  gen=$( { TIMEFORMAT='%U %S'; time smtp-source -s "$SESSIONS" -m "$count" -l "$SIZE" -f bench@one.test \
      -t sink@ext.test "127.0.0.1:$port" >/dev/null; } 2>&1 | tail -n 1 | awk '{print $1 + $2}')
  local deadline=$(( $(date +%s) + 900 ))
  while [ "$(( $(sink_field mesg) - m0 ))" -lt "$count" ]; do
    [ "$(date +%s)" -ge "$deadline" ] && { echo "sink took only $(( $(sink_field mesg) - m0 )) of $count" >&2; return 1; }
    sleep 0.02
  done
  t1=$(date +%s.%N)
  sinkcpu=$(( $(proc_cpu "$sink_pid") - s0 ))
  m1=$(( $(machine_cpu) - c0 )); h1=$(( $(sink_field tls) - h0 ))
  echo "$(echo "$count / ($t1 - $t0)" | bc -l) $(echo "(($m1 - $sinkcpu) / $TICKS - $gen) * 1000 / $count" | bc -l) $(echo "$h1 * 1000 / $count" | bc -l)"
}

report() {  # name phase count "rate cpu hs" [extra]
  local name=$1 phase=$2 count=$3 rate cpu hs
  read -r rate cpu hs <<< "$4"
  printf '%-9s %-4s %6d x %7d B  %8.1f msg/s  cpu %6.3f ms/msg (%6.2f ms/MiB)  handshakes/1000 %6.1f  %s\n' \
    "$name" "$phase" "$count" "$SIZE" "$rate" "$cpu" "$(echo "$cpu * 1048576 / $SIZE" | bc -l)" "$hs" "${5:-}"
}

# Warm-up then measured load through PORT.
measure() {
  local name=$1 port=$2 result
  if [ "$WARMUP" -gt 0 ]; then
    result=$(run_load "$port" "$WARMUP"); report "$name" cold "$WARMUP" "$result"
  fi
  [ "$name" = relay-mta ] && p99_buckets > "$work/b0"
  result=$(run_load "$port" "$N")
  local extra=""
  if [ "$name" = relay-mta ]; then
    p99_buckets > "$work/b1"
    extra="p99 end-of-data->250 $(p99_of_delta "$work/b0" "$work/b1") ms"
  fi
  report "$name" warm "$N" "$result" "$extra"
}

mode="TLS (STARTTLS, encrypt) + AUTH PLAIN to the sink"
[ "$USER_NAME" = "-" ] && mode="plain SMTP to the sink (BENCH_PLAIN)"
echo "load: $N messages, $SESSIONS sessions, $SIZE bytes; warm-up $WARMUP; machine: $(nproc) cores; $mode"
start_sink

start_kafka() {
  KAFKA_PORT=${KAFKA_PORT:-12630}; KAFKA_CONTROLLER=${KAFKA_CONTROLLER:-12631}
  (cd "$root" && mvn -q -o dependency:build-classpath -pl integration-tests -Dmdep.includeScope=test \
    -Dmdep.outputFile="$work/kafka.cp") >/dev/null
  local cp; cp="$(cat "$work/kafka.cp")"
  mkdir -p "$work/kafka"
  cat > "$work/kafka/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$KAFKA_CONTROLLER
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$work/kafka/data
num.partitions=3
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
PROPS
  local id; id="$(python3 -c 'import uuid,base64;print(base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))')"
  java -cp "$cp" kafka.tools.StorageTool format --standalone -t "$id" -c "$work/kafka/server.properties" > "$work/kafka.log" 2>&1
  java -Xmx512m -XX:+UseSerialGC -cp "$cp" kafka.Kafka "$work/kafka/server.properties" >> "$work/kafka.log" 2>&1 &
  kafka_pid=$!
  for _ in $(seq 1 300); do (echo > "/dev/tcp/127.0.0.1/$KAFKA_PORT") 2>/dev/null && return 0; sleep 0.2; done
  echo "the Kafka broker did not start:" >&2; tail -20 "$work/kafka.log" >&2; exit 1
}

# --- this relay ---
mkdir -p "$work/config"
: > "$work/config/postfix-main.cf"
if [ -n "${BENCH_MAIN_CF:-}" ]; then tr ';' '\n' <<< "$BENCH_MAIN_CF" >> "$work/config/postfix-main.cf"; fi
hook_pid=""; kafka_pid=""
if [ "${BENCH_KAFKA:-0}" = "1" ]; then
  start_kafka
  printf 'event_kafka_bootstrap = 127.0.0.1:%s\nevent_kafka_topic = bench-events\n' "$KAFKA_PORT" >> "$work/config/postfix-main.cf"
fi
if [ "${BENCH_WEBHOOK:-0}" = "1" ]; then
  HOOK_PORT=${HOOK_PORT:-12629}
  java -XX:+UseSerialGC -Xmx128m "$root/bench/WebhookReceiver.java" "$HOOK_PORT" > "$work/hook.out" 2>&1 &
  hook_pid=$!
  for _ in $(seq 1 100); do grep -q '^posts=' "$work/hook.out" 2>/dev/null && break; sleep 0.1; done
  echo bench-webhook-key > "$work/config/webhook.key"
  printf 'event_webhooks = http://127.0.0.1:%s/events\nevent_webhook_secret_file = webhook.key\n' "$HOOK_PORT" \
    >> "$work/config/postfix-main.cf"
fi
credentials=(RELAY_USER="$USER_NAME" RELAY_PASSWORD="$PASSWORD")
[ "$USER_NAME" = "-" ] && credentials=()
env "${credentials[@]}" DEFAULT_RELAY_HOST="[127.0.0.1]:$SINK_PORT" \
  MTA_LISTEN="127.0.0.1:$RELAY_PORT" MTA_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" MTA_SPOOL_DIR="$work/spool" \
  MTA_CONFIG_DIR="$work/config" MTA_JAVA_OPTS="${MTA_JAVA_OPTS:-}" "$root/mta" run > "$work/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 100); do grep -q ' listening on ' "$work/relay.log" 2>/dev/null && break; sleep 0.1; done
r0=$(proc_cpu "$relay_pid")
measure relay-mta "$RELAY_PORT"
read -r ru rs < <(awk '{print $14, $15}' "/proc/$relay_pid/stat")
echo "          relay process CPU over both loads: $(echo "($(proc_cpu "$relay_pid") - $r0) * 1000 / $TICKS / ($N + $WARMUP)" | bc -l | xargs printf '%.3f') ms/msg (user $ru, system $rs ticks); peak RSS $(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$relay_pid/status")"
if [ -n "$kafka_pid" ]; then echo "          kafka: $(curl -s "http://127.0.0.1:$ADMIN_PORT/metrics" | grep '^mta_event_sink_events_total{outcome="delivered"' | sed 's/.* //') events published"; fi
if [ -n "$hook_pid" ]; then sleep 2; echo "          webhook receiver: $(tail -n 1 "$work/hook.out") (POSTs and bytes of events taken)"; fi
if grep -q 'status=deferred\|status=bounced' "$work/relay.log"; then
  echo "relay deferred or bounced mail:" >&2; grep -m3 'status=deferred\|status=bounced' "$work/relay.log" >&2; exit 1
fi
kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=""

if [ "${BENCH_SKIP_POSTFIX:-0}" != "1" ]; then
  # --- Postfix through the same sink: encrypt + SASL, TLS session cache on ---
  cp /etc/postfix/main.cf "$work/main.cf.orig"; cp /etc/postfix/master.cf "$work/master.cf.orig"
  postfix stop >/dev/null 2>&1 || true
  printf '[127.0.0.1]:%s %s:%s\n' "$SINK_PORT" "$USER_NAME" "$PASSWORD" > "$work/sasl_passwd"
  chmod 600 "$work/sasl_passwd"
  postconf -e "relayhost = [127.0.0.1]:$SINK_PORT" "inet_interfaces = loopback-only" "inet_protocols = ipv4" \
    "mynetworks = 127.0.0.0/8" "mydestination =" "smtpd_tls_security_level = none" \
    "smtp_tls_security_level = $([ "$USER_NAME" = "-" ] && echo none || echo encrypt)" "smtp_sasl_auth_enable = yes" "smtp_sasl_password_maps = texthash:$work/sasl_passwd" \
    "smtp_sasl_security_options = noanonymous" "smtp_sasl_tls_security_options = noanonymous" \
    "smtp_tls_session_cache_database = btree:\${data_directory}/smtp_scache" \
    "maillog_file = /var/log/postfix-bench.log" "default_destination_concurrency_limit = 20" \
    "smtpd_client_connection_count_limit = 0" "smtpd_client_connection_rate_limit = 0" "default_process_limit = 100"
  postconf -M "$POSTFIX_PORT/inet=$POSTFIX_PORT inet n - y - - smtpd"
  postconf -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
  postfix start >/dev/null 2>&1 || { echo "postfix did not start; see /var/log/postfix-bench.log" >&2; exit 1; }
  sleep 1
  measure postfix "$POSTFIX_PORT"
  postfix stop >/dev/null 2>&1 || true
fi

if [ "${BENCH_HARAKA:-0}" = "1" ]; then
  "$root/bench/haraka-setup.sh" "$work/haraka" "$HARAKA_PORT" "$SINK_PORT" "$USER_NAME" "$PASSWORD"
  (cd "$work/haraka" && exec node "$work/haraka/node_modules/Haraka/bin/haraka" -c "$work/haraka") > "$work/haraka.log" 2>&1 &
  haraka_pid=$!
  for _ in $(seq 1 100); do (echo > "/dev/tcp/127.0.0.1/$HARAKA_PORT") 2>/dev/null && break; sleep 0.2; done
  measure haraka "$HARAKA_PORT"
fi
