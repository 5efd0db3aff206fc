-- spawn_context_threads adds threads to the main VM's context: actors spawned afterwards are
-- spread over them, each on one thread, and all answer.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  spawn_context_threads(2)
  local n = 9
  for i = 1, n do
    spawn_vm('.'):send({ i = i, reply_to = inbox })
  end
  local sum = 0
  for _ = 1, n do
    local r = inbox:receive()
    sum = sum + r
  end
  print('main: answers summed to', sum)
  local ok, e = pcall(spawn_context_threads, 0)
  print('main: zero threads', ok, e.code)
  ok, e = pcall(spawn_context_threads, 'two')
  print('main: a string', ok, e.code)
else
  local m = inbox:receive()
  local x = 0
  for _ = 1, 100000 do x = x + 1 end
  m.reply_to:send(m.i * x // 100000)
end
