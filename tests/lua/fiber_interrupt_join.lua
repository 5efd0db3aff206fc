-- Interrupting a fiber blocked in join: its join raises, and the joined fiber becomes
-- joinable again.
local future = require 'future'
local p, fut = future.new()

local target = spawn(function()
  return 'target says ' .. fut:get()
end)
local joiner = spawn(function()
  print('joiner: joining target')
  local ok, err = pcall(target.join, target)
  print('joiner: join raised', ok, err.code)
  error(err, 0)
end)
this_fiber.yield()
print('main: target joinable while joined', target.joinable)
joiner:interrupt()
joiner:join()
print('main: joiner interruption_caught', joiner.interruption_caught)
print('main: target joinable again', target.joinable)
p:set_value('hi')
print('main:', target:join())
