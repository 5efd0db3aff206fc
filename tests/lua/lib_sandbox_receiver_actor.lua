-- Answers each message, and lets a failed receive raise: if its peers' ends closed before it was
-- killed, the panic would show on stderr.
local inbox = require 'inbox'
while true do
  local m = inbox:receive()
  m.reply:send('ready')
end
