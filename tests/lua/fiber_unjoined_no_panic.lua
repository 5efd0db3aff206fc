-- Fibers never joined nor detached that end normally or by interruption report nothing.
local time = require 'time'
spawn(function() return 'ignored' end)
local sleeper = spawn(function() time.sleep(3600) end)
this_fiber.yield()
sleeper:interrupt()
sleeper = nil
collectgarbage()
time.sleep(0.01)
print('main: end')
