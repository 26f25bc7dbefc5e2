#!/usr/bin/env bash
# Refreshes the vendored user-agent patterns, vendor/uap-core/, from the npm
# package uap-core (Apache-2.0; github.com/ua-parser/uap-core, the maintained
# pattern set behind the ua-parser libraries of many languages, including the
# `ua-parser` crate Footfall parses with):
#
#   scripts/refresh-ua-patterns.sh            # the latest release
#   scripts/refresh-ua-patterns.sh 0.18.0     # a given release
#
# Writes regexes.yaml with the browser (user_agent_parsers) and operating
# system (os_parsers) sections only — Footfall derives the device class from
# those, so the device-model section would only cost start-up time — plus
# LICENSE (upstream's) and VERSION. Needs npm and python3. Then run
# `cargo test agent` and commit the three files.
set -euo pipefail

VERSION=${1:-latest}
OUT=$(cd "$(dirname "$0")/.." && pwd)/vendor/uap-core
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

(cd "$TMP" && npm pack --silent "uap-core@$VERSION" > /dev/null)
tar xzf "$TMP"/uap-core-*.tgz -C "$TMP"
python3 - "$TMP/package" "$OUT" <<'PY'
import json, pathlib, sys

package, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
text = (package / "regexes.yaml").read_text()
cut = text.find("\ndevice_parsers:")
if cut < 0 or "\nos_parsers:" not in text[:cut] or not text.startswith("user_agent_parsers:"):
    sys.exit("unexpected regexes.yaml layout: user_agent_parsers, os_parsers, device_parsers in that order is assumed")
out.mkdir(parents=True, exist_ok=True)
(out / "regexes.yaml").write_text(text[: cut + 1])
(out / "LICENSE").write_text((package / "LICENSE").read_text())
version = json.loads((package / "package.json").read_text())["version"]
(out / "VERSION").write_text(version + "\n")
print(f"uap-core {version}", file=sys.stderr)
PY
