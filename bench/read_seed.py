#!/usr/bin/env python3
"""The data set of the read benchmark (bench/read.sh), in one place: how it is
seeded into each store, and what Footfall must answer about it.

    read_seed.py postgres-sql T0     print the PostgreSQL seed (pipe into psql)
    read_seed.py sqlite FILE T0      seed a Footfall SQLite file
    read_seed.py check DIR T0 [DIR2] check saved responses (and compare stores)

T0 is "now" in microseconds since the Unix epoch, fixed once per run so both
stores hold exactly the same rows. The data, in UTC:

  /big       id 1, 1,000,000 calls spread evenly over the 1,095 days before T0
  /p/1 ...   ids 2..10,000, 9,000,000 calls dealt round-robin (call i goes to
  /p/9999    /p/(i mod 9999 + 1)), spread evenly over the same 1,095 days;
             /p/1../p/900 get 901 calls, the others 900

Call i of a series of n lands at T0 - SPAN + i*step + jitter(i), where
step = SPAN / n and jitter(i) = (i * 2654435761) mod step, so times are
increasing, exact integers of microseconds, and not on a grid. totals,
first/last call and daily_counts (per UTC day) are computed from the calls
with set-based SQL after loading, exactly as Footfall would have kept them.

daily_dimensions (no GeoIP in the benchmark, but its rows are seeded all the
same) is derived from daily_counts, identically in both stores: for each
(page, day) with n calls and each kind (0 agent, 1 country, 2 referrer),
m = min(n, 1 + h(page, day) mod 3) draws j = 0..m-1 of counts n - rest,
max(1, n/4), max(1, n/8) (so they sum to n), each drawn value taken from a
skewed (Zipf-like) table of about 20 agents ('Chrome|Windows|desktop', as
Footfall stores them), 40 countries and 50 referrer hosts including
'(direct)' and '(internal)' by an integer hash of (page, day, kind, j); two
draws of one value add up. So every kind sums to each page-day's count.
site_dimensions, where the schema has it, gets the sums of those rows by the
very INSERT its migration fills it with; a schema made by an older Footfall
(READ_BEFORE in bench/read.sh) has none, and the newer Footfall's migration
fills it at its start.

Footfall creates the schema first; the seed only fills it (it drops the calls
index while loading and recreates it under the same name and definition).
The calls go in as one row per call, the layout of releases before compact
history: a Footfall that stores calls packed (table call_times) has no calls
table, so the seed creates it as those releases did, and Footfall converts it
at its next start (bench/read.sh times that).
"""

import json
import os
import re
import sqlite3
import sys
import time

DAY_US = 86_400_000_000
SPAN_US = 1095 * DAY_US
BIG_CALLS = 1_000_000
OTHER_PATHS = 9_999
OTHER_CALLS = 9_000_000
CHUNK = 1_000_000
MULT = 2_654_435_761

# ----------------------------------------------------------------- dimensions
AGENTS = [
    "Chrome|Windows|desktop", "Chrome|Android|mobile", "Safari|iOS|mobile", "Chrome|macOS|desktop",
    "Edge|Windows|desktop", "Firefox|Windows|desktop", "Safari|macOS|desktop", "Samsung Internet|Android|mobile",
    "Chrome|iOS|mobile", "Firefox|Linux|desktop", "Chrome|Linux|desktop", "Safari|iOS|tablet",
    "Opera|Windows|desktop", "Chrome|Android|tablet", "Firefox|macOS|desktop", "Other|Other|desktop",
    "Firefox|Android|mobile", "Chrome|Other|desktop", "Edge|macOS|desktop", "Other|Android|mobile",
]
COUNTRIES = (
    "US DE GB FR IN CA NL BR JP ES IT PL AU SE RU CN CH KR UA AT BE CZ DK FI NO "
    "MX AR TR ID PT IE IL SG NZ ZA RO HU GR VN TW"
).split()
REFERRERS = ["(direct)", "(internal)", "www.google.com", "news.ycombinator.com", "github.com", "duckduckgo.com",
             "www.bing.com", "www.reddit.com", "t.co", "lobste.rs"] + [f"blog{n}.example.org" for n in range(1, 41)]
