-- exit: 1
-- A failed fiber never joined nor detached is reported when its handle is collected (not only
-- when the VM ends): the panic comes before the main fiber's next line on stderr.
local f = spawn(function() error('lost fiber') end)
this_fiber.yield()
f = nil
collectgarbage()
collectgarbage()
io.stderr:write('main: after the collection\n')
require('time').sleep(0.01)
io.stderr:write('main: end\n')
