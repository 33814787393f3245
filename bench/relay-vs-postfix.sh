#!/usr/bin/env bash
# End-to-end relay benchmark: Debian's smtp-source -> relay -> smtp-sink, for this relay and for a
# local Postfix configured as the same kind of relay (relayhost = the sink), in one run.
#
#   bench/relay-vs-postfix.sh [MESSAGES] [SESSIONS] [SIZE_BYTES]      (defaults 10000 20 4096)
#   BENCH_SKIP_POSTFIX=1 bench/relay-vs-postfix.sh                    (this relay only)
#   BENCH_WARMUP=0 bench/relay-vs-postfix.sh                          (no warm-up: cold figures only)
#   BENCH_CONFIG_DIR=dir bench/relay-vs-postfix.sh                    (this relay with that config directory)
#
# Each relay first gets a warm-up load of BENCH_WARMUP messages (default 20000), reported as the
# "cold" figure: for the JVM that is a fresh process whose JIT compiler is still at work, as after
# a restart. Then the measured load of MESSAGES, reported as "warm": a long-running relay. Both
# relays get the same warm-up; the ratio is taken between the warm figures.
#
# Needs: a JDK and Maven (the relay), and Debian's postfix package (smtp-source, smtp-sink, postfix).
# It installs postfix with apt-get when it is missing. The Postfix run reconfigures the machine's
# Postfix instance (main.cf/master.cf are backed up and restored at the end).
# Everything stays on loopback. fsync before every 250 is kept in both relays.
set -euo pipefail

N=${1:-10000}
SESSIONS=${2:-20}
SIZE=${3:-4096}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/relay-bench.XXXXXX)"
SINK_PORT=${SINK_PORT:-12626}
RELAY_PORT=${RELAY_PORT:-12525}
ADMIN_PORT=${ADMIN_PORT:-19108}
POSTFIX_PORT=${POSTFIX_PORT:-12526}

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
  echo "installing postfix (smtp-source, smtp-sink)..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
export PATH="$PATH:/usr/sbin"

