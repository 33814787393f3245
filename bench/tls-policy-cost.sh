#!/usr/bin/env bash
# What a DANE or an MTA-STS delivery costs: one message to a recipient's MX, from submit to the sent
# event, with no policy, with DANE (unbound validating a zone signed by ldns-signzone and served by
# nsd) and with an MTA-STS enforce policy (served over HTTPS with a test CA), for a domain seen for
# the first time and again. All peers on loopback; the relay runs in the test JVM
# (integration-tests/.../TlsPolicyCostBench.java). Prints a Markdown table of medians.
#
#   bench/tls-policy-cost.sh [SAMPLES]     (default 5)
#
# Needs Debian's nsd, unbound and ldnsutils; installs them when missing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SAMPLES=${1:-5}
missing=()
for p in nsd unbound ldnsutils; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
cd "$root"
mvn -q -B install -DskipTests >/dev/null
mvn -B -pl integration-tests test -Dtest=TlsPolicyCostBench -Dbench.samples="$SAMPLES" -Dsurefire.failIfNoSpecifiedTests=false \
    2>&1 | grep -E '^\|' || { echo "the benchmark failed; see integration-tests/target/surefire-reports" >&2; exit 1; }
