-- lib.lua - shared helpers for outpost's miltertest scripts.
--
-- Each t-<module>-<case>.lua script starts with "-- config: NAME" naming
-- tests/proto/conf/NAME.conf; run-one.sh starts outpost with it and runs
-- the script with the globals `socket` (where outpost listens) and `logfile`
-- (outpost's stderr) defined by `miltertest -D`.
--
-- Debian 12's miltertest prints nothing for a Lua error and exits 1, so
-- lib.run() wraps the test in xpcall and prints the traceback.

local lib = {}

-- Fail with what was got and what was wanted.
function lib.expect(ok, what, got, want)
	if not ok then
		error(string.format("FAIL: %s: got %s, wanted %s", what, tostring(got), tostring(want)), 2)
	end
end

-- A connection to outpost, negotiated with the defaults an MTA offers.
function lib.connect()
	local conn = mt.connect(socket, 40, 0.05)
	lib.expect(conn ~= nil, "connect to " .. socket, "nil", "a connection")
	local err = mt.negotiate(conn, nil, nil, nil)
	lib.expect(err == nil, "negotiate", err, "nil")
	return conn
end

-- True when outpost asked the MTA to skip a step (SMFIP_NO* bit).
function lib.skipped(conn, opt)
	return mt.test_option(conn, opt)
end

local reply_names = {
	[SMFIR_CONTINUE] = "continue", [SMFIR_ACCEPT] = "accept", [SMFIR_REJECT] = "reject",
	[SMFIR_TEMPFAIL] = "tempfail", [SMFIR_DISCARD] = "discard", [SMFIR_REPLYCODE] = "replycode",
}

-- Name of the last reply on conn.
function lib.reply(conn)
	local r = mt.getreply(conn)
	return reply_names[r] or tostring(r)
end

function lib.expect_reply(conn, stage, want)
	local got = lib.reply(conn)
	lib.expect(got == want, "reply at " .. stage, got, want)
end

-- The reply at end of message was exactly "code xcode text".  (Debian 12's
-- miltertest only matches MT_SMTPREPLY when all three parts are given.)
function lib.expect_smtpreply(conn, code, xcode, text)
	lib.expect(mt.eom_check(conn, MT_SMTPREPLY, code, xcode, text), "reply",
		lib.reply(conn), code .. " " .. xcode .. " " .. text)
end

-- Connect info with the macros Postfix sends (client_addr etc.).
function lib.conninfo(conn, host, ip, macros)
	local m = macros or {}
	mt.macro(conn, SMFIC_CONNECT, "{client_addr}", ip, "{client_name}", host,
		"{daemon_name}", m.daemon_name or "mx", "j", "mx.example.test")
	if lib.skipped(conn, SMFIP_NOCONNECT) then return end
	local err = mt.conninfo(conn, host, ip)
	lib.expect(err == nil, "conninfo", err, "nil")
end

-- MAIL FROM with queue id and optional SASL login.
function lib.mailfrom(conn, from, qid, login)
	if login then
		mt.macro(conn, SMFIC_MAIL, "i", qid, "{auth_authen}", login, "{auth_type}", "PLAIN")
	else
		mt.macro(conn, SMFIC_MAIL, "i", qid)
	end
	if lib.skipped(conn, SMFIP_NOMAIL) then return end
	local err = mt.mailfrom(conn, from)
	lib.expect(err == nil, "mailfrom", err, "nil")
end

function lib.rcptto(conn, rcpt)
	if lib.skipped(conn, SMFIP_NORCPT) then return end
	local err = mt.rcptto(conn, rcpt)
	lib.expect(err == nil, "rcptto " .. rcpt, err, "nil")
end

-- Send headers (a list of {name, value}, value as it follows the colon,
-- usually " text") and end of headers.  miltertest adds the leading space
-- itself when the filter asked for SMFIP_HDR_LEADSPC, as Postfix does, so
-- one leading space is removed here.
function lib.headers(conn, hdrs)
	if not lib.skipped(conn, SMFIP_NOHDRS) then
		for _, h in ipairs(hdrs) do
			local v = h[2]
			if mt.test_option(conn, SMFIP_HDR_LEADSPC) and v:sub(1, 1) == " " then v = v:sub(2) end
			local err = mt.header(conn, h[1], v)
			lib.expect(err == nil, "header " .. h[1], err, "nil")
		end
	end
	if not lib.skipped(conn, SMFIP_NOEOH) then
		local err = mt.eoh(conn)
		lib.expect(err == nil, "eoh", err, "nil")
	end
end

function lib.body(conn, text)
	if lib.skipped(conn, SMFIP_NOBODY) then return end
	local err = mt.bodystring(conn, text)
	lib.expect(err == nil, "body", err, "nil")
end

function lib.eom(conn)
	local err = mt.eom(conn)
	lib.expect(err == nil, "eom", err, "nil")
end

-- outpost's log so far, as one string.
function lib.log()
	local f = io.open(logfile, "r")
	if not f then return "" end
	local s = f:read("*a")
	f:close()
	return s
end

-- Wait (up to 2 s) for a log line matching the Lua pattern; returns it.
function lib.wait_log(pattern)
	for _ = 1, 40 do
		for line in lib.log():gmatch("[^\n]+") do
			if line:find(pattern) then return line end
		end
		mt.sleep(0.05)
	end
	error(string.format("FAIL: log line matching %q: got none, log was:\n%s", pattern, lib.log()), 2)
end

-- Write the message as delivered: the headers outpost inserted at the top
-- (name -> count, fetched with mt.getheader), then hdrs and body, CRLF line
-- ends, into dir/signed/NAME.eml for verify_external().
function lib.save_delivered(conn, name, inserted, hdrs, body)
	local f = assert(io.open(dir .. "/signed/" .. name .. ".eml", "wb"))
	for hname, count in pairs(inserted) do
		for i = 0, count - 1 do
			local v = mt.getheader(conn, hname, i)
			lib.expect(v ~= nil, hname .. " #" .. i, "nil", "a value")
			f:write(hname .. ":" .. (v:sub(1, 1) == " " and "" or " ") .. v:gsub("\r?\n", "\r\n") .. "\r\n")
		end
	end
	for _, h in ipairs(hdrs) do f:write(h[1] .. ":" .. h[2]:gsub("\r?\n", "\r\n") .. "\r\n") end
	f:write("\r\n" .. body)
	f:close()
end

-- Verify every saved message's signatures with dkimpy and Mail::DKIM (not
-- libopendkim, not outpost); returns the verifiers' summary line.
function lib.verify_external()
	local cmd = string.format("sh %s/tests/dkim/verify_external.sh %s/signed %s/dns.txt 2>&1",
		srcdir, dir, dir)
	local p = io.popen(cmd)
	local out = p:read("*a")
	local ok = p:close()
	lib.expect(ok, "external DKIM verification", out, "all signatures verified")
	return out
end

-- Send SIGHUP to outpost.
function lib.reload()
	os.execute("kill -HUP " .. pid)
end

-- Run main() and turn any error into a printed message and exit status 1.
function lib.run(main)
	local ok, err = xpcall(main, debug.traceback)
	if not ok then
		print(err)
		os.exit(1)
	end
	print("ok")
end

return lib
