-- Sandboxed actors that start their own: from their own module only, under a profile that can
-- only narrow theirs, within a quota, and dying with the actor that started them.
local inbox = require 'inbox'
local time = require 'time'

local a = spawn_vm{ module = './lib_sandbox_nested_actor', sandbox = 'untrusted-plugin' }
a:send{ op = 'nest', reply = inbox }
local hello = inbox:receive()
print(hello.text)
local grandchild = hello.address

a:send{ op = 'widen', reply = inbox }
print('wider profile:', inbox:receive())
a:send{ op = 'other_module', reply = inbox }
print('other module:', inbox:receive())
a:send{ op = 'kill_stranger', reply = inbox, stranger = grandchild }
print('kill a stranger:', inbox:receive())

-- untrusted-plugin allows 4 processes: the quota of actors below a top-level one. One runs.
a:send{ op = 'quota', reply = inbox }
local q = inbox:receive()
print('started up to the quota:', q.started + 1)
print('then:', q.err)

-- The second-level actor answers while its parent lives, and dies with it.
grandchild:send{ op = 'hello', reply = inbox }
print('still there:', inbox:receive().text)
a:kill()
print('parent:', a:wait().signal)
local gone
for _ = 1, 300 do
  local ok, err = pcall(grandchild.send, grandchild, { op = 'hello', reply = inbox })
  if not ok then gone = err.code break end
  time.sleep(0.01)
end
print('second level after its parent died:', gone)

-- A compromised actor writes garbage on its request socket: it can start no more actors, and
-- nothing else is affected.
local b = spawn_vm{ module = './lib_sandbox_nested_actor', sandbox = 'untrusted-plugin' }
b:send{ op = 'garbage', reply = inbox }
print('starts an actor after the garbage:', inbox:receive())
local c = spawn_vm{ module = './lib_sandbox_nested_actor', sandbox = 'untrusted-plugin' }
c:send{ op = 'nest', reply = inbox }
print('another actor:', inbox:receive().text)
