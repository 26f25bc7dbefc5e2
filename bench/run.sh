#!/usr/bin/env bash
# Footfall's benchmark, one command, loopback only:
#
#   bench/run.sh
#
# Builds release binaries; starts a throwaway PostgreSQL cluster, a tracked
# site (bench/tracked_site.py), the ceiling (examples/ceiling.rs: the same
# image bytes from a bare hyper server) and Footfall instances; drives them
# with wrk in four shapes (repeat, new visitors, mixed, new pages) over
# several rounds, alternating ceiling and servers; checks stored counts and
# probe budgets; measures the memory of the dedup set; prints one table and
# writes it, with the machine description, to BENCHMARKS.md.
# If /work/shared/bench/oxitraffic/setup.sh has built OxiTraffic 0.1.3 under
# /tmp/peers, it is measured too (repeat and unique pairs), on its own
# instance against this run's PostgreSQL.
#
# Everything it starts is stopped on exit (also on Ctrl-C or a failure).
#
# Settings (environment):
#   BENCH_DURATION=10        seconds per wrk run
#   BENCH_ROUNDS=3           rounds; medians are over rounds
#   BENCH_THREADS=2 BENCH_CONNECTIONS=64   wrk -t / -c
#   BENCH_FLOOD_CONNECTIONS=32             connections of the new-pages flood
#   BENCH_PAGES=1000         known pages for new visitors
#   BENCH_DEDUP_PAIRS=2000000  pairs pushed for the dedup memory measurement
#   BENCH_SHAPES="repeat new mixed newpages dedup"   which parts to run
#                            (+ "halfbots": new visitors, every other one a bot;
#                            its runs are in the log and target/bench/results.jsonl)
#   BENCH_OXITRAFFIC=auto    auto | 0 (skip) | 1 (require)
#   BENCH_OXI_PATHS=200000   pages pre-registered in OxiTraffic
#   BENCH_BUILD=1            0 = use the binaries already in target/release
#   BENCH_PERF=0             1 = perf record each Footfall run of round 1
#                            (skews that round a little); reports go to
#                            target/bench-perf/
#   BENCH_OUT=BENCHMARKS.md  where the report goes
#   BENCH_MAX_SECONDS=1800   hard limit for the whole run
#   BENCH_KEEP=0             1 = keep the temp dir (logs, data) for debugging
#   BENCH_COMMIT             what to call the code under test in the report
#                            (default: git HEAD, marked if src/ has changes)
#
# Exit status: 0 all targets met, 2 a target or check failed, 1 the run failed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
FLOOD_CONNS=${BENCH_FLOOD_CONNECTIONS:-32}
PAGES=${BENCH_PAGES:-1000}
DEDUP_PAIRS=${BENCH_DEDUP_PAIRS:-2000000}
SHAPES=${BENCH_SHAPES:-repeat new mixed newpages dedup}
OXITRAFFIC=${BENCH_OXITRAFFIC:-auto}
OXI_PATHS=${BENCH_OXI_PATHS:-200000}
BUILD=${BENCH_BUILD:-1}
PERF=${BENCH_PERF:-0}
OUT=${BENCH_OUT:-$ROOT/BENCHMARKS.md}
MAX_SECONDS=${BENCH_MAX_SECONDS:-1800}
KEEP=${BENCH_KEEP:-0}
WARMUP_SECONDS=3
# Footfall's default probe budget, written out so the check knows it.
PROBE_RATE=5
PROBE_BURST=10
OXI_BIN=/tmp/peers/oxitraffic-0.1.3/bin/oxitraffic

# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"
has_shape() { [[ " $SHAPES " == *" $1 "* ]]; }
py() { python3 "$BENCH/bench.py" "$@"; }

