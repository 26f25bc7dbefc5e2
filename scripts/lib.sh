# shellcheck shell=bash
# What Footfall's scripts share (sourced, never run): logging, free ports,
# starting Footfall and other processes and stopping all of them on exit,
# the PostgreSQL server binaries and a throwaway cluster. Sourced by
# scripts/browser-check.sh, scripts/container-smoke.sh, scripts/test,
# bench/run.sh and bench/read.sh. Its Python half is scripts/footfall_helper.py
# (run it with `helper`).
#
# Sourcing it sets ROOT (the repository), TARGET_DIR (cargo's target
# directory) and the EXIT/INT/TERM traps that stop what the script started
# (see spawn and at_exit), also on a failure or Ctrl-C.
#
# Environment (all optional):
#   CARGO_TARGET_DIR  cargo's target directory (default: target/ in the repository)
#   PGBIN             PostgreSQL server binaries (initdb, pg_ctl, postgres);
#                     default: initdb's directory on PATH, else the newest
#                     /usr/lib/postgresql/*/bin (Debian's postgresql package)
#   KEEP=1            keep the temp dir of make_tmp (logs, data) for debugging

# shellcheck disable=SC2034 # ROOT, TARGET_DIR and TMP are for the scripts that source this
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
case ${CARGO_TARGET_DIR:-} in
  "") TARGET_DIR=$ROOT/target ;;
  /*) TARGET_DIR=$CARGO_TARGET_DIR ;;
  *) TARGET_DIR=$ROOT/$CARGO_TARGET_DIR ;;   # the scripts run cargo from ROOT
esac

# ------------------------------------------------------------------ logging

# log MESSAGE: a progress line on stderr, "[12:34:56] MESSAGE", or
# "[TAG   12s] MESSAGE" (seconds since the script started) when the script
# set LOG_TAG.
log() {
  if [ -n "${LOG_TAG:-}" ]; then
    printf '[%s %4ss] %s\n' "$LOG_TAG" "$SECONDS" "$*" >&2
  else
    printf '[%s] %s\n' "$(date +%T)" "$*" >&2
  fi
}
# die MESSAGE: log "FAIL: MESSAGE" and exit 1 (the exit trap tidies up).
die() { log "FAIL: $*"; exit 1; }

# helper SUBCOMMAND ARGS...: runs scripts/footfall_helper.py.
helper() { python3 "$ROOT/scripts/footfall_helper.py" "$@"; }

# free_port [N]: N (default 1) distinct free TCP ports on 127.0.0.1, on one line.
free_port() { helper ports "${1:-1}"; }

# ------------------------------------------------------------------ processes

_PIDS=()       # long-running processes started by spawn, stopped on exit
_LOGS=()       # their logs (and pg.log), shown when the script fails
_EXIT_HOOKS=() # at_exit commands

# spawn LOG COMMAND...: starts COMMAND in the background, output appended to
# LOG, and remembers it so that it is stopped on exit; sets SPAWNED_PID.
spawn() {
  local log=$1
  shift
  "$@" >> "$log" 2>&1 &
  SPAWNED_PID=$!
  _PIDS+=("$SPAWNED_PID")
  _LOGS+=("$log")
}

# stop_pid PID [SECONDS]: SIGTERM, then SIGKILL if it has not exited within
# SECONDS (default 15: Footfall drains for 5 s and flushes for 2 s at most).
stop_pid() {
  local pid=$1 tenths=$((${2:-15} * 10)) i p rest=()
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < tenths; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${_PIDS[@]}"; do [ "$p" = "$pid" ] || rest+=("$p"); done
  _PIDS=("${rest[@]}")
}

# wait_http URL SECONDS [PID]: until URL answers 200; returns 1 (with the
# reason on stderr) after SECONDS or as soon as process PID has exited.
wait_http() {
  local url=$1 deadline=$((SECONDS + $2)) pid=${3:-} code
  while :; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || true
    [ "$code" = 200 ] && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      echo "$url: the server exited" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "$url: not ready after $2 s (last answer: ${code:-none})" >&2
      return 1
    fi
    sleep 0.1
  done
}

# start_footfall BIN DATA_DIR URL LOG [SECONDS]: runs `BIN --data-dir
# DATA_DIR` (its config.yaml must listen where URL points), output appended
# to LOG, and waits until URL/readyz answers 200 (at most SECONDS, default
# 120). Sets FOOTFALL_PID; dies (the exit trap shows the log's last lines)
# if the server exits or does not get ready.
start_footfall() {
  local bin=$1 dir=$2 url=$3 log=$4
  spawn "$log" "$bin" --data-dir "$dir"
  FOOTFALL_PID=$SPAWNED_PID
  wait_http "$url/readyz" "${5:-120}" "$FOOTFALL_PID" || die "footfall ($dir) did not get ready"
}

# at_exit COMMAND: eval COMMAND when the script exits, after the spawned
# processes are stopped; the last registered runs first. EXIT_STATUS holds
# the script's exit status meanwhile.
at_exit() { _EXIT_HOOKS+=("$1"); }

_on_exit() {
  EXIT_STATUS=$?
  set +e     # tidy up everything, whatever fails on the way
  trap - EXIT INT TERM
  local pid i log seen=" "
  # Every background job of this shell (spawned servers, load generators,
  # the watchdog), TERM first, then KILL what is still there after 10 s.
  # (No `wait` here: in a trap that interrupted a `wait` while process
  # substitutions are open, bash can block in it for good.)
  local pids=("${_PIDS[@]}")
  for pid in $(jobs -p); do pids+=("$pid"); done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do
    for ((i = 0; i < 100; i++)); do kill -0 "$pid" 2>/dev/null || continue 2; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null
    for ((i = 0; i < 20; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
  if [ "$EXIT_STATUS" = 1 ] || [ "$EXIT_STATUS" -ge 128 ]; then
    for log in "${_LOGS[@]}"; do
      if [ ! -s "$log" ] || [[ $seen == *" $log "* ]]; then continue; fi
      [ "$seen" = " " ] && log "run failed (exit $EXIT_STATUS); last lines of the logs:"
      seen+="$log "
      { echo "--- $log"; tail -n 15 "$log"; } >&2
    done
  fi
  for ((i = ${#_EXIT_HOOKS[@]} - 1; i >= 0; i--)); do eval "${_EXIT_HOOKS[i]}"; done
  exit "$EXIT_STATUS"
}
trap _on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# run_child COMMAND...: runs a long step so that a signal (Ctrl-C, the time
# limit) interrupts it at once: bash runs traps during `wait`, not during a
# foreground command.
run_child() {
  "$@" &
  local pid=$! rc=0
  wait "$pid" || rc=$?
  return "$rc"
}

# start_watchdog SECONDS: sends this script TERM after SECONDS.
start_watchdog() {
  local limit=$1
  (
    sleep "$limit" & s=$!
    trap 'kill $s 2>/dev/null; exit 0' TERM
    wait $s
    log "time limit of ${limit}s reached, stopping"
    kill -TERM $$
  ) &
}

# make_tmp NAME: a fresh directory /tmp/NAME.XXXXXX in TMP, removed on exit
# (kept with KEEP=1).
make_tmp() {
  # shellcheck disable=SC2034
  TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX")
  # shellcheck disable=SC2016 # expanded on exit
  at_exit 'if [ "${KEEP:-0}" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi'
}

# ------------------------------------------------------------------ PostgreSQL

# pg_bin_dir: prints the directory of the PostgreSQL server binaries ($PGBIN,
# else initdb's directory on PATH, else the newest /usr/lib/postgresql/*/bin);
# returns 1 if there are none.
pg_bin_dir() {
  local dir=${PGBIN:-}
  if [ -z "$dir" ]; then
    dir=$(dirname "$(command -v initdb 2>/dev/null || echo /nonexistent/initdb)")
    [ -x "$dir/pg_ctl" ] || dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ] && [ -x "$dir/postgres" ] || return 1
  echo "$dir"
}