# Each kind's values spread over SLOTS slots in proportion to 1/(rank+1)^1.1
# (each at least one slot): a hash mod SLOTS picks a value.
SLOTS = 1000


def slot_table():
    """(kind, slot, value) rows: the lookup the seed SQL joins on."""
    rows = []
    for kind, values in ((0, AGENTS), (1, COUNTRIES), (2, REFERRERS)):
        weights = [1 / (r + 1) ** 1.1 for r in range(len(values))]
        total = sum(weights)
        counts = [max(1, int(SLOTS * w / total)) for w in weights]
        counts[0] += SLOTS - sum(counts)
        slot = 0
        for value, c in zip(values, counts):
            for _ in range(c):
                rows.append((kind, slot, value))
                slot += 1
    return rows


def slot_values_sql():
    return ", ".join(f"({k}, {slot}, '{v}')" for k, slot, v in slot_table())


def dimensions_select(day_number, least, greatest):
    """The daily_dimensions rows from daily_counts d (day number `day_number`),
    the same integer arithmetic in both stores (all operands positive)."""
    m = f"min_n(d.count, 1 + ((d.path_id * {MULT} + {day_number} * 40503) % 1000003) % 3)"
    share = (f"CASE j.j WHEN 0 THEN d.count - CASE WHEN {m} >= 2 THEN max_n(1, d.count / 4) ELSE 0 END "
             f"- CASE WHEN {m} >= 3 THEN max_n(1, d.count / 8) ELSE 0 END "
             f"WHEN 1 THEN max_n(1, d.count / 4) ELSE max_n(1, d.count / 8) END")
    slot = (f"((((d.path_id * 7919 + {day_number} * 104729 + k.k * 15485863 + j.j * 49979687) % 1000003) "
            f"* {MULT}) % 4294967291) % {SLOTS}")
    return (f"SELECT d.path_id, k.k, d.day, v.value, sum({share}) "
            f"FROM daily_counts d CROSS JOIN seed_kinds k CROSS JOIN seed_draws j "
            f"JOIN seed_slots v ON v.kind = k.k AND v.slot = {slot} "
            f"WHERE j.j < {m} GROUP BY d.path_id, k.k, d.day, v.value"
            ).replace("min_n(", f"{least}(").replace("max_n(", f"{greatest}(")


def dimension_tables_pg():
    return dimensions_tables("TEMP")


def dimensions_tables(temp):
    """The seed's lookup tables (kinds, draws, value slots)."""
    return [
        f"CREATE {temp} TABLE seed_kinds (k int NOT NULL)",
        "INSERT INTO seed_kinds VALUES (0), (1), (2)",
        f"CREATE {temp} TABLE seed_draws (j int NOT NULL)",
        "INSERT INTO seed_draws VALUES (0), (1), (2)",
        f"CREATE {temp} TABLE seed_slots (kind int NOT NULL, slot int NOT NULL, value text NOT NULL)",
        f"INSERT INTO seed_slots VALUES {slot_values_sql()}",
    ]


BIG_STEP = SPAN_US // BIG_CALLS
OTHER_STEP = SPAN_US // OTHER_CALLS


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}]   {message}", file=sys.stderr, flush=True)


# ----------------------------------------------------------------- the formula
def big_call(t0, i):
    return t0 - SPAN_US + i * BIG_STEP + (i * MULT) % BIG_STEP


def other_call(t0, i):
    return t0 - SPAN_US + i * OTHER_STEP + (i * MULT) % OTHER_STEP


def other_calls_of(n, t0):
    """(count, first, last) of /p/n."""
    k = n - 1  # call i goes to /p/(i % 9999 + 1)
    count = len(range(k, OTHER_CALLS, OTHER_PATHS))
    last_i = k + (count - 1) * OTHER_PATHS
    return count, other_call(t0, k), other_call(t0, last_i)


