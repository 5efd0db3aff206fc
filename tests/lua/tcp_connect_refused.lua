-- Connecting to a port where nobody listens raises ECONNREFUSED.
local ip = require 'ip'

-- bind an acceptor to get a free port, then close it without listening
local a = ip.tcp.acceptor.new()
a:open('v4')
a:bind('127.0.0.1', 0)
local port = a.local_port
a:close()

local s = ip.tcp.socket.new()
local ok, err = pcall(s.connect, s, ip.address.loopback_v4(), port)
print(ok, err.code, tostring(err))
s:close()

-- in another fiber, with a string address
local f = spawn(function()
  local s2 = ip.tcp.socket.new()
  s2:connect('127.0.0.1', port)
end)
ok, err = pcall(f.join, f)
print(ok, err.code)
