-- Addresses travel in messages: the main VM introduces two actors to each other, and the second
-- answers the main VM through an address it got from the first.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local a = spawn_vm('./lib_actor_relay')
  local b = spawn_vm('./lib_actor_relay')
  a:send({ role = 'first', next = b, reply_to = inbox })
  b:send({ role = 'second' })
  a:send({ payload = { 'nested', { deeper = true } } })
  local r = inbox:receive()
  print('main: got', r.said, r.payload[1], r.payload[2].deeper)
else
  error('not used')
end
