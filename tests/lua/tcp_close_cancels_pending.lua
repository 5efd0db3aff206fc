-- Closing an acceptor or socket aborts the operations pending on it with ECANCELED; the peer
-- of a closed socket reads EOF; zero-length reads and writes return 0.
local ip = require 'ip'

local a = ip.tcp.acceptor.new()
a:bind('127.0.0.1', 0)
a:listen()
local f = spawn(function() return pcall(a.accept, a) end)
this_fiber.yield()
a:close()
local ok, err = f:join()
print('accept after close', ok, err.code, tostring(err))

local c, s, a2 = require('./lib_tcp').connected_pair()
local r = spawn(function() return pcall(s.read_some, s, byte_span.new(4)) end)
this_fiber.yield()
s:close()
ok, err = r:join()
print('read after close', ok, err.code, tostring(err))
ok, err = pcall(c.read_some, c, byte_span.new(4))
print('peer read', ok, err.code)
print('zero-length read', c:read_some(byte_span.new(0)))
print('zero-length write', c:write_some(''))
c:close()
a2:close()
