-- disable_interruption/restore_interruption are counted; while disabled, interruption points
-- do not raise; the request stays pending and is raised after the last restore.
local time = require 'time'

local f = spawn(function()
  this_fiber.disable_interruption()
  this_fiber.disable_interruption()
  print('f: disabled twice, sleeping')
  time.sleep(0.05)
  print('f: sleep completed although interrupted')
  this_fiber.restore_interruption()
  this_fiber.yield()
  print('f: still disabled once, yield completed')
  this_fiber.restore_interruption()
  print('f: restored, not an interruption point')
  local ok, err = pcall(time.sleep, 3600)
  print('f: sleep raised', ok, err.code)
end)
this_fiber.yield()
f:interrupt()
print('main: interrupted f')
f:join()
print('main: interruption_caught', f.interruption_caught)

local ok, err = pcall(this_fiber.restore_interruption)
print(ok, err.code, tostring(err))

local g = spawn(function()
  this_fiber.disable_interruption()
  this_fiber.restore_interruption()
  local ok2, err2 = pcall(this_fiber.restore_interruption)
  print('g:', ok2, tostring(err2))
end)
g:join()
