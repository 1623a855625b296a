-- config: spf
-- DKIM verification of external mail: a message signed by outpost itself
-- (internal, example.org, key rsa) and then relayed back as external mail
-- gives dkim=pass header.d=example.org header.s=rsa header.b=...; the same
-- message with its body changed gives dkim=fail.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = s.client("127.0.0.1", "localhost")
	lib.expect(s.mail(conn, "<alice@example.org>", "D1") == "continue", "reply at MAIL", lib.reply(conn), "continue")
	lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
	local sig = s.header(conn, "DKIM-Signature")
	lib.expect(sig ~= "", "DKIM-Signature of the internal message", "none", "one")
	mt.disconnect(conn)
	local signed = { { "DKIM-Signature", " " .. sig:gsub("^ ", ""):gsub("\r?\n", "\r\n") } }
	for _, x in ipairs(s.hdrs) do signed[#signed + 1] = x end
	local cases = { { s.body, "dkim=pass header.d=example.org header.s=rsa header.b=" },
		{ s.body .. "tampered\r\n", "dkim=fail (signature verification failed) header.d=example.org header.s=rsa" } }
	for i, c in ipairs(cases) do
		conn = s.client("192.0.2.7", "helo.example.net")
		lib.expect(s.mail(conn, "<alice@pass.example.org>", "D" .. (i + 1)) == "continue", "reply at MAIL",
			lib.reply(conn), "continue")
		lib.expect(s.message(conn, signed, c[1]) == "continue", "reply at EOM", lib.reply(conn), "continue")
		s.contains("A-R " .. i, s.header(conn, "Authentication-Results"), c[2])
		mt.disconnect(conn)
	end
end)
