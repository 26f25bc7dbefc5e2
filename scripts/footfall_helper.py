#!/usr/bin/env python3
"""The Python half of Footfall's scripts (scripts/ and bench/): what the shell
scripts need that is easier in Python. The shell half is scripts/lib.sh,
whose `helper` function runs this file. Standard library only; every network
call is to 127.0.0.1 and has a timeout.

Subcommands (see each function's docstring):
  ports N                      N free TCP ports on 127.0.0.1

  scripts/browser-check.sh, scripts/container-smoke.sh:
  seed-history DB              60 past days of calls into a SQLite store
  browse OUT URL NAME ...      screenshots and layout checks in headless Chromium
  count PATH FILE              PATH's count in a saved /api/counts answer

  bench/run.sh:
  warmup BASE PAGES            register /call/repeat and /call/p1..pPAGES
  sum BASE                     sum of counts from BASE/api/counts
  settle BASE SECONDS          that sum, once it stops changing
  probes SITE                  probes the tracked site received (JSON)
  record ...                   one run's wrk summary -> a JSON line
  verify ...                   stored-count check after a run -> a JSON line
  probecheck ...               probes vs budget after a new-pages run -> a JSON line
  dedup ...                    dedup-set memory figures -> a JSON line
  meta OUT ...                 the machine and the settings -> META (JSON)
  report RESULTS META OUT      the table, targets and BENCHMARKS.md
"""
import argparse
import http.client
import json
import math
import os
import platform
import re
import socket
import sqlite3
import statistics
import sys
import time
import urllib.error
import urllib.request

WARMUP_IP = "192.0.2.1"  # the warm-up visitor; outside the load scripts' ranges


# ---------------------------------------------------------------- small tools

