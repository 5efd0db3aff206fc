-- An interrupted condition_variable:wait reacquires the mutex before it raises.
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local m, cv = mutex.new(), condition_variable.new()

local f = spawn(function()
  m:lock()
  print('f: waiting')
  local ok, err = pcall(cv.wait, cv, m)
  print('f: wait raised', ok, err.code)
  print('f: holds the mutex again', pcall(m.unlock, m))
  return 'f done'
end)
this_fiber.yield()
m:lock()
print('main: holding the mutex, interrupting f')
f:interrupt()
this_fiber.yield()
this_fiber.yield()
print('main: unlocking')
m:unlock()
print('main: join', f:join())
print('main: interruption_caught', f.interruption_caught)
