-- config: dkim
-- More headers than limits.max_headers: the message is refused at end of
-- message with the limit's reply (actions.on_limit = reject: 550 5.3.4),
-- and one log line names the limit.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	local hdrs = { { "From", " a@example.org" } }
	for i = 1, 25 do hdrs[#hdrs + 1] = { "X-Filler", " " .. i } end
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.mailfrom(conn, "<a@example.org>", "Q9")
	lib.headers(conn, hdrs)
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect_smtpreply(conn, "550", "5.3.4", "too many headers (limits.max_headers)")
	lib.wait_log("Q9: limit: too many headers")
	local line = lib.wait_log("Q9: outpost: end=eom")
	lib.expect(line:find("by=limits", 1, true), "summary", line, "by=limits")
	mt.disconnect(conn)
end)