# ------------------------------------------------------------------ cleanup
TMP=$(mktemp -d /tmp/footfall-bench.XXXXXX)
chmod 755 "$TMP"   # the postgres user must reach its data dir inside
PIDS=()            # every long-running process we started
PGDATA=""
WATCHDOG=""
cleanup() {
  local rc=$?
  set +e     # tidy up everything, whatever fails on the way
  trap - EXIT INT TERM
  [ -n "$WATCHDOG" ] && kill "$WATCHDOG" 2>/dev/null
  # Load generators and helpers still running (children of this shell).
  pkill -TERM -P $$ 2>/dev/null || true
  local pid
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  finish "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start_watchdog

# CPU seconds (user + system) used so far by the given PIDs, or by PostgreSQL
# (the postmaster and all its children) for "pg".
cpu_of() {
  local pids=("$@") tick
  if [ "$1" = pg ]; then
    local pm children
    pm=$(head -n 1 "$PGDATA/postmaster.pid" 2>/dev/null) || { echo 0; return; }
    read -r -d '' -a children < <(ps -o pid= --ppid "$pm" 2>/dev/null) || true
    pids=("$pm" "${children[@]}")
  fi
  tick=$(getconf CLK_TCK)
  local f files=()
  for f in "${pids[@]}"; do files+=("/proc/$f/stat"); done
  # The command name (field 2) may hold spaces; count fields after its ')'.
  cat "${files[@]}" 2>/dev/null | awk -v t="$tick" '{sub(/^.*\) /, ""); s += $12 + $13} END {printf "%.3f", s / t}'
}
rss_of() { awk '/^VmRSS/{r=$2} /^VmHWM/{h=$2} END{print r+0, h+0}' "/proc/$1/status" 2>/dev/null || echo "0 0"; }

# ------------------------------------------------------------------ tools
command -v python3 >/dev/null || die "python3 is needed"
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || die "wrk is missing (apt-get install wrk)"
  log "installing wrk"
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null || die "could not install wrk"
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -x "$PGBIN/initdb" ] || die "no PostgreSQL server binaries under /usr/lib/postgresql/*/bin"
case "$OXITRAFFIC" in
  auto) if [ -x "$OXI_BIN" ]; then OXITRAFFIC=1; else OXITRAFFIC=0; fi ;;
  1) [ -x "$OXI_BIN" ] || die "BENCH_OXITRAFFIC=1 but $OXI_BIN is missing (run /work/shared/bench/oxitraffic/setup.sh)" ;;
esac

if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release --locked --examples --bins) > "$TMP/build.log" 2>&1 \
    || { tail -n 30 "$TMP/build.log" >&2; die "build failed"; }
fi
FOOTFALL=$ROOT/target/release/footfall
CEILING=$ROOT/target/release/examples/ceiling
[ -x "$FOOTFALL" ] && [ -x "$CEILING" ] || die "missing $FOOTFALL or $CEILING"

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
read -r PG_PORT SITE_PORT CEIL_PORT FF_PG_PORT FF_SQ_PORT FF_PROBE_PORT FF_DEDUP_PORT OXI_PORT < <(py ports 8)
SITE=http://127.0.0.1:$SITE_PORT
declare -A URL PID

# ------------------------------------------------------------------ PostgreSQL
log "starting PostgreSQL ($("$PGBIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$PG_PORT"
start_pg "$PG_PORT" -c max_connections=200
for db in footfall footfall_probe oxitraffic; do psql_do -c "CREATE DATABASE $db" >/dev/null; done

# ------------------------------------------------------------------ tracked site, ceiling
mkdir -p "$TMP/site" "$TMP/ceiling" "$TMP/wrk"
python3 "$BENCH/tracked_site.py" "$SITE_PORT" > "$TMP/site/server.log" 2>&1 &
PIDS+=($!)
py wait "$SITE/__probes" 15 || die "tracked site did not start"

"$CEILING" "127.0.0.1:$CEIL_PORT" > "$TMP/ceiling/server.log" 2>&1 &
PID[ceiling]=$!; PIDS+=($!)
URL[ceiling]=http://127.0.0.1:$CEIL_PORT
py wait "${URL[ceiling]}/call/repeat" 15 || die "ceiling did not start"

