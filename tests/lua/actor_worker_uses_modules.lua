-- An actor uses the built-in modules like the main VM does (in a worker they load on first use).
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local w = spawn_vm('.')
  w:send(inbox)
  print('main: worker says', inbox:receive())
else
  local back = inbox:receive()
  local time, mutex, json, stream, ip, system = require 'time', require 'mutex', require 'json',
    require 'stream', require 'ip', require 'system'
  local future = require 'future'
  local m = mutex.new()
  m:lock()
  time.sleep(0)
  m:unlock()
  local p, f = future.new()
  spawn(function() p:set_value('fulfilled') end)
  local acceptor = ip.tcp.acceptor.new()
  acceptor:open('v4')
  acceptor:bind(ip.address.loopback_v4(), 0)
  acceptor:listen()
  spawn(function()
    local s = ip.tcp.socket.new()
    s:open('v4')
    s:connect(ip.address.loopback_v4(), acceptor.local_port)
    stream.write_all(s, 'ping')
    s:close()
  end)
  local conn = acceptor:accept()
  local buf = byte_span.new(4)
  stream.read_all(conn, buf)
  back:send(json.encode({ got = tostring(buf), future = f:get(), args = #system.arguments }))
end
