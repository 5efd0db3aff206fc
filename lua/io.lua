-- ip, stream, system, json: Lua faces over the raw IO primitives. Loaded on the first require
-- of one of them (src/lua/mod.rs), so a VM that never does IO pays nothing for them.
--
-- Every function checks its arguments and turns a raw FAIL into an error value naming the
-- function, the reason and the code, so that no mlua conversion error reaches a script.

local RAW, S = ...
local E, B, J, SYS = RAW.io, RAW.byte_span, RAW.json, RAW.system
local raise, arg_error, check, io_op = S.raise, S.arg_error, S.check, S.io_op
local setmetatable, getmetatable, type, rawequal, select, tostring, format =
  setmetatable, getmetatable, type, rawequal, select, tostring, string.format
local preload = package.preload
local is_span, byte_span = S.is_span, S.byte_span

------------------------------------------------------------------------------------------------
-- Streams: any object with read_some/write_some.

-- The raw handle of each IO object, kept out of the object itself: a script can neither read
-- nor overwrite it (it would reach the raw primitives). A closed or not yet opened object has
-- no entry.
local HANDLES = setmetatable({}, { __mode = 'k' })

local E_close, E_is_open = E.close, E.is_open

-- Metatables of the IO objects (those whose raw handle is in HANDLES).
local IO_MT = setmetatable({}, { __mode = 'k' })

local function bad_self(what, expected, got)
  raise('EINVAL', what, format('bad self (%s expected, got %s)', expected, type(got)))
end

local function handle(self, what)
  if type(self) ~= 'table' or not IO_MT[getmetatable(self)] then bad_self(what, 'an IO object', self) end
  local h = HANDLES[self]
  if not h then raise('EBADF', what, 'the object is not open') end
  return h
end

-- The raw read and write check their buffer argument themselves (FAIL, EINVAL), so the hot
-- path makes no separate type check.
local io_method = S.io_method
-- The handle's Rust methods, taken once from the first handle made (see src/lua/api/io.rs).
local H_read, H_write

local function read_some(what)
  return function(self, buf)
    local h = handle(self, what)
    if H_read == nil then H_read, H_write = h.read, h.write end
    return io_method(what, h, H_read, buf)
  end
end

local function write_some(what)
  return function(self, buf)
    local h = handle(self, what)
    if H_read == nil then H_read, H_write = h.read, h.write end
    return io_method(what, h, H_write, buf)
  end
end

local stream = {}

function stream.read_all(io, buf)
  if type(io) ~= 'table' or type(io.read_some) ~= 'function' then arg_error('stream.read_all', 1, 'stream', io) end
  if not is_span(buf) then arg_error('stream.read_all', 2, 'byte_span', buf) end
  local total, len = 0, #buf
  while total < len do
    local rest = total == 0 and buf or buf:slice(total + 1, len)
    local n = io:read_some(rest)
    -- A stream that reads nothing into a non-empty buffer has ended (or is broken): stop.
    if math.type(n) ~= 'integer' or n <= 0 then raise('EOF', 'stream.read_all') end
    total = total + n
  end
  return total
end

function stream.write_all(io, buf)
  if type(io) ~= 'table' or type(io.write_some) ~= 'function' then arg_error('stream.write_all', 1, 'stream', io) end
  if type(buf) == 'string' then
    buf = byte_span.from(buf)
  elseif not is_span(buf) then
    arg_error('stream.write_all', 2, 'byte_span or string', buf)
  end
  local total, len = 0, #buf
  while total < len do
    local rest = total == 0 and buf or buf:slice(total + 1, len)
    local n = io:write_some(rest)
    if math.type(n) ~= 'integer' or n <= 0 then
      raise('EIO', 'stream.write_all', 'the stream wrote nothing')
    end
    total = total + n
  end
  return total
end

preload['stream'] = function() return stream end

------------------------------------------------------------------------------------------------
-- ip

