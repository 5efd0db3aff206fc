-- byte_span values travel as copies: small ones inline, large ones (over 64 KiB) as the wire
-- format would carry them in a sealed memfd; the receiver gets a span of its own.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local w = spawn_vm('.')
  local small = byte_span.append('hello')
  local large = byte_span.new(200 * 1024)
  large[1], large[#large] = 65, 66
  w:send({ reply_to = inbox, small = small, large = large })
  small[1] = 74 -- changing the sender's span afterwards changes nothing on the other side
  print('main: worker saw', inbox:receive())
  local ok, e = pcall(function() w:send(byte_span.new(65 * 1024 * 1024)) end)
  print('main: an oversized span', ok, e.message)
else
  local m = inbox:receive()
  m.reply_to:send(string.format('%s %d %d %d', tostring(m.small), #m.large, m.large[1], m.large[#m.large]))
end
