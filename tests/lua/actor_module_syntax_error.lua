-- exit: 1
-- An actor whose module does not compile never starts: the error is printed, its channel sees
-- Channel closed, and the rest of the program goes on.
local ch = spawn_vm('./lib_actor_bad_syntax')
require('time').sleep(0.01)
local ok, e = pcall(function() ch:send('hello') end)
print('main: send to an actor that never started', ok, tostring(e))
