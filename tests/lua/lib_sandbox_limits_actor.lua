local inbox = require 'inbox'
local m = inbox:receive()
if m.op == 'memory' then
  local t = {}
  while true do t[#t + 1] = string.rep('x', 1 << 20) .. #t end
elseif m.op == 'loop' then
  while true do end
elseif m.op == 'garbage' then
  luacell_test.raw_send(m.reply, 'not a luacell message')
  -- The host closes that channel when it reads the garbage: from then on sends fail.
  local time = require 'time'
  for _ = 1, 200 do
    local ok, err = pcall(m.reply.send, m.reply, 'after the garbage')
    if not ok and err.code == 'closed' then return end
    time.sleep(0.01)
  end
  error('the channel should be closed')
end
