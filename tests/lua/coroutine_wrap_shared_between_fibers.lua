-- A coroutine.wrap function parked in one fiber's operation cannot be called from another
-- fiber: the second caller gets an error instead of stealing the first one's wake-up.
local time = require 'time'
local gen = coroutine.wrap(function()
  while true do
    time.sleep(0.05)
    coroutine.yield('tick')
  end
end)
local a = spawn(function() return pcall(gen) end)
local b = spawn(function() return pcall(gen) end)
print('A', a:join())
print('B', b:join())