# need_pgbin: sets PGBIN (see pg_bin_dir) or dies saying what to install.
need_pgbin() {
  local dir
  dir=$(pg_bin_dir) \
    || die "no PostgreSQL server binaries (initdb, pg_ctl, postgres) in ${PGBIN:-PATH or /usr/lib/postgresql/*/bin}: install them (Debian: apt-get install postgresql) or set PGBIN"
  PGBIN=$dir
}

# initdb and postgres refuse to run as root; as root they run as `postgres`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_pg DIR PORT [postgres -c options...]: a cluster in DIR (created) on
# 127.0.0.1:PORT, trust auth, stopped on exit; sets PGDIR, PGDATA and
# PG_PORT for psql_do and stop_pg. Needs PGBIN (need_pgbin).
start_pg() {
  PGDIR=$1 PG_PORT=$2
  shift 2
  mkdir -p "$PGDIR"
  if [ "$(id -u)" = 0 ]; then
    chmod 755 "$(dirname "$PGDIR")"   # the postgres user must reach its data dir
    chown postgres:postgres "$PGDIR"
  fi
  PGDATA=$PGDIR/data
  _LOGS+=("$PGDIR/pg.log")
  at_exit stop_pg
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C --no-sync > "$PGDIR/initdb.log" 2>&1 \
    || { cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/pg.log" -w -t 60 \
    -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -k $PGDIR $*" start >/dev/null \
    || die "PostgreSQL did not start"
}
# stop_pg: stops the cluster of start_pg, if it runs.
stop_pg() {
  if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
}
# psql_do ARGS...: psql as postgres against the cluster of start_pg.
psql_do() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
