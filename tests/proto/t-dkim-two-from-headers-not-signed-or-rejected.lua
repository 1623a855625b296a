-- config: dkim-strict
-- Two From headers: never signed; with dkim.on_multiple_from = reject the
-- message is refused at end of message with 550 5.7.1.  A message without
-- From is not signed either.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.mailfrom(conn, "<a@example.org>", "Q5")
	lib.headers(conn, { { "From", " a@example.org" }, { "From", " b@example.org" } })
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "replycode")
	lib.expect_smtpreply(conn, "550", "5.7.1", "message must have exactly one From header (RFC 5322)")
	local line = lib.wait_log("Q5: outpost: end=eom")
	lib.expect(line:find('dkim=skip reason="several From headers"', 1, true), "summary", line,
		'dkim=skip reason="several From headers"')
	lib.mailfrom(conn, "<a@example.org>", "Q6")
	lib.headers(conn, { { "Subject", " no from" } })
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "replycode")
	line = lib.wait_log("Q6: outpost: end=eom")
	lib.expect(line:find('dkim=skip reason="no From header"', 1, true), "summary", line, "no From header")
	mt.disconnect(conn)
end)
