-- Interrupting a fiber blocked in read_some cancels the read without losing later data.
local stream = require 'stream'

local client, server, acceptor = require('./lib_tcp').connected_pair()

local reader = spawn(function()
  print('reader: reading')
  server:read_some(byte_span.new(16))
  print('reader: never printed')
end)
this_fiber.yield()
reader:interrupt()
reader:join()
print('main: reader interruption_caught', reader.interruption_caught)

stream.write_all(client, 'after the cancel')
local buf = byte_span.new(16)
stream.read_all(server, buf)
print('main: read', tostring(buf))

-- an interruption raised by read_some itself, caught with pcall
local reader2 = spawn(function()
  local ok, err = pcall(server.read_some, server, byte_span.new(4))
  print('reader2: read_some raised', ok, err.code)
end)
this_fiber.yield()
reader2:interrupt()
reader2:join()
client:close()
server:close()
acceptor:close()
