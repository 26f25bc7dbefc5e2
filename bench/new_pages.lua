-- Shape 4, new pages: every request names a page never seen before, under
-- /__404/ so the tracked site rejects it. Footfall must keep its probes of
-- the tracked site within its budget (burst + rate x seconds).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = { ["User-Agent"] = USER_AGENT, ["X-Forwarded-For"] = "203.0.113.9" }

function request()
  count_sent()
  return wrk.format("GET", "/call/__404/r" .. run_id .. "-" .. tid .. "-" .. sent, headers)
end
