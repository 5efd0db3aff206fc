-- The parser: runs under 'hostile-parser' (no files, no network, small heap). It gets one
-- accepted TCP socket, reads one request line "key=value;key=value", and replies with what it
-- parsed. An exploit here would own an empty box.
local inbox = require 'inbox'
local ip = require 'ip'
local m = inbox:receive()
local sock = ip.tcp.socket.new(m.socket)
local buf = byte_span.new(4096)
local line = ''
while not line:find('\n') and #line < 4096 do
  local ok, n = pcall(sock.read_some, sock, buf)
  if not ok then break end
  line = line .. tostring(buf:slice(1, n))
end
line = line:match('^[^\n]*')
local fields = {}
for k, v in line:gmatch('(%w+)=([^;]*)') do fields[k] = v end
sock:write_some('parsed ' .. #line .. ' bytes\n')
m.reply:send{ fields = fields }
