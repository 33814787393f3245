#!/usr/bin/env bash
# Builds the relay's container image with podman (or docker) and, with --smoke, runs it: start,
# relay one message to smtp-sink on loopback, check it arrived, stop.
#
#   packaging/container/build.sh [--smoke]          image: localhost/relay-mta:latest
#
# The base image is BASE_IMAGE (default localhost/debian-jre17). Registries may be out of reach: when
# that default base does not exist yet, it is made from Debian packages with debootstrap (needs
# root; mirror from /etc/apt/sources*) and imported. Any JRE 17+ image works as BASE_IMAGE.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
IMAGE=${IMAGE:-localhost/relay-mta:latest}
BASE_IMAGE=${BASE_IMAGE:-localhost/debian-jre17}
work="$(mktemp -d /tmp/relay-image.XXXXXX)"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT

if command -v podman >/dev/null; then
  # runc and cgroupfs: what works on these machines (crun fails on rlimits and hybrid cgroups).
  printf '[containers]\ndefault_ulimits = []\n' > "$work/containers.conf"
  export CONTAINERS_CONF="$work/containers.conf"
  engine=(podman --runtime runc --cgroup-manager cgroupfs)
elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then
  engine=(docker)
else
  echo "build.sh: neither podman nor a working docker is installed (apt-get install podman runc)" >&2
  exit 1
fi

if ! "${engine[@]}" image exists "$BASE_IMAGE" 2>/dev/null && ! "${engine[@]}" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  if [ "$BASE_IMAGE" != "localhost/debian-jre17" ]; then
    echo "build.sh: base image $BASE_IMAGE not found" >&2
    exit 1
  fi
  command -v debootstrap >/dev/null || { echo "build.sh: apt-get install debootstrap (to make the base image)" >&2; exit 1; }
  mirror=$(grep -rh '^URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1 | awk '{print $2}' || true)
  [ -n "$mirror" ] || mirror=$(grep -h '^deb ' /etc/apt/sources.list 2>/dev/null | head -n 1 | awk '{print $2}')
  echo "build.sh: making $BASE_IMAGE from Debian packages ($mirror)..." >&2
  debootstrap --variant=minbase --include=openjdk-17-jre-headless bookworm "$work/rootfs" "$mirror" >&2
  rm -rf "$work/rootfs/var/cache/apt/archives"/*.deb "$work/rootfs/var/lib/apt/lists"/*
  tar -C "$work/rootfs" -c . | "${engine[@]}" import - "$BASE_IMAGE" >/dev/null
fi

(cd "$root" && mvn -B -q -DskipTests -pl mta-server -am package) >&2
cp "$root"/mta-server/target/mta-server-*-all.jar "$work/mta.jar"
cp "$root/packaging/container/Containerfile" "$work/Containerfile"
cp "$root/packaging/bin/mta" "$work/mta"
"${engine[@]}" build --format docker --build-arg BASE_IMAGE="$BASE_IMAGE" -t "$IMAGE" -f "$work/Containerfile" "$work" >&2
echo "built $IMAGE"

[ "${1:-}" = "--smoke" ] || exit 0

# Smoke test on the host network: smtp-sink (Debian's postfix package) as the smarthost.
export PATH="$PATH:/usr/sbin"
command -v smtp-sink >/dev/null || { echo "build.sh: --smoke needs smtp-sink (apt-get install postfix)" >&2; exit 1; }
sink_port=${SINK_PORT:-16626}
relay_port=${RELAY_PORT:-16525}
smtp-sink -u nobody -c "127.0.0.1:$sink_port" 10 > "$work/sink.out" 2>&1 &
sink=$!
name="relay-mta-smoke-$$"
"${engine[@]}" run -d --rm --name "$name" --network host \
  -e DEFAULT_RELAY_HOST="[127.0.0.1]:$sink_port" -e MTA_LISTEN="127.0.0.1:$relay_port" -e MTA_ADMIN_LISTEN=127.0.0.1:16108 \
  "$IMAGE" >/dev/null
stop() { "${engine[@]}" stop -t 20 "$name" >/dev/null 2>&1 || true; kill "$sink" 2>/dev/null || true; }
trap 'stop; cleanup' EXIT
for _ in $(seq 1 100); do
  "${engine[@]}" logs "$name" 2>&1 | grep -q ' listening on ' && break
  sleep 0.2
done
# One SMTP transaction with bash alone.
exec 3<>"/dev/tcp/127.0.0.1/$relay_port"
read -r -u 3 greeting
for line in "EHLO smoke.test" "MAIL FROM:<smoke@one.test>" "RCPT TO:<sink@ext.test>" "DATA"; do
  printf '%s\r\n' "$line" >&3
  while read -r -u 3 reply; do [ "${reply:3:1}" = "-" ] || break; done
done
printf 'Subject: container smoke test\r\n\r\nhello\r\n.\r\n' >&3
read -r -u 3 queued
printf 'QUIT\r\n' >&3
exec 3>&-
echo "relay: $greeting / $queued"
for _ in $(seq 1 100); do
  tr '\r' '\n' < "$work/sink.out" | grep -q 'mesg=1' && break
  sleep 0.1
done
tr '\r' '\n' < "$work/sink.out" | grep -q 'mesg=1' || { echo "smoke test: the sink received nothing" >&2; "${engine[@]}" logs "$name" >&2; exit 1; }
if [ "${engine[0]}" = podman ]; then
  "${engine[@]}" healthcheck run "$name" 2>/dev/null || { echo "smoke test: the health check failed" >&2; exit 1; }
  echo "health check: healthy"
fi
"${engine[@]}" stop -t 20 "$name" >/dev/null
echo "smoke test passed: the container relayed one message to smtp-sink and stopped"
