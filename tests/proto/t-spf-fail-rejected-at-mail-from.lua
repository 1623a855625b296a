-- config: spf
-- A sender whose domain does not authorize the client is refused at MAIL
-- FROM with 550 5.7.23 (RFC 7372), the domain's explanation in the reply;
-- no DATA is spent on it.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("198.51.100.7", "mx.example.net")
	local r = s.mail(conn, "<bob@fail.example.org>", "F1")
	lib.expect(r == "replycode", "reply at MAIL", r, "replycode (550)")
	local line = lib.wait_log("F1: outpost: end=mail")
	s.contains("summary reply", line, 'verdict=reject reply="550 5.7.23" by=spf')
	s.contains("reason names domain and client", line,
		"SPF fail: 198.51.100.7 is not authorized to send for fail.example.org")
	s.contains("explanation (exp=)", line, "198.51.100.7 is not one of fail.example.org's designated mail servers.")
	s.contains("module summary", line, "spf=fail identity=mailfrom")
	mt.disconnect(conn)
end)
