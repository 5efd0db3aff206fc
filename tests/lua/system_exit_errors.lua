-- system.exit refuses statuses outside [0, 255] and non-integers.
local system = require 'system'
for _, v in ipairs({ 256, -1, 1.5, 'x' }) do
  local ok, err = pcall(system.exit, v)
  print(ok, err.code, tostring(err))
end
print('still running')
