-- config: spf
-- spf.on_softfail = "hold": a softfail sender's message is accepted into
-- the MTA's hold queue, and marked spf=softfail.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("198.51.100.7", "mx.example.net")
	lib.expect(s.mail(conn, "<carol@soft.example.org>", "S1") == "continue", "reply at MAIL",
		lib.reply(conn), "continue")
	lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
	lib.expect(mt.eom_check(conn, MT_QUARANTINE), "quarantined", "not held", "held")
	s.contains("A-R", s.header(conn, "Authentication-Results"), "spf=softfail smtp.mailfrom=carol@soft.example.org")
	local line = lib.wait_log("S1: outpost: end=eom")
	s.contains("summary", line, 'hold="spf: SPF softfail for soft.example.org from 198.51.100.7"')
	mt.disconnect(conn)
end)
