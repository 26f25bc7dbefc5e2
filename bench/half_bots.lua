-- Shape "halfbots", new visitors of whom half are bots: like new_visitors.lua,
-- every request comes from a new visitor address on one of PAGES known pages,
-- but every other one says it is Googlebot. Bots are filtered (an aggregate
-- count, no call), so only the browsers' hits must be stored: sent_new counts
-- those, and run.sh checks the stored growth in "mixed" mode
-- (200s - bot requests <= stored <= browser requests).
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

local BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
local headers = {}

function request()
  count_sent()
  if sent % 2 == 0 then
    headers["User-Agent"] = BOT_AGENT
  else
    headers["User-Agent"] = USER_AGENT
    sent_new = sent_new + 1
  end
  headers["X-Forwarded-For"] = visitor_ip(sent)
  return wrk.format("GET", "/call/p" .. page_of(sent), headers)
end
