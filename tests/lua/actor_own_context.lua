-- An actor on an execution context of its own (a new thread) talks to the main VM like any
-- other; many messages cross the threads and none is lost.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local w = spawn_vm{ module = '.', inherit_context = false }
  w:send({ reply_to = inbox })
  for i = 1, 20000 do w:send(i) end
  w:send('stop')
  local r = inbox:receive()
  print('main: worker on its own context counted', r.count, 'sum', r.sum, 'context', r.context)
else
  local setup = inbox:receive()
  local count, sum = 0, 0
  while true do
    local m = inbox:receive()
    if m == 'stop' then break end
    count, sum = count + 1, sum + m
  end
  setup.reply_to:send({ count = count, sum = sum, context = _CONTEXT })
end
