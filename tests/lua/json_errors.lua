-- json errors: one line, EINVAL, naming json.encode or json.decode.
local json = require 'json'
local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then print(label, 'ok') else print(label, err.code, tostring(err)) end
end
local cycle = {}
cycle.self = cycle
try('NaN', json.encode, 0 / 0)
try('infinity', json.encode, math.huge)
try('function', json.encode, print)
try('function inside', json.encode, { f = print })
try('mixed keys', json.encode, { 1, 2, x = 3 })
try('cycle', json.encode, cycle)
try('userdata', json.encode, byte_span.new(1))
try('invalid UTF-8', json.encode, '\xff')
try('decode a number', json.decode, 42)
try('truncated', json.decode, '{"a":')
try('trailing comma', json.decode, '[1,]')
try('trailing characters', json.decode, '1 2')
try('empty', json.decode, '')
