#!/usr/bin/env python3
"""The dimensions target of bench/run.sh: per store and round, new-visitor
req/s of this build with every dimension on (realistic user agents, a
GeoIP file, referrers) over the baseline binary's on the same load in the
same round; the median must be at least 0.8.

    python3 bench/dims_ratio.py RESULTS.jsonl
"""
import json
import statistics
import sys

runs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
runs = [r for r in runs if r.get("kind") == "run" and r["shape"] == "new-visitors-dims"]
status = 0
for store in ("pg", "sqlite"):
    base = {r["round"]: r for r in runs if r["server"] == f"baseline-{store}"}
    mine = {r["round"]: r for r in runs if r["server"] == f"dims-{store}"}
    ratios = [mine[n]["rps"] / base[n]["rps"] for n in sorted(mine) if n in base and base[n]["rps"]]
    if not ratios:
        continue
    for n in sorted(mine):
        if n in base:
            print(f"  round {n} {store}: baseline {base[n]['rps']:,.0f} req/s, "
                  f"dimensions on {mine[n]['rps']:,.0f} req/s"
                  f" (non-2xx {base[n]['non_2xx']} / {mine[n]['non_2xx']})")
    median = statistics.median(ratios)
    ok = median >= 0.8
    status |= 0 if ok else 2
    print(f"dimensions on / off, new visitors, {store}: {median:.2f}× (rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}) — target ≥ 0.80: {'PASS' if ok else 'FAIL'}")
sys.exit(status)