local address_mt = { __name = 'ip.address', __metatable = 'ip.address' }
address_mt.__index = function(a, k)
  if k == 'is_v4' then return not a.v6 end
  if k == 'is_v6' then return a.v6 end
  if k == 'to_string' then return function(self) return self.text end end
  return nil
end
address_mt.__tostring = function(a) return a.text end
address_mt.__eq = function(a, b) return a.text == b.text end

local function new_address(text, v6)
  return setmetatable({ text = text, v6 = v6 }, address_mt)
end

local address = {}
function address.new(s)
  if s == nil then return new_address('0.0.0.0', false) end
  if type(s) ~= 'string' then arg_error('ip.address.new', 1, 'string', s) end
  return new_address(check('ip.address.new', E.parse_address(s)))
end
function address.loopback_v4() return new_address('127.0.0.1', false) end
function address.loopback_v6() return new_address('::1', true) end
function address.any_v4() return new_address('0.0.0.0', false) end
function address.any_v6() return new_address('::', true) end
function address.broadcast_v4() return new_address('255.255.255.255', false) end

-- An address argument: an ip.address or a string.
local function addr_arg(what, n, a)
  if getmetatable(a) == 'ip.address' then return a.text, a.v6 end
  if type(a) == 'string' then return check(what, E.parse_address(a)) end
  arg_error(what, n, 'ip.address or string', a)
end

local function port_arg(what, n, p)
  if math.type(p) ~= 'integer' then
    if type(p) == 'number' and p == math.floor(p) then return math.tointeger(p) end
    arg_error(what, n, 'integer port', p)
  end
  return p
end

local function common_methods(kind, methods, mt)
  IO_MT[mt] = true
  -- Sent in a message, the object's descriptor travels (moved: the sender's object is closed
  -- once the message is delivered). The actor layer calls this to reach it.
  mt.__luacell_handle = function(self) return HANDLES[self] end
  local function is_self(self, what)
    if getmetatable(self) ~= mt then bad_self(what, kind, self) end
  end
  local function open_handle(self, what)
    is_self(self, what)
    local h = HANDLES[self]
    if not h then raise('EBADF', what, 'the ' .. kind .. ' is not open') end
    return h
  end
  function methods.open(self, family)
    local what = kind .. ':open'
    is_self(self, what)
    if HANDLES[self] then raise('EISCONN', what, 'the ' .. kind .. ' is already open') end
    if getmetatable(family) == 'ip.address' then family = family.v6 and 'v6' or 'v4' end
    if family ~= 'v4' and family ~= 'v6' then arg_error(what, 1, "'v4', 'v6' or an ip.address", family) end
    HANDLES[self] = check(what, E.tcp_open(family))
  end
  function methods.bind(self, addr, port)
    local what = kind .. ':bind'
    is_self(self, what)
    local text, v6 = addr_arg(what, 1, addr)
    port = port_arg(what, 2, port)
    if not HANDLES[self] then methods.open(self, v6 and 'v6' or 'v4') end
    check(what, E.bind(HANDLES[self], text, port))
  end
  function methods.set_option(self, name, value)
    local what = kind .. ':set_option'
    if type(name) ~= 'string' then arg_error(what, 1, 'option name', name) end
    check(what, E.set_option(open_handle(self, what), name, value))
  end
  function methods.close(self)
    local what = kind .. ':close'
    local h = open_handle(self, what)
    HANDLES[self] = nil
    check(what, E_close(h))
  end
  return open_handle, is_self
end

local function endpoint_index(kind, methods, open_handle)
  return function(self, k)
    local m = methods[k]
    if m then return m end
    if k == 'is_open' then return HANDLES[self] ~= nil and E_is_open(HANDLES[self]) end
    if k == 'local_port' or k == 'local_address' then
      local what = kind .. '.' .. k
      local text, port = check(what, E.local_endpoint(open_handle(self, what)))
      if k == 'local_port' then return port end
      return address.new(text)
    end
    if k == 'remote_port' or k == 'remote_address' then
      local what = kind .. '.' .. k
      local text, port = check(what, E.remote_endpoint(open_handle(self, what)))
      if k == 'remote_port' then return port end
      return address.new(text)
    end
    return nil
  end
