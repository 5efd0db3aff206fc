local inbox = require 'inbox'
local m = inbox:receive()
m.peer:send{ op = 'echo', reply = inbox, v = 'local to sandboxed and back' }
m.reply:send(inbox:receive().v)
