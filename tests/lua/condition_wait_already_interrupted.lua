-- condition_variable:wait called with an interruption already pending raises at once and
-- leaves the mutex held; mutex:lock is not an interruption point.
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local m, cv = mutex.new(), condition_variable.new()

local self_handle
self_handle = spawn(function()
  self_handle:interrupt()
  m:lock()
  print('f: lock succeeded although interrupted')
  local ok, err = pcall(cv.wait, cv, m)
  print('f: wait raised', ok, err.code)
  print('f: still holds the mutex', pcall(m.unlock, m))
end)
self_handle:join()
print('main: try_lock', m:try_lock())
