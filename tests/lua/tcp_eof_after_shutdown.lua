-- After the peer shuts down its sending side, read_some raises EOF once the data is drained.
local ip = require 'ip'
local stream = require 'stream'

local acceptor = ip.tcp.acceptor.new()
acceptor:open('v4')
acceptor:bind('127.0.0.1', 0)
acceptor:listen()
local accepting = spawn(function() return acceptor:accept() end)
local client = ip.tcp.socket.new()
client:connect('127.0.0.1', acceptor.local_port)
local server = accepting:join()

stream.write_all(client, 'last words')
client:shutdown('send')

local buf = byte_span.new(10)
print('read_all', stream.read_all(server, buf), tostring(buf))
local ok, err = pcall(server.read_some, server, byte_span.new(10))
print(ok, err.code, tostring(err))
-- again: EOF stays EOF
ok, err = pcall(server.read_some, server, byte_span.new(10))
print(ok, err.code)
-- read_all stops with EOF too
ok, err = pcall(stream.read_all, server, byte_span.new(5))
print(ok, err.code)
-- the other direction still works
stream.write_all(server, 'reply')
local reply = byte_span.new(5)
stream.read_all(client, reply)
print('reply', tostring(reply))
client:close()
server:close()
acceptor:close()
