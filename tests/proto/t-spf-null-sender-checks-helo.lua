-- config: spf
-- For the null sender the identity is the HELO name: spf=pass
-- smtp.helo=..., and Received-SPF says identity=helo.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("192.0.2.7", "helo.example.net")
	lib.expect(s.mail(conn, "<>", "N1") == "continue", "reply at MAIL", lib.reply(conn), "continue")
	lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
	s.contains("A-R", s.header(conn, "Authentication-Results"), "spf=pass smtp.helo=helo.example.net")
	s.contains("Received-SPF", s.header(conn, "Received-SPF"), "identity=helo;")
	mt.disconnect(conn)
	-- the same HELO from a client it does not name: fail, refused
	conn = s.client("198.51.100.7", "helo.example.net")
	local r = s.mail(conn, "<>", "N2")
	lib.expect(r == "replycode", "reply at MAIL", r, "replycode (550)")
	s.contains("summary", lib.wait_log("N2: outpost: end=mail"), "spf=fail identity=helo domain=helo.example.net")
	mt.disconnect(conn)
end)
