#!/usr/bin/env bash
# Loads the dashboard and a chart page in headless Chromium and checks that
# they rendered: the DOM has the chart's <svg> inside the page, and the
# screenshots are real images. Then, at 1280×900 and at 390×844 (a phone),
# in light and in dark mode, it checks the layout in the DOM (through the
# DevTools protocol: scripts/footfall_helper.py browse): no element reaches
# out of the viewport and the page does not scroll sideways, the newest
# chart bar is inside the viewport and has its <title>, and the page and the
# chart follow the colour scheme. Screenshots land in target/browser-check/.
#
#   bash scripts/browser-check.sh        (needs Debian's chromium package)
#
# Environment (optional):
#   BROWSER_CHECK_BIN  the footfall binary to check (default: a release
#                      build, made here; scripts/test passes the debug
#                      binary that `cargo test` has just built)
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=browser-check
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

chromium_bin=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium_bin" ] || die "chromium is not installed (Debian: apt-get install chromium)"

footfall=${BROWSER_CHECK_BIN:-}
if [ -z "$footfall" ]; then
  cargo build --release --locked --quiet
  footfall=$TARGET_DIR/release/footfall
fi
[ -x "$footfall" ] || die "no footfall binary at $footfall"
out=$TARGET_DIR/browser-check
rm -rf "$out" && mkdir -p "$out"
make_tmp footfall-browser-check
data=$TMP/data profile=$TMP/profile
mkdir -p "$data" "$profile"

port=$(free_port)
base="http://127.0.0.1:$port"
cat > "$data/config.yaml" <<YAML
socket_address: 127.0.0.1:$port
trusted_proxies: [127.0.0.1]
timezone: Europe/Berlin
YAML

start() { start_footfall "$footfall" "$data" "$base" "$out/server.log" 10; }
stop() { stop_pid "$FOOTFALL_PID"; }

# Real hits register the pages; then 60 days of history are added to the
# store directly (the server has no way to record the past), and the server
# restarts to serve them.
start
# As a browser: curl's own user agent is a bot, and bots are not counted.
browser='Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0'
for i in $(seq 1 40); do
  curl -fs -A "$browser" -o /dev/null -H "X-Forwarded-For: 198.51.100.$i" "$base/call/blog/hello-world"
  [ $((i % 3)) = 0 ] && curl -fs -A "$browser" -o /dev/null -H "X-Forwarded-For: 198.51.100.$i" "$base/call/about"
done
stop
helper seed-history "$data/footfall.sqlite3"
"$footfall" --data-dir "$data" rebuild-daily >/dev/null
start

# shoot NAME URL [WIDTH,HEIGHT]: one Chromium run saves the screenshot
# NAME.png and the rendered DOM NAME.html.
shoot() {
  local name=$1 url=$2
  "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size="${3:-1200,1000}" \
    --screenshot="$out/$name.png" --dump-dom "$url" >"$out/$name.html" 2>>"$out/chromium.log"
  local size
  size=$(stat -c %s "$out/$name.png" 2>/dev/null || echo 0)
  if [ "$size" -lt 10000 ] || ! head -c 8 "$out/$name.png" | grep -q PNG; then
    echo "FAIL $name: no real screenshot ($size bytes)"; exit 1
  fi
  echo "ok   $name: screenshot ${out#"$ROOT"/}/$name.png ($size bytes)"
}
expect() {
  local name=$1 pattern=$2
  if grep -q -- "$pattern" "$out/$name.html"; then
    echo "ok   $name: has $pattern"
  else
    echo "FAIL $name: the rendered page lacks $pattern"; exit 1
  fi
}

shoot dashboard "$base/"
expect dashboard 'href="/plot/blog/hello-world"'
shoot plot "$base/plot/blog/hello-world"
expect plot '<div class="card chart"><svg'
expect plot '<rect'
expect plot 'Total since '
shoot plot-phone "$base/plot/blog/hello-world?days=30" 390,844
expect plot-phone 'aria-current="page"'
expect plot 'class="panels"'
# /count.js end to end: a framed article on another site reports its referrer.
bash scripts/count-js-check.sh "$footfall"

# Layout at both sizes and in both schemes, asserted in the DOM.
helper browse "$out" --chromium "$chromium_bin" --profile "$TMP/cdp-profile" \
  "$base/" dashboard "$base/plot/blog/hello-world" plot "$base/?days=30" dashboard-30 \
  || { echo "FAIL layout (screenshots in ${out#"$ROOT"/})"; exit 1; }
echo "browser-check: passed"
