local inbox = require 'inbox'
local time = require 'time'
local ok, m = pcall(inbox.receive, inbox)
if not ok then return end
if m.op == 'hold' then
  m.reply:send('holding')
  while true do time.sleep(10) end
elseif m.op == 'later' then
  time.sleep(0.2)
  m.reply:send('still here')
end
