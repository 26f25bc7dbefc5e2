-- Shape 1, repeat: one known page, one visitor; every hit is a duplicate.
-- A static request (no request() function), so wrk spends nothing per request.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "common.lua")

wrk.method = "GET"
wrk.path = PREFIX .. "/call/repeat"
wrk.headers["X-Forwarded-For"] = REPEAT_IP
wrk.headers["User-Agent"] = USER_AGENT
