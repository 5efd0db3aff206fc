-- system.out:write_some writes to stdout and returns the number of bytes written.
local system = require 'system'
local n = system.out:write_some('hello from write_some\n')
local m = system.out:write_some(byte_span.from('and from a byte_span\n'))
system.out:write_some(string.format('%d %d\n', n, m))
local ok, err = pcall(system.out.write_some, system.out, 42)
system.out:write_some(tostring(err) .. '\n')