def cmd_ports(args):
    """Prints N distinct free ports (all bound at once, then released)."""
    socks = []
    for _ in range(args.n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def get(url, timeout=10.0, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


# ---------------------------------------------------------------- scripts/

SLOT_MICROS = 900_000_000


def varint(value):
    out = bytearray()
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def packed_run(offsets):
    """Sorted offsets from a slot's start as one run: the first with the low
    bit set, each next one as the distance from the one before."""
    words = [offsets[0] << 1 | 1] + [(b - a) << 1 for a, b in zip(offsets, offsets[1:])]
    return b"".join(varint(w) for w in words)


def cmd_seed_history(args):
    """Adds 60 days of past calls to /blog/hello-world in a Footfall SQLite
    file (the server has no way to record the past), 5 to 60 a day in a
    wave, at 10:00 UTC plus a minute per call. The server must be stopped;
    `footfall rebuild-daily` afterwards derives the per-day counts."""
    db = sqlite3.connect(args.db)
    (pid,) = db.execute("SELECT id FROM paths WHERE path = '/blog/hello-world'").fetchone()
    now = int(time.time())
    total = 0
    slots = {}
    for back in range(1, 61):
        n = int(20 + 15 * math.sin(back / 4) + (back % 7 == 0) * 25)
        day_start = (now // 86400 - back) * 86400
        for k in range(n):
            at = (day_start + 36000 + k * 60) * 1_000_000
            slots.setdefault(at // SLOT_MICROS, []).append(at % SLOT_MICROS)
        total += n
    # The packed layout of src/store/packed.rs: per 15-minute slot, one run
    # (a slot here holds at most 15 calls, far below a row's 512 bytes).
    for slot, offsets in slots.items():
        db.execute(
            "INSERT INTO call_times (path_id, slot, part, calls, times) VALUES "
            "(?1, ?2, (SELECT coalesce(max(part) + 1, 0) FROM call_times WHERE path_id = ?1 AND slot = ?2), ?3, ?4)",
            (pid, slot, len(offsets), packed_run(sorted(offsets))))
    db.execute("UPDATE paths SET total = total + ?, first_call = ? WHERE id = ?",
               (total, ((now // 86400 - 60) * 86400 + 36000) * 1_000_000, pid))
    db.commit()


# The layout checks of scripts/browser-check.sh, run in the page by the
# DevTools protocol (the pages themselves allow no script). Returns what the
# shell asserts: elements wider than the viewport or out of it sideways, and
# where the newest visible chart bar is.
LAYOUT_JS = r"""(() => {
  const width = window.innerWidth;
  const name = e => e.tagName.toLowerCase() + (e.getAttribute('class') ? '.' + e.getAttribute('class').replace(/ /g, '.') : '');
  const outside = [...document.querySelectorAll('body *')].filter(e => {
    const r = e.getBoundingClientRect();
    return r.width > 0 && (r.left < -0.5 || r.right > width + 0.5);
  }).map(name);
  const bars = [...document.querySelectorAll('svg rect.bar')].filter(b => b.getBoundingClientRect().width > 0);
  const newest = bars.length ? bars[bars.length - 1] : null;
  const r = newest ? newest.getBoundingClientRect() : null;
  const chart = [...document.querySelectorAll('svg.footfall-chart')].find(s => s.getBoundingClientRect().width > 0);
  return {
    width, scrollWidth: document.documentElement.scrollWidth, outside, bars: bars.length,
    newest: r && {left: r.left, right: r.right, title: (newest.querySelector('title') || {}).textContent || ''},
    page: getComputedStyle(document.body).backgroundColor,
    chart: chart ? getComputedStyle(chart.querySelector('rect')).fill : '',
  };
})()"""


class Chromium:
    """Headless Chromium driven over --remote-debugging-pipe: JSON messages
    separated by NUL on fds 3 (to it) and 4 (from it); no WebSocket needed."""

    def __init__(self, binary, profile):
        import subprocess
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()

        def fds():
            # Inheritable copies at the numbers Chromium expects (through
            # copies above 10, as the pipes may themselves be 3 or 4); the
            # pipes' own fds are not inheritable and close on exec.
            import fcntl
            high = [fcntl.fcntl(fd, fcntl.F_DUPFD, 10) for fd in (to_r, from_w)]
            for target, fd in zip((3, 4), high):
                os.dup2(fd, target)
                os.set_inheritable(target, True)

        self.proc = subprocess.Popen(
            [binary, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            close_fds=False, preexec_fn=fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.next_id, self.buffer, self.events = 0, b"", []

    def _read(self):
        while b"\0" not in self.buffer:
            chunk = os.read(self.from_r, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method, session=None, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self.to_w, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, session, seconds=20):
        deadline = time.time() + seconds
        while time.time() < deadline:
            for i, event in enumerate(self.events):
                if event.get("method") == method and event.get("sessionId") == session:
                    del self.events[i]
                    return event
            self.events.append(self._read())
        raise RuntimeError(f"no {method} within {seconds} s")

    def close(self):
        self.proc.kill()
        self.proc.wait()


# What the chart's background and the page are in each scheme (the pages'
# --card/--bg and the SVG's own palette in src/read/chart/bars.rs).
SCHEMES = {"light": ("rgb(249, 250, 251)", "rgb(255, 255, 255)"),
           "dark": ("rgb(17, 24, 39)", "rgb(31, 41, 55)")}


def layout_problems(figures, scheme):
    """What is wrong with one shot's layout figures (empty: nothing)."""
    problems = []
    width = figures["width"]
    if figures["scrollWidth"] > width:
        problems.append(f"the page scrolls sideways: {figures['scrollWidth']} px wide in {width}")
    if figures["outside"]:
        problems.append(f"out of the {width} px viewport: {', '.join(figures['outside'][:8])}")
    newest = figures["newest"]
    if not newest:
        problems.append("no chart bar is visible")
    else:
        if newest["left"] < 0 or newest["right"] > width:
            problems.append(f"the newest bar is at {newest['left']:.0f}–{newest['right']:.0f} px, outside 0–{width}")
        if not newest["title"]:
            problems.append("the newest bar has no <title>")
    page, chart = SCHEMES[scheme]
    if figures["page"] != page or figures["chart"] != chart:
        problems.append(f"{scheme}: page {figures['page']} and chart {figures['chart']}, not {page} and {chart}")
    return problems


def cmd_browse(args):
    """Loads each URL at each size and colour scheme, saves NAME-WxH-SCHEME.png
    and .html in OUT, and checks the layout in the page (see LAYOUT_JS and
    layout_problems): one line per shot; exit status 1 if any failed."""
    import base64
    failed = False
    browser = Chromium(args.chromium, args.profile)
    try:
        for url, name in zip(args.pairs[0::2], args.pairs[1::2]):
            for size in args.sizes.split(","):
                width, height = (int(n) for n in size.split("x"))
                for scheme in ("light", "dark"):
                    target = browser.call("Target.createTarget", url="about:blank")["targetId"]
                    session = browser.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
                    browser.call("Page.enable", session)
                    browser.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                                 deviceScaleFactor=1, mobile=width < 600)
                    browser.call("Emulation.setEmulatedMedia", session,
                                 features=[{"name": "prefers-color-scheme", "value": scheme}])
                    browser.call("Page.navigate", session, url=url)
                    browser.wait_event("Page.loadEventFired", session)
                    figures = browser.call("Runtime.evaluate", session, expression=LAYOUT_JS,
                                           returnByValue=True)["result"]["value"]
                    dom = browser.call("Runtime.evaluate", session, expression="document.documentElement.outerHTML",
                                       returnByValue=True)["result"]["value"]
                    shot = browser.call("Page.captureScreenshot", session, format="png")["data"]
                    stem = f"{name}-{width}x{height}-{scheme}"
                    with open(os.path.join(args.out, stem + ".png"), "wb") as f:
                        f.write(base64.b64decode(shot))
                    with open(os.path.join(args.out, stem + ".html"), "w") as f:
                        f.write(dom)
                    problems = layout_problems(figures, scheme)
                    failed = failed or bool(problems)
                    newest = figures["newest"] or {}
                    print(f"{'FAIL' if problems else 'ok  '} {stem}: {figures['bars']} bars, newest "
                          f"{newest.get('title', '-')!r} at {newest.get('right', 0):.0f} of {figures['width']} px"
                          + "".join(f"\n       {p}" for p in problems), flush=True)
                    browser.call("Target.closeTarget", targetId=target)
    finally:
        browser.close()
    return 1 if failed else 0


def cmd_count(args):
    """Prints PATH's count in a saved /api/counts answer (0 if absent); a
    body that is not that JSON is an error (exit status 1)."""
    with open(args.file) as f:
        rows = json.load(f)
    print(sum(int(r["count"]) for r in rows if r["path"] in (args.path, args.path.lstrip("/"))))


# ---------------------------------------------------------------- bench/: servers

def counts_sum(base):
    status, body = get(base + "/api/counts", timeout=30)
    if status != 200:
        raise RuntimeError(f"{base}/api/counts answered {status}: {body[:200]!r}")
    return sum(int(row.get("count") or 0) for row in json.loads(body))


def cmd_sum(args):
    print(counts_sum(args.base))


def cmd_settle(args):
    """Prints the counts sum once three readings 0.5 s apart agree (or after
    SECONDS, with a warning): batched writes may land just after load stops."""
    deadline = time.monotonic() + args.seconds
    readings = [counts_sum(args.base)]
    while time.monotonic() < deadline:
        time.sleep(0.5)
        readings.append(counts_sum(args.base))
        if len(readings) >= 3 and readings[-1] == readings[-2] == readings[-3]:
            break
    else:
        print(f"warning: counts still changing after {args.seconds}s", file=sys.stderr)
    print(readings[-1])


def cmd_probes(args):
    status, body = get(args.site + "/__probes", timeout=5)
    if status != 200:
        raise RuntimeError(f"tracked site answered {status}")
    print(body.decode())


def cmd_warmup(args):
    """Registers the repeat page and pages p1..pPAGES with one request each
    (from the warm-up visitor), retrying answers other than 200 (e.g. a 503
    while the probe budget refills) until every page answered 200."""
    host, port = args.base.removeprefix("http://").split(":")
    todo = ["/call/repeat"] + [f"/call/p{i}" for i in range(1, args.pages + 1)]
    headers = {"X-Forwarded-For": WARMUP_IP, "User-Agent": "footfall-bench/1"}
    deadline = time.monotonic() + args.seconds
    conn = None
    while todo and time.monotonic() < deadline:
        failed = []
        for path in todo:
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(host, int(port), timeout=10)
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    failed.append(path)
            except (OSError, http.client.HTTPException):
                failed.append(path)
                conn = None
        if failed:
            time.sleep(0.5)
        todo = failed
    if todo:
        print(f"warm-up: {len(todo)} pages never answered 200, e.g. {todo[:3]}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- results

def parse_wrk(path):
    with open(path) as f:
        text = f.read()
    match = re.search(r"^BENCH_JSON (\{.*\})$", text, re.M)
    if not match:
        raise RuntimeError(f"{path}: no BENCH_JSON line (did wrk fail?)\n{text[-2000:]}")
    run = json.loads(match.group(1))
    run["rps"] = run["requests"] / (run["duration_us"] / 1e6) if run["duration_us"] else 0.0
    run["socket_errors"] = run["connect_errors"] + run["read_errors"] + run["write_errors"] + run["timeouts"]
    run["ok"] = run["requests"] - run["non_2xx"]
    return run


def cmd_record(args):
    """One JSON line for one wrk run, with the server's memory after it."""
    run = parse_wrk(args.wrk_out)
    run.update(kind="run", shape=args.shape, server=args.server, round=args.round,
               rss_kb=args.rss_kb, hwm_kb=args.hwm_kb, cpu_server_s=args.cpu_server, cpu_pg_s=args.cpu_pg,
               machine_busy_pct=args.machine_busy)
    print(json.dumps(run))
    per_req = f"CPU/req: server {cpu_us(args.cpu_server, run)}"
    if args.cpu_pg > 0.05:
        per_req += f", PostgreSQL {cpu_us(args.cpu_pg, run)}"
    per_req += f"; machine {args.machine_busy:.0f}% busy"
    print(f"  {args.shape:<18} {args.server:<16} round {args.round}: "
          f"{run['rps']:>9.0f} req/s  p50 {run['p50_us'] / 1000:.2f} ms  "
          f"p99 {run['p99_us'] / 1000:.2f} ms  non-2xx {run['non_2xx']}  "
          f"socket errors {run['socket_errors']}  RSS {args.rss_kb / 1024:.1f} MiB  {per_req}",
          file=sys.stderr)


def cpu_us(seconds, run):
    """CPU time per answered request, e.g. '12.3 µs'."""
    return f"{seconds * 1e6 / run['requests']:.1f} µs" if run["requests"] else "–"


def cmd_verify(args):
    """Nothing lost, nothing double-counted.

    Every new-visitor request that got a 200 must be stored; requests still
    in flight when wrk stopped may or may not have been counted (their 200
    was never read), but nothing beyond what was sent may be. So:
        new 200s  <=  stored growth  <=  new requests sent
    For the mixed shape the new 200s are not known one by one; the lower
    bound is all 200s minus every repeat request sent.
    """
    run = parse_wrk(args.wrk_out)
    stored = args.after - args.before
    sent_new = run["sent_new"]
    if args.mode == "mixed":
        low = max(0, run["ok"] - (run["sent"] - sent_new))
    else:
        low = run["ok"]
    ok = low <= stored <= sent_new
    if stored < low:
        detail = f"LOST {low - stored}: {low} new-visitor 200s but only {stored} stored"
    elif stored > sent_new:
        detail = f"DOUBLE-COUNTED {stored - sent_new}: {stored} stored but only {sent_new} new visitors sent"
    elif stored == low:
        detail = f"exact: {stored} stored = {low} new-visitor 200s"
    else:
        detail = (f"{stored} stored: {low} new-visitor 200s + {stored - low} of the "
                  f"{sent_new - low} requests unanswered when wrk stopped")
    print(json.dumps(dict(kind="check", check="counts", shape=args.shape, server=args.server,
                          round=args.round, ok=ok, detail=detail, stored=stored, low=low,
                          high=sent_new)))
    print(f"  count check {args.shape} {args.server} #{args.round}: {'OK' if ok else 'MISMATCH'} — {detail}",
          file=sys.stderr)


def cmd_probecheck(args):
    """The tracked site must not see more probes than the budget allows:
    a full bucket (burst) plus the refill over the measured seconds."""
    before = json.loads(args.before)
    after = json.loads(args.after)
    probes = after["total"] - before["total"]
    budget = args.burst + args.rate * args.seconds
    ok = probes <= budget
    print(json.dumps(dict(kind="check", check="probes", round=args.round, ok=ok, probes=probes,
                          budget=budget, burst=args.burst, rate=args.rate, seconds=args.seconds)))
    print(f"  probe check round {args.round}: {probes} probes in {args.seconds:.1f} s, budget "
          f"{budget:.0f} — {'OK' if ok else 'OVER BUDGET'}", file=sys.stderr)


def cmd_dedup(args):
    """Bytes of RSS per distinct visitor-page pair, from three readings; the
    count checks of the pushes (kind "check", shape "dedup" in RESULTS) are
    summed up in count_detail."""
    with open(args.results) as f:
        pushes = [r for r in map(json.loads, filter(str.strip, f))
                  if r.get("kind") == "check" and r.get("check") == "counts" and r.get("shape") == "dedup"]
    if all(r["ok"] for r in pushes):
        count_detail = "all %d pushes ok" % len(pushes)
    else:
        count_detail = "MISMATCH in " + "; ".join(r["detail"] for r in pushes if not r["ok"])
    pairs = args.pairs_a + args.pairs_b
    rec = dict(kind="dedup", max_visitors=args.max_visitors, pages=args.pages, warm_pairs=args.warm_pairs,
               pairs_a=args.pairs_a, pairs_b=args.pairs_b, rss0_kb=args.rss0, rss1_kb=args.rss1,
               rss2_kb=args.rss2, hwm_kb=args.hwm, rps=args.rps, count_detail=count_detail,
               bytes_per_pair=(args.rss2 - args.rss0) * 1024 / pairs if pairs else float("nan"),
               marginal_bytes_per_pair=(args.rss2 - args.rss1) * 1024 / args.pairs_b if args.pairs_b else float("nan"))
    print(json.dumps(rec))
    print(f"  dedup memory: {rec['bytes_per_pair']:.1f} bytes/pair over {pairs:,} pairs "
          f"(second half alone {rec['marginal_bytes_per_pair']:.1f}); RSS {args.rss0 / 1024:.1f} -> "
          f"{args.rss1 / 1024:.1f} -> {args.rss2 / 1024:.1f} MiB, peak {args.hwm / 1024:.1f} MiB", file=sys.stderr)


def first_line(path, prefix, sep=":"):
    """The value of the first line of PATH starting with PREFIX ("" if none)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(sep, 1)[1].strip()
    except OSError:
        pass
    return ""


def cmd_meta(args):
    """Writes META: the machine (CPUs, kernel, memory, OS, load) and the
    run's settings, as the report states them."""
    mem_kb = first_line("/proc/meminfo", "MemTotal").split()
    with open("/proc/loadavg") as f:
        loadavg_end = " ".join(f.read().split()[:3])
    meta = dict(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), commit=args.commit,
        nproc=len(os.sched_getaffinity(0)), cpu=first_line("/proc/cpuinfo", "model name"),
        kernel=platform.release(), mem=f"{int(mem_kb[0]) / 1048576:.0f} GiB" if mem_kb else "?",
        os=first_line("/etc/os-release", "PRETTY_NAME=", "=").strip('"'), pg=args.pg, wrk=args.wrk,
        threads=args.threads, conns=args.conns, flood_conns=args.flood_conns, duration=args.duration,
        rounds=args.rounds, pages=args.pages, page_order=args.page_order, dedup_pairs=args.dedup_pairs,
        probe_rate=args.probe_rate, probe_burst=args.probe_burst, loadavg=args.loadavg_start, loadavg_end=loadavg_end,
        oxi_paths=args.oxi_paths)
    with open(args.out, "w") as f:
        json.dump(meta, f)


# ---------------------------------------------------------------- report

def fmt_ms(us):
    return f"{us / 1000:.2f} ms"


def fmt_ratio(r):
    if r is None:
        return "–"
    return f"{r:.2f}" if r >= 0.1 else f"{r:.3f}"


def fmt_mib(kb):
    return f"{kb / 1024:.0f} MiB" if kb else "–"


def cmd_report(args):
    records = [json.loads(line) for line in open(args.results) if line.strip().startswith("{")]
    meta = json.load(open(args.meta))
    runs = [r for r in records if r["kind"] == "run"]
    checks = [r for r in records if r["kind"] == "check"]
    dedup = next((r for r in records if r["kind"] == "dedup"), None)

    def runs_of(shape, server):
        return {r["round"]: r for r in runs if r["shape"] == shape and r["server"] == server}

    # Which ceiling run each row is compared with (same round).
    ceiling_shape = {"repeat": "repeat", "new-visitors": "new-visitors", "mixed": "mixed",
                     "repeat-under-flood": "repeat-under-flood", "new-pages-flood": "new-pages-flood"}
    order = ["repeat", "new-visitors", "mixed", "new-pages-flood", "repeat-under-flood"]
    servers = ["ceiling", "footfall-pg", "footfall-sqlite", "oxitraffic"]
    rows, stats = [], {}
    for shape in order:
        ceil = runs_of(ceiling_shape[shape], "ceiling")
        for server in servers:
            mine = runs_of(shape, server)
            if not mine:
                continue
            rounds = sorted(mine)
            ratios = [mine[n]["rps"] / ceil[n]["rps"] for n in rounds if n in ceil and ceil[n]["rps"]]
            p99_ratios = [mine[n]["p99_us"] / ceil[n]["p99_us"] for n in rounds if n in ceil and ceil[n]["p99_us"]]
            s = dict(
                rps=statistics.median(mine[n]["rps"] for n in rounds),
                ratio=statistics.median(ratios) if ratios else None,
                p99_ratio=statistics.median(p99_ratios) if p99_ratios else None,
                p50=statistics.median(mine[n]["p50_us"] for n in rounds),
                p99=statistics.median(mine[n]["p99_us"] for n in rounds),
                non_2xx=sum(mine[n]["non_2xx"] for n in rounds),
                socket_errors=sum(mine[n]["socket_errors"] for n in rounds),
                requests=sum(mine[n]["requests"] for n in rounds),
                rss=mine[rounds[-1]]["rss_kb"], hwm=max(mine[n]["hwm_kb"] for n in rounds),
                rounds=len(rounds),
                all_rps=[round(mine[n]["rps"]) for n in rounds],
                all_ratios=[mine[n]["rps"] / ceil[n]["rps"] if n in ceil and ceil[n]["rps"] else None
                            for n in rounds],
                cpu_server_us=statistics.median(
                    mine[n].get("cpu_server_s", 0) * 1e6 / mine[n]["requests"] for n in rounds if mine[n]["requests"]),
                cpu_pg_us=statistics.median(
                    mine[n].get("cpu_pg_s", 0) * 1e6 / mine[n]["requests"] for n in rounds if mine[n]["requests"]),
                cpu_server_pct=statistics.median(
                    mine[n].get("cpu_server_s", 0) * 1e8 / mine[n]["duration_us"] for n in rounds if mine[n]["duration_us"]),
                machine_busy=statistics.median(mine[n].get("machine_busy_pct", 0) for n in rounds),
                cpu_pg_pct=statistics.median(
                    mine[n].get("cpu_pg_s", 0) * 1e8 / mine[n]["duration_us"] for n in rounds if mine[n]["duration_us"]),
            )
            stats[(shape, server)] = s
            rows.append((shape, server, s))

    label = {"repeat": "1 repeat", "new-visitors": "2 new visitors", "mixed": "3 mixed 90/10",
             "new-pages-flood": "4 new pages (flood)", "repeat-under-flood": "4 repeat during flood"}
    server_label = {"ceiling": "ceiling", "footfall-pg": "footfall (PostgreSQL)",
                    "footfall-sqlite": "footfall (SQLite)", "oxitraffic": "OxiTraffic 0.1.3"}
    table = ["| shape | server | req/s | × ceiling | p50 | p99 | non-2xx / socket errors | RSS (peak) |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]
    for shape, server, s in rows:
        ratio = "1.00" if server == "ceiling" else fmt_ratio(s["ratio"])
        if shape == "new-visitors" and server == "oxitraffic":
            ratio += " ¹"
        if shape == "new-pages-flood" and server != "ceiling":
            ratio += " ²"
        table.append(
            f"| {label[shape]} | {server_label[server]} | {s['rps']:,.0f} | {ratio} | {fmt_ms(s['p50'])} "
            f"| {fmt_ms(s['p99'])} | {s['non_2xx']:,} / {s['socket_errors']:,} of {s['requests']:,} "
            f"| {fmt_mib(s['rss'])} ({fmt_mib(s['hwm'])}) |")

    # ------------------------------------------------------------ targets
    targets = []

    def target(name, value, goal, ok):
        targets.append((name, value, goal, "PASS" if ok else "FAIL"))

    def skip(name, why):
        targets.append((name, why, "", "SKIP"))

    s = stats.get(("repeat", "footfall-pg"))
    if s and s["ratio"] is not None:
        target("repeat: req/s vs ceiling", f"{s['ratio']:.2f}×", "≥ 0.70×", s["ratio"] >= 0.70)
        target("repeat: p99 vs ceiling p99", f"{s['p99_ratio']:.2f}×", "≤ 2×", s["p99_ratio"] <= 2.0)
    s = stats.get(("new-visitors", "footfall-pg"))
    if s and s["ratio"] is not None:
        target("new visitors (PostgreSQL): req/s vs ceiling", f"{s['ratio']:.2f}×", "≥ 0.30×", s["ratio"] >= 0.30)
        oxi = stats.get(("new-visitors", "oxitraffic"))
        if oxi and oxi["rps"]:
            x = s["rps"] / oxi["rps"]
            target("new visitors (PostgreSQL): vs OxiTraffic unique pairs", f"{x:.1f}×", "≥ 20×", x >= 20)
        else:
            skip("new visitors (PostgreSQL): vs OxiTraffic unique pairs", "OxiTraffic not measured")
    s = stats.get(("new-visitors", "footfall-sqlite"))
    if s and s["ratio"] is not None:
        target("new visitors (SQLite): req/s vs ceiling", f"{s['ratio']:.2f}×", "≥ 0.30×", s["ratio"] >= 0.30)
    s = stats.get(("mixed", "footfall-pg"))
    if s and s["ratio"] is not None:
        target("mixed 90/10: req/s vs ceiling", f"{s['ratio']:.2f}×", "≥ 0.60×", s["ratio"] >= 0.60)
    s = stats.get(("repeat-under-flood", "footfall-pg"))
    if s and s["ratio"] is not None:
        target("repeat during a new-pages flood: req/s vs ceiling", f"{s['ratio']:.2f}×", "≥ 0.50×",
               s["ratio"] >= 0.50)
    probe_checks = [c for c in checks if c["check"] == "probes"]
    if probe_checks:
        worst = max(probe_checks, key=lambda c: c["probes"] - c["budget"])
        target("new pages: probes reaching the tracked site",
               f"max {worst['probes']} (budget {worst['budget']:.0f})", "≤ burst + rate × s",
               all(c["ok"] for c in probe_checks))
    count_checks = [c for c in checks if c["check"] == "counts"]
    footfall_checks = [c for c in count_checks if c["server"] != "oxitraffic"]
    if footfall_checks:
        bad = [c for c in footfall_checks if not c["ok"]]
        target("Footfall's stored counts = new-visitor 200s (nothing lost or double-counted)",
               f"{len(footfall_checks) - len(bad)}/{len(footfall_checks)} runs",
               "all", not bad)
    if dedup:
        target("dedup memory per visitor-page pair", f"{dedup['bytes_per_pair']:.1f} B", "≤ 32 B",
               dedup["bytes_per_pair"] <= 32)
    else:
        skip("dedup memory per visitor-page pair", "not measured")

    target_lines = ["| target | measured | goal | result |", "|---|---:|---:|---|"]
    target_lines += [f"| {n} | {v} | {g} | **{r}** |" for n, v, g, r in targets]

    check_lines = []
    for c in sorted(count_checks, key=lambda c: (c["shape"], c["server"], c["round"])):
        when = f"push {c['round']}" if c["shape"] == "dedup" else f"round {c['round']}"
        check_lines.append(f"- {c['shape']}, {server_label.get(c['server'], c['server'])}, {when}: "
                           f"{'ok' if c['ok'] else '**MISMATCH**'} — {c['detail']}")
    for c in sorted(probe_checks, key=lambda c: c["round"]):
        check_lines.append(f"- new pages, round {c['round']}: {c['probes']} probes reached the tracked site "
                           f"in {c['seconds']:.1f} s; budget {c['budget']:.0f} "
                           f"(burst {c['burst']} + {c['rate']:g}/s × {c['seconds']:.1f} s) — "
                           f"{'ok' if c['ok'] else '**OVER BUDGET**'}")

    spread_lines = ["| shape | server | req/s per round (× ceiling) | server CPU per request (busy) "
                    "| PostgreSQL CPU per request (busy) | machine busy |", "|---|---|---|---:|---:|---:|"]
    for shape, server, s in rows:
        uses_pg = server in ("footfall-pg", "oxitraffic")
        pg = f"{s['cpu_pg_us']:.1f} µs ({s['cpu_pg_pct']:.0f}%)" if uses_pg else "–"
        spread_lines.append(
            f"| {label[shape]} | {server_label[server]} | "
            + ", ".join(f"{x:,}" + ("" if server == "ceiling" or r is None else f" ({fmt_ratio(r)}×)")
                        for x, r in zip(s["all_rps"], s["all_ratios"]))
            + " "
            f"| {s['cpu_server_us']:.1f} µs ({s['cpu_server_pct']:.0f}%) | {pg} | {s['machine_busy']:.0f}% |")

    dedup_lines = []
    if dedup:
        dedup_lines = [
            f"Footfall on SQLite, `max_visitors: {dedup['max_visitors']:,}`, fresh data dir, {dedup['pages']:,} pages. "
            f"RSS after a {dedup['warm_pairs']:,}-pair warm-up: {dedup['rss0_kb'] / 1024:.1f} MiB; "
            f"after {dedup['pairs_a']:,} more pairs: {dedup['rss1_kb'] / 1024:.1f} MiB; "
            f"after {dedup['pairs_b']:,} more: {dedup['rss2_kb'] / 1024:.1f} MiB "
            f"(peak {dedup['hwm_kb'] / 1024:.1f} MiB).",
            "",
            f"- **{dedup['bytes_per_pair']:.1f} bytes per pair** over all {dedup['pairs_a'] + dedup['pairs_b']:,} pairs "
            f"({dedup['bytes_per_pair'] * 1e6 / 2**20:.1f} MiB per 1,000,000 pairs)",
            f"- {dedup['marginal_bytes_per_pair']:.1f} bytes per pair over the second half only "
            f"(a hash table grows in doublings, so halves differ)",
            f"- pushed at {dedup['rps']:,.0f} new pairs/s; stored counts: {dedup['count_detail']}",
        ]

    m = meta
    page_order = m.get("page_order", "sequential")  # meta files of older runs have none
    oxi_note = ("¹ OxiTraffic ignores `X-Forwarded-For`, so its new (visitor, page) pairs come from "
                f"{m.get('oxi_paths', 0):,} distinct pages inserted into its `paths` table beforehand; "
                "its ratio is against the ceiling's new-visitors run. It finds a page by a sequential scan "
                "of `paths` (no index on `path`, as released) that stops at the first match, so its rate "
                "depends on where the pages sit in the table: round *n* uses the *n*-th slice of the "
                "table, hence the falling rate per round below; the median is the middle slice, a typical "
                "page.") if stats.get(("new-visitors", "oxitraffic")) else ""
    flood_note = ("² Every flood request is for a page the tracked site does not have, so every answer "
                  "is non-2xx by design: 404 once the page was probed and rejected, 503 while the probe "
                  "budget is spent.") if stats.get(("new-pages-flood", "footfall-pg")) else ""
    lines = [
        "# Footfall benchmarks",
        "",
        "Generated by `bench/run.sh`; rerun it to refresh this file (see the end for settings).",
        "",
        f"**{m['date']}** · commit `{m['commit']}` · {m['nproc']} CPUs ({m['cpu']}) · "
        f"kernel {m['kernel']} · {m['mem']} RAM · {m['os']} · PostgreSQL {m['pg']} · {m['wrk']}",
        "",
        f"All on loopback; wrk `-t{m['threads']} -c{m['conns']}`, {m['duration']} s per run, "
        f"{m['rounds']} rounds. In each round the ceiling and the servers run one after another "
        "(order reversed every other round); ratios are computed per round and the median is shown. "
        "req/s, p50 and p99 are medians over rounds; errors are summed; RSS is after the last run "
        "(peak in brackets). The load generator shares the machine's CPUs with the server.",
        "",
        *table,
        "",
        *[line for note in (oxi_note, flood_note) if note for line in (note, "")],
        "## Targets",
        "",
        *target_lines,
        "",
        "## Checks",
        "",
        *(check_lines or ["(none ran)"]),
        "",
        "## Spread and CPU",
        "",
        f"Load average when the run started: {m.get('loadavg', '?')}; at the end: {m.get('loadavg_end', '?')}. "
        "CPU per request is the CPU time the process used during the run over the requests answered "
        "(medians over rounds); busy is that CPU time over the run's wall time (100% = one core); "
        "machine busy is all CPUs together (wrk, servers, PostgreSQL and anything else running), "
        "100% = every CPU. A run well below 100% machine busy is bound by waiting, not by CPU. "
        f"The machine has {m['nproc']} CPUs for wrk, the server and PostgreSQL together.",
        "",
        *spread_lines,
        "",
        "## Memory of the dedup set",
        "",
        *(dedup_lines or ["(not measured)"]),
        "",
        "## Shapes",
        "",
        "1. **repeat** — one known page, one visitor: every hit is a duplicate.",
        "2. **new visitors** — every request a new visitor (a fresh `X-Forwarded-For` address; wrk threads "
        f"use disjoint ranges) on one of {m['pages']:,} pages registered beforehand, in "
        f"{page_order} order (`BENCH_PAGE_ORDER`): every hit is recorded. "
        "After each run the growth of the stored counts (sum of `/api/counts`) is compared with the "
        "200 responses wrk received.",
        "3. **mixed** — 90% repeat, 10% new visitors.",
        "4. **new pages** — a second wrk (`-t1 -c" + str(m["flood_conns"]) + "`) requests never-seen pages "
        "under `/__404/` that the tracked site rejects, while the repeat load runs; Footfall here keeps its "
        f"default probe budget (burst {m['probe_burst']}, {m['probe_rate']:g}/s). The ceiling gets the same "
        "two loads.",
        "",
        "The **ceiling** is `examples/ceiling.rs`: a minimal hyper 1 server answering every request with "
        "the bytes and headers of Footfall's `/call` image. PostgreSQL is a throwaway cluster with the "
        "stock `initdb` settings (fsync and synchronous commit on).",
        "",
        "## Settings",
        "",
        "```",
        f"BENCH_DURATION={m['duration']} BENCH_ROUNDS={m['rounds']} BENCH_PAGES={m['pages']} "
        f"BENCH_PAGE_ORDER={page_order} "
        f"BENCH_DEDUP_PAIRS={m['dedup_pairs']} bench/run.sh",
        "```",
        "",
        "`bench/run.sh` prints every run's numbers as it goes and keeps the raw data in "
        "`target/bench/` (`results.jsonl`, `meta.json`); "
        "`python3 scripts/footfall_helper.py report target/bench/results.jsonl target/bench/meta.json BENCHMARKS.md` "
        "rebuilds this file from them.",
        "",
    ]
    text = "\n".join(lines)
    with open(args.out, "w") as f:
        f.write(text)

    # Console: the table and the targets.
    print()
    print("\n".join(table))
    for note in (oxi_note, flood_note):
        if note:
            print(note)
    print()
    for n, v, g, r in targets:
        print(f"  {r:<4}  {n}: {v} (goal {g})")
    if check_lines:
        print()
        print("\n".join(check_lines))
    if dedup_lines:
        print()
        print("\n".join(line for line in dedup_lines if line))
    print(f"\nwrote {args.out}")
    return 2 if any(r == "FAIL" for _, _, _, r in targets) else 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("ports"); s.add_argument("n", type=int); s.set_defaults(f=cmd_ports)
    s = sub.add_parser("seed-history"); s.add_argument("db"); s.set_defaults(f=cmd_seed_history)
    s = sub.add_parser("browse"); s.add_argument("out"); s.add_argument("pairs", nargs="+")
    s.add_argument("--chromium", required=True); s.add_argument("--profile", required=True)
    s.add_argument("--sizes", default="1280x900,390x844"); s.set_defaults(f=cmd_browse)
    s = sub.add_parser("count"); s.add_argument("path"); s.add_argument("file"); s.set_defaults(f=cmd_count)
    s = sub.add_parser("warmup"); s.add_argument("base"); s.add_argument("pages", type=int)
    s.add_argument("--seconds", type=float, default=120); s.set_defaults(f=cmd_warmup)
    s = sub.add_parser("sum"); s.add_argument("base"); s.set_defaults(f=cmd_sum)
    s = sub.add_parser("settle"); s.add_argument("base"); s.add_argument("seconds", type=float)
    s.set_defaults(f=cmd_settle)
    s = sub.add_parser("probes"); s.add_argument("site"); s.set_defaults(f=cmd_probes)
    s = sub.add_parser("record")
    for a in ("--shape", "--server", "--wrk-out"):
        s.add_argument(a, required=True)
    for a in ("--round", "--rss-kb", "--hwm-kb"):
        s.add_argument(a, type=int, required=True)
    for a in ("--cpu-server", "--cpu-pg", "--machine-busy"):
        s.add_argument(a, type=float, default=0.0)
    s.set_defaults(f=cmd_record)
    s = sub.add_parser("verify")
    for a in ("--shape", "--server", "--wrk-out"):
        s.add_argument(a, required=True)
    for a in ("--round", "--before", "--after"):
        s.add_argument(a, type=int, required=True)
    s.add_argument("--mode", choices=["new", "mixed"], default="new")
    s.set_defaults(f=cmd_verify)
    s = sub.add_parser("probecheck"); s.add_argument("--before", required=True); s.add_argument("--after", required=True)
    s.add_argument("--round", type=int, required=True); s.add_argument("--seconds", type=float, required=True)
    s.add_argument("--rate", type=float, required=True); s.add_argument("--burst", type=int, required=True)
    s.set_defaults(f=cmd_probecheck)
    s = sub.add_parser("dedup")
    for a in ("--max-visitors", "--pages", "--warm-pairs", "--pairs-a", "--pairs-b", "--rss0", "--rss1", "--rss2", "--hwm"):
        s.add_argument(a, type=int, required=True)
    s.add_argument("--rps", type=float, required=True); s.add_argument("--results", required=True)
    s.set_defaults(f=cmd_dedup)
    s = sub.add_parser("meta"); s.add_argument("out")
    for a in ("--commit", "--pg", "--wrk", "--loadavg-start", "--page-order"):
        s.add_argument(a, required=True)
    for a in ("--threads", "--conns", "--flood-conns", "--duration", "--rounds", "--pages", "--dedup-pairs",
              "--probe-rate", "--probe-burst", "--oxi-paths"):
        s.add_argument(a, type=int, required=True)
    s.set_defaults(f=cmd_meta)
    s = sub.add_parser("report"); s.add_argument("results"); s.add_argument("meta"); s.add_argument("out")
    s.set_defaults(f=cmd_report)
    args = p.parse_args()
    sys.exit(args.f(args) or 0)


if __name__ == "__main__":
    main()
