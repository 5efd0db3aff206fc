-- Both ends of a connection write and read 2 MB at the same time: on each socket a read and a
-- write are in flight together (neither side can finish its write before the other reads).
local stream = require 'stream'

local SIZE = 2 * 1024 * 1024
local client, server, acceptor = require('./lib_tcp').connected_pair()

local function pattern(seed)
  local b = byte_span.new(SIZE)
  for i = 1, SIZE, 4093 do b[i] = (i + seed) % 256 end
  return b
end

local function side(sock, seed)
  local out = pattern(seed)
  local writer = spawn(function() return stream.write_all(sock, out) end)
  local reader = spawn(function()
    local buf = byte_span.new(SIZE)
    stream.read_all(sock, buf)
    return buf
  end)
  return writer, reader
end

local cw, cr = side(client, 1)
local sw, sr = side(server, 2)
print('client wrote', cw:join())
print('server wrote', sw:join())
print('client read the server pattern', cr:join() == pattern(2))
print('server read the client pattern', sr:join() == pattern(1))
client:close()
server:close()
acceptor:close()
