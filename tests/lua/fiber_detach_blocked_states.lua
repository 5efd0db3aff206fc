-- detach fibers blocked in every kind of wait: each runs on to its end once unblocked.
local ip = require 'ip'
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local future = require 'future'

local m, cm, cv = mutex.new(), mutex.new(), condition_variable.new()
local p, fut = future.new()
local client, server, acceptor = require('./lib_tcp').connected_pair()

local done = {}
local all_done_p, all_done = future.new()
local function finished(name)
  done[#done + 1] = name
  if #done == 6 then all_done_p:set_value() end
end

m:lock()
local fibers = {
  spawn(function() m:lock() m:unlock() finished('mutex') end),
  spawn(function()
    cm:lock()
    cv:wait(cm)
    cm:unlock()
    finished('condition')
  end),
  spawn(function()
    acceptor:accept():close()
    finished('accept')
  end),
  spawn(function()
    server:read_some(byte_span.new(4))
    finished('read')
  end),
  spawn(function() fut:get() finished('future') end),
}
local inner = spawn(function() return fut:get() end)
fibers[#fibers + 1] = spawn(function() inner:join() finished('join') end)
this_fiber.yield()
for _, f in ipairs(fibers) do f:detach() end
print('all detached while blocked')

m:unlock()
cm:lock()
cv:notify_one()
cm:unlock()
local c2 = ip.tcp.socket.new()
c2:connect('127.0.0.1', acceptor.local_port)
client:write_some('ping')
p:set_value('value')
all_done:get()
table.sort(done)
print(table.concat(done, ' '))
c2:close()
client:close()
server:close()
acceptor:close()
