#!/usr/bin/env bash
# Slowloris measurement: starts the release build of Footfall (SQLite, in a
# temporary data directory), attacks it with examples/slowloris.rs (slow
# connections sending an endless request head, one byte every 2 s, from
# 127.0.0.2 onwards) while a visitor from 127.0.0.1 times its requests, and
# prints the visitor's p50/p99, Footfall's RSS before, at peak and after the
# attack, and how long a SIGTERM takes to stop it.
#
#   bash scripts/slowloris.sh [CONNECTIONS [ADDRESSES [SECONDS]]]
#
# Defaults: 5000 connections from 1 address for 20 s. Environment (optional):
#   SLOWLORIS_CONFIG  extra config.yaml lines, e.g. "max_connections: 256"
#   SLOWLORIS_SETTLE  seconds to wait after the attack before "RSS after" (15)
#   SLOWLORIS_ROUNDS  attacks one after the other on the same process (1)
#   SLOWLORIS_TRIM    set to call malloc_trim(0) in Footfall through gdb at
#                     the end and print the RSS after it (needs gdb)
#   SLOWLORIS_ENV     extra environment for Footfall, e.g.
#                     "GLIBC_TUNABLES=glibc.malloc.trim_threshold=0"
set -euo pipefail
cd "$(dirname "$0")/.."

connections=${1:-5000}
addresses=${2:-1}
seconds=${3:-20}
settle=${SLOWLORIS_SETTLE:-15}
rounds=${SLOWLORIS_ROUNDS:-1}

# Both ends of every connection live on this machine: two descriptors each.
wanted=$((2 * connections + 1024))
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$wanted" ]; then
  ulimit -n "$wanted" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
fi
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$wanted" ]; then
  echo "slowloris: needs $wanted open files, the hard limit is $(ulimit -Hn)" >&2
  exit 1
fi

cargo build --release --locked --quiet --bin footfall --example slowloris
target=${CARGO_TARGET_DIR:-target}/release

data=$(mktemp -d)
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$data"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
printf 'socket_address: 127.0.0.1:%s\nlog_level: warn\n%s\n' "$port" "${SLOWLORIS_CONFIG:-}" >"$data/config.yaml"

# shellcheck disable=SC2086 # SLOWLORIS_ENV is a list of NAME=value words
env ${SLOWLORIS_ENV:-} "$target/footfall" --data-dir "$data" 2>"$data/server.log" &
server_pid=$!
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "http://127.0.0.1:$port/readyz" >/dev/null || { cat "$data/server.log" >&2; exit 1; }

rss() { awk -v k="$1:" '$1 == k { printf "%.1f MB", $2 / 1024 }' "/proc/$server_pid/status"; }
# A little traffic first, so "before" includes what any served request allocates.
for i in $(seq 20); do curl -fs -o /dev/null "http://127.0.0.1:$port/call/warm-up-$i"; done
echo "config: ${connections} connections from ${addresses} address(es) for ${seconds} s ${SLOWLORIS_CONFIG:+($SLOWLORIS_CONFIG)} ${SLOWLORIS_ENV:-}"
echo "RSS before: $(rss VmRSS)"

for round in $(seq "$rounds"); do
  [ "$rounds" -gt 1 ] && echo "-- attack $round of $rounds"
  "$target/examples/slowloris" --target "127.0.0.1:$port" \
    --connections "$connections" --addresses "$addresses" --seconds "$seconds"
  echo "RSS peak:   $(rss VmHWM)"
  echo "RSS at the end of the attack: $(rss VmRSS)"
  sleep "$settle"
  echo "RSS after ${settle} s: $(rss VmRSS)"
done
if [ -n "${SLOWLORIS_TRIM:-}" ]; then
  # Diagnosis only: how much of "after" is memory glibc keeps on its free
  # lists (Footfall itself cannot call malloc_trim: no unsafe code).
  gdb -p "$server_pid" -batch -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1
  echo "RSS after malloc_trim(0) from gdb: $(rss VmRSS)"
fi

started=$(date +%s.%N)
kill -TERM "$server_pid"
status=0
wait "$server_pid" || status=$?
server_pid=
echo "SIGTERM to exit: $(echo "$(date +%s.%N) - $started" | bc) s (exit status $status)"
grep -v '^$' "$data/server.log" | tail -5 || true
