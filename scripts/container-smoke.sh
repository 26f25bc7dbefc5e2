#!/usr/bin/env bash
# Container smoke test: builds the image from Containerfile, brings up
# compose.yaml (Footfall + PostgreSQL) as project "footfall-smoke", counts a
# hit, restarts the stack and checks the count survived and that Footfall
# exits 0 on `down`. Removes everything it started (containers, network,
# volumes) on exit, whatever happens; the built image is kept.
#
#   scripts/container-smoke.sh
#
# Needs 127.0.0.1:8080 free, and podman with podman-compose. Environment (all
# optional):
#   FOOTFALL_CONTAINERS_SETUP  a script to run when podman or podman-compose
#                              is missing (no default: without it, a missing
#                              podman is an error naming the install command)
#   SMOKE_READY_TIMEOUT        seconds to wait for /readyz (default 120)
#   SMOKE_MAX_IMAGE_MB         image size limit in MB (default 100)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
LOG_TAG=smoke
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

project=footfall-smoke
image=localhost/footfall:latest
base=http://127.0.0.1:8080
ctr=${project}_footfall_1
ready_timeout=${SMOKE_READY_TIMEOUT:-120}
max_image_mb=${SMOKE_MAX_IMAGE_MB:-100}
setup=${FOOTFALL_CONTAINERS_SETUP:-}

# HEALTHCHECK is kept only in docker-format images; this also reaches the
# `podman build` that `podman compose up --build` runs.
export BUILDAH_FORMAT=docker

make_tmp footfall-smoke
work=$TMP
compose_up=false

