#!/usr/bin/env bash
# Loads the dashboard and a chart page in headless Chromium and checks that
# they rendered: the DOM has the chart's <svg> inside the page, and the
# screenshots are real images. Screenshots land in target/browser-check/.
#
#   bash scripts/browser-check.sh        (needs Debian's chromium package)
set -euo pipefail
cd "$(dirname "$0")/.."

chromium_bin=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium_bin" ]; then
  echo "browser-check: chromium is not installed (Debian: apt-get install chromium)" >&2
  exit 1
fi

cargo build --release --locked --quiet
out=target/browser-check
rm -rf "$out" && mkdir -p "$out"
data=$(mktemp -d)
profile=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
  rm -rf "$data" "$profile"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
cat > "$data/config.yaml" <<YAML
socket_address: 127.0.0.1:$port
trusted_proxies: [127.0.0.1]
timezone: Europe/Berlin
YAML

start() {
  target/release/footfall --data-dir "$data" 2>>"$out/server.log" &
  server_pid=$!
  for _ in $(seq 100); do
    curl -fs "$base/readyz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "browser-check: the server did not get ready" >&2
  cat "$out/server.log" >&2
  exit 1
}
stop() { kill "$server_pid"; wait "$server_pid" || true; server_pid=; }

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
python3 - "$data/footfall.sqlite3" <<'PY'
import math, sqlite3, sys, time
db = sqlite3.connect(sys.argv[1])
(pid,) = db.execute("SELECT id FROM paths WHERE path = '/blog/hello-world'").fetchone()
now = int(time.time())
total = 0
for back in range(1, 61):
    n = int(20 + 15 * math.sin(back / 4) + (back % 7 == 0) * 25)
    day_start = (now // 86400 - back) * 86400
    for k in range(n):
        db.execute("INSERT INTO calls (path_id, called_at) VALUES (?, ?)", (pid, (day_start + 36000 + k * 60) * 1_000_000))
    total += n
db.execute("UPDATE paths SET total = total + ?, first_call = ? WHERE id = ?", (total, ((now // 86400 - 60) * 86400 + 36000) * 1_000_000, pid))
db.commit()
PY
target/release/footfall --data-dir "$data" rebuild-daily >/dev/null
start

shoot() {
  local name=$1 url=$2
  "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --hide-scrollbars --window-size="${3:-1200,1000}" \
    --screenshot="$out/$name.png" "$url" >/dev/null 2>>"$out/chromium.log"
  "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$profile" --dump-dom "$url" >"$out/$name.html" 2>>"$out/chromium.log"
  local size
  size=$(stat -c %s "$out/$name.png" 2>/dev/null || echo 0)
  if [ "$size" -lt 10000 ] || ! head -c 8 "$out/$name.png" | grep -q PNG; then
    echo "FAIL $name: no real screenshot ($size bytes)"; exit 1
  fi
  echo "ok   $name: screenshot $out/$name.png ($size bytes)"
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
expect plot 'Total calls'
shoot plot-phone "$base/plot/blog/hello-world?days=30" 390,844
expect plot-phone 'aria-current="page"'
echo "browser-check: passed"
