-- A coroutine.wrap function parked in one fiber's operation cannot be called from another
-- fiber: the second caller gets an error instead of stealing the first one's wake-up. (A waits
-- for a future that is set only after B has tried, so the order never depends on timing.)
local future = require 'future'
local p, fut = future.new()
local gen = coroutine.wrap(function()
  while true do
    fut:get()
    coroutine.yield('tick')
  end
end)
local a = spawn(function() return pcall(gen) end)
local b = spawn(function() return pcall(gen) end)
local b_got = table.pack(b:join())
p:set_value(true)
print('A', a:join())
print('B', table.unpack(b_got, 1, b_got.n))
