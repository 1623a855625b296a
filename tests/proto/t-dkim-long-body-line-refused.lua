-- config: dkim-strict
-- A body line over 998 octets would be rewrapped by the MTA after signing
-- and fail at the receiver: outpost never sends such a signature; with
-- dkim.on_long_lines = reject it refuses the message with 550 5.6.0.
-- A line of exactly 998 octets is signed (simple/simple), and a subdomain
-- is signed with its parent's key (dkim.subdomains).
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.mailfrom(conn, "<a@example.org>", "Q7")
	lib.headers(conn, { { "From", " a@example.org" } })
	lib.body(conn, string.rep("x", 600))
	lib.body(conn, string.rep("y", 399) .. "\r\n")
	lib.eom(conn)
	lib.expect_smtpreply(conn, "550", "5.6.0", "line longer than 998 octets (RFC 5322); fold headers, encode the body")
	local hdrs = { { "From", " a@sub.example.org" }, { "Subject", " ok" } }
	local body = string.rep("z", 998) .. "\r\n"
	lib.mailfrom(conn, "<a@sub.example.org>", "Q8")
	lib.headers(conn, hdrs)
	lib.body(conn, body)
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "continue")
	lib.save_delivered(conn, "longest-line", { ["DKIM-Signature"] = 1 }, hdrs, body)
	local line = lib.wait_log("Q8: outpost: end=eom")
	lib.expect(line:find("dkim=sign d=example.org", 1, true), "summary", line, "dkim=sign d=example.org")
	print(lib.verify_external())
	mt.disconnect(conn)
end)
