-- join on fibers blocked in every kind of wait: each join returns once its fiber is unblocked.
local ip = require 'ip'
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local future = require 'future'
local time = require 'time'

local m, cm, cv = mutex.new(), mutex.new(), condition_variable.new()
local p, fut = future.new()
local client, server, acceptor = require('./lib_tcp').connected_pair()

local release_p, release = future.new()
spawn(function()
  m:lock()
  release:get()
  m:unlock()
end):detach()
this_fiber.yield()
local fibers = {
  { 'sleep', spawn(function() time.sleep(0.01) return 'slept' end) },
  { 'mutex', spawn(function() m:lock() m:unlock() return 'locked' end) },
  { 'condition', spawn(function()
    cm:lock()
    cv:wait(cm)
    cm:unlock()
    return 'notified'
  end) },
  { 'accept', spawn(function()
    local s = acceptor:accept()
    s:close()
    return 'accepted'
  end) },
  { 'read', spawn(function()
    local buf = byte_span.new(4)
    local n = server:read_some(buf)
    return 'read ' .. tostring(buf:slice(1, n))
  end) },
  { 'future', spawn(function() return 'future ' .. fut:get() end) },
}
local inner = spawn(function() return fut:get() end)
fibers[#fibers + 1] = { 'join', spawn(function() return 'joined ' .. inner:join() end) }
this_fiber.yield()

spawn(function()
  release_p:set_value()
  cm:lock()
  cv:notify_one()
  cm:unlock()
  local c2 = ip.tcp.socket.new()
  c2:connect('127.0.0.1', acceptor.local_port)
  client:write_some('ping')
  p:set_value('value')
  c2:close()
end):detach()

for _, entry in ipairs(fibers) do
  print(entry[1], entry[2]:join())
end
client:close()
server:close()
acceptor:close()
