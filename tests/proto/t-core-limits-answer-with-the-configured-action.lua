-- config: limits
-- Each bound on untrusted input gives the configured action's reply
-- (actions.on_limit = tempfail: 451 4.x.y) and one log line naming the
-- limit: the third transaction on a connection limited to two, a macro
-- longer than limits.max_macro_length.  (A header over limits.
-- max_header_length is tested with the C client: Debian's miltertest
-- overflows a buffer on headers over about 1 KB.)
package.path = "./?.lua;" .. package.path
local lib = require("lib")

local function mail(conn, qid, login)
	lib.mailfrom(conn, "<a@example.org>", qid, login)
	return lib.reply(conn)
end

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.expect(mail(conn, "L1") == "continue", "first MAIL", lib.reply(conn), "continue")
	lib.headers(conn, { { "From", " a@example.org" } })
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"), "L1 signed", "no", "yes")
	-- A SASL login longer than 64 octets: refused at MAIL.
	local r = mail(conn, "L2", string.rep("u", 65))
	lib.expect(r == "replycode", "MAIL with a 65-octet login", r, "replycode (451 4.7.0)")
	lib.wait_log("L2: limit: macro {auth_authen} longer than limits.max_macro_length")
	lib.wait_log("L2: outpost: end=mail verdict=tempfail reply=\"451 4.7.0\"")
	-- Third transaction on this connection: over max_messages_per_connection.
	r = mail(conn, "L3")
	lib.expect(r == "replycode", "third MAIL on the connection", r, "replycode (451 4.7.0)")
	local line = lib.wait_log("reason=\"too many messages on one connection")
	lib.expect(line:find("verdict=tempfail reply=\"451 4.7.0\"", 1, true), "summary", line,
		"verdict=tempfail reply=\"451 4.7.0\"")
	mt.disconnect(conn)
end)
