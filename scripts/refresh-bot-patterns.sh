#!/usr/bin/env bash
# Refreshes the vendored bot patterns, vendor/crawler-user-agents/, from the
# npm package crawler-user-agents (MIT; github.com/monperrus/crawler-user-agents,
# a maintained list of crawler, headless-browser and HTTP-library user agents):
#
#   scripts/refresh-bot-patterns.sh            # the latest release
#   scripts/refresh-bot-patterns.sh 1.60.0     # a given release
#
# Writes patterns.txt (one regular expression per line, as upstream lists
# them), LICENSE (upstream's) and VERSION. Needs npm and python3. Then run
# `cargo test bots` (every pattern must compile with the regex crate, and no
# browser user agent may match) and commit the three files.
set -euo pipefail

VERSION=${1:-latest}
OUT=$(cd "$(dirname "$0")/.." && pwd)/vendor/crawler-user-agents
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

(cd "$TMP" && npm pack --silent "crawler-user-agents@$VERSION" > /dev/null)
tar xzf "$TMP"/crawler-user-agents-*.tgz -C "$TMP"
python3 - "$TMP/package" "$OUT" <<'PY'
import json, pathlib, sys

package, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
patterns = [entry["pattern"] for entry in json.loads((package / "crawler-user-agents.json").read_text())]
for pattern in patterns:
    if not pattern or "\n" in pattern:
        sys.exit(f"unexpected pattern {pattern!r}: one non-empty line each is assumed")
out.mkdir(parents=True, exist_ok=True)
(out / "patterns.txt").write_text("".join(p + "\n" for p in patterns))
(out / "LICENSE").write_text((package / "LICENSE").read_text())
version = json.loads((package / "package.json").read_text())["version"]
(out / "VERSION").write_text(version + "\n")
print(f"crawler-user-agents {version}: {len(patterns)} patterns", file=sys.stderr)
PY
