-- Kill, detach, close, and what a waiting receive sees when a sandboxed actor dies.
local inbox = require 'inbox'
local time = require 'time'

-- A receive that waited on an actor fails with 'Channel closed' when the actor is killed.
local a = spawn_vm{ module = './lib_sandbox_lifecycle_actor', sandbox = 'untrusted-plugin' }
a:send{ op = 'hold', reply = inbox }
print(inbox:receive())
local waiter = spawn(function()
  local ok, err = pcall(inbox.receive, inbox)
  return ok, err.code
end)
a:kill()
print('receive after kill:', waiter:join())
local e = a:wait()
print('killed:', e.code, e.signal, e.limit)

-- kill(signo) delivers that signal (the reaper forwards SIGTERM), even right after the spawn,
-- before the actor ran a line: the sandbox's pid 1 has it blocked by then, not dropped.
local signals = {}
for _ = 1, 10 do
  local b = spawn_vm{ module = './lib_sandbox_lifecycle_actor', sandbox = 'untrusted-plugin' }
  b:kill(15)
  signals[b:wait().signal] = (signals[b:wait().signal] or 0) + 1
end
print('terminated:', signals.SIGTERM)

-- Closing the spawner's channel kills the actor (as in Emilua) ...
local c = spawn_vm{ module = './lib_sandbox_lifecycle_actor', sandbox = 'untrusted-plugin' }
c:send{ op = 'hold', reply = inbox }
print(inbox:receive())
c:close()
print('after close:', pcall(inbox.receive, inbox))

-- ... unless it was detached: then it lives on and still answers.
local d = spawn_vm{ module = './lib_sandbox_lifecycle_actor', sandbox = 'untrusted-plugin' }
d:send{ op = 'later', reply = inbox }
d:detach()
d:close()
print('detached:', inbox:receive())

-- Misuse of the child methods.
local l = spawn_vm('./lib_sandbox_lifecycle_actor')
print(pcall(l.kill, l))
print(select(2, pcall(a.kill, a, 'x')).code)
