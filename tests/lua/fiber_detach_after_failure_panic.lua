-- exit: 1
-- Detaching a fiber that already failed reports its panic (with an error object's message).
local f = spawn(function()
  require('time').sleep(-1)
end)
this_fiber.yield()
print('main: detaching a failed fiber')
f:detach()
print('main: end')
