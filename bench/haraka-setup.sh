#!/usr/bin/env bash
# Installs Haraka (npm) into DIR and configures it as a queueing relay for loopback clients whose
# outbound queue delivers through a smarthost with STARTTLS and AUTH PLAIN (plugins relay and
# queue/smtp_forward with enable_outbound). Used by bench/tls-smarthost.sh (BENCH_HARAKA=1).
#
#   bench/haraka-setup.sh DIR LISTEN_PORT SMARTHOST_PORT USER PASSWORD
set -euo pipefail
dir=$1 port=$2 sink=$3 user=$4 password=$5
mkdir -p "$dir"
if [ ! -x "$dir/node_modules/Haraka/bin/haraka" ]; then
  (cd "$dir" && npm install --silent --no-audit --no-fund Haraka@3 >/dev/null 2>&1) \
    || { echo "npm install Haraka failed" >&2; exit 1; }
fi
# An instance directory with Haraka's default configuration, then ours over it.
[ -f "$dir/config/connection.ini" ] || node "$dir/node_modules/Haraka/bin/haraka" -i "$dir" >/dev/null 2>&1
mkdir -p "$dir/queue"
cd "$dir/config"
printf '[main]\nlisten=127.0.0.1:%s\nnodes=0\n' "$port" > smtp.ini
printf 'relay\nqueue/smtp_forward\n' > plugins
printf '[relay]\nacl=true\n' > relay.ini
printf '127.0.0.0/8\n' > relay_acl_allow
cat > smtp_forward.ini <<INI
enable_outbound=true
host=127.0.0.1
port=$sink
enable_tls=true
auth_type=plain
auth_user=$user
auth_pass=$password
max_connections=20
INI
printf '[main]\nconcurrency_max=20\nenable_tls=true\n' > outbound.ini
printf '[outbound]\nrejectUnauthorized=false\n' > tls.ini
printf '[main]\nlevel=warn\n' > log.ini
printf 'bench.haraka.test\n' > me
printf 'ext.test\n' > host_list
