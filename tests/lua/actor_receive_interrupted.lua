-- A fiber waiting on the inbox is interrupted like any other wait; a later receive still works.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local keep = spawn_vm('.')
  local f = spawn(function() return inbox:receive() end)
  this_fiber.yield()
  f:interrupt()
  f:join()
  print('main: interrupted while receiving', f.interruption_caught)
  keep:send(inbox)
  print('main: then received', inbox:receive())
else
  local back = inbox:receive()
  back:send('late message')
end
