-- lib_spf.lua - helpers of the spf and auth protocol tests (t-spf-*.lua,
-- t-auth-*.lua), on top of lib.lua.  DNS comes from conf/spf.zone.
local lib = require("lib")
local M = {}

-- A connection from ip, with HELO helo (outpost negotiates HELO when the
-- spf module is on).
function M.client(ip, helo)
	local conn = lib.connect()
	lib.conninfo(conn, helo, ip)
	if not lib.skipped(conn, SMFIP_NOHELO) then
		local err = mt.helo(conn, helo)
		lib.expect(err == nil, "helo", err, "nil")
	end
	return conn
end

-- MAIL FROM and the reply to it ("continue", "replycode", ...).
function M.mail(conn, from, qid)
	lib.mailfrom(conn, from, qid)
	return lib.reply(conn)
end

-- Send a whole message after MAIL FROM; returns the reply at end of message.
function M.message(conn, hdrs, body)
	lib.rcptto(conn, "<postmaster@example.net>")
	lib.headers(conn, hdrs)
	lib.body(conn, body)
	lib.eom(conn)
	return lib.reply(conn)
end

-- The value of the nth (0-based) inserted header called name, or "".
function M.header(conn, name, n)
	return mt.getheader(conn, name, n or 0) or ""
end

-- Fail unless text contains part (plain text, no patterns).
function M.contains(what, text, part)
	lib.expect(text:find(part, 1, true) ~= nil, what, text, "text containing " .. part)
end

M.hdrs = { { "From", " Alice <alice@example.org>" }, { "To", " postmaster@example.net" },
	{ "Subject", " spf test" }, { "Date", " Mon, 23 Nov 2026 10:00:00 +0000" },
	{ "Message-ID", " <spf.1@example.org>" } }
M.body = "Hello,\r\n\r\nthis is a test.\r\n"

return M
