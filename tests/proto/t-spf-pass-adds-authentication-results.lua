-- config: spf
-- An external sender whose domain authorizes the client passes at MAIL
-- FROM; at end of message one Authentication-Results (spf=pass
-- smtp.mailfrom, spf for HELO too: spf.check_helo) and a Received-SPF are
-- inserted at the top.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("192.0.2.7", "helo.example.net")
	lib.expect(s.mail(conn, "<alice@pass.example.org>", "P1") == "continue", "reply at MAIL",
		lib.reply(conn), "continue")
	lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
	lib.expect(mt.eom_check(conn, MT_HDRINSERT, "Authentication-Results"), "A-R inserted", "none", "one")
	local ar = s.header(conn, "Authentication-Results")
	s.contains("A-R authserv-id", ar, "mx.example.net;")
	s.contains("A-R spf", ar, "spf=pass smtp.mailfrom=alice@pass.example.org")
	s.contains("A-R helo", ar, "spf=pass smtp.helo=helo.example.net")
	s.contains("A-R dkim", ar, "dkim=none")
	local rs = s.header(conn, "Received-SPF")
	s.contains("Received-SPF", rs, "pass (mx.example.net: domain of pass.example.org designates 192.0.2.7")
	s.contains("Received-SPF identity", rs, "identity=mailfrom;")
	local line = lib.wait_log("P1: outpost: end=eom")
	s.contains("summary", line, "spf=pass identity=mailfrom domain=pass.example.org ip=192.0.2.7")
	mt.disconnect(conn)
end)
