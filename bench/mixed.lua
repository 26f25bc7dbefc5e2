-- Shape 3, mixed: 9 of every 10 requests repeat (the repeat visitor on the
-- repeat page), 1 in 10 is a new visitor on one of PAGES known pages.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local repeat_headers = { ["User-Agent"] = USER_AGENT, ["X-Forwarded-For"] = REPEAT_IP }
local new_headers = { ["User-Agent"] = USER_AGENT }

function request()
  count_sent()
  if sent % 10 ~= 0 then
    return wrk.format("GET", "/call/repeat", repeat_headers)
  end
  sent_new = sent_new + 1
  new_headers["X-Forwarded-For"] = visitor_ip(sent_new)
  return wrk.format("GET", "/call/p" .. page_of(sent_new), new_headers)
end
