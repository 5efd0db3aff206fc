-- exit: 1
-- An actor whose main fiber panics ends alone: the others and the main VM go on, and the process
-- exits non-zero at the end.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local bad = spawn_vm('./lib_actor_panics')
  local good = spawn_vm('.')
  bad:send('boom')
  good:send({ reply_to = inbox })
  print('main: good actor says', inbox:receive())
  local ok, e = pcall(function() for _ = 1, 3 do bad:send('more') end end)
  print('main: main VM still running', ok or e.code)
else
  local m = inbox:receive()
  m.reply_to:send('still here')
end
