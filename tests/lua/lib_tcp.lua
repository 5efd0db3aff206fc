-- Shared by the TCP cases (not a case itself): a connected pair of sockets on 127.0.0.1.
local ip = require 'ip'

local M = {}

-- Returns the client socket, the server's accepted socket, and the (still open) acceptor.
function M.connected_pair()
  local acceptor = ip.tcp.acceptor.new()
  acceptor:bind('127.0.0.1', 0)
  acceptor:listen()
  local accepting = spawn(function() return acceptor:accept() end)
  local client = ip.tcp.socket.new()
  client:connect('127.0.0.1', acceptor.local_port)
  return client, accepting:join(), acceptor
end

return M
