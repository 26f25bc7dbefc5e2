# Shared by bench/run.sh and bench/read.sh (sourced, not run): logging, a
# throwaway PostgreSQL cluster, the run's time limit, and tidying up.
# Callers set TMP (their temp dir), KEEP (1 = keep it), MAX_SECONDS and PGBIN.

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# initdb and postgres refuse to run as root; as root they run as `postgres`.
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

# start_pg PORT [postgres -c options...]: a cluster in $TMP/pg on loopback,
# trust auth; sets PGDIR and PGDATA and defines psql_do.
start_pg() {
  local port=$1
  shift
  PGDIR=$TMP/pg
  mkdir -p "$PGDIR"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PGDIR"
  PGDATA=$PGDIR/data
  as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 --locale=C --no-sync > "$PGDIR/initdb.log" 2>&1 \
    || { cat "$PGDIR/initdb.log" >&2; die "initdb failed"; }
  as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDIR/pg.log" -w -t 60 \
    -o "-p $port -c listen_addresses=127.0.0.1 -k $PGDIR $*" start >/dev/null \
    || die "PostgreSQL did not start"
  PG_PORT=$port
}
psql_do() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

# start_watchdog: sends this script TERM after MAX_SECONDS; sets WATCHDOG.
start_watchdog() {
  (
    sleep "$MAX_SECONDS" & s=$!
    trap 'kill $s 2>/dev/null; exit 0' TERM
    wait $s
    log "time limit of ${MAX_SECONDS}s reached, stopping"
    kill -TERM $$
  ) &
  WATCHDOG=$!
}

# finish RC: the common end of a cleanup trap: stop PostgreSQL, show the
# logs' last lines if the run failed, remove (or keep) $TMP, exit RC.
finish() {
  local rc=$1
  if [ -n "${PGDATA:-}" ] && [ -f "$PGDATA/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w -t 30 stop >/dev/null 2>&1 || true
  fi
  if [ "$rc" = 1 ] || [ "$rc" -ge 128 ]; then
    log "run failed (exit $rc); last lines of the logs:"
    for f in "$TMP"/*/server.log "$TMP"/pg/pg.log; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; } >&2
    done
  fi
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
  exit "$rc"
}
