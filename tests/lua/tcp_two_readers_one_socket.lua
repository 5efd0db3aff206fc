-- Two fibers blocked reading the same socket: each chunk of data wakes exactly one of them,
-- and the other stays blocked until the next chunk.
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'

local client, server, acceptor = require('./lib_tcp').connected_pair()

local m, cv, got = mutex.new(), condition_variable.new(), {}
local function reader()
  local buf = byte_span.new(16)
  local n = server:read_some(buf)
  m:lock()
  got[#got + 1] = tostring(buf:slice(1, n))
  cv:notify_all()
  m:unlock()
end
local r1, r2 = spawn(reader), spawn(reader)
this_fiber.yield()

local function send_and_wait(text, count)
  client:write_some(text)
  m:lock()
  while #got < count do cv:wait(m) end
  m:unlock()
end
send_and_wait('first', 1)
print('after the first chunk, readers done:', #got)
send_and_wait('second', 2)
r1:join()
r2:join()
table.sort(got)
print('chunks read:', table.concat(got, ' '))
client:close()
server:close()
acceptor:close()
