-- config: spf
-- A DNS failure fetching the sender's record is temperror: 451 4.4.3 at
-- MAIL FROM (spf.on_temperror = tempfail), never a silent pass.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("192.0.2.7", "mx.example.net")
	local r = s.mail(conn, "<dave@temp.example.org>", "T1")
	lib.expect(r == "replycode", "reply at MAIL", r, "replycode (451)")
	local line = lib.wait_log("T1: outpost: end=mail")
	s.contains("summary", line, 'verdict=tempfail reply="451 4.4.3" by=spf')
	s.contains("problem", line, "DNS lookup failed: temp.example.org TXT")
	mt.disconnect(conn)
end)
