-- The main fiber waits on a future whose promise was dropped, and nothing else can run: the
-- runtime collects garbage before giving up, so the waiter gets the broken-promise error
-- instead of the program ending silently.
local future = require 'future'
local p, f = future.new()
p = nil
scope_cleanup_push(function() print('cleanup ran') end)
local ok, err = pcall(f.get, f)
print('get', ok, err.code)
print('after')
