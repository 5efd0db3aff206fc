-- A fiber whose socket ops all finish at once still lets the other fibers run: an op that
-- completes immediately skips the switch only a bounded number of times in a row.
local ip = require 'ip'
local a = ip.tcp.acceptor.new()
a:open('v4')
a:bind('127.0.0.1', 0)
a:listen()
local server
local accepting = spawn(function() server = a:accept() end)
local c = ip.tcp.socket.new()
c:connect('127.0.0.1', a.local_port)
accepting:join()

local ticks = 0
local ticker = spawn(function()
  while true do
    ticks = ticks + 1
    this_fiber.yield()
  end
end)

local writes = 1000
for _ = 1, writes do c:write_some('0123456789') end
print('ticker ran while the writer wrote', ticks > 0)
ticker:interrupt()
ticker:join()

local buf = byte_span.new(writes * 10)
require('stream').read_all(server, buf)
print('received', #buf, 'bytes')
