-- config: spf
-- A client address (the MTA's {client_addr}) that is no address, with a
-- newline and a quote in it: the check is permerror (libspf2 cannot use
-- it), rejected as spf.on_permerror says, and every log line that names
-- the address shows it escaped, so it never starts a forged line.
package.path = "./?.lua;" .. package.path
local lib = require("lib")
local s = require("lib_spf")

lib.run(function()
	local conn = lib.connect()
	mt.macro(conn, SMFIC_CONNECT, "{client_addr}", "192.0.2.7\nforged: \"x", "{client_name}",
		"mx.example.net", "{daemon_name}", "mx", "j", "mx.example.test")
	if not lib.skipped(conn, SMFIP_NOCONNECT) then
		local err = mt.conninfo(conn, "mx.example.net", "192.0.2.7")
		lib.expect(err == nil, "conninfo", err, "nil")
	end
	if not lib.skipped(conn, SMFIP_NOHELO) then
		local err = mt.helo(conn, "mx.example.net")
		lib.expect(err == nil, "helo", err, "nil")
	end
	local r = s.mail(conn, "<alice@pass.example.org>", "E1")
	lib.expect(r == "replycode", "reply at MAIL", r, "replycode (550, permerror)")
	local line = lib.wait_log("E1: outpost: end=mail")
	s.contains("summary", line, 'ip=192.0.2.7\\x0aforged: \\"x ')
	s.contains("summary", line, 'problem="cannot use client address 192.0.2.7\\x0aforged: \\"x"')
	local notice = lib.wait_log("E1: spf: permerror for ")
	s.contains("notice", notice, "from 192.0.2.7\\x0aforged: \\\"x: cannot use client address")
	for l in lib.log():gmatch("[^\n]+") do
		lib.expect(l:find("^forged") == nil, "a log line starting with the client's text", l, "none")
	end
	mt.disconnect(conn)
end)
