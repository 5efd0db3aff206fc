-- A sandboxed actor that runs one escape probe for the host: the message {reply, name, args}
-- gets the probe's answer ('ok DETAIL' or 'err ERRNO'). A probe that kills the process answers
-- nothing; the host then sees how the actor ended.
local inbox = require 'inbox'
local m = inbox:receive()
m.reply:send(luacell_test.probe(m.name, table.unpack(m.args or {})))
