-- A promise collected before it was satisfied breaks its future: waiters get EPIPE.
local future = require 'future'
local p, fut = future.new()
local waiter = spawn(function() return fut:get() end)
this_fiber.yield()
p = nil
collectgarbage()
collectgarbage()
local ok, err = pcall(waiter.join, waiter)
print(ok, err.code, tostring(err))
ok, err = pcall(fut.get, fut)
print(ok, err.code)
