-- exit: 1
-- A detached fiber that fails prints a panic to stderr; the other fibers go on, and the
-- process exits with status 1 at the end.
local f = spawn(function()
  this_fiber.yield()
  error('boom')
end)
f:detach()
local other = spawn(function()
  this_fiber.yield()
  this_fiber.yield()
  this_fiber.yield()
  print('other: still running after the panic')
  return 'other done'
end)
print('main:', other:join())
print('main: end')
