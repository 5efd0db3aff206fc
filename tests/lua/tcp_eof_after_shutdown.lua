-- After the peer shuts down its sending side, read_some raises EOF once the data is drained.
local stream = require 'stream'

local client, server, acceptor = require('./lib_tcp').connected_pair()

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
