-- exit: 1
-- Every VM waits for a message that no VM can send: reported as a deadlock instead of hanging.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local w = spawn_vm('.')
  w:send(inbox)
  print('main: waiting for a reply that never comes')
  inbox:receive()
else
  local back = inbox:receive()
  -- Keeps the channel to the main VM but never sends, and waits for a message itself.
  inbox:receive()
end
