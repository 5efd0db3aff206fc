-- An IO object keeps its raw handle out of reach: writing or reading fields of the object
-- cannot reach the raw primitives or break the object.
local ip = require 'ip'
local s = ip.tcp.socket.new()
s:open('v4')
s[1] = 5
s.handle = 'x'
print('fields of a socket', next(ip.tcp.socket.new()))
s:close()
print('closed', s.is_open)
local a = ip.tcp.acceptor.new()
a[1] = 'x'
local ok, err = pcall(function() return a.local_port end)
print('an unopened acceptor', ok, err.code)
