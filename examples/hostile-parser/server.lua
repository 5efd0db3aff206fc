-- A network-facing host that keeps its privileges and hands each accepted connection to a
-- sandboxed parser actor (one per connection). It then plays three clients itself, so that one
-- command shows the whole path.
--
-- Run: luacell run examples/hostile-parser/server.lua
local inbox = require 'inbox'
local ip = require 'ip'
local stream = require 'stream'

local acceptor = ip.tcp.acceptor.new()
acceptor:bind('127.0.0.1', 0)
acceptor:listen()
local port = acceptor.local_port

local requests = { 'user=ada;lang=lua', 'a=1;b=2;c=3', string.rep('x', 100) .. '=overlong' }

spawn(function()
  for i, text in ipairs(requests) do
    local c = ip.tcp.socket.new()
    c:connect(ip.address.loopback_v4(), port)
    stream.write_all(c, text .. '\n')
    local buf = byte_span.new(64)
    local n = c:read_some(buf)
    print(string.format('client %d got: %s', i, tostring(buf:slice(1, n)):gsub('\n', '')))
    c:close()
  end
end)

for i = 1, #requests do
  local sock = acceptor:accept()
  local parser = spawn_vm{ module = './parser', sandbox = 'hostile-parser' }
  -- The socket moves into the sandbox (closed here once sent).
  parser:send{ socket = sock, reply = inbox }
  local r = inbox:receive()
  local keys = {}
  for k, v in pairs(r.fields) do keys[#keys + 1] = k .. '=' .. v end
  table.sort(keys)
  print(string.format('connection %d parsed in pid %d: %s', i, parser.child_pid, table.concat(keys, ' ')))
  print(string.format('connection %d parser ended with code %s', i, parser:wait().code))
end
