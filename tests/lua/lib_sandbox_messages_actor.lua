local inbox = require 'inbox'
local registered
while true do
  local ok, m = pcall(inbox.receive, inbox)
  if not ok then return end
  if m.op == 'echo' then
    m.reply:send{ v = m.v }
  elseif m.op == 'register' then
    registered = m.reply
  elseif m.op == 'echo_registered' then
    registered:send{ v = m.v }
  elseif m.op == 'sum' then
    local s = 0
    for i = 1, #m.buf, 4096 do s = s + m.buf[i] end
    m.reply:send{ len = #m.buf, sum = s }
  elseif m.op == 'forward' then
    m.to:send(m.msg)
  end
end
