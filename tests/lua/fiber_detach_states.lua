-- detach in every state: the fiber runs on (or has run) to its end; it is no longer joinable.
local time = require 'time'
local future = require 'future'
local p, fut = future.new()

local not_started = spawn(function() print('not_started: runs after detach') end)
not_started:detach()
print('main: detached a fiber that had not started', not_started.joinable)

local sleeping = spawn(function()
  time.sleep(0.1)
  print('sleeping: woke after detach')
end)
this_fiber.yield()
sleeping:detach()
print('main: detached a sleeping fiber', sleeping.joinable)

local waiting = spawn(function()
  print('waiting: got', fut:get())
end)
this_fiber.yield()
waiting:detach()
print('main: detached a waiting fiber', waiting.joinable)

local finished = spawn(function() return 'ignored' end)
this_fiber.yield()
finished:detach()
print('main: detached a finished fiber', finished.joinable)

-- interrupting a detached fiber is allowed; an interruption is not a panic
local interrupted = spawn(function()
  time.sleep(3600)
end)
interrupted:detach()
this_fiber.yield()
interrupted:interrupt()

p:set_value('the value')
time.sleep(0.5)
print('main: end')
