-- join and detach refuse a fiber that is not joinable; a fiber cannot join itself.
local function try(f, ...)
  local ok, err = pcall(f, ...)
  if ok then print('ok') else print(err.code, tostring(err)) end
end

local self_handle
self_handle = spawn(function()
  this_fiber.yield()
  try(self_handle.join, self_handle)
end)
self_handle:join()

local done = spawn(function() return 1 end)
print('joinable before join:', done.joinable)
done:join()
print('joinable after join:', done.joinable)
try(done.join, done)
try(done.detach, done)

local detached = spawn(function() end)
detached:detach()
print('joinable after detach:', detached.joinable)
try(detached.join, detached)
try(detached.detach, detached)

-- a fiber being joined by another fiber
local p, fut = require('future').new()
local target = spawn(function() return fut:get() end)
local joiner = spawn(function() return target:join() end)
this_fiber.yield()
print('joinable while being joined:', target.joinable)
try(target.join, target)
try(target.detach, target)
p:set_value('v')
print(joiner:join())

-- wrong receiver
try(done.join, 42)
try(done.detach, {})
try(done.interrupt, 'x')
