-- exit: 1
-- A fiber that fails and is never joined nor detached is reported as a panic, at the latest
-- when the VM ends.
local f = spawn(function()
  error('nobody joined me')
end)
this_fiber.yield()
print('main: end, f never joined')
