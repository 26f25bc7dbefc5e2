-- Shape 2 for OxiTraffic, which ignores X-Forwarded-For (its visitor is the
-- TCP peer, always 127.0.0.1 here): a new (visitor, page) pair per request
-- comes from a distinct page, p1 .. pN, all inserted into its `paths` table
-- beforehand so it never probes.
--
-- Script arguments: SLOT BLOCK. Thread t of slot s uses pages
-- (2s + t) * BLOCK + 1 .. (2s + t + 1) * BLOCK, so runs and threads never
-- share a page. On exhausting its block a thread stops (and says so).
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local slot = tonumber(args[1] or "0")
  block = tonumber(args[2] or "30000")
  base = (2 * slot + tid) * block
  sent = 0
  exhausted = 0
end

local headers = { ["User-Agent"] = "footfall-bench/1" }

function request()
  if sent < block then
    sent = sent + 1
  else
    exhausted = 1
    wrk.thread:stop()
  end
  return wrk.format("GET", "/call/p" .. (base + sent), headers)
end

function done(summary, latency, requests)
  local total_sent, exhausted_threads = 0, 0
  for _, t in ipairs(threads) do
    total_sent = total_sent + (t:get("sent") or 0)
    exhausted_threads = exhausted_threads + (t:get("exhausted") or 0)
  end
  if exhausted_threads > 0 then
    io.write("WARNING: " .. exhausted_threads .. " thread(s) ran out of pre-registered pages\n")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"timeouts":%d,"non_2xx":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"max_us":%d,"sent":%d,"sent_new":%d,"exhausted_threads":%d}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    total_sent, total_sent, exhausted_threads))
end
