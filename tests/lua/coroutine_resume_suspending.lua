-- coroutine.resume/status/isyieldable around suspending calls: the user's coroutine
-- sees only its own yields.
local time = require 'time'
local future = require 'future'
local p, fut = future.new()

local setter = spawn(function()
  print('setter: setting the future')
  p:set_value('future value')
end)

local co = coroutine.create(function(x)
  print('co: isyieldable', coroutine.isyieldable())
  local v = fut:get()          -- suspends the fiber until the setter runs
  print('co: future gave', v)
  local y = coroutine.yield(x + 1)
  time.sleep(0.001)
  print('co: status of itself', coroutine.status(coroutine.running()))
  return y * 2
end)

print('main: isyieldable at the fiber top', coroutine.isyieldable())
print('main: resume 1 ->', coroutine.resume(co, 1))
print('main: status', coroutine.status(co))
print('main: resume 2 ->', coroutine.resume(co, 21))
print('main: status', coroutine.status(co))
print('main: resume dead ->', coroutine.resume(co))
setter:join()

-- an error after a suspension: resume returns false and the error
local failing = coroutine.create(function()
  this_fiber.yield()
  error({ code = 'custom' })
end)
local ok, err = coroutine.resume(failing)
print('main: failing ->', ok, err.code, coroutine.status(failing))