# ------------------------------------------------------------------ Footfall
# start_footfall KEY PORT DATABASE|sqlite RATE BURST MAX_VISITORS
start_footfall() {
  local key=$1 port=$2 store=$3 rate=$4 burst=$5 max_visitors=$6 dir=$TMP/$1
  mkdir -p "$dir"
  {
    echo "socket_address: \"127.0.0.1:$port\""
    echo "tracked_base_url: \"$SITE\""
    echo "trusted_proxies: [\"127.0.0.1\"]"
    echo "probe_rate_per_second: $rate"
    echo "probe_burst: $burst"
    echo "max_visitors: $max_visitors"
    echo "dedup_window_hours: 24"
    if [ "$store" != sqlite ]; then
      echo "db: {host: 127.0.0.1, port: $PG_PORT, username: postgres, password: x, database: $store}"
    fi
  } > "$dir/config.yaml"
  "$FOOTFALL" --data-dir "$dir" > "$dir/server.log" 2>&1 &
  PID[$key]=$!; PIDS+=($!)
  URL[$key]=http://127.0.0.1:$port
  py wait "${URL[$key]}/readyz" 60 || die "footfall ($key) did not become ready; see $dir/server.log"
}

# Registering 1,000 pages at the default 5 probes/s would take minutes, so the
# instances for shapes 1-3 get a generous budget; the new-pages shape runs on
# its own instance with the default budget (PROBE_RATE, PROBE_BURST).
log "starting Footfall: PostgreSQL, SQLite, and PostgreSQL with the default probe budget"
start_footfall footfall-pg "$FF_PG_PORT" footfall 100000 100000 10000000
start_footfall footfall-sqlite "$FF_SQ_PORT" sqlite 100000 100000 10000000
start_footfall ffprobe "$FF_PROBE_PORT" footfall_probe "$PROBE_RATE" "$PROBE_BURST" 10000000
for key in footfall-pg footfall-sqlite; do
  py warmup "${URL[$key]}" "$PAGES" || die "warm-up of $key failed"
done
py warmup "${URL[ffprobe]}" 0 || die "warm-up of ffprobe failed"
log "registered $PAGES pages (+ the repeat page) on each"

# ------------------------------------------------------------------ OxiTraffic
if [ "$OXITRAFFIC" = 1 ]; then
  log "starting OxiTraffic 0.1.3 ($OXI_BIN)"
  mkdir -p "$TMP/oxitraffic"
  cat > "$TMP/oxitraffic/config.yaml" <<EOF
socket_address: "127.0.0.1:$OXI_PORT"
response_filename: "pixel.gif"
tracked_base_url: "$SITE"
db:
  host: "127.0.0.1"
  port: $PG_PORT
  username: "postgres"
  password: "unused-trust-auth"
  database: "oxitraffic"
utc_offset:
  hours: 0
  minutes: 0
EOF
  # The same 43-byte GIF Footfall serves by default.
  printf 'GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b' \
    > "$TMP/oxitraffic/pixel.gif"
  OXITRAFFIC_DATA_DIR="$TMP/oxitraffic" "$OXI_BIN" > "$TMP/oxitraffic/server.log" 2>&1 &
  PID[oxitraffic]=$!; PIDS+=($!)
  URL[oxitraffic]=http://127.0.0.1:$OXI_PORT
  py wait "${URL[oxitraffic]}/api/counts" 60 || die "OxiTraffic did not start"
  py warmup "${URL[oxitraffic]}" 0 || die "warm-up of OxiTraffic failed"
  psql_do -d oxitraffic -c "INSERT INTO paths(path) SELECT 'p' || g FROM generate_series(1, $OXI_PATHS) g" >/dev/null
  OXI_BLOCK=$(( OXI_PATHS / (2 * ROUNDS) ))
  log "OxiTraffic ready; $OXI_PATHS pages pre-registered ($OXI_BLOCK per run and thread)"
