-- Interrupting a sleeping fiber cancels the sleep at once.
local time = require 'time'

local f = spawn(function()
  print('f: going to sleep')
  time.sleep(3600)
  print('f: never printed')
end)
this_fiber.yield()
print('main: interrupting')
local t0 = time.steady_clock.now()
f:interrupt()
print('main: join returned', select('#', f:join()))
print('main: interruption_caught', f.interruption_caught)
print('main: join took less than 10 s', time.steady_clock.now() - t0 < 10)

-- interrupt twice is harmless
local g = spawn(function() time.sleep(3600) end)
this_fiber.yield()
g:interrupt()
g:interrupt()
g:join()
print('main: g interruption_caught', g.interruption_caught)
