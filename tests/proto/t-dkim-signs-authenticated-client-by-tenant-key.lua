-- config: dkim
-- A SASL-authenticated client is internal wherever it connects from; its
-- tenant's key signs its domain, and the signature verifies externally.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	local hdrs = { { "From", " \"Alice, A.\" <alice@Example.COM> (work)" }, { "To", " bob@example.net" },
		{ "Subject", " folded\r\n\tsubject line" } }
	local body = "line one\r\nline two\r\n"
	lib.conninfo(conn, "dyn.example.net", "198.51.100.9")
	lib.mailfrom(conn, "<alice@example.com>", "Q3", "alice")
	lib.headers(conn, hdrs)
	lib.body(conn, body)
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "continue")
	lib.save_delivered(conn, "tenant", { ["DKIM-Signature"] = 1 }, hdrs, body)
	local line = lib.wait_log("Q3: outpost: end=eom")
	for _, want in ipairs({ "class=auth", "login=\"alice\"", "tenant=acme", "dkim=sign d=example.com s=rsa" }) do
		lib.expect(line:find(want, 1, true), "summary", line, want)
	end
	print(lib.verify_external())
	mt.disconnect(conn)
end)
