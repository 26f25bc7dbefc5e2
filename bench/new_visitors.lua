-- Shape 2, new visitors: every request comes from a new visitor (a fresh
-- X-Forwarded-For address) and hits one of PAGES known pages, so every hit
-- must be recorded exactly once.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local headers = { ["User-Agent"] = USER_AGENT }

function request()
  count_sent()
  sent_new = sent
  headers["X-Forwarded-For"] = visitor_ip(sent)
  return wrk.format("GET", PREFIX .. "/call/p" .. page_of(sent), headers)
end
