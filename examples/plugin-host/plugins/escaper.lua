-- Tries to reach the network from its sandbox.
return function(text)
  local ip = require 'ip'
  local s = ip.tcp.socket.new()
  s:connect(ip.address.loopback_v4(), 22)
  return 'connected?!'
end
