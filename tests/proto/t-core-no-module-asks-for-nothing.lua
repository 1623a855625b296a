-- config: plain
-- With no module enabled, outpost asks the MTA to skip every step it can
-- and ends each message without a single modification: the message passes
-- byte for byte.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	for name, opt in pairs({ connect = SMFIP_NOCONNECT, helo = SMFIP_NOHELO,
		mail = SMFIP_NOMAIL, rcpt = SMFIP_NORCPT, headers = SMFIP_NOHDRS,
		eoh = SMFIP_NOEOH, body = SMFIP_NOBODY }) do
		lib.expect(lib.skipped(conn, opt), "skip flag for " .. name, "not asked", "asked")
	end
	for i = 1, 3 do
		lib.conninfo(conn, "client.example.org", "192.0.2.1")
		lib.mailfrom(conn, "<a@example.org>", "QID" .. i)
		lib.rcptto(conn, "<b@example.net>")
		lib.headers(conn, { { "From", " a@example.org" }, { "Subject", " hi" } })
		lib.body(conn, "hello\r\n")
		lib.eom(conn)
		local r = lib.reply(conn)
		lib.expect(r == "continue" or r == "accept", "reply at eom", r, "continue or accept")
		lib.expect(not mt.eom_check(conn, MT_HDRADD), "headers added", "some", "none")
		lib.expect(not mt.eom_check(conn, MT_HDRINSERT), "headers inserted", "some", "none")
		lib.expect(not mt.eom_check(conn, MT_HDRCHANGE), "headers changed", "some", "none")
		lib.expect(not mt.eom_check(conn, MT_BODYCHANGE), "body changed", "yes", "no")
	end
	mt.disconnect(conn)
end)
