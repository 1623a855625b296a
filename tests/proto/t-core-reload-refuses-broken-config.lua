-- config: dkim
-- SIGHUP with a broken config file: refused with FILE:LINE in the log, and
-- the old configuration keeps signing.  Once fixed, a SIGHUP activates it.
package.path = "./?.lua;" .. package.path
local lib = require("lib")

local function sign_one(qid)
	local conn = lib.connect()
	lib.conninfo(conn, "localhost", "127.0.0.1")
	lib.mailfrom(conn, "<a@example.org>", qid)
	lib.headers(conn, { { "From", " a@example.org" } })
	lib.body(conn, "x\r\n")
	lib.eom(conn)
	lib.expect(mt.eom_check(conn, MT_HDRINSERT, "DKIM-Signature"), qid .. " signed", "no", "yes")
	mt.disconnect(conn)
end

lib.run(function()
	local path = dir .. "/outpost.conf"
	local good = assert(io.open(path)):read("*a")
	sign_one("QA")
	local f = assert(io.open(path, "w"))
	f:write(good .. "\nlimits: { max_headers = 3; };\n")
	f:close()
	lib.reload()
	local line = lib.wait_log("reload refused")
	lib.expect(line:find(path .. ":", 1, true) and line:match(":(%d+): duplicate setting"), "error names file and line", line, path .. ":LINE: duplicate setting")
	sign_one("QB")
	f = assert(io.open(path, "w"))
	f:write(good)
	f:close()
	lib.reload()
	lib.wait_log("generation 2 from .* is active")
	sign_one("QC")
end)
