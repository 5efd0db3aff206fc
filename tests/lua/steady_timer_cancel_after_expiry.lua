-- steady_timer:cancel() after the timer's wait has completed (its fiber woken but not yet
-- resumed) aborts nothing: it must not touch another fiber's operation started meanwhile.
local time = require 'time'
local t = time.steady_timer.new() -- never set: a wait completes at once

local w = spawn(function()
  t:wait()
  print('w: timer wait returned normally')
end)
local x = spawn(function()
  this_fiber.yield()
  -- w's wait has completed by now; this sleep starts before w runs again
  local ok, err = pcall(time.sleep, 0.05)
  print('x: sleep', ok, err and tostring(err))
end)
this_fiber.yield()
this_fiber.yield()
print('main: cancel aborted', t:cancel())
w:join()
x:join()
