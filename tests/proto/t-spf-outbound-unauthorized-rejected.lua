-- config: spf
-- Internal mail: the sender domain's record must authorize our egress
-- address (spf.egress_ips = 192.0.2.10).  example.org does; example.com
-- does not, and with spf.on_unauthorized_egress = reject the reply and
-- the log name the domain, the address and the fix.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("127.0.0.1", "localhost")
	lib.expect(s.mail(conn, "<alice@example.org>", "O1") == "continue", "reply at MAIL (authorized)",
		lib.reply(conn), "continue")
	lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
	lib.expect(not mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"), "no A-R on internal mail",
		"one", "none")
	s.contains("summary", lib.wait_log("O1: outpost: end=eom"), "spf=egress-pass domain=example.org")
	mt.disconnect(conn)
	conn = s.client("127.0.0.1", "localhost")
	local r = s.mail(conn, "<bob@example.com>", "O2")
	lib.expect(r == "replycode", "reply at MAIL (unauthorized)", r, "replycode (550)")
	s.contains("log line", lib.wait_log("O2: spf: example.com does not authorize"),
		"example.com does not authorize 192.0.2.10: add ip4:192.0.2.10 or include:_spf.example.net")
	local line = lib.wait_log("O2: outpost: end=mail")
	s.contains("summary", line, 'verdict=reject reply="550 5.7.23" by=spf')
	s.contains("reply text", line, "example.com does not authorize 192.0.2.10: add ip4:192.0.2.10")
	mt.disconnect(conn)
end)
