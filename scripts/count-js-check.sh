#!/usr/bin/env bash
# Checks /count.js end to end in headless Chromium: a page on one site
# (news.example) shows, in an iframe, an article of another
# (blog.example) that loads the script; the script must request
# /call{pathname}?r=news.example from the Footfall it was loaded from, and
# the hit must count with its referrer, browser, OS and device.
#
#   bash scripts/count-js-check.sh [FOOTFALL_BINARY]
#
# Run by scripts/browser-check.sh with its binary; on its own it builds a
# release binary. Needs Debian's chromium, curl and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
LOG_TAG=count-js-check
# shellcheck source=scripts/lib.sh
. scripts/lib.sh

chromium_bin=$(command -v chromium || command -v chromium-browser || true)
[ -n "$chromium_bin" ] || die "chromium is not installed (Debian: apt-get install chromium)"
footfall=${1:-}
if [ -z "$footfall" ]; then
  cargo build --release --locked --quiet
  footfall=$TARGET_DIR/release/footfall
fi
make_tmp footfall-count-js
data=$TMP/data pages=$TMP/pages profile=$TMP/profile
mkdir -p "$data" "$pages/post/hello" "$profile"
read -r port web < <(free_port 2)
base="http://127.0.0.1:$port"
cat > "$data/config.yaml" <<YAML
socket_address: 127.0.0.1:$port
min_dimension_count: 1
YAML
start_footfall "$footfall" "$data" "$base" "$TMP/server.log" 30

# The article loads the script from Footfall; the other site frames it, so
# the article's document.referrer is the other site.
cat > "$pages/post/hello/index.html" <<HTML
<!doctype html><title>Hello</title><p>An article.</p>
<script async src="$base/count.js"></script>
HTML
cat > "$pages/news.html" <<HTML
<!doctype html><title>News</title><p>A link to an article:</p>
<iframe src="http://blog.example:$web/post/hello/" width="600" height="200"></iframe>
HTML
spawn "$TMP/web.log" python3 -m http.server --bind 127.0.0.1 --directory "$pages" "$web"
wait_http "http://127.0.0.1:$web/news.html" 10 "$SPAWNED_PID" || die "the page server did not start"

# A desktop Chrome's user agent: headless Chromium's own says HeadlessChrome,
# which is a bot and not counted.
agent='Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
"$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$profile" --user-agent="$agent" \
  --host-resolver-rules="MAP news.example 127.0.0.1, MAP blog.example 127.0.0.1" \
  --virtual-time-budget=5000 --dump-dom "http://news.example:$web/news.html" \
  > "$TMP/news.html" 2>> "$TMP/chromium.log" || die "chromium failed (see $TMP/chromium.log)"

# expect DIMENSION JSON: what /api/dimensions/post/hello answers, within 10 s.
expect() {
  local url="$base/api/dimensions/post/hello?dim=$1" answer="" i
  for i in $(seq 1 100); do
    answer=$(curl -s "$url")
    [ "$answer" = "$2" ] && { echo "ok   $1: $answer"; return 0; }
    sleep 0.1
  done
  echo "FAIL $1: $url answered ${answer:-nothing}, expected $2"
  tail -n 20 "$TMP/web.log" "$TMP/chromium.log" >&2 || true
  exit 1
}
expect referrer '[{"value":"news.example","count":1}]'
expect browser '[{"value":"Chrome","count":1}]'
expect os '[{"value":"Linux","count":1}]'
expect device '[{"value":"desktop","count":1}]'
grep -q 'blog.example' "$TMP/news.html" || die "the framing page did not render"
echo "count-js-check: passed"
