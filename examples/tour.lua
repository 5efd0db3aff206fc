-- A tour of the luacell runtime: fibers that sleep, lock, wait and talk TCP.
-- Run it with: cargo run --release -- run examples/tour.lua
local time = require 'time'
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local ip = require 'ip'
local stream = require 'stream'
local json = require 'json'

print('luacell tour: ' .. _CONTEXT .. ' VM, IO engine ready')

-- 1. Fibers sleep concurrently: three sleeps of 50 ms take about 50 ms in all.
local t0 = time.steady_clock.now()
local sleepers = {}
for i = 1, 3 do
  sleepers[i] = spawn(function()
    time.sleep(0.05)
    return i * i
  end)
end
local squares = {}
for i = 1, 3 do squares[i] = sleepers[i]:join() end
print(string.format('1. three 50 ms sleeps ran concurrently in %.0f ms: %s',
  (time.steady_clock.now() - t0) * 1000, table.concat(squares, ' ')))

-- 2. A mutex and a condition variable hand work from a producer to a consumer.
local m, ready, queue = mutex.new(), condition_variable.new(), {}
local consumer = spawn(function()
  local got = {}
  m:lock()
  while #got < 3 do
    while #queue == 0 do ready:wait(m) end
    got[#got + 1] = table.remove(queue, 1)
  end
  m:unlock()
  return table.concat(got, ',')
end)
for _, item in ipairs({ 'a', 'b', 'c' }) do
  m:lock()
  queue[#queue + 1] = item
  ready:notify_one()
  m:unlock()
  this_fiber.yield()
end
print('2. the consumer received ' .. consumer:join())

-- 3. Interruption cancels a pending operation; cleanups still run.
local sleeper = spawn(function()
  scope_cleanup_push(function() print('3. cleanup ran in the interrupted fiber') end)
  time.sleep(3600)
end)
this_fiber.yield()
sleeper:interrupt()
sleeper:join()
print('3. interruption_caught = ' .. tostring(sleeper.interruption_caught))

-- 4. A TCP echo between two fibers on 127.0.0.1, with JSON messages.
local acceptor = ip.tcp.acceptor.new()
acceptor:open('v4')
acceptor:bind(ip.address.loopback_v4(), 0)
acceptor:listen()
local server = spawn(function()
  local s = acceptor:accept()
  local buf = byte_span.new(1024)
  while true do
    local ok, n = pcall(s.read_some, s, buf)
    if not ok then break end -- EOF: the client shut down its side
    stream.write_all(s, buf:slice(1, n))
  end
  s:close()
end)
local client = ip.tcp.socket.new()
client:connect(ip.address.loopback_v4(), acceptor.local_port)
local request = json.encode({ op = 'echo', values = { 1, 2, 3 } })
stream.write_all(client, request)
local reply = byte_span.new(#request)
stream.read_all(client, reply)
client:shutdown('send')
server:join()
client:close()
acceptor:close()
print('4. echoed over TCP: ' .. json.encode(json.decode(tostring(reply))))
print('done')