# The INSERT of the site_dimensions migrations (sql/postgres/0014_*, sql/sqlite/0012_*).
SITE_DIMENSIONS_FILL = (
    "INSERT INTO site_dimensions (site_id, dimension, day, value, count) "
    "SELECT p.site_id, d.dimension, d.day, d.value, sum(d.count) "
    "FROM daily_dimensions d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2, 3, 4"
)


# ----------------------------------------------------------------- PostgreSQL
def postgres_sql(t0):
    ts = "'epoch'::timestamptz + ({us}) * interval '1 microsecond'"
    big = ts.format(us=f"{t0 - SPAN_US} + i * {BIG_STEP} + (i * {MULT}) % {BIG_STEP}")
    other = ts.format(us=f"{t0 - SPAN_US} + i * {OTHER_STEP} + (i * {MULT}) % {OTHER_STEP}")
    chunks = OTHER_CALLS // CHUNK
    pg_dimension_tables = ";\n  ".join(dimension_tables_pg()) + ";"
    pg_dimensions = dimensions_select("(d.day - DATE '1970-01-01')::bigint", "least", "greatest")
    # One DO block is one transaction: TRUNCATE in it lets wal_level=minimal
    # skip WAL for the loaded tables; NOTICEs reach psql as they are raised.
    return f"""
\\set ON_ERROR_STOP 1
SET client_min_messages = notice;
SET work_mem = '512MB';
-- Footfall's tables live in its own schema.
SET search_path = footfall;
SET maintenance_work_mem = '1GB';
DO $seed$
DECLARE
  t timestamptz := clock_timestamp();
  lo bigint;
BEGIN
  -- FK checks off while loading (superuser only); the data is consistent by construction.
  PERFORM set_config('session_replication_role', 'replica', true);
  CREATE TABLE IF NOT EXISTS calls (path_id bigint NOT NULL, called_at timestamptz NOT NULL);
  TRUNCATE calls, daily_counts, paths;
  DROP INDEX IF EXISTS calls_path_id_called_at;
  INSERT INTO paths (id, site_id, path) VALUES (1, 1, '/big');
  INSERT INTO paths (id, site_id, path) SELECT n + 1, 1, '/p/' || n FROM generate_series(1, {OTHER_PATHS}) n;
  PERFORM setval(pg_get_serial_sequence('paths', 'id'), {OTHER_PATHS + 1});
  INSERT INTO calls (path_id, called_at) SELECT 1, {big} FROM generate_series(0::bigint, {BIG_CALLS - 1}) i;
  RAISE NOTICE 'calls 1000000/10000000 (/big) in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
  FOR c IN 0..{chunks - 1} LOOP
    lo := c * {CHUNK};
    INSERT INTO calls (path_id, called_at)
      SELECT 2 + i % {OTHER_PATHS}, {other} FROM generate_series(lo, lo + {CHUNK - 1}) i;
    RAISE NOTICE 'calls %/10000000 in % s', {BIG_CALLS} + lo + {CHUNK},
      round(extract(epoch FROM clock_timestamp() - t), 1);
  END LOOP;
  CREATE INDEX calls_path_id_called_at ON calls (path_id, called_at);
  RAISE NOTICE 'calls index in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
  INSERT INTO daily_counts (path_id, day, count)
    SELECT path_id, (called_at AT TIME ZONE 'UTC')::date, count(*) FROM calls GROUP BY 1, 2;
  RAISE NOTICE 'daily_counts in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
  -- Footfall keeps site_days as it writes daily_counts; the seed writes both.
  TRUNCATE site_days;
  INSERT INTO site_days (site_id, day, count)
    SELECT p.site_id, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2;
  RAISE NOTICE 'site_days in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
  -- daily_dimensions from daily_counts (see the module's doc), its key built after loading.
  {pg_dimension_tables}
  TRUNCATE daily_dimensions;
  ALTER TABLE daily_dimensions DROP CONSTRAINT daily_dimensions_pkey;
  INSERT INTO daily_dimensions (path_id, dimension, day, value, count)
    {pg_dimensions};
  ALTER TABLE daily_dimensions ADD CONSTRAINT daily_dimensions_pkey PRIMARY KEY (path_id, dimension, day, value);
  RAISE NOTICE 'daily_dimensions in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
  -- A schema made by a Footfall with site_dimensions gets its rows as its
  -- migration fills them (a schema made by an older Footfall, READ_BEFORE,
  -- has no such table: the newer Footfall's migration fills it at start).
  IF to_regclass('site_dimensions') IS NOT NULL THEN
    EXECUTE 'TRUNCATE site_dimensions';
    EXECUTE '{SITE_DIMENSIONS_FILL}';
    RAISE NOTICE 'site_dimensions (the migration''s fill) in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
  END IF;
  UPDATE paths SET total = t.n, first_call = t.f, last_call = t.l, registered_at = t.f
    FROM (SELECT path_id, count(*) AS n, min(called_at) AS f, max(called_at) AS l FROM calls GROUP BY path_id) t
    WHERE paths.id = t.path_id;
  RAISE NOTICE 'totals in % s', round(extract(epoch FROM clock_timestamp() - t), 1);
END
$seed$;
VACUUM (ANALYZE) paths, calls, daily_counts, daily_dimensions;
SELECT CASE WHEN to_regclass('site_dimensions') IS NULL THEN 'no site_dimensions yet' ELSE 'site_dimensions' END;
SELECT 'rows: paths ' || (SELECT count(*) FROM paths) || ', calls ' || (SELECT count(*) FROM calls)
  || ', daily_counts ' || (SELECT count(*) FROM daily_counts)
  || ', daily_dimensions ' || (SELECT count(*) FROM daily_dimensions)
  || ', sum(total) ' || (SELECT sum(total) FROM paths);
"""


