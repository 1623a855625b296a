-- config: dkim
-- With only dkim enabled, outpost asks for connect, MAIL, RCPT (for
-- limits.max_recipients and the event's recipients), headers and body,
-- skips HELO, wants no reply to MAIL FROM (its verdicts are given at RCPT
-- TO: milter.mail_verdicts_at_rcpt's default), headers, end of headers or
-- body chunks, and asks for header values with their leading space.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

lib.run(function()
	local conn = lib.connect()
	local want = {
		{ "NOHELO", SMFIP_NOHELO, true }, { "NORCPT", SMFIP_NORCPT, false },
		{ "NOCONNECT", SMFIP_NOCONNECT, false }, { "NOMAIL", SMFIP_NOMAIL, false },
		{ "NOHDRS", SMFIP_NOHDRS, false }, { "NOBODY", SMFIP_NOBODY, false },
		{ "NR_HDR", SMFIP_NR_HDR, true }, { "NR_BODY", SMFIP_NR_BODY, true },
		{ "NR_EOH", SMFIP_NR_EOH, true }, { "NR_CONN", SMFIP_NR_CONN, true },
		{ "NR_MAIL", SMFIP_NR_MAIL, true }, { "NR_RCPT", SMFIP_NR_RCPT, false }, { "HDR_LEADSPC", SMFIP_HDR_LEADSPC, true },
	}
	for _, w in ipairs(want) do
		local got = mt.test_option(conn, w[2])
		lib.expect(got == w[3], "protocol flag " .. w[1], tostring(got), tostring(w[3]))
	end
	lib.expect(mt.test_action(conn, SMFIF_ADDHDRS), "action ADDHDRS", "no", "yes")
	lib.expect(mt.test_action(conn, SMFIF_QUARANTINE), "action QUARANTINE", "no", "yes")
	lib.expect(not mt.test_action(conn, SMFIF_CHGBODY), "action CHGBODY", "yes", "no")
	mt.disconnect(conn)
end)
