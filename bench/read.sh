#!/usr/bin/env bash
# Footfall's read benchmark, one command, loopback only:
#
#   bash bench/read.sh
#
# Seeds 10,000 paths and 10,000,000 calls (one path, /big, with 1,000,000 of
# them, over the last 3 years; and the dimension rows of those calls: about
# 1-3 values per page, day and kind; see bench/read_seed.py); the dashboard `/` is
# timed over its default week (target 50 ms), 30 days, a search and all time into a throwaway
# PostgreSQL cluster and into a SQLite file, then times the read endpoints of
# a release build against each store, one store at a time: 3 warm-up requests
# per endpoint, then READ_RUNS sequential curl requests per endpoint,
# interleaved over 3 rounds so that noise from the shared machine falls on
# every endpoint alike. Reports the median in ms, the ratio to the median of
# /healthz (a trivial endpoint of the same server, measured in the same
# rounds), the response size, and Footfall's peak RSS (VmHWM). It checks the
# answers against the seed and against each other (both stores hold the same
# rows), prints one table and writes it, with the machine, to
# bench/READ_RESULTS.md.
#
# Everything it starts is stopped on exit (also on Ctrl-C or a failure);
# scripts/lib.sh has the shared parts (processes, ports, PostgreSQL).
#
# Settings (environment):
#   READ_RUNS=30              timed requests per endpoint and store
#   READ_WARMUP=3             warm-up requests per endpoint and store
#   READ_BUILD=1              0 = use target/release/footfall (or
#                             $CARGO_TARGET_DIR/release/footfall) as it is
#   READ_OUT=bench/READ_RESULTS.md   where the report goes
#   READ_MAX_SECONDS=1500     hard limit for the whole run
#   READ_KEEP=0               1 = keep the temp dir (data, logs, responses)
#   READ_BEFORE=              a second footfall binary (e.g. a release build of
#                             an older commit) to compare with, on the same
#                             seed: it creates the schema, is timed first,
#                             then the binary under test starts on the same
#                             data (migrating it: its start is timed) and is
#                             timed; a before/after table is added. Its
#                             answers are not checked (it may lack what the
#                             checks expect); off by default.
#   PGBIN                     PostgreSQL server binaries (default: initdb's
#                             directory on PATH, else the newest
#                             /usr/lib/postgresql/*/bin)
#
# Exit status: 0 all targets met and all answers right, 2 a target or a check
# failed, 1 the run failed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/../scripts/lib.sh"
BENCH=$ROOT/bench
RUNS=${READ_RUNS:-30}
WARMUP=${READ_WARMUP:-3}
BUILD=${READ_BUILD:-1}
OUT=${READ_OUT:-$BENCH/READ_RESULTS.md}
MAX_SECONDS=${READ_MAX_SECONDS:-1500}
KEEP=${READ_KEEP:-0}
BEFORE=${READ_BEFORE:-}
# Where fetch_all and measure keep what they get: "" for the binary under
# test, "-before" for READ_BEFORE's.
SUFFIX=""
ROUNDS=3
SEED=$BENCH/read_seed.py

# name|url path|target ms (or -)|target bytes (or -)
ENDPOINTS=(
  "healthz|/healthz|-|-"
  "api_counts|/api/counts|10|-"
  "api_counts_big|/api/counts/big|-|-"
  "api_counts_p5000|/api/counts/p/5000|-|-"
  "api_history_big_day|/api/history/big?bucket=day|-|-"
  "api_history_big_raw|/api/history/big?limit=10000|10|-"
  "api_history_big_mid|/api/history/big?limit=10000&after=@BIG_MID@|10|-"
  "api_plot_big|/api/plot/big|50|100000"
  "plot_big|/plot/big|-|-"
  "root|/|50|-"
  "root_30|/?days=30|-|-"
  "root_search|/?q=p%2F50&sort=name&page=2|-|-"
  "root_total|/?sort=total&page=3|-|-"
  "root_all|/?period=all|-|-"
  "api_history_site|/api/history?days=30|-|-"
  "api_dims_browser|/api/dimensions?dim=browser|-|-"
  "api_dims_referrer|/api/dimensions?dim=referrer|-|-"
  "api_dims_browser_7|/api/dimensions?dim=browser&days=7|-|-"
  "api_dims_referrer_7|/api/dimensions?dim=referrer&days=7|-|-"
)

