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
# Given an OxiTraffic 0.1.3 binary (BENCH_OXITRAFFIC_BIN), it measures
# OxiTraffic too (repeat and unique pairs), on its own instance against this
# run's PostgreSQL.
#
# Everything it starts is stopped on exit (also on Ctrl-C or a failure);
# scripts/lib.sh has the shared parts (processes, ports, PostgreSQL) and
# scripts/footfall_helper.py the Python ones (warm-up, checks, the report).
#
# Settings (environment):
#   BENCH_DURATION=10        seconds per wrk run
#   BENCH_ROUNDS=3           rounds; medians are over rounds
#   BENCH_THREADS=2 BENCH_CONNECTIONS=64   wrk -t / -c
#   BENCH_FLOOD_CONNECTIONS=32             connections of the new-pages flood
#   BENCH_PAGES=1000         known pages for new visitors
#   BENCH_PAGE_ORDER=sequential  which page each new visitor hits:
#                            sequential (p1, p2, ...: a batch's hits land on
#                            neighbouring pages, whose rows are neighbours in
#                            the stores too) | scattered (a fixed stride, so
#                            neighbouring hits land far apart, as visitors of a
#                            real site do); see bench/common.lua
#   BENCH_DEDUP_PAIRS=2000000  pairs pushed for the dedup memory measurement
#   BENCH_SHAPES="repeat new mixed newpages dedup replicas"   which parts to run
#                            (+ "halfbots": new visitors, every other one a bot;
#                            its runs are in the log and target/bench/results.jsonl)
#                            "replicas": new visitors at one Footfall and at two
#                            behind a TCP round-robin (examples/roundrobin.rs),
#                            with dedup: local and dedup: shared; its table is
#                            appended to the report (and target/bench/replicas.md)
#                            (+ "dims": new visitors with realistic user agents,
#                            referrers and a GeoIP file, on this build with every
#                            dimension on and on BENCH_BASELINE_BIN, alternating in
#                            each round; bench/dims_ratio.py checks ≥ 0.8× and
#                            writes target/bench/dims.txt)
#   BENCH_BASELINE_BIN       the "dims" shape's baseline: a footfall binary without
#                            dimension aggregates (e.g. a release build of the
#                            commit before them)
#   BENCH_BASELINE_GEOIP=0   1 = give the baseline the GeoIP file too (when it is
#                            an earlier build with dimensions, to compare two ways
#                            of writing them)
#   BENCH_PATH_PREFIX=       /s/default: drive the repeat and new-visitor
#                            shapes through the site-prefixed routes
#   BENCH_OXITRAFFIC=auto    auto (measure it when BENCH_OXITRAFFIC_BIN is
#                            set and executable) | 0 (skip) | 1 (require)
#   BENCH_OXITRAFFIC_BIN     path of an OxiTraffic 0.1.3 binary (no default;
#                            0.1.3 is yanked on crates.io, so build it from
#                            its source with its own Cargo.lock)
#   BENCH_OXI_PATHS=200000   pages pre-registered in OxiTraffic
#   BENCH_BUILD=1            0 = use the binaries already in target/release
#                            (or $CARGO_TARGET_DIR/release)
#   PGBIN                    PostgreSQL server binaries (default: initdb's
#                            directory on PATH, else the newest
#                            /usr/lib/postgresql/*/bin)
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

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
BENCH=$ROOT/bench
DURATION=${BENCH_DURATION:-10}
ROUNDS=${BENCH_ROUNDS:-3}
THREADS=${BENCH_THREADS:-2}
CONNS=${BENCH_CONNECTIONS:-64}
FLOOD_CONNS=${BENCH_FLOOD_CONNECTIONS:-32}
PAGES=${BENCH_PAGES:-1000}
# Read by the wrk scripts (bench/common.lua), which refuse other values.
export BENCH_PAGE_ORDER=${BENCH_PAGE_ORDER:-sequential}
case $BENCH_PAGE_ORDER in sequential | scattered) ;; *) die "BENCH_PAGE_ORDER must be sequential or scattered, not $BENCH_PAGE_ORDER" ;; esac
DEDUP_PAIRS=${BENCH_DEDUP_PAIRS:-2000000}
SHAPES=${BENCH_SHAPES:-repeat new mixed newpages dedup replicas}
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
OXI_BIN=${BENCH_OXITRAFFIC_BIN:-}

