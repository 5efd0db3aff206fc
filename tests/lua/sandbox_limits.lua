-- A memory bomb, an endless loop and a compromised actor that writes malformed bytes are each
-- contained and reported; the host and a well-behaved actor go on without losing a message.
local inbox = require 'inbox'
local S = require './lib_sandbox'

-- A well-behaved actor keeps answering through all of it.
local good = spawn_vm{ module = './lib_sandbox_messages_actor', sandbox = 'untrusted-plugin' }
good:send{ op = 'register', reply = inbox }
local sent = 0
local function ping()
  sent = sent + 1
  good:send{ op = 'echo_registered', v = sent }
  assert(inbox:receive().v == sent)
end

local function run(what, code, profile)
  local ch = spawn_vm{ module = './lib_sandbox_limits_actor', sandbox = profile or 'untrusted-plugin' }
  ch:send{ op = code, reply = inbox }
  local e = ch:wait()
  print(what, S.ended(e))
  ping()
  return ch
end

run('memory bomb:', 'memory')
-- The same loop under a 1-second CPU budget.
local quick = {
  namespaces = { user = true, pid = true, mount = true, net = true, ipc = true, uts = true, cgroup = true },
  filesystem = { bind = setmetatable({}, require('json').array_mt), dev = false, proc = false },
  landlock = { mode = 'required', min_abi = 6 },
  seccomp = { mode = 'on', preset = 'actor', forbidden = 'kill' },
  limits = { cpu_seconds = 1, lua_heap_bytes = 16777216 },
}
run('endless loop:', 'loop', quick)
-- The VM stops what runs when the budget is spent, and says where (stderr); a C call that runs
-- no Lua is ended by the hard limit a second later.
run('endless loop in a coroutine:', 'loop in a coroutine', quick)
run('endless loop in a coroutine after a suspension:', 'loop in a coroutine after a suspension', quick)
run('endless loop under pcall:', 'loop under pcall', quick)
run('endless loop in C:', 'loop in C', quick)

-- A sandboxed actor has one thread: the budget, and its seccomp preset, rely on it.
do
  local ch = spawn_vm{ module = './lib_sandbox_limits_actor', sandbox = 'untrusted-plugin' }
  ch:send{ op = 'thread', reply = inbox }
  local r = inbox:receive()
  print('new context in a sandbox:', r.ok, r.err)
  print('more threads in a sandbox:', r.ok2, r.err2)
  ch:wait()
end

-- The compromised actor: garbage on its channel to us. That channel is closed (reported on
-- stderr); the actor's next send finds it closed; nothing else is affected.
local bad = spawn_vm{ module = './lib_sandbox_limits_actor', sandbox = 'untrusted-plugin' }
bad:send{ op = 'garbage', reply = inbox }
print('compromised actor:', S.ended(bad:wait()))
for _ = 1, 100 do ping() end
print('messages to the good actor, all answered:', sent)
good:close()