# ------------------------------------------------------------------ Footfall
# run_footfall STORE: start Footfall on $TMP/STORE (config written by the caller)
# (up to 15 minutes: a Footfall that stores calls packed converts the seed's
# 10 million one-row-per-call calls at its first start after seeding)
run_footfall() { start_footfall "$FOOTFALL" "$TMP/$1" "$URL" "$TMP/$1/server.log" 900; }
stop_footfall() { [ -z "${FOOTFALL_PID:-}" ] || stop_pid "$FOOTFALL_PID"; FOOTFALL_PID=""; }
write_config() { # STORE PORT [PG_PORT]
  mkdir -p "$TMP/$1"
  {
    echo "socket_address: \"127.0.0.1:$2\""
    if [ "$1" = postgres ]; then
      echo "db: {host: 127.0.0.1, port: $3, username: postgres, password: x, database: footfall}"
    fi
  } > "$TMP/$1/config.yaml"
}

make_tmp footfall-read
start_watchdog "$MAX_SECONDS"
now_s() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now_s)" 'BEGIN{printf "%.0f", b - a}'; }

# ------------------------------------------------------------------ tools
for tool in python3 curl psql; do command -v "$tool" >/dev/null || die "$tool is needed"; done
need_pgbin
if [ "$BUILD" = 1 ]; then
  log "building the release binary"
  # src/ is being worked on: if it does not compile right now, wait and retry.
  for attempt in 1 2 3 4; do
    run_child cargo build --manifest-path "$ROOT/Cargo.toml" --release --locked > "$TMP/build.log" 2>&1 && break
    [ "$attempt" = 4 ] && { tail -n 30 "$TMP/build.log" >&2; die "build failed"; }
    log "build failed (attempt $attempt), retrying in 60 s"; sleep 60
  done
fi
FOOTFALL=$TARGET_DIR/release/footfall
[ -x "$FOOTFALL" ] || die "missing $FOOTFALL"
[ -z "$BEFORE" ] || [ -x "$BEFORE" ] || die "missing READ_BEFORE $BEFORE"
COMMIT=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(cd "$ROOT" && git status --porcelain -- src sql Cargo.toml Cargo.lock 2>/dev/null)" ]; then
  COMMIT="$COMMIT (+ uncommitted changes in src/)"
fi
LOADAVG_START=$(cut -d' ' -f1-3 /proc/loadavg)
# "Now" of the data set, in microseconds: both stores get exactly the same rows.
T0=$(( $(date +%s%N) / 1000 ))
# The paging endpoint starts in the middle of /big's million calls.
BIG_MID=$(python3 "$SEED" big-mid "$T0")
ENDPOINTS=("${ENDPOINTS[@]//@BIG_MID@/$BIG_MID}")

# ------------------------------------------------------------------ measuring
# fetch STORE: every endpoint once, body and headers kept for the checks
fetch_all() {
  local dir=$TMP/$1/resp$SUFFIX e name path code
  mkdir -p "$dir"
  for e in "${ENDPOINTS[@]}"; do
    IFS='|' read -r name path _ _ <<< "$e"
    code=$(curl -s --max-time 30 -D "$dir/$name.headers" -o "$dir/$name.body" -w '%{http_code}' "$URL$path")
    [ "$code" = 200 ] || PROBLEMS+=("$1: GET $path answered $code")
  done
}
# measure STORE: warm-up, then RUNS timed requests per endpoint over ROUNDS rounds
measure() {
  local dir=$TMP/$1/times$SUFFIX e name path r i out code size t per=$(( (RUNS + ROUNDS - 1) / ROUNDS ))
  mkdir -p "$dir"
  for e in "${ENDPOINTS[@]}"; do
    IFS='|' read -r name path _ _ <<< "$e"
    : > "$dir/$name"
    for i in $(seq "$WARMUP"); do curl -s -o /dev/null --max-time 30 "$URL$path" || true; done
  done
  for r in $(seq "$ROUNDS"); do
    for e in "${ENDPOINTS[@]}"; do
      IFS='|' read -r name path _ _ <<< "$e"
      for i in $(seq "$per"); do
        [ "$(wc -l < "$dir/$name")" -lt "$RUNS" ] || break
        out=$(curl -s -o /dev/null --max-time 30 -w '%{http_code} %{size_download} %{time_total}' "$URL$path" || echo "000 0 0")
        read -r code size t <<< "$out"
        [ "$code" = 200 ] || { PROBLEMS+=("$1: GET $path answered $code while timing"); continue; }
        echo "$t $size" >> "$dir/$name"
      done
    done
  done
}
# summarize FILE: median ms, median bytes
summarize() {
  sort -g "$1" | awk '{t[NR]=$1*1000; s[NR]=$2}
    END { if (NR == 0) { print "nan 0"; exit }
          m = (NR % 2) ? t[(NR+1)/2] : (t[NR/2] + t[NR/2+1]) / 2
          printf "%.2f %d\n", m, s[int((NR+1)/2)] }'
}

