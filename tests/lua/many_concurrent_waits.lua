-- Many operations in flight at once: 20 000 concurrent sleeps and 200 concurrent reads.
local time = require 'time'
local ip = require 'ip'

local N = 20000
local fibers, woke = {}, 0
for i = 1, N do
  fibers[i] = spawn(function()
    time.sleep(0.05)
    woke = woke + 1
  end)
end
for i = 1, N do fibers[i]:join() end
print('sleepers woke', woke)

local M = 200
local a = ip.tcp.acceptor.new()
a:bind('127.0.0.1', 0)
a:listen()
local servers, clients, readers = {}, {}, {}
local accepting = spawn(function()
  for i = 1, M do servers[i] = a:accept() end
end)
for i = 1, M do
  clients[i] = ip.tcp.socket.new()
  clients[i]:connect('127.0.0.1', a.local_port)
end
accepting:join()
for i = 1, M do
  readers[i] = spawn(function()
    local b = byte_span.new(8)
    local n = servers[i]:read_some(b)
    return tostring(b:slice(1, n))
  end)
end
this_fiber.yield()
for i = M, 1, -1 do clients[i]:write_some('c' .. i) end
local good = 0
for i = 1, M do
  if readers[i]:join() == 'c' .. i then good = good + 1 end
end
print('readers got their own data', good)
for i = 1, M do
  clients[i]:close()
  servers[i]:close()
end
a:close()