has_shape() { [[ " $SHAPES " == *" $1 "* ]]; }

make_tmp footfall-bench
start_watchdog "$MAX_SECONDS"

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
for tool in python3 curl psql; do command -v "$tool" >/dev/null || die "$tool is needed"; done
if ! command -v wrk >/dev/null; then
  [ "$(id -u)" = 0 ] || die "wrk is missing (apt-get install wrk)"
  log "installing wrk"
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null || die "could not install wrk"
fi
need_pgbin
case "$OXITRAFFIC" in
  auto) if [ -n "$OXI_BIN" ] && [ -x "$OXI_BIN" ]; then OXITRAFFIC=1; else OXITRAFFIC=0; fi ;;
  1) [ -n "$OXI_BIN" ] && [ -x "$OXI_BIN" ] \
       || die "BENCH_OXITRAFFIC=1 but BENCH_OXITRAFFIC_BIN (${OXI_BIN:-unset}) is not an executable OxiTraffic 0.1.3 binary" ;;
esac

if [ "$BUILD" = 1 ]; then
  log "building release binaries"
  (cd "$ROOT" && cargo build --release --locked --examples --bins) > "$TMP/build.log" 2>&1 \
    || { tail -n 30 "$TMP/build.log" >&2; die "build failed"; }
fi
FOOTFALL=$TARGET_DIR/release/footfall
CEILING=$TARGET_DIR/release/examples/ceiling
ROUNDROBIN=$TARGET_DIR/release/examples/roundrobin
[ -x "$FOOTFALL" ] && [ -x "$CEILING" ] || die "missing $FOOTFALL or $CEILING"
if has_shape replicas; then [ -x "$ROUNDROBIN" ] || die "missing $ROUNDROBIN"; fi

LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
read -r PG_PORT SITE_PORT CEIL_PORT FF_PG_PORT FF_SQ_PORT FF_PROBE_PORT FF_DEDUP_PORT OXI_PORT < <(free_port 8)
SITE=http://127.0.0.1:$SITE_PORT
declare -A URL PID

# ------------------------------------------------------------------ PostgreSQL
log "starting PostgreSQL ($("$PGBIN/postgres" --version | awk '{print $3}')) on 127.0.0.1:$PG_PORT"
start_pg "$TMP/pg" "$PG_PORT" -c max_connections=200
for db in footfall footfall_probe oxitraffic footfall_base footfall_dims; do psql_do -c "CREATE DATABASE $db" >/dev/null; done

# ------------------------------------------------------------------ tracked site, ceiling
mkdir -p "$TMP/site" "$TMP/ceiling" "$TMP/wrk"
spawn "$TMP/site/server.log" python3 "$BENCH/tracked_site.py" "$SITE_PORT"
wait_http "$SITE/__probes" 15 "$SPAWNED_PID" || die "tracked site did not start"

spawn "$TMP/ceiling/server.log" "$CEILING" "127.0.0.1:$CEIL_PORT"
PID[ceiling]=$SPAWNED_PID
URL[ceiling]=http://127.0.0.1:$CEIL_PORT
wait_http "${URL[ceiling]}/call/repeat" 15 "$SPAWNED_PID" || die "ceiling did not start"

# ------------------------------------------------------------------ Footfall
# footfall_instance KEY PORT DATABASE|sqlite RATE BURST MAX_VISITORS [EXTRA_YAML [BINARY]]
footfall_instance() {
  local key=$1 port=$2 store=$3 rate=$4 burst=$5 max_visitors=$6 extra=${7:-} bin=${8:-$FOOTFALL} dir=$TMP/$1
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
    if [ -n "$extra" ]; then echo "$extra"; fi
  } > "$dir/config.yaml"
  URL[$key]=http://127.0.0.1:$port
  start_footfall "$bin" "$dir" "${URL[$key]}" "$dir/server.log" 60
  PID[$key]=$FOOTFALL_PID
}

