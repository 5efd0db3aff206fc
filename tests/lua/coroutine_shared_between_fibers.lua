-- A user coroutine parked in a fiber operation belongs to that fiber for the time being:
-- another fiber cannot resume or close it.
local future = require 'future'
local p, fut = future.new()

local co = coroutine.create(function()
  local v = fut:get()
  coroutine.yield('got ' .. v)
  return 'finished'
end)
local owner = spawn(function()
  return coroutine.resume(co)
end)
this_fiber.yield()
print('resume from another fiber', coroutine.resume(co))
print('close from another fiber', pcall(coroutine.close, co))
p:set_value('value')
print('owner got', owner:join())
print('now anyone may resume it', coroutine.resume(co))
