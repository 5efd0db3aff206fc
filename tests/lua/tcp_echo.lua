-- A TCP echo between two fibers on 127.0.0.1 (port 0: the kernel picks a free port).
local ip = require 'ip'

local acceptor = ip.tcp.acceptor.new()
acceptor:open('v4')
acceptor:bind(ip.address.loopback_v4(), 0)
acceptor:listen()
print('listening on a kernel-chosen port', acceptor.local_port > 0)
print('local address', tostring(acceptor.local_address))

local peer
local server = spawn(function()
  local s = acceptor:accept()
  peer = tostring(s.remote_address)
  local buf = byte_span.new(64)
  local echoed = 0
  while true do
    local ok, n = pcall(s.read_some, s, buf)
    if not ok then
      print('server: read ended with', n.code)
      break
    end
    echoed = echoed + s:write_some(buf:slice(1, n))
  end
  s:close()
  return echoed
end)

local client = ip.tcp.socket.new()
client:connect(ip.address.loopback_v4(), acceptor.local_port)
print('client: connected to the acceptor port', client.remote_port == acceptor.local_port)
for _, msg in ipairs({ 'hello', 'fibers', 'over tcp' }) do
  local n = client:write_some(msg)
  local buf = byte_span.new(#msg)
  local got = 0
  while got < #msg do
    got = got + client:read_some(buf:slice(got + 1, #msg))
  end
  print('client: sent', n, 'got back', tostring(buf))
end
client:shutdown('send')
print('server echoed bytes', server:join())
print('server: peer address', peer)
client:close()
acceptor:close()
print('closed', client.is_open, acceptor.is_open)
