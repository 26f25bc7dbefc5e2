#!/usr/bin/env python3
"""The dimensions target of bench/run.sh: per store and round, new-visitor
req/s of this build with every dimension on (realistic user agents, a
GeoIP file, referrers) over the baseline binary's (BENCH_BASELINE_BIN:
main's release build, which has no dimensions) on the same load in the
same round; the median must be at least 0.8. Also CPU per answered
request of the Footfall process and of PostgreSQL (the whole cluster, over
the run's window: label sums written in the second after it are not in it).

    python3 bench/dims_ratio.py RESULTS.jsonl
"""
import json
import statistics
import sys

runs = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
runs = [r for r in runs if r.get("kind") == "run" and r["shape"] == "new-visitors-dims"]


def us(run, key):
    return run[key] * 1e6 / run["requests"] if run.get("requests") else 0.0


status = 0
for store in ("pg", "sqlite"):
    base = {r["round"]: r for r in runs if r["server"] == f"baseline-{store}"}
    mine = {r["round"]: r for r in runs if r["server"] == f"dims-{store}"}
    rounds = [n for n in sorted(mine) if n in base and base[n]["rps"]]
    if not rounds:
        continue
    ratios = [mine[n]["rps"] / base[n]["rps"] for n in rounds]
    for n in rounds:
        b, m = base[n], mine[n]
        line = (f"  round {n} {store}: baseline {b['rps']:,.0f} req/s, dimensions on {m['rps']:,.0f} req/s"
                f" ({m['rps'] / b['rps']:.2f}×); CPU/req server {us(b, 'cpu_server_s'):.1f} → "
                f"{us(m, 'cpu_server_s'):.1f} µs")
        if store == "pg":
            line += f", PostgreSQL {us(b, 'cpu_pg_s'):.1f} → {us(m, 'cpu_pg_s'):.1f} µs"
        print(line + f" (non-2xx {b['non_2xx']} / {m['non_2xx']})")
    median = statistics.median(ratios)
    ok = median >= 0.8
    status |= 0 if ok else 2
    cpu = (f"CPU/req server {statistics.median(us(base[n], 'cpu_server_s') for n in rounds):.1f} → "
           f"{statistics.median(us(mine[n], 'cpu_server_s') for n in rounds):.1f} µs")
    if store == "pg":
        cpu += (f", PostgreSQL {statistics.median(us(base[n], 'cpu_pg_s') for n in rounds):.1f} → "
                f"{statistics.median(us(mine[n], 'cpu_pg_s') for n in rounds):.1f} µs")
    print(f"dimensions on / off, new visitors, {store}: {median:.2f}× (rounds: "
          f"{', '.join(f'{r:.2f}' for r in ratios)}); medians {cpu} — target ≥ 0.80: {'PASS' if ok else 'FAIL'}")
sys.exit(status)