sink_pid=""
relay_pid=""
cleanup() {
  [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  if [ -f "$work/main.cf.orig" ]; then
    postfix stop >/dev/null 2>&1 || true
    cp "$work/main.cf.orig" /etc/postfix/main.cf
    cp "$work/master.cf.orig" /etc/postfix/master.cf
  fi
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }

start_sink() {
  : > "$work/sink.out"
  smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 1000 > "$work/sink.out" 2>&1 &
  sink_pid=$!
  sleep 0.3
}

stop_sink() {
  kill "$sink_pid" 2>/dev/null || true
  wait "$sink_pid" 2>/dev/null || true
  sink_pid=""
}

sink_count() {
  # smtp-sink -c rewrites "sess=.. quit=.. mesg=N" counters; take the last mesg value.
  tr '\r' '\n' < "$work/sink.out" | grep -o 'mesg=[0-9]*' | tail -n 1 | cut -d= -f2 || true
}

wait_for_sink() {
  local deadline=$(( $(date +%s) + 600 ))
  while :; do
    local c
    c=$(sink_count)
    [ "${c:-0}" -ge "$N" ] && return 0
    [ "$(date +%s)" -ge "$deadline" ] && { echo "sink counted only ${c:-0} of $N" >&2; return 1; }
    sleep 0.05
  done
}

# One load: prints "inject_seconds e2e_seconds".
run_load() {
  local port=$1
  local t0 t1 t2
  t0=$(now)
  smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" -f bench@one.test -t sink@ext.test "127.0.0.1:$port"
  t1=$(now)
  wait_for_sink
  t2=$(now)
  echo "$(echo "$t1 - $t0" | bc) $(echo "$t2 - $t0" | bc)"
}

WARMUP=${BENCH_WARMUP:-20000}

# Warm-up load, timed as the cold figure (in this shell, so the sink it restarts stays tracked).
warm_up() {
  local name=$1 port=$2
  [ "$WARMUP" -gt 0 ] || return 0
  local t0 t1 t2 saved=$N
  t0=$(now)
  smtp-source -s "$SESSIONS" -m "$WARMUP" -l "$SIZE" -f bench@one.test -t sink@ext.test "127.0.0.1:$port"
  t1=$(now)
  N=$WARMUP
  wait_for_sink
  t2=$(now)
  report "$name" "$(echo "$t1 - $t0" | bc)" "$(echo "$t2 - $t0" | bc)" "-" cold
  N=$saved
  stop_sink
  start_sink
}

report() {
  local name=$1 inject=$2 e2e=$3 rss=$4 phase=${5:-warm}
  printf '%-10s %-4s %6d msgs  inject %8.1f msg/s  end-to-end %8.1f msg/s  (%.2f s)  peak RSS %s\n' \
    "$name" "$phase" "$N" "$(echo "$N / $inject" | bc -l)" "$(echo "$N / $e2e" | bc -l)" "$e2e" "$rss"
}

echo "load: $N messages, $SESSIONS sessions, $SIZE bytes; warm-up $WARMUP messages; machine: $(nproc) cores"

# --- this relay ---
(cd "$root" && ./mta --version >/dev/null)   # builds when needed, outside the measurement
start_sink
mkdir -p "$work/config"
# BENCH_CONFIG_DIR: a config directory to run with (DKIM keys, header checks, milters), copied.
if [ -n "${BENCH_CONFIG_DIR:-}" ]; then cp -r "$BENCH_CONFIG_DIR"/. "$work/config/"; fi
DEFAULT_RELAY_HOST="[127.0.0.1]:$SINK_PORT" MTA_LISTEN="127.0.0.1:$RELAY_PORT" MTA_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" \
  MTA_SPOOL_DIR="$work/spool" MTA_CONFIG_DIR="$work/config" MTA_JAVA_OPTS="${MTA_JAVA_OPTS:-}" \
  "$root/mta" run > "$work/relay.log" 2>&1 &
relay_pid=$!
for _ in $(seq 1 100); do grep -q '^outbound:' "$work/relay.log" 2>/dev/null && break; sleep 0.1; done
warm_up relay-mta "$RELAY_PORT"
cpu_before=$(awk '{print $14 + $15}' "/proc/$relay_pid/stat")
read -r inject e2e < <(run_load "$RELAY_PORT")
cpu_after=$(awk '{print $14 + $15}' "/proc/$relay_pid/stat")
# The relay's own CPU (user + system) per message of the measured load: on 2 cores the load
# generator caps the rate, so this is the figure to compare between versions.
printf 'relay-mta  cpu  %.3f ms per message\n' "$(echo "($cpu_after - $cpu_before) * 1000 / $(getconf CLK_TCK) / $N" | bc -l)"
# ./mta execs java, so the launched PID is the JVM's.
rss=$(awk '/VmHWM/ {printf "%.0f MiB", $2/1024}' "/proc/$relay_pid/status")
[ "$WARMUP" -gt 0 ] || phase=cold
report relay-mta "$inject" "$e2e" "$rss" "${phase:-warm}"
relay_e2e=$e2e
kill "$relay_pid"; wait "$relay_pid" 2>/dev/null || true; relay_pid=""
stop_sink

if [ "${BENCH_SKIP_POSTFIX:-0}" = "1" ]; then
  exit 0
fi

# --- Postfix as the same kind of relay ---
cp /etc/postfix/main.cf "$work/main.cf.orig"
cp /etc/postfix/master.cf "$work/master.cf.orig"
postfix stop >/dev/null 2>&1 || true
postconf -e "relayhost = [127.0.0.1]:$SINK_PORT" "inet_interfaces = loopback-only" "inet_protocols = ipv4" \
  "mynetworks = 127.0.0.0/8" "mydestination =" "smtp_tls_security_level = none" "smtpd_tls_security_level = none" \
  "maillog_file = /var/log/postfix-bench.log" "default_destination_concurrency_limit = 20" "smtpd_client_connection_count_limit = 0" \
  "smtpd_client_connection_rate_limit = 0" "default_process_limit = 100"
postconf -M "$POSTFIX_PORT/inet=$POSTFIX_PORT inet n - y - - smtpd"
postconf -M "postlog/unix-dgram=postlog unix-dgram n - n - 1 postlogd"
start_sink
postfix start >/dev/null 2>&1 || { echo "postfix did not start; see /var/log/postfix-bench.log" >&2; exit 1; }
sleep 1
warm_up postfix "$POSTFIX_PORT"
read -r p_inject p_e2e < <(run_load "$POSTFIX_PORT")
p_rss=$(ps -o rss= -C smtpd,cleanup,qmgr,smtp,master,trivial-rewrite,postlogd 2>/dev/null | awk '{s+=$1} END {printf "%.0f MiB (all processes)", s/1024}')
report postfix "$p_inject" "$p_e2e" "$p_rss" "${phase:-warm}"
stop_sink
printf 'ratio (end-to-end, %s, relay-mta / postfix): %.1fx\n' "${phase:-warm}" "$(echo "$p_e2e / $relay_e2e" | bc -l)"