# ----------------------------------------------------------------- SQLite
def seed_sqlite(file, t0):
    start = time.monotonic()
    conn = sqlite3.connect(file, isolation_level=None)
    conn.execute("PRAGMA journal_mode = OFF")  # back to WAL below; Footfall sets it again anyway
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA foreign_keys = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB while loading
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute(
        "CREATE TABLE IF NOT EXISTS calls (path_id INTEGER NOT NULL, called_at INTEGER NOT NULL) STRICT"
    )
    conn.execute("CREATE INDEX IF NOT EXISTS calls_path_id_called_at ON calls (path_id, called_at)")
    index_sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'calls_path_id_called_at'"
    ).fetchone()[0]

    def step(message):
        log(f"{message} in {time.monotonic() - start:.1f} s")

    def series(n_from, n_to, select):
        return (
            f"WITH RECURSIVE s(i) AS (SELECT {n_from} UNION ALL SELECT i + 1 FROM s WHERE i < {n_to}) "
            f"INSERT INTO calls (path_id, called_at) {select}"
        )

    conn.execute("BEGIN")
    conn.execute("DELETE FROM daily_counts")
    conn.execute("DELETE FROM site_days")
    conn.execute("DELETE FROM calls")
    conn.execute("DELETE FROM paths")
    conn.execute("DROP INDEX calls_path_id_called_at")
    conn.execute("INSERT INTO paths (id, site_id, path, registered_at) VALUES (1, 1, '/big', 0)")
    conn.execute(
        f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {OTHER_PATHS}) "
        "INSERT INTO paths (id, site_id, path, registered_at) SELECT n + 1, 1, '/p/' || n, 0 FROM s"
    )
    conn.execute(
        series(0, BIG_CALLS - 1, f"SELECT 1, {t0 - SPAN_US} + i * {BIG_STEP} + (i * {MULT}) % {BIG_STEP} FROM s")
    )
    step(f"calls {BIG_CALLS}/10000000 (/big)")
    for lo in range(0, OTHER_CALLS, CHUNK):
        conn.execute(
            series(
                lo,
                lo + CHUNK - 1,
                f"SELECT 2 + i % {OTHER_PATHS}, {t0 - SPAN_US} + i * {OTHER_STEP} + (i * {MULT}) % {OTHER_STEP} FROM s",
            )
        )
        step(f"calls {BIG_CALLS + lo + CHUNK}/10000000")
    conn.execute(index_sql)
    step("calls index")
    # Footfall's index of daily_counts by day, rebuilt after the load like the calls'.
    day_index = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = 'daily_counts_day_path_id'"
    ).fetchone()
    if day_index:
        conn.execute("DROP INDEX daily_counts_day_path_id")
    conn.execute(
        f"INSERT INTO daily_counts (path_id, day, count) "
        f"SELECT path_id, called_at / {DAY_US}, count(*) FROM calls GROUP BY 1, 2"
    )
    if day_index:
        conn.execute(day_index[0])
    step("daily_counts")
    # Footfall keeps site_days as it writes daily_counts; the seed writes both.
    conn.execute(
        "INSERT INTO site_days (site_id, day, count) "
        "SELECT p.site_id, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id GROUP BY 1, 2"
    )
    step("site_days")
    # daily_dimensions from daily_counts (see the module's doc), in key order
    # (the table is clustered on its key).
    for sql in dimensions_tables("TEMP"):
        conn.execute(sql)
    conn.execute("DELETE FROM daily_dimensions")
    conn.execute(
        "INSERT INTO daily_dimensions (path_id, dimension, day, value, count) "
        + dimensions_select("d.day", "min", "max")
        + " ORDER BY 1, 2, 3, 4"
    )
    step("daily_dimensions")
    # As on PostgreSQL: site_dimensions, if this schema has it, as its migration fills it.
    if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'site_dimensions'").fetchone():
        conn.execute("DELETE FROM site_dimensions")
        conn.execute(SITE_DIMENSIONS_FILL)
        step("site_dimensions (the migration's fill)")
    # registered_at: microseconds, as Footfall writes it.
    conn.execute(
        "UPDATE paths SET total = t.n, first_call = t.f, last_call = t.l, registered_at = t.f "
        "FROM (SELECT path_id, count(*) AS n, min(called_at) AS f, max(called_at) AS l FROM calls GROUP BY path_id) t "
        "WHERE paths.id = t.path_id"
    )
    step("totals")
    conn.execute("COMMIT")
    # No ANALYZE: Footfall never runs it, so a real database has no sqlite_stat1 either.
    conn.execute("PRAGMA journal_mode = WAL")
    rows = [conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("paths", "calls", "daily_counts", "daily_dimensions")]
    total = conn.execute("SELECT sum(total) FROM paths").fetchone()[0]
    conn.close()
    log(f"rows: paths {rows[0]}, calls {rows[1]}, daily_counts {rows[2]}, daily_dimensions {rows[3]}, "
        f"sum(total) {total}")


