-- Reading system.in_ when stdin is empty (the harness gives /dev/null) raises EOF.
local system = require 'system'
local buf = byte_span.new(16)
local ok, err = pcall(system.in_.read_some, system.in_, buf)
print(ok, err.code, tostring(err))
-- other fibers are not disturbed
local f = spawn(function() return 'other fiber ran' end)
print(f:join())