# Registering 1,000 pages at the default 5 probes/s would take minutes, so the
# instances for shapes 1-3 get a generous budget; the new-pages shape runs on
# its own instance with the default budget (PROBE_RATE, PROBE_BURST).
log "starting Footfall: PostgreSQL, SQLite, and PostgreSQL with the default probe budget"
footfall_instance footfall-pg "$FF_PG_PORT" footfall 100000 100000 10000000
footfall_instance footfall-sqlite "$FF_SQ_PORT" sqlite 100000 100000 10000000
footfall_instance ffprobe "$FF_PROBE_PORT" footfall_probe "$PROBE_RATE" "$PROBE_BURST" 10000000
for key in footfall-pg footfall-sqlite; do
  helper warmup "${URL[$key]}" "$PAGES" || die "warm-up of $key failed"
done
helper warmup "${URL[ffprobe]}" 0 || die "warm-up of ffprobe failed"
log "registered $PAGES pages (+ the repeat page) on each"

# The dimensions shape: the baseline binary and this one, each on both stores.
SERVERS_DIMS=()
if has_shape dims; then
  BASELINE=${BENCH_BASELINE_BIN:-}
  [ -n "$BASELINE" ] && [ -x "$BASELINE" ] || die "the dims shape needs BENCH_BASELINE_BIN (a footfall binary without dimensions)"
  read -r BASE_PG_PORT BASE_SQ_PORT DIMS_PG_PORT DIMS_SQ_PORT < <(free_port 4)
  GEOIP="geoip_database: \"$BENCH/geoip-bench.mmdb\""
  log "starting the baseline ($BASELINE) and this build with dimensions on, each on PostgreSQL and SQLite"
  BASE_YAML=""
  if [ "${BENCH_BASELINE_GEOIP:-0}" = 1 ]; then BASE_YAML=$GEOIP; fi
  footfall_instance baseline-pg "$BASE_PG_PORT" footfall_base 100000 100000 10000000 "$BASE_YAML" "$BASELINE"
  footfall_instance baseline-sqlite "$BASE_SQ_PORT" sqlite 100000 100000 10000000 "$BASE_YAML" "$BASELINE"
  footfall_instance dims-pg "$DIMS_PG_PORT" footfall_dims 100000 100000 10000000 "$GEOIP"
  footfall_instance dims-sqlite "$DIMS_SQ_PORT" sqlite 100000 100000 10000000 "$GEOIP"
  SERVERS_DIMS=(baseline-pg dims-pg baseline-sqlite dims-sqlite)
  for key in "${SERVERS_DIMS[@]}"; do
    helper warmup "${URL[$key]}" "$PAGES" || die "warm-up of $key failed"
  done
fi

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
  spawn "$TMP/oxitraffic/server.log" env OXITRAFFIC_DATA_DIR="$TMP/oxitraffic" "$OXI_BIN"
  PID[oxitraffic]=$SPAWNED_PID
  URL[oxitraffic]=http://127.0.0.1:$OXI_PORT
  wait_http "${URL[oxitraffic]}/api/counts" 60 "$SPAWNED_PID" || die "OxiTraffic did not start"
  helper warmup "${URL[oxitraffic]}" 0 || die "warm-up of OxiTraffic failed"
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
  helper record --shape "$1" --server "$2" --round "$3" --wrk-out "$5" --rss-kb "$rss" --hwm-kb "$hwm" \
    --cpu-server "$(awk -v a="$CPU0_SERVER" -v b="$(cpu_of "${PID[$4]}")" 'BEGIN{print b - a}')" \
    --cpu-pg "$(awk -v a="$CPU0_PG" -v b="$(cpu_of pg)" 'BEGIN{print b - a}')" \
    --machine-busy "$(awk -v b=$((busy - BUSY0)) -v i=$((idle - IDLE0)) 'BEGIN{print (b + i) ? 100 * b / (b + i) : 0}')" \
    >> "$RESULTS"
}

