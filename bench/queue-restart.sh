#!/usr/bin/env bash
# A large queue across a restart: queue N messages with the upstream down, stop the relay, list the
# spool offline, start it again, and measure what an operator waits for.
#
#   bench/queue-restart.sh [MESSAGES]          (default 100000; 4 KiB each, 20 sessions)
#
# Prints: injection rate with the upstream down, RSS before the stop, offline `mta queue list` time
# and peak RSS, time from `mta run` to listening and RSS after start, drain time and rate once the
# upstream is back (`mta queue flush`) with the peak RSS while draining; and, for comparison, the
# time to listen with an empty spool. JVM options are the launcher's defaults unless MTA_JAVA_OPTS
# is set. Needs Debian's postfix package (smtp-source, smtp-sink); installs it when missing.
# Everything stays on loopback.
set -euo pipefail

N=${1:-100000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-4096}
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d /tmp/relay-queue-bench.XXXXXX)"
SINK_PORT=${SINK_PORT:-13626}
RELAY_PORT=${RELAY_PORT:-13525}
ADMIN_PORT=${ADMIN_PORT:-13108}

if ! command -v smtp-source >/dev/null || ! command -v smtp-sink >/dev/null; then
  echo "installing postfix (smtp-source, smtp-sink)..." >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postfix >/dev/null
fi
export PATH="$PATH:/usr/sbin"

relay_pid=""
sink_pid=""
cleanup() {
  [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null || true
  [ -n "$sink_pid" ] && kill "$sink_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
rss() { awk -v k="$2" '$1 == k":" {printf "%.0f MiB", $2/1024}' "/proc/$1/status"; }

export DEFAULT_RELAY_HOST="[127.0.0.1]:$SINK_PORT" MTA_LISTEN="127.0.0.1:$RELAY_PORT" \
  MTA_ADMIN_LISTEN="127.0.0.1:$ADMIN_PORT" MTA_SPOOL_DIR="$work/spool" MTA_CONFIG_DIR="$work/config"
mkdir -p "$work/config"

# Starts the relay; sets relay_pid and started (seconds from exec to the listening line).
start_relay() {
  local t0
  : > "$work/relay.log"
  t0=$(now)
  "$root/mta" run >> "$work/relay.log" 2>&1 &
  relay_pid=$!
  while ! grep -q ' listening on ' "$work/relay.log"; do
    kill -0 "$relay_pid" 2>/dev/null || { cat "$work/relay.log" >&2; exit 1; }
    sleep 0.01
  done
  started=$(echo "$(now) - $t0" | bc)
}

stop_relay() {
  kill "$relay_pid"
  wait "$relay_pid" 2>/dev/null || true
  relay_pid=""
}

queued_files() { find "$work/spool/queue" -maxdepth 1 -name '????????????????' | wc -l; }

(cd "$root" && ./mta --version >/dev/null)   # builds when needed, outside the measurement
echo "queue restart: $N messages of $SIZE bytes, $SESSIONS sessions; machine: $(nproc) cores; MTA_JAVA_OPTS='${MTA_JAVA_OPTS:-(launcher defaults)}'"

start_relay
empty=$started
stop_relay
rm -rf "$work/spool"
printf 'empty spool: listening after %.2f s\n' "$empty"

start_relay
t0=$(now)
smtp-source -s "$SESSIONS" -m "$N" -l "$SIZE" -f bench@one.test -t sink@ext.test "127.0.0.1:$RELAY_PORT"
t1=$(now)
# Every message deferred (upstream down) and moved to its queue file.
while [ "$(queued_files)" -lt "$N" ]; do sleep 0.2; done
t2=$(now)
printf 'queued %d with the upstream down: injection %.0f msg/s, all deferred after %.1f s; RSS %s\n' \
  "$N" "$(echo "$N / ($t1 - $t0)" | bc -l)" "$(echo "$t2 - $t0" | bc)" "$(rss "$relay_pid" VmRSS)"
stop_relay

t0=$(now)
/usr/bin/time -f '%M' -o "$work/list.rss" "$root/mta" queue list --admin 127.0.0.1:1 > "$work/list.out"
t1=$(now)
printf 'offline mta queue list: %d messages in %.2f s, peak RSS %.0f MiB\n' \
  "$(grep -cE '^[0-9A-F]{16}' "$work/list.out")" "$(echo "$t1 - $t0" | bc)" "$(echo "$(cat "$work/list.rss") / 1024" | bc -l)"

smtp-sink -u nobody -c "127.0.0.1:$SINK_PORT" 1000 > "$work/sink.out" 2>&1 &
sink_pid=$!
start_relay
listen=$started
sleep 1
printf 'restart with %d queued: listening after %.2f s; RSS 1 s later %s\n' "$N" "$listen" "$(rss "$relay_pid" VmRSS)"

t0=$(now)
"$root/mta" queue flush --admin "127.0.0.1:$ADMIN_PORT" > /dev/null
while :; do
  c=$(tr '\r' '\n' < "$work/sink.out" | grep -o 'mesg=[0-9]*' | tail -n 1 | cut -d= -f2 || true)
  [ "${c:-0}" -ge "$N" ] && break
  sleep 0.1
done
t1=$(now)
printf 'drained %d in %.1f s: %.0f msg/s; peak RSS of the relay %s\n' "$N" "$(echo "$t1 - $t0" | bc)" \
  "$(echo "$N / ($t1 - $t0)" | bc -l)" "$(rss "$relay_pid" VmHWM)"
stop_relay
