-- stream.write_all/read_all work on any object with write_some/read_some, looping over
-- partial transfers.
local stream = require 'stream'

local chunks = {}
local sink = {
  write_some = function(_, buf)
    local n = math.min(3, #buf)
    chunks[#chunks + 1] = tostring(buf):sub(1, n)
    return n
  end,
}
print('write_all', stream.write_all(sink, 'hello world'))
print(table.concat(chunks, '|'))

local data, pos = 'abcdefghij', 1
local source = {
  read_some = function(_, buf)
    local n = math.min(4, #buf)
    buf:copy(data:sub(pos, pos + n - 1))
    pos = pos + n
    return n
  end,
}
local b = byte_span.new(10)
print('read_all', stream.read_all(source, b), tostring(b))