# load SHAPE KEY ROUND SCRIPT [verify-mode]: one recorded run against server KEY.
load() {
  local shape=$1 key=$2 round=$3 script=$4 verify=${5:-} out=$TMP/wrk/$1-$2-r$3.txt before="" perf_pid=""
  [ -n "$verify" ] && before=$(helper sum "${URL[$key]}")
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
    after=$(helper settle "${URL[$key]}" 30)
    helper verify --shape "$shape" --server "$key" --round "$round" --wrk-out "$out" \
      --before "$before" --after "$after" --mode "$verify" >> "$RESULTS"
  fi
}

# flood KEY LABEL ROUND: repeat load plus a new-pages flood, both against KEY.
flood() {
  local key=$1 label=$2 round=$3 rout=$TMP/wrk/flood-repeat-$1-r$3.txt fout=$TMP/wrk/flood-$1-r$3.txt
  local probes_before="" t0 fpid
  [ "$label" != ceiling ] && probes_before=$(helper probes "$SITE")
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
    helper probecheck --round "$round" --before "$probes_before" --after "$(helper probes "$SITE")" \
      --seconds "$seconds" --rate "$PROBE_RATE" --burst "$PROBE_BURST" >> "$RESULTS"
  fi
}

# Odd rounds run the ceiling first, even rounds last.
ordered() { if (( ROUND % 2 )); then printf '%s\n' "$@"; else printf '%s\n' "$@" | tac; fi; }

SERVERS_REPEAT=(ceiling footfall-pg)
SERVERS_NEW=(ceiling footfall-pg footfall-sqlite)
if [ "$OXITRAFFIC" = 1 ]; then SERVERS_REPEAT+=(oxitraffic); SERVERS_NEW+=(oxitraffic); fi

if has_shape repeat || has_shape new || has_shape mixed || has_shape newpages || has_shape halfbots || has_shape dims; then
  log "warming up every server (${WARMUP_SECONDS}s of repeat load each)"
  for key in "${SERVERS_NEW[@]}" ffprobe "${SERVERS_DIMS[@]}"; do
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
  if has_shape dims; then
    for key in $(ordered ceiling "${SERVERS_DIMS[@]}"); do
      if [ "$key" = ceiling ]; then
        load new-visitors-dims ceiling "$ROUND" new_visitors_dims.lua
      else
        load new-visitors-dims "$key" "$ROUND" new_visitors_dims.lua new
      fi
    done
  fi
  if has_shape newpages; then
    for key in $(ordered ceiling ffprobe); do
      if [ "$key" = ceiling ]; then flood ceiling ceiling "$ROUND"; else flood ffprobe footfall-pg "$ROUND"; fi
    done
  fi
done

