-- Inside forbid_suspend every suspending call raises EPERM; allow_suspend is counted.
local time = require 'time'
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local future = require 'future'

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then print(label, 'ok') else print(label, err.code, tostring(err)) end
end

local m, cv = mutex.new(), condition_variable.new()
local _, fut = future.new()
local other = spawn(function() this_fiber.yield() end)
local holder = spawn(function()
  m:lock()
  this_fiber.yield()
  this_fiber.yield()
  m:unlock()
end)
this_fiber.yield()

this_fiber.forbid_suspend()
try('sleep', time.sleep, 0)
try('yield', this_fiber.yield)
try('join', other.join, other)
try('lock', m.lock, m)
try('get', fut.get, fut)
local m2 = mutex.new()
m2:lock()
try('wait', cv.wait, cv, m2)
m2:unlock()
local timer = time.steady_timer.new()
try('timer wait', timer.wait, timer)
this_fiber.forbid_suspend()
this_fiber.allow_suspend()
try('still forbidden', this_fiber.yield)
-- an uncontended lock does not suspend
try('uncontended lock', m2.lock, m2)
m2:unlock()
this_fiber.allow_suspend()
try('after allow', this_fiber.yield)
try('unbalanced allow', this_fiber.allow_suspend)
other:join()
holder:join()
print('done')
