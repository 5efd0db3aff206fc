-- future.new() -> promise, future: many waiters, set_value/set_error, and misuse.
local future = require 'future'

local p, fut = future.new()
local waiters = {}
for i = 1, 3 do
  waiters[i] = spawn(function() return 'waiter ' .. i .. ' got ' .. fut:get() end)
end
this_fiber.yield()
p:set_value('v')
for i = 1, 3 do print(waiters[i]:join()) end
print('get after set', fut:get())

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then print(label, 'ok') else print(label, err.code, tostring(err)) end
end
try('set_value twice', p.set_value, p, 'w')
try('set_error after value', p.set_error, p, 'e')

-- set_error: every get raises that very value
local p2, fut2 = future.new()
local e = { reason = 'because' }
local w = spawn(function() return fut2:get() end)
this_fiber.yield()
p2:set_error(e)
local ok, err = pcall(w.join, w)
print('waiter raised', ok, rawequal(err, e))
ok, err = pcall(fut2.get, fut2)
print('get raised', ok, rawequal(err, e))
try('set_value after error', p2.set_value, p2, 1)

local p3 = future.new()
try('set_error(nil)', p3.set_error, p3, nil)
-- a value may be nil or false
local p4, fut4 = future.new()
p4:set_value(false)
print('false value', fut4:get())
local p5, fut5 = future.new()
p5:set_value()
print('nil value', fut5:get())

try('wrong receiver', fut.get, p)
try('wrong receiver', p.set_value, fut, 1)
