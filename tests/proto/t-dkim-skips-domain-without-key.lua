-- config: dkim
-- Internal mail for a domain with no key passes unsigned, saying why.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.mailfrom(conn, "<carol@example.net>", "Q4")
	lib.headers(conn, { { "From", " carol@example.net" } })
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "continue")
	lib.expect(not mt.eom_check(conn, MT_HDRINSERT), "headers inserted", "some", "none")
	local line = lib.wait_log("Q4: outpost: end=eom")
	lib.expect(line:find('dkim=skip reason="no key for example.net"', 1, true), "summary", line,
		'dkim=skip reason="no key for example.net"')
	mt.disconnect(conn)
end)
