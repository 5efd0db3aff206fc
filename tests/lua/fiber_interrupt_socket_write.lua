-- Interrupting a fiber that writes to a socket nobody reads (its write eventually blocks).
local time = require 'time'

local client, server, acceptor = require('./lib_tcp').connected_pair()

local writer = spawn(function()
  local chunk = string.rep('x', 65536)
  local total = 0
  while true do
    local ok, n = pcall(client.write_some, client, chunk)
    if not ok then
      print('writer: write_some raised', n.code, 'after writing something', total > 0)
      error(n, 0)
    end
    total = total + n
  end
end)
time.sleep(0.2)
writer:interrupt()
writer:join()
print('main: writer interruption_caught', writer.interruption_caught)
client:close()
server:close()
acceptor:close()
