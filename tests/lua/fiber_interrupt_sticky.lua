-- The interruption request is sticky: a fiber that catches it is interrupted again at its
-- next interruption point; one that then returns normally ends normally.
local time = require 'time'

local f = spawn(function()
  local ok, err = pcall(time.sleep, 3600)
  print('f: first sleep', ok, err.code)
  ok, err = pcall(this_fiber.yield)
  print('f: yield', ok, err.code)
  time.sleep(0)
  print('f: never printed')
end)
this_fiber.yield()
f:interrupt()
f:join()
print('main: f interruption_caught', f.interruption_caught)

local g = spawn(function()
  local ok, err = pcall(time.sleep, 3600)
  print('g: sleep', ok, err.code)
  return 'g recovered'
end)
this_fiber.yield()
g:interrupt()
print('main:', g:join())
print('main: g interruption_caught', g.interruption_caught)

-- a fiber may interrupt itself: raised at its next interruption point
local self_handle
self_handle = spawn(function()
  self_handle:interrupt()
  print('self: interrupted myself, still running')
  this_fiber.yield()
  print('self: never printed')
end)
self_handle:join()
print('main: self interruption_caught', self_handle.interruption_caught)
