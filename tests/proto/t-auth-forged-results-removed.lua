-- config: spf
-- Authentication-Results fields claiming our authserv-id (mx.example.net,
-- any case, after a comment) are deleted, external and internal mail
-- alike; a field of another authserv-id stays; ours is added on top.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

local function with_forged()
	local h = {}
	for _, x in ipairs(s.hdrs) do h[#h + 1] = x end
	h[#h + 1] = { "Authentication-Results", " other.example; dkim=pass header.d=example.org" }
	h[#h + 1] = { "Authentication-Results", " mx.example.net; spf=pass smtp.mailfrom=x@fail.example.org" }
	h[#h + 1] = { "Authentication-Results", " (forged) MX.Example.NET 1; dkim=pass" }
	return h
end

lib.run(function()
	for _, c in ipairs({ { "192.0.2.7", "<alice@pass.example.org>", "A1" }, { "127.0.0.1", "<alice@example.org>", "A2" } }) do
		local conn = s.client(c[1], "helo.example.net")
		lib.expect(s.mail(conn, c[2], c[3]) == "continue", "reply at MAIL", lib.reply(conn), "continue")
		lib.expect(s.message(conn, with_forged(), s.body) == "continue", "reply at EOM", lib.reply(conn), "continue")
		lib.expect(mt.eom_check(conn, MT_HDRDELETE, "Authentication-Results"), "forged A-R deleted (" .. c[3] .. ")",
			"nothing deleted", "deleted")
		s.contains("log (" .. c[3] .. ")", lib.wait_log(c[3] .. ": auth: removed"),
			"removed 2 Authentication-Results header(s) claiming mx.example.net")
		mt.disconnect(conn)
	end
end)