# ----------------------------------------------------------------- checks
TIME_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$")


def micros(text):
    """RFC 3339 → exact microseconds since the epoch (no float on the way)."""
    import calendar

    m = TIME_RE.match(text)
    if not m:
        raise ValueError(f"not RFC 3339: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = (m.group(7) or "").ljust(9, "0")
    if int(frac[6:]):
        raise ValueError(f"sub-microsecond digits in {text!r}")
    zone = m.group(8)
    offset = 0 if zone == "Z" else (1 if zone[0] == "+" else -1) * (int(zone[1:3]) * 60 + int(zone[4:6])) * 60
    seconds = calendar.timegm((y, mo, d, h, mi, s)) - offset
    return seconds * 1_000_000 + int(frac[:6])


def check(dir_, t0, problems):
    def body(name):
        with open(os.path.join(dir_, name + ".body"), "rb") as f:
            return f.read()

    def headers(name):
        with open(os.path.join(dir_, name + ".headers"), encoding="latin-1") as f:
            return f.read()

    def expect(cond, message):
        if not cond:
            problems.append(f"{os.path.basename(dir_)}: {message}")

    counts = json.loads(body("api_counts"))
    expect(len(counts) == 1 + OTHER_PATHS, f"/api/counts has {len(counts)} paths, not {1 + OTHER_PATHS}")
    expect(counts[:1] == [{"path": "/big", "count": BIG_CALLS}], f"/api/counts starts with {counts[:1]}")
    expect(sum(c["count"] for c in counts) == BIG_CALLS + OTHER_CALLS, "/api/counts does not sum to 10,000,000")
    expect(
        counts == sorted(counts, key=lambda c: (-c["count"], c["path"])),
        "/api/counts is not ordered by count descending, then path",
    )
    expected_other = {f"/p/{n}": other_calls_of(n, t0)[0] for n in range(1, OTHER_PATHS + 1)}
    got_other = {c["path"]: c["count"] for c in counts if c["path"] != "/big"}
    expect(got_other == expected_other, "/api/counts: some /p/N counts differ from the seed")

    def summary(name, path, count, first, last):
        s = json.loads(body(name))
        expect(s.get("path") == path and s.get("count") == count, f"{name}: {s}")
        for key, want in (("first", first), ("last", last)):
            try:
                got = micros(s.get(key) or "")
            except ValueError as e:
                expect(False, f"{name}.{key}: {e}")
                continue
            expect(got == want, f"{name}.{key} = {s.get(key)} ({got}), seeded {want}")

    summary("api_counts_big", "/big", BIG_CALLS, big_call(t0, 0), big_call(t0, BIG_CALLS - 1))
    summary("api_counts_p5000", "/p/5000", *other_calls_of(5000, t0))

    days = json.loads(body("api_history_big_day"))
    first_day = big_call(t0, 0) // DAY_US
    today = t0 // DAY_US
    expect(sum(d["count"] for d in days) == BIG_CALLS, "history bucket=day does not sum to 1,000,000")
    expect(len(days) == today - first_day + 1, f"history bucket=day has {len(days)} days, not {today - first_day + 1}")
    try:
        starts = [micros(d["start"]) for d in days]
        expect(
            starts == [(first_day + k) * DAY_US for k in range(len(days))],
            "history bucket=day: starts are not consecutive UTC midnights from the first call's day",
        )
        # Per-day counts recomputed from the formula.
        want = {}
        for i in range(BIG_CALLS):
            day = big_call(t0, i) // DAY_US
            want[day] = want.get(day, 0) + 1
        got = {s // DAY_US: d["count"] for s, d in zip(starts, days) if d["count"]}
        expect(got == want, "history bucket=day: per-day counts differ from the seed")
    except ValueError as e:
        expect(False, f"history bucket=day: {e}")

    raw = json.loads(body("api_history_big_raw"))
    expect(len(raw) == 10_000, f"raw history page has {len(raw)} items, not 10000")
    try:
        got = [micros(t) for t in raw]
        expect(got == [big_call(t0, i) for i in range(len(raw))], "raw history page: times differ from the seed")
    except ValueError as e:
        expect(False, f"raw history: {e}")
    link = [h for h in headers("api_history_big_raw").splitlines() if h.lower().startswith("link:")]
    expect(len(link) == 1 and 'rel="next"' in link[0] and "after=" in link[0], f"raw history Link header: {link}")
    if os.path.exists(os.path.join(dir_, "api_history_big_mid.body")):
        mid = json.loads(body("api_history_big_mid"))
        try:
            got = [micros(t) for t in mid]
            want = [big_call(t0, i) for i in range(BIG_MID + 1, BIG_MID + 10_001)]
            expect(got == want, "history page from the middle of /big: times differ from the seed")
        except ValueError as e:
            expect(False, f"history page from the middle of /big: {e}")

    svg = body("api_plot_big")
    expect(svg.lstrip().startswith(b"<svg") or svg.lstrip().startswith(b"<?xml"), "/api/plot/big is not SVG")
    expect(len(svg) < 100_000, f"/api/plot/big is {len(svg)} bytes (limit 100,000)")
    page = body("plot_big")
    expect(b"<svg" in page and b"/big" in page, "/plot/big has no chart or title")
    home = body("root")
    expect(b"/plot/big" in home and b"1\xe2\x80\x9350 of 10,000 pages" in home,
           "/ does not list /big first of 10,000 pages, 50 a page")
    expect(b"Browsers" in home and b"Chrome" in home and b"Referrers" in home and b"(direct)" in home,
           "/ does not show the seeded browsers and referrers")
    # Site-wide dimensions over all days: every kind sums to the calls.
    for name, dim, values in (("api_dims_browser", "browser", {a.split("|")[0] for a in AGENTS}),
                              ("api_dims_referrer", "referrer", set(REFERRERS))):
        got = json.loads(body(name))
        if not isinstance(got, list):
            expect(False, f"/api/dimensions?dim={dim} answered {got}")
            continue
        expect(sum(v["count"] for v in got) == BIG_CALLS + OTHER_CALLS,
               f"/api/dimensions?dim={dim} does not sum to 10,000,000")
        expect({v["value"] for v in got} == values, f"/api/dimensions?dim={dim}: values {[v['value'] for v in got]}")
        expect(got == sorted(got, key=lambda v: (-v["count"], v["value"].encode())),
               f"/api/dimensions?dim={dim} is not ordered by count descending, then value")
    found = body("root_search")
    expect(b"/plot/p/5050" in found and b"51\xe2\x80\x93100 of 111 pages" in found,
           "/?q=p/50&sort=name&page=2 does not show /p/5050 among the 111 matches")


def compare(a, b, problems):
    """Both stores hold the same rows, so their JSON must match byte for byte."""
    for name in ("api_counts", "api_counts_big", "api_counts_p5000", "api_history_big_day", "api_history_big_raw",
                 "api_history_big_mid", "api_dims_browser", "api_dims_referrer", "api_dims_browser_7",
                 "api_dims_referrer_7"):
        with open(os.path.join(a, name + ".body"), "rb") as f, open(os.path.join(b, name + ".body"), "rb") as g:
            if f.read() != g.read():
                problems.append(f"{name}: PostgreSQL and SQLite answers differ")
    for name in ("api_plot_big", "plot_big", "root", "root_30", "root_search", "root_total", "root_all",
                 "api_history_site"):
        with open(os.path.join(a, name + ".body"), "rb") as f, open(os.path.join(b, name + ".body"), "rb") as g:
            if f.read() != g.read():
                problems.append(f"{name}: PostgreSQL and SQLite answers differ (HTML/SVG)")


# The call of /big the paging endpoint of bench/read.sh starts after.
BIG_MID = 500_000


def main(argv):
    if len(argv) >= 2 and argv[0] == "big-mid":
        # RFC 3339 (UTC, microseconds) of call BIG_MID of /big, for a URL.
        import datetime
        at = datetime.datetime.fromtimestamp(0, datetime.timezone.utc) + datetime.timedelta(
            microseconds=big_call(int(argv[1]), BIG_MID))
        print(at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
        return 0
    if len(argv) >= 2 and argv[0] == "postgres-sql":
        sys.stdout.write(postgres_sql(int(argv[1])))
    elif len(argv) >= 3 and argv[0] == "sqlite":
        seed_sqlite(argv[1], int(argv[2]))
    elif len(argv) >= 3 and argv[0] == "check":
        t0 = int(argv[2])
        problems = []
        check(argv[1], t0, problems)
        if len(argv) >= 4:
            check(argv[3], t0, problems)
            compare(argv[1], argv[3], problems)
        for p in problems:
            print(p)
        return 1 if problems else 0
    else:
        print(__doc__, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