PROBLEMS=()
declare -A SEED_SECONDS HWM START_SECONDS
BEFORE_PROBLEMS=()

# ------------------------------------------------------------------ PostgreSQL
PG_PORT=$(free_port)
PG_VERSION=$("$PGBIN/postgres" --version | awk '{print $3}')
log "starting PostgreSQL $PG_VERSION on 127.0.0.1:$PG_PORT (fsync=off: a read benchmark)"
start_pg "$TMP/pg" "$PG_PORT" -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c wal_level=minimal \
  -c max_wal_senders=0 -c max_wal_size=8GB -c checkpoint_timeout=30min
psql_do -c "CREATE DATABASE footfall" >/dev/null

for store in postgres sqlite; do
  port=$(free_port)
  URL=http://127.0.0.1:$port
  write_config "$store" "$port" "$PG_PORT"
  log "$store: letting Footfall create the schema"
  under_test=$FOOTFALL
  FOOTFALL=${BEFORE:-$under_test}
  run_footfall "$store"
  stop_footfall
  FOOTFALL=$under_test

  log "$store: seeding 10,000 paths and 10,000,000 calls"
  started=$(now_s)
  if [ "$store" = postgres ]; then
    python3 "$SEED" postgres-sql "$T0" > "$PGDIR/seed.sql"
    run_child psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d footfall -v ON_ERROR_STOP=1 -qAt \
      -f "$PGDIR/seed.sql" > >(sed -u 's/^/  /' >&2) 2> >(sed -u 's/^psql:[^ ]* NOTICE: */  /; s/^/  /' >&2)
  else
    run_child python3 "$SEED" sqlite "$TMP/sqlite/footfall.sqlite3" "$T0"
  fi
  SEED_SECONDS[$store]=$(since "$started")
  log "$store: seeded in ${SEED_SECONDS[$store]} s"

  if [ -n "$BEFORE" ]; then
    FOOTFALL=$BEFORE SUFFIX=-before
    started=$(now_s)
    run_footfall "$store"
    log "$store: READ_BEFORE ready $(since "$started") s after the seed; timing it"
    kept=("${PROBLEMS[@]}")
    PROBLEMS=()
    fetch_all "$store"
    measure "$store"
    stop_footfall
    BEFORE_PROBLEMS+=("${PROBLEMS[@]}")
    PROBLEMS=("${kept[@]}")
    FOOTFALL=$under_test SUFFIX=""
  fi
  started=$(now_s)
  run_footfall "$store"
  START_SECONDS[$store]=$(since "$started")
  log "$store: ready ${START_SECONDS[$store]} s after the seed (converting calls, migrating, if this Footfall does)"
  log "$store: checking the answers, then timing (warm-up $WARMUP, $RUNS runs per endpoint)"
  fetch_all "$store"
  measure "$store"
  HWM[$store]=$(awk '/^VmHWM/{print $2}' "/proc/$FOOTFALL_PID/status")
  stop_footfall
  if [ "$store" = postgres ]; then
    # The plan of the page list of / over its default week (PAGE_ROWS and
    # PERIOD_COUNTS of src/store/postgres/site.rs as one query), for the report.
    PGOPTIONS="-c search_path=footfall" psql_do -d footfall -c "EXPLAIN (ANALYZE, BUFFERS) \
      SELECT p.path, p.total + p.start_count, p.last_call, coalesce(c.n, 0)::bigint \
      FROM paths p LEFT JOIN (SELECT path_id, sum(count) AS n FROM day_counts \
      WHERE day BETWEEN (now() AT TIME ZONE 'UTC')::date - 6 AND (now() AT TIME ZONE 'UTC')::date GROUP BY path_id) c \
      ON c.path_id = p.id WHERE p.site_id = 1" \
      > "$TMP/pg/explain-week.txt" 2>&1 || true
    stop_pg
  fi
