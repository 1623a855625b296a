-- config: spf-tenants
-- A tenant's own spf policy applies to mail for its domains: with tenant
-- policies configured, the decision moves from MAIL FROM to each RCPT
-- (still before DATA).  A softfail sender is refused (550 5.7.23) for the
-- strict tenant's recipient and accepted for another domain (the global
-- policy marks softfail) in the same transaction; a hard fail is held, not
-- refused, for the lenient tenant.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("198.51.100.7", "mx.example.net")
	lib.expect(s.mail(conn, "<carol@soft.example.org>", "P1") == "continue", "reply at MAIL",
		lib.reply(conn), "continue (decided per recipient)")
	lib.rcptto(conn, "<a@strict.example>")
	lib.expect(lib.reply(conn) == "replycode", "RCPT strict.example", lib.reply(conn),
		"replycode (550 5.7.23)")
	local line = lib.wait_log("P1: rcpt=<a@strict.example> reject")
	s.contains("refusal", line, "SPF softfail")
	lib.rcptto(conn, "<b@other.example>")
	lib.expect(lib.reply(conn) == "continue", "RCPT other.example", lib.reply(conn), "continue")
	lib.headers(conn, s.hdrs)
	lib.body(conn, s.body)
	lib.eom(conn)
	lib.expect(lib.reply(conn) == "continue", "reply at EOM", lib.reply(conn), "continue")
	lib.expect(not mt.eom_check(conn, MT_QUARANTINE), "quarantined", "held", "not held")
	-- A hard fail: held for the lenient tenant, refused (global) elsewhere.
	lib.expect(s.mail(conn, "<dave@fail.example.org>", "P2") == "continue", "reply at MAIL P2",
		lib.reply(conn), "continue")
	lib.rcptto(conn, "<c@other.example>")
	lib.expect(lib.reply(conn) == "replycode", "RCPT other.example (fail)", lib.reply(conn),
		"replycode (550 5.7.23, global policy)")
	lib.rcptto(conn, "<d@lenient.example>")
	lib.expect(lib.reply(conn) == "continue", "RCPT lenient.example", lib.reply(conn), "continue")
	lib.headers(conn, s.hdrs)
	lib.body(conn, s.body)
	lib.eom(conn)
	lib.expect(mt.eom_check(conn, MT_QUARANTINE), "P2 quarantined", "not held", "held")
	mt.disconnect(conn)
end)
