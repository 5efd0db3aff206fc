-- Used by actor_address_forwarding.lua: a relay that forwards to the next actor it is told of.
local inbox = require 'inbox'
local setup = inbox:receive()
if setup.role == 'first' then
  local msg = inbox:receive()
  setup.next:send({ payload = msg.payload, reply_to = setup.reply_to })
else
  local msg = inbox:receive()
  msg.reply_to:send({ said = 'hello from the second actor', payload = msg.payload })
end