end

-- tcp.socket
local socket_methods = {}
local socket_mt = { __name = 'ip.tcp.socket' }
local socket_open, is_socket = common_methods('ip.tcp.socket', socket_methods, socket_mt)
socket_mt.__index = endpoint_index('ip.tcp.socket', socket_methods, socket_open)

local function new_socket(h)
  local obj = setmetatable({}, socket_mt)
  HANDLES[obj] = h
  return obj
end

function socket_methods.connect(self, addr, port)
  local what = 'ip.tcp.socket:connect'
  is_socket(self, what)
  local text, v6 = addr_arg(what, 1, addr)
  port = port_arg(what, 2, port)
  if not HANDLES[self] then socket_methods.open(self, v6 and 'v6' or 'v4') end
  io_op(what, E.connect, HANDLES[self], text, port)
end

socket_methods.read_some = read_some('ip.tcp.socket:read_some')
socket_methods.write_some = write_some('ip.tcp.socket:write_some')

function socket_methods.shutdown(self, how)
  local what = 'ip.tcp.socket:shutdown'
  check(what, E.shutdown(socket_open(self, what), how))
end

-- tcp.acceptor
local acceptor_methods = {}
local acceptor_mt = { __name = 'ip.tcp.acceptor' }
local acceptor_open = common_methods('ip.tcp.acceptor', acceptor_methods, acceptor_mt)
acceptor_mt.__index = endpoint_index('ip.tcp.acceptor', acceptor_methods, acceptor_open)

function acceptor_methods.listen(self, backlog)
  local what = 'ip.tcp.acceptor:listen'
  if backlog ~= nil and math.type(backlog) ~= 'integer' then arg_error(what, 1, 'integer', backlog) end
  check(what, E.listen(acceptor_open(self, what), backlog))
end

function acceptor_methods.accept(self)
  local what = 'ip.tcp.acceptor:accept'
  return new_socket(io_op(what, E.accept, acceptor_open(self, what)))
end

local ip = {
  address = address,
  tcp = {
    -- new() or new(file_descriptor): a socket received in a message becomes an IO object.
    socket = {
      new = function(fd)
        if fd == nil then return new_socket() end
        return new_socket(check('ip.tcp.socket.new', E.adopt_tcp(fd)))
      end,
    },
    acceptor = { new = function() return setmetatable({}, acceptor_mt) end },
  },
}
preload['ip'] = function() return ip end

------------------------------------------------------------------------------------------------
-- system

local system = { arguments = SYS.arguments, environment = SYS.environment }

function system.exit(code)
  check('system.exit', SYS.exit(code))
end

local stdio_mt = { __name = 'system.stdio' }
local function stdio(n, name)
  local methods = {}
  if n == 0 then
    methods.read_some = read_some('system.' .. name .. ':read_some')
  else
    methods.write_some = write_some('system.' .. name .. ':write_some')
  end
  local mt = { __index = methods, __name = 'system.' .. name }
  IO_MT[mt] = true
  local obj = setmetatable({}, mt)
  HANDLES[obj] = check('system.' .. name, E.stdio(n))
  return obj
end
-- Built on first use, so a script that never touches them holds no extra descriptors.
setmetatable(system, {
  __index = function(t, k)
    local v
    if k == 'in_' then v = stdio(0, 'in_')
    elseif k == 'out' then v = stdio(1, 'out')
    elseif k == 'err' then v = stdio(2, 'err')
    else return nil end
    rawset(t, k, v)
    return v
  end,
})
preload['system'] = function() return system end

------------------------------------------------------------------------------------------------
-- json

local json = { null = J.null, array_mt = J.array_mt }
function json.encode(v) return (check('json.encode', J.encode(v))) end
function json.decode(s) return (check('json.decode', J.decode(s))) end
preload['json'] = function() return json end