fi

# ------------------------------------------------------------------ load
RESULTS=$TMP/results.jsonl
: > "$RESULTS"
RUN_ID=0        # every wrk run gets its own visitor address range
PERF_DIR=$ROOT/target/bench-perf

# wrk_cmd OUTFILE URL SCRIPT [wrk options...]: one wrk run of $DURATION
# seconds; the caller bumps RUN_ID first (this may run in the background).
# Waits with `wait`, not in the foreground, so Ctrl-C stops the run at once.
wrk_cmd() {
  local out=$1 url=$2 script=$3; shift 3
  timeout -k 5 $((DURATION + 60)) wrk -d"${DURATION}s" --timeout 10s --latency \
    -s "$BENCH/$script" "$@" "$url" -- "$RUN_ID" "$PAGES" 0 "$THREADS" > "$out" 2>&1 &
  wait $!
}

# "busy idle" jiffies of the whole machine (all CPUs) so far.
machine_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6; exit}' /proc/stat; }

# cpu_mark KEY: remember the CPU time of server KEY, of PostgreSQL and of the
# whole machine now.
cpu_mark() {
  CPU0_SERVER=$(cpu_of "${PID[$1]}"); CPU0_PG=$(cpu_of pg)
  read -r BUSY0 IDLE0 < <(machine_jiffies)
}

# record SHAPE LABEL ROUND KEY OUTFILE: one run's numbers, with the server's
# memory now and the CPU it (and PostgreSQL) used since cpu_mark.
record() {
  local rss hwm busy idle
  read -r rss hwm < <(rss_of "${PID[$4]}")
  read -r busy idle < <(machine_jiffies)
  py record --shape "$1" --server "$2" --round "$3" --wrk-out "$5" --rss-kb "$rss" --hwm-kb "$hwm" \
    --cpu-server "$(awk -v a="$CPU0_SERVER" -v b="$(cpu_of "${PID[$4]}")" 'BEGIN{print b - a}')" \
    --cpu-pg "$(awk -v a="$CPU0_PG" -v b="$(cpu_of pg)" 'BEGIN{print b - a}')" \
    --machine-busy "$(awk -v b=$((busy - BUSY0)) -v i=$((idle - IDLE0)) 'BEGIN{print (b + i) ? 100 * b / (b + i) : 0}')" \
    >> "$RESULTS"
}

# load SHAPE KEY ROUND SCRIPT [verify-mode]: one recorded run against server KEY.
load() {
  local shape=$1 key=$2 round=$3 script=$4 verify=${5:-} out=$TMP/wrk/$1-$2-r$3.txt before="" perf_pid=""
  [ -n "$verify" ] && before=$(py sum "${URL[$key]}")
  if [ "$PERF" = 1 ] && [ "$round" = 1 ] && [[ $key == footfall-* ]] && command -v perf >/dev/null; then
    mkdir -p "$PERF_DIR"
    perf record -g -p "${PID[$key]}" -o "$PERF_DIR/$shape-$key.data" -- sleep "$DURATION" \
      > "$PERF_DIR/$shape-$key.record.log" 2>&1 &
    perf_pid=$!
  fi
  cpu_mark "$key"
  if [ "$script" = oxi_unique_pairs.lua ]; then
    RUN_ID=$((RUN_ID + 1))
    timeout -k 5 $((DURATION + 60)) wrk -t2 -c"$CONNS" -d"${DURATION}s" --timeout 10s --latency \
      -s "$BENCH/$script" "${URL[$key]}" -- $((round - 1)) "$OXI_BLOCK" > "$out" 2>&1 &
    wait $! || { cat "$out" >&2; die "wrk failed ($shape, $key)"; }
  else
    RUN_ID=$((RUN_ID + 1))
    wrk_cmd "$out" "${URL[$key]}" "$script" -t"$THREADS" -c"$CONNS" \
      || { cat "$out" >&2; die "wrk failed ($shape, $key)"; }
  fi
  if [ -n "$perf_pid" ]; then
    wait "$perf_pid" || true
    local report=$PERF_DIR/$shape-$key.txt
    {
      echo "== by shared object"
      perf report -i "$PERF_DIR/$shape-$key.data" --stdio --no-children -g none --sort dso 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 12
      echo "== by symbol"
      perf report -i "$PERF_DIR/$shape-$key.data" --stdio --no-children -g none --percent-limit 0.5 2>/dev/null | grep -v '^#' | grep -v '^$' | head -n 60
      echo "== call graphs (perf report -i $PERF_DIR/$shape-$key.data for more)"
      perf report -i "$PERF_DIR/$shape-$key.data" --stdio --no-children --percent-limit 3 2>/dev/null | grep -v '^#' | head -n 150
    } > "$report" || true
    log "perf profile: $report"
  fi
  record "$shape" "$key" "$round" "$key" "$out"
  if [ -n "$verify" ]; then
    local after
    after=$(py settle "${URL[$key]}" 30)
    py verify --shape "$shape" --server "$key" --round "$round" --wrk-out "$out" \
      --before "$before" --after "$after" --mode "$verify" >> "$RESULTS"
  fi
}