# Runs on exit, whatever happens (see at_exit in scripts/lib.sh): on a
# failure the logs, then `down -v`, then the verdict.
smoke_cleanup() {
    local rc=$EXIT_STATUS
    if [[ $rc -ne 0 ]]; then
        for f in "$work"/*.log; do
            [[ -s $f ]] || continue
            printf '\n----- last lines of %s -----\n' "$(basename "$f")" >&2
            tail -n 40 "$f" >&2
        done
        if $compose_up; then
            printf '\n----- footfall container log -----\n' >&2
            podman logs --tail 60 "$ctr" >&2 2>&1
        fi
    fi
    if $compose_up; then
        log "tearing down (down -v)"
        compose down -v >"$work/teardown.log" 2>&1 || {
            echo "WARNING: 'podman compose down -v' failed:" >&2
            cat "$work/teardown.log" >&2
        }
    fi
    if [[ $rc -eq 0 ]]; then
        log "PASS"
    else
        log "FAILED (exit $rc)"
    fi
}
at_exit smoke_cleanup

# --- podman ----------------------------------------------------------------
if ! command -v podman >/dev/null || ! command -v podman-compose >/dev/null; then
    [[ -n $setup ]] || die "podman or podman-compose is missing (Debian: apt-get install podman podman-compose), or set FOOTFALL_CONTAINERS_SETUP to a script that installs them"
    [[ -f $setup ]] || die "podman or podman-compose is missing and $setup does not exist"
    log "podman missing: running $setup"
    bash "$setup" >"$work/setup.log" 2>&1 || die "$setup failed"
fi

# A separate env file: the user's .env (if any) is neither read nor touched,
# and the password is random. Built from .env.example so that file is tested.
env_file=$work/smoke.env
[[ -f .env.example ]] || die ".env.example is missing"
sed -e "s/^POSTGRES_PASSWORD=.*/POSTGRES_PASSWORD=smoke-$RANDOM$RANDOM$RANDOM/" .env.example >"$env_file"
grep -q '^POSTGRES_PASSWORD=smoke-' "$env_file" || die ".env.example has no POSTGRES_PASSWORD= line"
# Variables in the environment would override the env file.
unset POSTGRES_PASSWORD POSTGRES_USER POSTGRES_DB FOOTFALL_PUBLISH

compose() {
    podman compose -p "$project" --env-file "$env_file" -f compose.yaml "$@"
}

# As a browser: curl's own user agent is a bot, and bots are not counted.
browser='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'

# http GET URL: prints "STATUS CONTENT-TYPE", body in $work/body.
http() {
    local out
    out=$(curl -s -A "$browser" -o "$work/body" -w '%{http_code} %{content_type}' --max-time 5 "$1") || true
    echo "${out:-000 -}"
}

# wait_readyz SECONDS: until /readyz answers 200.
wait_readyz() {
    local deadline=$((SECONDS + $1)) status
    while :; do
        status=$(http "$base/readyz")
        [[ ${status%% *} == 200 ]] && return 0
        if ((SECONDS >= deadline)); then
            die "/readyz did not answer 200 within $1 s (last: $status)"
        fi
        sleep 1
    done
}

# count_of PATH: the count /api/counts reports for PATH (0 if absent), or
# "?" with the reason in $work/count.err.
count_of() {
    local status
    status=$(http "$base/api/counts")
    if [[ ${status%% *} != 200 ]]; then
        echo "/api/counts answered $status" >"$work/count.err"
        echo "?"
        return
    fi
    helper count "$1" "$work/body" 2>"$work/count.err" || echo "?"
}

# wait_count PATH WANT SECONDS: until /api/counts shows WANT for PATH
# (counts may be written in batches).
wait_count() {
    local deadline=$((SECONDS + $3)) got
    while :; do
        got=$(count_of "$1")
        [[ $got == "$2" ]] && return 0
        if ((SECONDS >= deadline)); then
            [[ $got != "?" ]] || die "$(tail -n 3 "$work/count.err"); body: $(head -c 300 "$work/body")"
            die "/api/counts shows $got for $1 after $3 s, expected $2"
        fi
        sleep 1
    done
}

# --- clean slate --------------------------------------------------------------
log "removing leftovers of an earlier run of project $project"
compose down -v >"$work/predown.log" 2>&1 || true
if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then
    die "127.0.0.1:8080 is already in use; stop whatever listens there first"
fi

# --- build ----------------------------------------------------------------------
log "building $image from Containerfile (cargo output in the log on failure)"
start=$SECONDS
podman build -f Containerfile -t "$image" . >"$work/build.log" 2>&1 ||
    die "podman build failed"
log "built in $((SECONDS - start)) s"
if [[ $(podman image inspect "$image" --format '{{.Config.Healthcheck}}') != *healthcheck* ]]; then
    die "the image has no HEALTHCHECK (built in OCI format?)"
fi

# --- up -------------------------------------------------------------------------
log "podman compose up -d --build"
compose_up=true
compose up -d --build >"$work/up.log" 2>&1 || die "podman compose up failed"
wait_readyz "$ready_timeout"
log "/readyz: 200"

status=$(http "$base/healthz")
[[ ${status%% *} == 200 && $(cat "$work/body") == ok* ]] ||
    die "/healthz answered $status: $(head -c 100 "$work/body")"
log "/healthz: 200 ok"

podman healthcheck run "$ctr" >/dev/null 2>&1 ||
    die "the container's healthcheck (footfall healthcheck) failed"
log "podman healthcheck run: healthy"

# --- count a hit ----------------------------------------------------------------
status=$(http "$base/call/smoke/test")
[[ ${status%% *} == 200 ]] || die "/call/smoke/test answered $status, expected 200"
[[ ${status#* } == image/svg+xml* ]] ||
    die "/call/smoke/test has content-type '${status#* }', expected image/svg+xml (data-example/footprint.svg)"
cmp -s "$work/body" data-example/footprint.svg ||
    die "/call/smoke/test did not return data-example/footprint.svg"
log "/call/smoke/test: 200 ${status#* }, body = footprint.svg"

# Same visitor again, once per endpoint: still one visit.
status=$(http "$base/call/smoke/test")
[[ ${status%% *} == 200 ]] || die "second /call/smoke/test answered $status"
status=$(http "$base/badge/smoke/test")
[[ ${status%% *} == 200 && ${status#* } == image/svg+xml* ]] ||
    die "/badge/smoke/test answered $status, expected 200 image/svg+xml"
log "/badge/smoke/test: 200 ${status#* }"

wait_count /smoke/test 1 15
log "/api/counts: /smoke/test = 1"

# --- restart: down (without -v) and up again --------------------------------------
log "podman compose down (volumes kept)"
since=$(date +%s)
start=$SECONDS
compose down >"$work/down.log" 2>&1 || die "podman compose down failed"
down_s=$((SECONDS - start))
# The container is gone after `down`; its exit code is in podman's event log.
# (--stream=false: `--until` does not work with the file event logger of
# podman 4.3.)
exit_code=$(timeout 20 podman events --stream=false --since "$since" \
    --filter "container=$ctr" --filter event=died \
    --format '{{.ContainerExitCode}}' 2>/dev/null | tail -n 1) || true
[[ -n $exit_code ]] || die "found no 'died' event for $ctr (podman events)"
[[ $exit_code == 0 ]] || die "footfall exited with $exit_code on 'podman compose down', expected 0 (143 = killed by SIGTERM unhandled, 137 = SIGKILL after the grace period)"
((down_s <= 10)) || die "'podman compose down' took $down_s s; footfall should exit within 8 s of SIGTERM"
log "down took $down_s s; footfall exited 0"

log "podman compose up -d"
compose up -d >"$work/up2.log" 2>&1 || die "second podman compose up failed"
wait_readyz "$ready_timeout"
log "/readyz: 200"
wait_count /smoke/test 1 10
log "/api/counts after restart: /smoke/test = 1 (kept)"

# --- PostgreSQL outage: /readyz says 503, then recovers ------------------------------
log "stopping postgres"
compose stop postgres >"$work/pgstop.log" 2>&1 || die "podman compose stop postgres failed"
deadline=$((SECONDS + 20))
while :; do
    status=$(http "$base/readyz")
    [[ ${status%% *} == 503 ]] && break
    ((SECONDS < deadline)) || die "/readyz answered $status with postgres stopped, expected 503"
    sleep 1
done
log "/readyz with postgres stopped: 503"
status=$(http "$base/healthz")
[[ ${status%% *} == 200 ]] || die "/healthz answered $status with postgres stopped, expected 200"
compose start postgres >"$work/pgstart.log" 2>&1 || die "podman compose start postgres failed"
wait_readyz 60
log "/readyz after postgres came back: 200"
wait_count /smoke/test 1 10

# --- image size ---------------------------------------------------------------------
size=$(podman image inspect "$image" --format '{{.Size}}')
size_mb=$(((size + 500000) / 1000000))
log "image $image: $size_mb MB ($size bytes)"
# Compared in bytes: a rounded 99.5 MB must not read as "100, not under 100".
((size < max_image_mb * 1000000)) || die "image is $size bytes, limit $max_image_mb MB"
