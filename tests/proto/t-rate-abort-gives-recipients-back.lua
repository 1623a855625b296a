-- config: rate
-- rate.refund_on_abort (default true): a transaction aborted before end
-- of message gives its recipients back.  Rule login-rcpts allows 5
-- recipients an hour per login: 5 recipients, abort, 5 recipients again
-- all pass; the 6th of the second transaction is refused (451).  The log
-- says 12 counts went back: 2 messages (login-msgs, domain-dry), 5
-- recipients each for login-rcpts and login-domain.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	lib.conninfo(conn, "client.example", "192.0.2.7")
	lib.mailfrom(conn, "<abe@example.org>", "A1", "abe")
	lib.expect_reply(conn, "MAIL", "continue")
	for i = 1, 5 do
		lib.rcptto(conn, "<r@a" .. i .. ".example>")
		lib.expect_reply(conn, "RCPT " .. i, "continue")
	end
	local err = mt.abort(conn)
	lib.expect(err == nil, "abort", err, "nil")
	lib.mailfrom(conn, "<abe@example.org>", "A2", "abe")
	lib.expect_reply(conn, "MAIL again", "continue")
	for i = 1, 5 do
		lib.rcptto(conn, "<r@b" .. i .. ".example>")
		lib.expect_reply(conn, "RCPT again " .. i, "continue")
	end
	lib.rcptto(conn, "<r@b6.example>")
	lib.expect_reply(conn, "RCPT 6", "replycode")
	lib.wait_log("A1: rate: transaction aborted: 12 counts given back")
	mt.disconnect(conn)
end)