# flood KEY LABEL ROUND: repeat load plus a new-pages flood, both against KEY.
flood() {
  local key=$1 label=$2 round=$3 rout=$TMP/wrk/flood-repeat-$1-r$3.txt fout=$TMP/wrk/flood-$1-r$3.txt
  local probes_before="" t0 fpid
  [ "$label" != ceiling ] && probes_before=$(py probes "$SITE")
  t0=$(date +%s.%N)
  cpu_mark "$key"
  RUN_ID=$((RUN_ID + 1))
  wrk_cmd "$fout" "${URL[$key]}" new_pages.lua -t1 -c"$FLOOD_CONNS" &
  fpid=$!
  RUN_ID=$((RUN_ID + 1))
  wrk_cmd "$rout" "${URL[$key]}" repeat.lua -t"$THREADS" -c"$CONNS" || { cat "$rout" >&2; die "wrk failed (repeat under flood, $key)"; }
  wait "$fpid" || { cat "$fout" >&2; die "wrk failed (flood, $key)"; }
  record new-pages-flood "$label" "$round" "$key" "$fout"
  record repeat-under-flood "$label" "$round" "$key" "$rout"
  if [ -n "$probes_before" ]; then
    sleep 1   # a probe still in flight when wrk stopped must be counted too
    local seconds
    seconds=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
    py probecheck --round "$round" --before "$probes_before" --after "$(py probes "$SITE")" \
      --seconds "$seconds" --rate "$PROBE_RATE" --burst "$PROBE_BURST" >> "$RESULTS"
  fi
}

# Odd rounds run the ceiling first, even rounds last.
ordered() { if (( ROUND % 2 )); then printf '%s\n' "$@"; else printf '%s\n' "$@" | tac; fi; }

SERVERS_REPEAT=(ceiling footfall-pg)
SERVERS_NEW=(ceiling footfall-pg footfall-sqlite)
if [ "$OXITRAFFIC" = 1 ]; then SERVERS_REPEAT+=(oxitraffic); SERVERS_NEW+=(oxitraffic); fi

if has_shape repeat || has_shape new || has_shape mixed || has_shape newpages || has_shape halfbots; then
  log "warming up every server (${WARMUP_SECONDS}s of repeat load each)"
  for key in "${SERVERS_NEW[@]}" ffprobe; do
    RUN_ID=$((RUN_ID + 1))
    timeout 60 wrk -t"$THREADS" -c"$CONNS" -d"${WARMUP_SECONDS}s" -s "$BENCH/repeat.lua" "${URL[$key]}" \
      -- "$RUN_ID" "$PAGES" 0 "$THREADS" > /dev/null 2>&1 \
      || die "warm-up load against $key failed"
  done
