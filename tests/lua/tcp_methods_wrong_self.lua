-- Socket and acceptor methods called on something that is not one (a common slip: `.`
-- instead of `:`) raise an EINVAL error value, never a bare Lua indexing error.
local ip = require 'ip'
local s = ip.tcp.socket.new()
local a = ip.tcp.acceptor.new()

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  print(label, ok, type(err) == 'table' and err.code or ('not an error value: ' .. tostring(err):match('^[^\n]*')))
end

try('socket.read_some', s.read_some, 5, byte_span.new(1))
try('socket.write_some', s.write_some, 5, 'x')
try('socket.connect', s.connect, 5, '127.0.0.1', 80)
try('socket.open', s.open, 5, 'v4')
try('socket.close', s.close, 5)
try('socket.shutdown', s.shutdown, 5, 'send')
try('acceptor.bind', a.bind, 5, '127.0.0.1', 0)
try('acceptor.listen', a.listen, 5)
try('acceptor.accept', a.accept, 5)
try('acceptor.set_option', a.set_option, 5, 'reuse_address', true)

-- a table that is not an IO object, even with something in its first slot
try("socket.read_some({ 'x' })", s.read_some, { 'x' }, byte_span.new(1))
try('socket.write_some({ 42 })', s.write_some, { 42 }, 'x')
try('socket.shutdown({ true })', s.shutdown, { true }, 'send')
try("acceptor.accept({ 'x' })", a.accept, { 'x' })