done

log "checking the answers against the seed and across stores"
if ! check_out=$(python3 "$SEED" check "$TMP/postgres/resp" "$T0" "$TMP/sqlite/resp"); then
  while IFS= read -r line; do PROBLEMS+=("$line"); done <<< "$check_out"
fi

# ------------------------------------------------------------------ report
FAILED=0
declare -A MED
table() {
  echo "| endpoint | PostgreSQL ms | × /healthz | bytes | SQLite ms | × /healthz | bytes | target |"
  echo "|---|--:|--:|--:|--:|--:|--:|---|"
  local e name path tms tbytes store med size verdicts row base
  declare -A basems
  for store in postgres sqlite; do
    read -r basems[$store] _ < <(summarize "$TMP/$store/times/healthz")
  done
  for e in "${ENDPOINTS[@]}"; do
    IFS='|' read -r name path tms tbytes <<< "$e"
    row="| \`$path\` |"
    verdicts=()
    for store in postgres sqlite; do
      read -r med size < <(summarize "$TMP/$store/times/$name")
      base=${basems[$store]}
      row+=" $med | $(awk -v a="$med" -v b="$base" 'BEGIN{printf (b > 0 ? "%.1f" : "–"), a / b}') | $size |"
      if [ "$tms" != - ]; then
        if awk -v a="$med" -v b="$tms" 'BEGIN{exit !(a <= b)}'; then :; else verdicts+=("$store ${med} ms > ${tms} ms"); fi
      fi
      if [ "$tbytes" != - ] && [ "$size" -ge "$tbytes" ]; then verdicts+=("$store ${size} B ≥ ${tbytes} B"); fi
    done
    if [ "$tms" = - ] && [ "$tbytes" = - ]; then
      row+=" |"
    else
      local want="≤ $tms ms"; [ "$tbytes" != - ] && want+=", < $((tbytes / 1000)) KB"
      if [ ${#verdicts[@]} = 0 ]; then row+=" $want: **PASS** |"; else row+=" $want: **FAIL** (${verdicts[*]}) |"; FAILED=1; fi
    fi
    echo "$row"
  done
  echo "| peak RSS of footfall (VmHWM) | $(( ${HWM[postgres]:-0} / 1024 )) MiB | | | $(( ${HWM[sqlite]:-0} / 1024 )) MiB | | | |"
}
TABLE=$(table)
# before_after: READ_BEFORE's medians beside the binary under test's
before_after() {
  echo "| endpoint | PostgreSQL before ms | after ms | after / before | SQLite before ms | after ms | after / before |"
  echo "|---|--:|--:|--:|--:|--:|--:|"
  local e name path store before after row
  for e in "${ENDPOINTS[@]}"; do
    IFS='|' read -r name path _ _ <<< "$e"
    row="| \`$path\` |"
    for store in postgres sqlite; do
      read -r before _ < <(summarize "$TMP/$store/times-before/$name")
      read -r after _ < <(summarize "$TMP/$store/times/$name")
      row+=" $before | $after | $(awk -v a="$after" -v b="$before" 'BEGIN{printf (b > 0 ? "%.3f" : "–"), a / b}') |"
    done
    echo "$row"
  done
}
BEFORE_TABLE=""
[ -z "$BEFORE" ] || BEFORE_TABLE=$(before_after)
[ ${#PROBLEMS[@]} = 0 ] || FAILED=1

CPU=$(awk -F': ' '/^model name/{print $2; exit}' /proc/cpuinfo)
{
  echo "# Read benchmark"
  echo
  echo "Produced by \`bash bench/read.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), footfall $COMMIT."
  echo
  echo "Machine: $(nproc) CPUs ($CPU), Linux $(uname -r), $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM;"
  echo "load average at start $LOADAVG_START, at end $(cut -d' ' -f1-3 /proc/loadavg) (the cores are shared)."
  echo "PostgreSQL $PG_VERSION (throwaway cluster, default shared_buffers, fsync off), SQLite bundled with rusqlite."
  echo
  echo "Data: 10,000 paths and 10,000,000 calls over the last 1,095 days, identical in both"
  echo "stores: \`/big\` has 1,000,000 calls; \`/p/1\` … \`/p/9999\` share 9,000,000 (900 or 901 each,"
  echo "about one a day, so \`daily_counts\` holds about 9 million rows), and \`daily_dimensions\` holds"
  echo "their agent, country and referrer rows (1-3 values per page, day and kind, skewed, each kind"
  echo "summing to the day's calls). See \`bench/read_seed.py\`."
  echo "Seeding took ${SEED_SECONDS[postgres]} s into PostgreSQL and ${SEED_SECONDS[sqlite]} s into SQLite (set-based SQL, calls index built after loading)."
  echo
  echo "Each figure is the median of $RUNS sequential \`curl\` requests (new connection each, after"
  echo "$WARMUP warm-up requests), interleaved over $ROUNDS rounds; \`× /healthz\` is that median divided by the"
  echo "median of \`/healthz\` on the same server in the same rounds, which factors out the machine's speed"
  echo "and load. \`bytes\` is the response body size."
  echo
  echo "$TABLE"
  echo
  echo "Footfall was ready ${START_SECONDS[postgres]} s (PostgreSQL) and ${START_SECONDS[sqlite]} s (SQLite) after the seed"
  echo "(converting calls or migrating, if this Footfall does)."
  echo
  if [ -n "$BEFORE" ]; then
    echo "Before/after on the same seed (READ_BEFORE=$BEFORE, timed first, in the same way; its schema,"
    echo "migrated by the binary under test at its start):"
    echo
    echo "$BEFORE_TABLE"
    echo
    if [ ${#BEFORE_PROBLEMS[@]} != 0 ]; then
      echo "READ_BEFORE's answers that were not 200 (not checked further):"
      echo
      printf '%s\n' "${BEFORE_PROBLEMS[@]}" | sort | uniq -c | sed 's/^ *\([0-9]*\) \(.*\)/- \2 (×\1)/'
      echo
    fi
  fi
  if [ ${#PROBLEMS[@]} = 0 ]; then
    echo "Every answer matched the seed (counts, first/last call, per-day counts, the first 10,000 raw"
    echo "call times, the \`Link\` to the next page, the site's browsers and referrers summing to the calls), and PostgreSQL and SQLite answered byte for byte alike."
  else
    echo "Problems found in the answers:"
    echo
    for p in "${PROBLEMS[@]}"; do echo "- $p"; done
  fi
  if [ -s "$TMP/pg/explain-week.txt" ]; then
    echo
    echo "For reference, the PostgreSQL plan of the page list's period counts of \`/\` over its default week"
    echo "(\`PERIOD_COUNTS\` in src/store/postgres/site.rs, joined to the pages as the page list does), taken after"
    echo "the timing. Footfall runs it for the past days only when the site's token over them changed"
    echo "(src/read/period.rs), and for today on every request:"
    echo
    echo '```'
    cat "$TMP/pg/explain-week.txt"
    echo '```'
  fi
} > "$OUT"

echo
echo "$TABLE"
echo
[ -z "$BEFORE" ] || { echo "$BEFORE_TABLE"; echo; }
if [ ${#PROBLEMS[@]} != 0 ]; then
  echo "Problems:"; for p in "${PROBLEMS[@]}"; do echo "  - $p"; done
fi
log "seeding: PostgreSQL ${SEED_SECONDS[postgres]} s, SQLite ${SEED_SECONDS[sqlite]} s; report written to $OUT"
[ "$FAILED" = 0 ] || exit 2
