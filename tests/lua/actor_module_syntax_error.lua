-- exit: 1
-- An actor whose module does not compile never starts: the error is printed, its channel sees
-- Channel closed, and the rest of the program goes on.
local time = require 'time'
local ch = spawn_vm('./lib_actor_bad_syntax')
-- The module is compiled by the context that starts the actor, maybe on another thread: until
-- then a send is queued. Send until the closed mailbox refuses (a bounded wait, not a race).
local ok, e
for _ = 1, 1000 do
  ok, e = pcall(function() ch:send('hello') end)
  if not ok then break end
  time.sleep(0.005)
end
print('main: send to an actor that never started', ok, tostring(e))
