-- config: spf
-- A client in spf.skip_clients is not checked: a failing domain passes
-- MAIL FROM and the summary says why.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("203.0.113.5", "backup.example.net")
	lib.expect(s.mail(conn, "<bob@fail.example.org>", "K1") == "continue", "reply at MAIL",
		lib.reply(conn), "continue")
	lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
	local ar = s.header(conn, "Authentication-Results")
	lib.expect(not ar:find("spf=", 1, true), "no spf result in A-R", ar, "none")
	s.contains("summary", lib.wait_log("K1: outpost: end=eom"), 'spf=skip reason="client in spf.skip_clients"')
	mt.disconnect(conn)
end)
