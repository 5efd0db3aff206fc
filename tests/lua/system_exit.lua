-- exit: 3
-- system.exit(n) ends the process at once with status n; buffered output is flushed.
local system = require 'system'
local f = spawn(function()
  print('f: never printed, exit happens first')
end)
print('before exit')
io.write('io.write output is flushed too\n')
system.exit(3)
print('never printed')
