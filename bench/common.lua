-- Shared by the shape scripts (loaded with dofile): thread bookkeeping, the
-- visitor address plan, and one machine-readable summary line from done().
--
-- Script arguments (after `--`): RUN_ID PAGES LIMIT THREADS
--   RUN_ID  distinct per wrk invocation, so no two runs (or threads) ever
--           present the same visitor address
--   PAGES   how many known pages (/call/p1 .. /call/pPAGES) new visitors hit
--   LIMIT   requests per thread before the thread stops (0 = no limit)
--   THREADS wrk's -t, to lay out the address blocks

-- A browser's: Footfall filters bots, so every shape presents itself as Firefox.
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
-- BENCH_PATH_PREFIX=/s/default measures the site-prefixed routes (the same
-- pages of the default site); empty means the unprefixed ones.
PREFIX = os.getenv("BENCH_PATH_PREFIX") or ""
-- BENCH_PAGE_ORDER: which known page the n-th new visitor of a thread hits.
-- "sequential" (the default, and what every published figure used): p1, p2,
-- p3, ... so a batch's hits land on neighbouring pages, whose rows sit next
-- to each other in both stores. "scattered": a fixed stride coprime with
-- PAGES, so neighbouring hits land far apart, like visitors of a real site
-- spread over its pages; it measures a store whose working set is spread.
PAGE_ORDER = os.getenv("BENCH_PAGE_ORDER") or "sequential"
if PAGE_ORDER ~= "sequential" and PAGE_ORDER ~= "scattered" then
  error("BENCH_PAGE_ORDER must be sequential or scattered, not " .. PAGE_ORDER)
end
-- The one visitor of the repeat shape; outside every generated range below.
REPEAT_IP = "198.51.100.7"

local threads = {}

local function gcd(a, b)
  while b ~= 0 do a, b = b, a % b end
  return a
end

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

-- Each (run, thread) owns 2^22 consecutive IPv4 addresses from 1.0.0.0 up;
-- blocks stay below 192.0.0.0, so REPEAT_IP (and the warm-up visitor,
-- 192.0.2.1) are never generated.
local BLOCK = 4194304
local MAX_BLOCK = 764

function init(args)
  run_id = tonumber(args[1] or "0")
  pages = tonumber(args[2] or "1000")
  limit = tonumber(args[3] or "0")
  local threads = tonumber(args[4] or "8")
  sent = 0
  sent_new = 0
  local block = run_id * threads + tid
  if tid >= threads or block >= MAX_BLOCK then
    error("visitor address plan exhausted: run id " .. run_id .. ", thread " .. tid)
  end
  ip_base = 16777216 + block * BLOCK
  page_stride = 1
  if PAGE_ORDER == "scattered" then
    -- About 0.62 of the way round, so consecutive hits are never neighbours.
    page_stride = math.max(2, math.floor(pages * 0.618))
    while gcd(page_stride, pages) ~= 1 do
      page_stride = page_stride + 1
    end
  end
end

-- The page ("/call/p<k>") of this thread's n-th new visitor (see PAGE_ORDER).
function page_of(n)
  return (n * page_stride + tid * 37) % pages + 1
end

-- Counts one request; stops this thread once LIMIT is reached.
function count_sent()
  sent = sent + 1
  if limit > 0 and sent >= limit then
    wrk.thread:stop()
  end
end

-- The n-th new visitor of this thread (n >= 1) as dotted IPv4.
function visitor_ip(n)
  if n >= BLOCK then
    error("more than " .. BLOCK .. " new visitors in one thread")
  end
  local v = ip_base + n
  return string.format("%d.%d.%d.%d",
    math.floor(v / 16777216) % 256, math.floor(v / 65536) % 256,
    math.floor(v / 256) % 256, v % 256)
end

function done(summary, latency, requests)
  local total_sent, total_new = 0, 0
  for _, t in ipairs(threads) do
    total_sent = total_sent + (t:get("sent") or 0)
    total_new = total_new + (t:get("sent_new") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"non_2xx":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"sent":%d,"sent_new":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    total_sent, total_new))
end