# ------------------------------------------------------------------ replicas
# New visitors (every hit counts) at one Footfall and at two replicas of it
# behind a plain TCP round-robin, with dedup: local and dedup: shared; each
# mode on its own database. Reported as requests/s and ratios, same run;
# one replica behind the round-robin too, to tell the proxy's own cost.
REPLICAS_TABLE=""
if has_shape replicas; then
  read -r R_L1 R_L2 R_S1 R_S2 LB_L LB_S LB_1 < <(free_port 7)
  for db in footfall_local footfall_shared; do psql_do -c "CREATE DATABASE $db" >/dev/null; done
  SHARED_YAML=$(printf 'dedup: shared\ndedup_secret: "%s"' "$(head -c 32 /dev/urandom | base64)")
  log "replicas: starting two Footfall replicas per dedup mode and a round-robin in front of each pair"
  footfall_instance rl1 "$R_L1" footfall_local 100000 100000 10000000
  footfall_instance rl2 "$R_L2" footfall_local 100000 100000 10000000
  footfall_instance rs1 "$R_S1" footfall_shared 100000 100000 10000000 "$SHARED_YAML"
  footfall_instance rs2 "$R_S2" footfall_shared 100000 100000 10000000 "$SHARED_YAML"
  for pair in "lb-local $LB_L $R_L1 $R_L2" "lb-shared $LB_S $R_S1 $R_S2" "lb-one $LB_1 $R_L1"; do
    read -r key port a b <<< "$pair"
    # shellcheck disable=SC2086 # b is empty for the single-backend balancer
    spawn "$TMP/$key.log" "$ROUNDROBIN" "127.0.0.1:$port" "127.0.0.1:$a" ${b:+"127.0.0.1:$b"}
    PID[$key]=$SPAWNED_PID
    URL[$key]=http://127.0.0.1:$port
    wait_http "${URL[$key]}/readyz" 15 "$SPAWNED_PID" || die "round-robin $key did not start"
  done
  # The first replica of each pair registers the pages; the second finds them in the store.
  for key in rl1 rl2 rs1 rs2; do helper warmup "${URL[$key]}" "$PAGES" || die "warm-up of $key failed"; done
  declare -A RPS
  for ROUND in $(seq "$ROUNDS"); do
    log "replicas: round $ROUND of $ROUNDS"
    for key in $(ordered rl1 lb-one lb-local rs1 lb-shared); do
      out=$TMP/wrk/replicas-$key-r$ROUND.txt
      RUN_ID=$((RUN_ID + 1))
      wrk_cmd "$out" "${URL[$key]}" new_visitors.lua -t"$THREADS" -c"$CONNS" \
        || { cat "$out" >&2; die "wrk failed (replicas, $key)"; }
      grep -q 'Non-2xx' "$out" && { cat "$out" >&2; die "errors answered (replicas, $key)"; }
      RPS[$key]="${RPS[$key]:-} $(awk '/^Requests\/sec:/{print $2}' "$out")"
    done
  done
  median() { tr ' ' '\n' <<< "$1" | grep . | sort -g | awk '{v[NR]=$1} END{print (NR % 2) ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2}'; }
  L1=$(median "${RPS[rl1]}"); L2=$(median "${RPS[lb-local]}"); P1=$(median "${RPS[lb-one]}")
  S1=$(median "${RPS[rs1]}"); S2=$(median "${RPS[lb-shared]}")
  REPLICAS_TABLE=$(awk -v l1="$L1" -v l2="$L2" -v p1="$P1" -v s1="$S1" -v s2="$S2" -v r="$ROUNDS" -v d="$DURATION" 'BEGIN {
    print "## Replicas (new visitors, medians of " r " runs of " d " s)"
    print ""
    print "| dedup | one replica req/s | two replicas behind a TCP round-robin req/s | two / one |"
    print "|---|---|---|---|"
    printf "| local | %.0f | %.0f | %.2f |\n", l1, l2, l2 / l1
    printf "| shared | %.0f | %.0f | %.2f |\n", s1, s2, s2 / s1
    print ""
    printf "shared / local: %.2f with one replica, %.2f with two. One replica behind the round-robin (local): %.0f req/s, %.2f of one replica.\n", s1 / l1, s2 / l2, p1, p1 / l1
  }')
  printf '%s\n' "$REPLICAS_TABLE"
  mkdir -p "$ROOT/target/bench"
  printf '%s\n' "$REPLICAS_TABLE" > "$ROOT/target/bench/replicas.md"
fi

