-- A mailbox of 2: the third send suspends the sending fiber (and only it: another fiber of the
-- same VM runs meanwhile) until the receiver makes room. The receiver never spins.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local slow = spawn_vm{ module = '.', mailbox = 2 }
  local sender = spawn(function()
    for i = 1, 5 do
      slow:send(i)
      print('main: sent', i)
    end
    slow:send({ reply_to = inbox })
  end)
  spawn(function()
    print('main: another fiber runs while the sender waits')
  end)
  sender:join()
  print('main: the receiver got', inbox:receive())
else
  local got = {}
  while true do
    local m = inbox:receive()
    if type(m) == 'table' then
      m.reply_to:send(table.concat(got, ','))
      break
    end
    print('worker: got', m)
    got[#got + 1] = m
  end
end
