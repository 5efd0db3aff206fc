-- A missing module: the error points at the script line that called require, as in stock Lua,
-- not into luacell's own files.
local ok, err = pcall(function()
  local m = require('no_such_module_anywhere')
  return m
end)
print(ok, (err:match('^[^\n]*')))
ok, err = pcall(function()
  local m = require('./no_such_relative_module')
  return m
end)
print(ok, (err:match('^[^:]*:[^:]*:[^:]*')))
