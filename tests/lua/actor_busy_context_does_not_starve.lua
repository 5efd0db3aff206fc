-- An actor busy without ever yielding, on a context of its own, does not hold up the main
-- context: the main VM and another actor exchange messages meanwhile, and the program exits
-- (system.exit) while the busy actor is still looping.
local inbox = require 'inbox'
local role = ...
if _CONTEXT == 'main' then
  local busy = spawn_vm{ module = './lib_actor_busy', inherit_context = false }
  local echo = spawn_vm('.')
  busy:send('start')
  echo:send(inbox)
  for i = 1, 200 do
    echo:send(i)
    assert(inbox:receive() == i)
  end
  print('main: 200 round trips while the other context is busy')
  require('system').exit(0)
else
  local back = inbox:receive()
  while true do back:send(inbox:receive()) end
end