# ------------------------------------------------------------------ storage
# storage_line LABEL BYTES CALLS: one line of the storage section.
storage_line() {
  awk -v l="$1" -v b="$2" -v c="$3" 'BEGIN{printf "| %s | %d | %.1f MiB | %.1f B |\n", l, c, b / 1048576, c ? b / c : 0}'
}
# The raw call history of each store as the runs above left it: bytes of the
# history table and its indexes over the calls it holds. Any layout (calls,
# one row per call; call_times, packed; on PostgreSQL since schema 16 also
# each page's open run in its paths row, whose columns count), so old
# binaries measure too.
STORAGE=$TMP/storage.md
if has_shape new || has_shape mixed || has_shape halfbots; then
  if [ "$(psql_do -d footfall -c "SELECT to_regclass('footfall.call_rows') IS NOT NULL")" = t ]; then
    read -r PG_BYTES PG_CALLS < <(psql_do -d footfall -F ' ' \
      -c "SELECT pg_total_relation_size('footfall.call_times') + (SELECT coalesce(sum(pg_column_size(open_slot) \
          + pg_column_size(open_calls) + pg_column_size(open_times) + coalesce(pg_column_size(rolled_slot) \
          + pg_column_size(rolled_calls) + pg_column_size(rolled_times), 0)), 0) FROM footfall.paths), \
          coalesce(sum(calls), 0) FROM footfall.call_rows")
  elif [ "$(psql_do -d footfall -c "SELECT to_regclass('footfall.call_times') IS NOT NULL")" = t ]; then
    read -r PG_BYTES PG_CALLS < <(psql_do -d footfall -F ' ' \
      -c "SELECT pg_total_relation_size('footfall.call_times'), coalesce(sum(calls), 0) FROM footfall.call_times")
  else
    read -r PG_BYTES PG_CALLS < <(psql_do -d footfall -F ' ' \
      -c "SELECT pg_total_relation_size('footfall.calls'), count(*) FROM footfall.calls")
  fi
  read -r SQ_BYTES SQ_CALLS < <(python3 - "$TMP/footfall-sqlite/footfall.sqlite3" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
packed = db.execute("SELECT count(*) FROM sqlite_master WHERE name = 'call_times'").fetchone()[0]
if packed:
    size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN "
                      "(SELECT name FROM sqlite_master WHERE tbl_name = 'call_times')").fetchone()[0]
    calls = db.execute("SELECT coalesce(sum(calls), 0) FROM call_times").fetchone()[0]
else:
    size = db.execute("SELECT sum(pgsize) FROM dbstat WHERE name IN ('calls', 'calls_path_id_called_at')").fetchone()[0]
    calls = db.execute("SELECT count(*) FROM calls").fetchone()[0]
print(size or 0, calls)
PY
  )
  {
    echo
    echo "## Storage of raw calls"
    echo
    echo "After the runs above: bytes of the history table and its indexes over the calls it holds."
    echo
    echo "| store | calls | history table + indexes | per call |"
    echo "|---|---:|---:|---:|"
    storage_line "footfall (PostgreSQL)" "$PG_BYTES" "$PG_CALLS"
    storage_line "footfall (SQLite)" "$SQ_BYTES" "$SQ_CALLS"
  } > "$STORAGE"
  cat "$STORAGE" >&2
fi

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
  before=$(helper sum "${URL[$key]}")
  timeout -k 5 900 wrk -t"$THREADS" -c"$CONNS" -d600s --timeout 10s -s "$BENCH/new_visitors.lua" "${URL[$key]}" \
    -- "$RUN_ID" "$PAGES" $((n / THREADS)) "$THREADS" > "$out" 2>&1 &
  wpid=$!
  t0=$(date +%s.%N)
  while kill -0 "$wpid" 2>/dev/null; do
    sleep 1
    cur=$(helper sum "${URL[$key]}")
    (( cur - before >= n - CONNS - 2 * THREADS )) && break
    if (( cur == last )); then still=$((still + 1)); else still=0; fi
    (( still >= 5 )) && { log "dedup push: counts stopped growing at $((cur - before)) of $n"; break; }
    last=$cur
  done
  PUSH_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
  sleep 1
  kill -INT "$wpid" 2>/dev/null || true
  wait "$wpid" || true
  cur=$(helper settle "${URL[$key]}" 30)
  helper verify --shape dedup --server footfall-sqlite --round "$PUSH_NO" --wrk-out "$out" \
    --before "$before" --after "$cur" >> "$RESULTS"
  PUSHED=$((cur - before))
  log "dedup push $PUSH_NO: $PUSHED pairs stored in about ${PUSH_SECONDS}s"
}

