-- exit: 7
-- system.exit from another fiber ends the whole process, skipping pending work.
local system = require 'system'
local time = require 'time'
spawn(function()
  print('f: exiting with 7')
  system.exit(7)
end)
time.sleep(3600)
print('never printed')
