-- TCP echo server driven by benches/tcp_echo.rs: `luacell run echo_server.lua [PORT]`.
-- Listens on 127.0.0.1 (PORT, or a kernel-chosen port when absent or 0), prints the port as the
-- first stdout line (print flushes), then echoes every connection in its own fiber until killed.
-- Written as a luacell program would be: one fiber per connection, one pcall around its loop.
local ip = require 'ip'
local stream = require 'stream'
local system = require 'system'

local port = tonumber(system.arguments[2] or '0')
if port == nil or port < 0 or port > 65535 then
  error('echo_server.lua: the port argument must be a number in [0, 65535], got ' .. tostring(system.arguments[2]))
end

local a = ip.tcp.acceptor.new()
a:open('v4')
a:set_option('reuse_address', true)
a:bind('127.0.0.1', port)
a:listen()
print(a.local_port)

local write_all = stream.write_all

local function echo(s)
  local buf = byte_span.new(4096)
  while true do
    -- read_some raises EOF (or ECONNRESET...) when the client goes away
    local n = s:read_some(buf)
    write_all(s, buf:slice(1, n))
  end
end

while true do
  local s = a:accept()
  s:set_option('tcp_no_delay', true)
  spawn(function()
    pcall(echo, s)
    s:close()
  end)
end