fi

for ROUND in $(seq "$ROUNDS"); do
  log "round $ROUND of $ROUNDS"
  if has_shape repeat; then
    for key in $(ordered "${SERVERS_REPEAT[@]}"); do load repeat "$key" "$ROUND" repeat.lua; done
  fi
  if has_shape new; then
    for key in $(ordered "${SERVERS_NEW[@]}"); do
      case $key in
        ceiling) load new-visitors ceiling "$ROUND" new_visitors.lua ;;
        oxitraffic) load new-visitors oxitraffic "$ROUND" oxi_unique_pairs.lua new ;;
        *) load new-visitors "$key" "$ROUND" new_visitors.lua new ;;
      esac
    done
  fi
  if has_shape mixed; then
    for key in $(ordered ceiling footfall-pg); do
      if [ "$key" = ceiling ]; then load mixed ceiling "$ROUND" mixed.lua; else load mixed "$key" "$ROUND" mixed.lua mixed; fi
    done
  fi
  if has_shape halfbots; then
    for key in $(ordered ceiling footfall-pg footfall-sqlite); do
      if [ "$key" = ceiling ]; then load new-half-bots ceiling "$ROUND" half_bots.lua; else load new-half-bots "$key" "$ROUND" half_bots.lua mixed; fi
    done
  fi
  if has_shape newpages; then
    for key in $(ordered ceiling ffprobe); do
      if [ "$key" = ceiling ]; then flood ceiling ceiling "$ROUND"; else flood ffprobe footfall-pg "$ROUND"; fi
    done
  fi
done

# ------------------------------------------------------------------ dedup memory
# push_pairs KEY N: N new visitor-page pairs as fast as wrk can; sets PUSHED
# to the number stored. Each wrk thread stops after N/THREADS requests; wrk
# itself is stopped (SIGINT: it still prints its summary) once the counts
# have grown by about N or stopped growing.
PUSHED=0
PUSH_NO=0
PUSH_SECONDS=0
push_pairs() {
  local key=$1 n=$2 out before cur last=-1 still=0 wpid t0
  RUN_ID=$((RUN_ID + 1))
  PUSH_NO=$((PUSH_NO + 1))
  out=$TMP/wrk/dedup-$RUN_ID.txt
  before=$(py sum "${URL[$key]}")
  timeout -k 5 900 wrk -t"$THREADS" -c"$CONNS" -d600s --timeout 10s -s "$BENCH/new_visitors.lua" "${URL[$key]}" \
    -- "$RUN_ID" "$PAGES" $((n / THREADS)) "$THREADS" > "$out" 2>&1 &
  wpid=$!
  t0=$(date +%s.%N)
  while kill -0 "$wpid" 2>/dev/null; do
    sleep 1
    cur=$(py sum "${URL[$key]}")
    (( cur - before >= n - CONNS - 2 * THREADS )) && break
    if (( cur == last )); then still=$((still + 1)); else still=0; fi
    (( still >= 5 )) && { log "dedup push: counts stopped growing at $((cur - before)) of $n"; break; }
    last=$cur
  done
  PUSH_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
  sleep 1
  kill -INT "$wpid" 2>/dev/null || true
  wait "$wpid" || true
  cur=$(py settle "${URL[$key]}" 30)
  py verify --shape dedup --server footfall-sqlite --round "$PUSH_NO" --wrk-out "$out" \
    --before "$before" --after "$cur" >> "$RESULTS"
  PUSHED=$((cur - before))
  log "dedup push $PUSH_NO: $PUSHED pairs stored in about ${PUSH_SECONDS}s"
}

