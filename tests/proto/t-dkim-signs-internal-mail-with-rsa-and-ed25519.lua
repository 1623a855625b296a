-- config: dkim
-- Mail from an internal client (loopback) for a domain with two keys gets
-- two signatures, and both verify with dkimpy and Mail::DKIM (RSA).
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	local hdrs = { { "From", " Alice <alice@example.org>" }, { "To", " bob@example.net" },
		{ "Subject", " signed twice" }, { "Date", " Mon, 23 Nov 2026 10:00:00 +0000" },
		{ "Message-ID", " <1@example.org>" } }
	local body = "Hello,\r\n\r\nthis is   a test.\r\n\r\n\r\n"
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.mailfrom(conn, "<alice@example.org>", "Q1")
	lib.rcptto(conn, "<bob@example.net>")
	lib.headers(conn, hdrs)
	lib.body(conn, body)
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "continue")
	lib.expect(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"), "DKIM-Signature inserted", "none", "two")
	lib.save_delivered(conn, "two-keys", { ["DKIM-Signature"] = 2 }, hdrs, body)
	local line = lib.wait_log("Q1: outpost: end=eom")
	lib.expect(line:find("dkim=sign d=example.org s=rsa,ed a=rsa%-sha256,ed25519%-sha256"),
		"summary", line, "dkim=sign d=example.org s=rsa,ed a=rsa-sha256,ed25519-sha256")
	print(lib.verify_external())
	mt.disconnect(conn)
end)
