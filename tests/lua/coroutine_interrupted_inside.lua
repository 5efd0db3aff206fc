-- An interruption raised inside a user coroutine (while the fiber is suspended in it) goes
-- up through the coroutine like any error; the request stays pending for the fiber.
local time = require 'time'

local f = spawn(function()
  local gen = coroutine.wrap(function()
    time.sleep(3600)
    print('f: never printed')
  end)
  gen()
end)
this_fiber.yield()
f:interrupt()
f:join()
print('f interruption_caught', f.interruption_caught)

local g = spawn(function()
  local co = coroutine.create(function()
    this_fiber.yield()
    time.sleep(3600)
  end)
  local ok, err = coroutine.resume(co)
  print('g: resume returned', ok, err.code, coroutine.status(co))
  local ok2, err2 = pcall(time.sleep, 0)
  print('g: next sleep', ok2, err2.code)
  return 'g done'
end)
g:interrupt()
print('main:', g:join())
print('g interruption_caught', g.interruption_caught)
