-- stream.write_all and stream.read_all move a large buffer completely, in pieces.
local ip = require 'ip'
local stream = require 'stream'

local SIZE = 1000000
local acceptor = ip.tcp.acceptor.new()
acceptor:open('v4')
acceptor:bind('127.0.0.1', 0)
acceptor:listen()

local function checksum(span)
  local sum = 0
  for i = 1, #span, 997 do sum = sum + span[i] * i end
  return sum
end

local payload = byte_span.new(SIZE)
for i = 1, SIZE, 997 do payload[i] = i % 251 end

local server = spawn(function()
  local s = acceptor:accept()
  local buf = byte_span.new(SIZE)
  local n = stream.read_all(s, buf)
  s:close()
  return n, checksum(buf), buf == payload
end)

local client = ip.tcp.socket.new()
client:connect('127.0.0.1', acceptor.local_port)
print('write_all wrote', stream.write_all(client, payload))
print('write_all of a string wrote', stream.write_all(client, ''))
local n, sum, same = server:join()
print('read_all read', n)
print('checksums match', sum == checksum(payload), same)

-- read_all of an empty span reads nothing and returns 0
print('read_all of nothing', stream.read_all(client, byte_span.new(0)))
client:close()
acceptor:close()

-- argument checks
local ok, err = pcall(stream.read_all, client, 'not a span')
print(ok, tostring(err))
ok, err = pcall(stream.write_all, 42, 'x')
print(ok, tostring(err))
