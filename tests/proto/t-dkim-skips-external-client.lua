-- config: dkim
-- An external client's mail is not signed, and the summary says why.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "mx.example.net", "192.0.2.7")
	lib.mailfrom(conn, "<alice@example.org>", "Q2")
	lib.headers(conn, { { "From", " alice@example.org" }, { "Subject", " hi" } })
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "continue")
	lib.expect(not mt.eom_check(conn, MT_HDRINSERT), "headers inserted", "some", "none")
	local line = lib.wait_log("Q2: outpost: end=eom")
	lib.expect(line:find("dkim=skip reason=external", 1, true), "summary", line, "dkim=skip reason=external")
	lib.expect(line:find("class=external", 1, true), "class", line, "class=external")
	mt.disconnect(conn)
end)
