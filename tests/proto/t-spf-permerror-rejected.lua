-- config: spf
-- A broken record (ip4:192.0.2.300) and a record past the void-lookup
-- limit are permerror: with spf.on_permerror = reject, 550 5.7.24.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("192.0.2.7", "mx.example.net")
	local r = s.mail(conn, "<erin@perm.example.org>", "E1")
	lib.expect(r == "replycode", "reply at MAIL (grammar)", r, "replycode (550)")
	local line = lib.wait_log("E1: outpost: end=mail")
	s.contains("summary", line, 'verdict=reject reply="550 5.7.24" by=spf')
	s.contains("problem", line, "ip4: bad address")
	r = s.mail(conn, "<erin@limit.example.org>", "E2")
	lib.expect(r == "replycode", "reply at MAIL (void lookups)", r, "replycode (550)")
	line = lib.wait_log("E2: outpost: end=mail")
	s.contains("summary", line, 'reply="550 5.7.24"')
	s.contains("problem", line, "more than 2 void lookups")
	mt.disconnect(conn)
end)
