-- Interrupting a fiber that writes to a socket nobody reads (its write eventually blocks).
local ip = require 'ip'
local time = require 'time'

local acceptor = ip.tcp.acceptor.new()
acceptor:bind('127.0.0.1', 0)
acceptor:listen()
local accepting = spawn(function() return acceptor:accept() end)
local client = ip.tcp.socket.new()
client:connect('127.0.0.1', acceptor.local_port)
local server = accepting:join()

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
