-- config: dkim-tables
-- OpenDKIM KeyTable and refile SigningTable files load unchanged: mail of
-- example.com gets both matching entries (multiple_signatures), "%" signs
-- as the sender's domain, a domain with keys in dkim.keys uses those, and
-- an address no pattern matches is not signed.  Signatures verify with
-- dkimpy and Mail::DKIM.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

local function send(conn, qid, from, hdrs, body)
	lib.mailfrom(conn, "<" .. from .. ">", qid)
	lib.headers(conn, hdrs)
	lib.body(conn, body)
	lib.eom(conn)
	lib.expect_reply(conn, "eom", "continue")
	return lib.wait_log(qid .. ": outpost: end=eom")
end

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "localhost", "127.0.0.1")
	local body = "table signed\r\n"
	local h1 = { { "From", " a@example.com" }, { "Subject", " tables" } }
	local line = send(conn, "T1", "a@example.com", h1, body)
	lib.expect(line:find("dkim=sign d=example.com s=ed,rsa", 1, true), "summary T1", line,
		"dkim=sign d=example.com s=ed,rsa")
	lib.save_delivered(conn, "table-com", { ["DKIM-Signature"] = 2 }, h1, body)
	local h2 = { { "From", " b@sub.example.org" }, { "Subject", " percent" } }
	line = send(conn, "T2", "b@sub.example.org", h2, body)
	lib.expect(line:find("dkim=sign d=sub.example.org s=rsa", 1, true), "summary T2", line,
		"dkim=sign d=sub.example.org s=rsa (the % domain)")
	lib.save_delivered(conn, "table-percent", { ["DKIM-Signature"] = 1 }, h2, body)
	line = send(conn, "T3", "c@example.org", { { "From", " c@example.org" } }, body)
	lib.expect(line:find("dkim=sign d=example.org s=rsa", 1, true), "summary T3", line,
		"dkim=sign d=example.org s=rsa (dkim.keys first)")
	line = send(conn, "T4", "d@example.net", { { "From", " d@example.net" } }, body)
	lib.expect(line:find('dkim=skip reason="no key for example.net"', 1, true), "summary T4", line,
		"no key for example.net")
	print(lib.verify_external())
	mt.disconnect(conn)
end)
