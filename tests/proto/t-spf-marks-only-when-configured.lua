-- config: spf-mark
-- With spf.on_fail = "mark" a failing sender gets through, marked
-- spf=fail; neutral and none are marked too; a skip-listed client is not
-- checked at all (conf spf: skip_clients) -- here, the default lists.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local cases = { { "<bob@fail.example.org>", "spf=fail smtp.mailfrom=bob@fail.example.org" },
		{ "<nina@neutral.example.org>", "spf=neutral smtp.mailfrom=nina@neutral.example.org" },
		{ "<nora@nospf.example.org>", "spf=none smtp.mailfrom=nora@nospf.example.org" },
		{ "<tom@temp.example.org>", "spf=temperror (DNS lookup failed: temp.example.org TXT) smtp.mailfrom=tom@temp.example.org" } }
	for i, c in ipairs(cases) do
		local conn = s.client("198.51.100.7", "mx.example.net")
		lib.expect(s.mail(conn, c[1], "M" .. i) == "continue", "reply at MAIL for " .. c[1],
			lib.reply(conn), "continue")
		lib.expect(s.message(conn, s.hdrs, s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
		s.contains("A-R for " .. c[1], s.header(conn, "Authentication-Results"), c[2])
		mt.disconnect(conn)
	end
end)
