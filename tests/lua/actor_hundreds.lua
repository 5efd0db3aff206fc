-- Hundreds of actors on one context: each answers once; the main VM sums the answers.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local n = 300
  for i = 1, n do
    local a = spawn_vm('.')
    a:send({ i = i, reply_to = inbox })
  end
  local sum, count = 0, 0
  for _ = 1, n do
    local r = inbox:receive()
    sum, count = sum + r, count + 1
  end
  print('main: answers', count, 'sum', sum)
else
  local m = inbox:receive()
  m.reply_to:send(m.i * 2)
end