if has_shape dedup; then
  DEDUP_MAX_VISITORS=50000000
  log "dedup memory: fresh Footfall on SQLite, max_visitors $DEDUP_MAX_VISITORS, $DEDUP_PAIRS pairs"
  footfall_instance ffdedup "$FF_DEDUP_PORT" sqlite 100000 100000 "$DEDUP_MAX_VISITORS"
  helper warmup "${URL[ffdedup]}" "$PAGES" || die "warm-up of ffdedup failed"
  # A first small push brings connections, buffers and caches to their
  # working size, so the measured growth is the dedup set's.
  push_pairs ffdedup 50000; WARM_PAIRS=$PUSHED
  sleep 2; read -r RSS0 _ < <(rss_of "${PID[ffdedup]}")
  push_pairs ffdedup $((DEDUP_PAIRS / 2)); PAIRS_A=$PUSHED; SECONDS_A=$PUSH_SECONDS
  sleep 2; read -r RSS1 _ < <(rss_of "${PID[ffdedup]}")
  push_pairs ffdedup $((DEDUP_PAIRS - DEDUP_PAIRS / 2)); PAIRS_B=$PUSHED; SECONDS_B=$PUSH_SECONDS
  sleep 2; read -r RSS2 HWM < <(rss_of "${PID[ffdedup]}")
  DEDUP_RPS=$(awk -v p=$((PAIRS_A + PAIRS_B)) -v a="$SECONDS_A" -v b="$SECONDS_B" 'BEGIN{printf "%.0f", p / (a + b)}')
  helper dedup --max-visitors "$DEDUP_MAX_VISITORS" --pages "$PAGES" --warm-pairs "$WARM_PAIRS" \
    --pairs-a "$PAIRS_A" --pairs-b "$PAIRS_B" --rss0 "$RSS0" --rss1 "$RSS1" --rss2 "$RSS2" --hwm "$HWM" \
    --rps "$DEDUP_RPS" --results "$RESULTS" >> "$RESULTS"
fi

# ------------------------------------------------------------------ report
META=$TMP/meta.json
helper meta "$META" \
  --commit "${BENCH_COMMIT:-$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$ROOT" diff --quiet HEAD -- src sql Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes')}" \
  --pg "$("$PGBIN/postgres" --version | awk '{print $3}')" \
  --wrk "$(wrk -v 2>&1 | head -n 1 | awk '{print $1, $2}')" \
  --loadavg-start "$LOADAVG_START" --threads "$THREADS" --conns "$CONNS" --flood-conns "$FLOOD_CONNS" \
  --duration "$DURATION" --rounds "$ROUNDS" --pages "$PAGES" --page-order "$BENCH_PAGE_ORDER" --dedup-pairs "$DEDUP_PAIRS" \
  --probe-rate "$PROBE_RATE" --probe-burst "$PROBE_BURST" \
  --oxi-paths "$([ "$OXITRAFFIC" = 1 ] && echo "$OXI_PATHS" || echo 0)"
log "all runs done"
# The raw numbers stay (target/ is not committed), so the report can be
# redone without a new run: python3 scripts/footfall_helper.py report target/bench/results.jsonl target/bench/meta.json OUT
mkdir -p "$ROOT/target/bench"
cp "$RESULTS" "$META" "$ROOT/target/bench/"
set +e
helper report "$RESULTS" "$META" "$OUT"
STATUS=$?
if has_shape dims; then
  python3 "$BENCH/dims_ratio.py" "$RESULTS" | tee "$ROOT/target/bench/dims.txt"
  DIMS_STATUS=${PIPESTATUS[0]}
  [ "$DIMS_STATUS" = 0 ] || STATUS=2
fi
if [ -n "$REPLICAS_TABLE" ]; then printf '\n%s\n' "$REPLICAS_TABLE" >> "$OUT"; fi
[ -f "$STORAGE" ] && cat "$STORAGE" >> "$OUT"
set -e
exit "$STATUS"