if has_shape dedup; then
  DEDUP_MAX_VISITORS=50000000
  log "dedup memory: fresh Footfall on SQLite, max_visitors $DEDUP_MAX_VISITORS, $DEDUP_PAIRS pairs"
  start_footfall ffdedup "$FF_DEDUP_PORT" sqlite 100000 100000 "$DEDUP_MAX_VISITORS"
  py warmup "${URL[ffdedup]}" "$PAGES" || die "warm-up of ffdedup failed"
  # A first small push brings connections, buffers and caches to their
  # working size, so the measured growth is the dedup set's.
  push_pairs ffdedup 50000; WARM_PAIRS=$PUSHED
  sleep 2; read -r RSS0 _ < <(rss_of "${PID[ffdedup]}")
  push_pairs ffdedup $((DEDUP_PAIRS / 2)); PAIRS_A=$PUSHED; SECONDS_A=$PUSH_SECONDS
  sleep 2; read -r RSS1 _ < <(rss_of "${PID[ffdedup]}")
  push_pairs ffdedup $((DEDUP_PAIRS - DEDUP_PAIRS / 2)); PAIRS_B=$PUSHED; SECONDS_B=$PUSH_SECONDS
  sleep 2; read -r RSS2 HWM < <(rss_of "${PID[ffdedup]}")
  DEDUP_RPS=$(awk -v p=$((PAIRS_A + PAIRS_B)) -v a="$SECONDS_A" -v b="$SECONDS_B" 'BEGIN{printf "%.0f", p / (a + b)}')
  DEDUP_OK=$(python3 -c 'import json,sys; c=[json.loads(l) for l in open(sys.argv[1]) if "\"dedup\"" in l and "\"counts\"" in l]; print("all %d pushes ok" % len(c) if all(x["ok"] for x in c) else "MISMATCH in " + "; ".join(x["detail"] for x in c if not x["ok"]))' "$RESULTS")
  py dedup --max-visitors "$DEDUP_MAX_VISITORS" --pages "$PAGES" --warm-pairs "$WARM_PAIRS" \
    --pairs-a "$PAIRS_A" --pairs-b "$PAIRS_B" --rss0 "$RSS0" --rss1 "$RSS1" --rss2 "$RSS2" --hwm "$HWM" \
    --rps "$DEDUP_RPS" --count-detail "$DEDUP_OK" >> "$RESULTS"
fi

# ------------------------------------------------------------------ report
META=$TMP/meta.json
DATE="$(date -u '+%Y-%m-%d %H:%M UTC')" \
COMMIT="${BENCH_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src sql Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes')}" \
CPU="$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)" \
MEM="$(awk '/^MemTotal/{printf "%.0f GiB", $2 / 1048576}' /proc/meminfo)" \
OS="$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
PGV="$("$PGBIN/postgres" --version | awk '{print $3}')" \
WRKV="$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')" \
python3 - "$META" <<EOF
import json, os, sys
json.dump(dict(date=os.environ["DATE"], commit=os.environ["COMMIT"], nproc=$(nproc), cpu=os.environ["CPU"],
               kernel="$(uname -r)", mem=os.environ["MEM"], os=os.environ["OS"], pg=os.environ["PGV"],
               wrk=os.environ["WRKV"], threads=$THREADS, conns=$CONNS, flood_conns=$FLOOD_CONNS,
               duration=$DURATION, rounds=$ROUNDS, pages=$PAGES, dedup_pairs=$DEDUP_PAIRS,
               probe_rate=$PROBE_RATE, probe_burst=$PROBE_BURST,
               loadavg="$LOADAVG_START", loadavg_end="$(cut -d' ' -f1-3 /proc/loadavg)",
               oxi_paths=$([ "$OXITRAFFIC" = 1 ] && echo "$OXI_PATHS" || echo 0)), open(sys.argv[1], "w"))
EOF
log "all runs done"
# The raw numbers stay (target/ is not committed), so the report can be
# redone without a new run: python3 bench/bench.py report target/bench/results.jsonl target/bench/meta.json OUT
mkdir -p "$ROOT/target/bench"
cp "$RESULTS" "$META" "$ROOT/target/bench/"
set +e
py report "$RESULTS" "$META" "$OUT"
STATUS=$?
set -e
exit "$STATUS"
