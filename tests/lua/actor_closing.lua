-- Channel closed in every state: after inbox:close(), after channel:close(), for a receiver
-- parked when the last sender goes, and for a sender to a closed inbox.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local a = spawn_vm('.')
  a:send({ reply_to = inbox, test = 'close inbox' })
  print('main: worker says', inbox:receive())
  -- The worker closed its inbox: sending now fails.
  local ok, e = pcall(function() a:send('late') end)
  print('main: send to a closed inbox', ok, tostring(e), e.code)
  -- A channel given up locally cannot send either.
  local b = spawn_vm('.')
  b:send({ reply_to = inbox, test = 'last sender' })
  print('main: second worker says', inbox:receive())
  b:close()
  ok, e = pcall(function() b:send('x') end)
  print('main: send on a closed channel', ok, tostring(e))
  print('main: second worker reports', inbox:receive())
else
  local m = inbox:receive()
  if m.test == 'close inbox' then
    inbox:close()
    local ok, e = pcall(function() return inbox:receive() end)
    m.reply_to:send('receive after close: ' .. tostring(ok) .. ' ' .. tostring(e))
  else
    m.reply_to:send('waiting for more')
    -- Parked here until the main VM closes the only channel to this actor.
    local ok, e = pcall(function() return inbox:receive() end)
    m.reply_to:send('woken: ' .. tostring(ok) .. ' ' .. tostring(e))
  end
end
