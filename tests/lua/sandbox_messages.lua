-- Messages with sandboxed actors keep the semantics of local ones: nested tables, byte_spans
-- (a large one travels as a sealed memfd), addresses forwarded from one sandboxed actor to
-- another, and a local actor talking to a sandboxed one. Nothing is lost.
local inbox = require 'inbox'
local a = spawn_vm{ module = './lib_sandbox_messages_actor', sandbox = 'untrusted-plugin' }
local b = spawn_vm{ module = './lib_sandbox_messages_actor', sandbox = 'untrusted-plugin' }

a:send{ op = 'echo', reply = inbox, v = { 1, 2.5, 'three', true, { deep = { deeper = { 'x' } } }, [10] = false } }
local v = inbox:receive().v
print(v[1], v[2], v[3], v[4], v[5].deep.deeper[1], v[10], math.type(v[1]), math.type(v[2]))

-- 1 MiB: over the inline limit, so it crosses as a memfd.
local big = byte_span.new(1024 * 1024)
for i = 1, #big, 4096 do big[i] = (i // 4096) % 251 end
a:send{ op = 'sum', reply = inbox, buf = big }
local r = inbox:receive()
local want = 0
for i = 1, #big, 4096 do want = want + big[i] end
print('big buffer', r.len, r.sum == want)

-- a gets b's address and asks b to answer us: b's reply comes straight from b.
a:send{ op = 'forward', to = b, msg = { op = 'echo', reply = inbox, v = 'via a to b' } }
print(inbox:receive().v)

-- A local actor (same process) talks to the sandboxed b.
local l = spawn_vm('./lib_sandbox_messages_local')
l:send{ peer = b, reply = inbox }
print(inbox:receive())

-- Many messages, in order, none lost (the address is handed over once: every send of an
-- inbox mints a new capability, one descriptor at the receiver).
local n = 2000
b:send{ op = 'register', reply = inbox }
-- Replies are taken by another fiber while this one sends (both mailboxes are bounded).
local taker = spawn(function()
  local ok = true
  for i = 1, n do
    if inbox:receive().v ~= i then ok = false end
  end
  return ok
end)
for i = 1, n do b:send{ op = 'echo_registered', v = i } end
print(n .. ' messages in order:', taker:join())

-- Refused values raise at the sender, as for local actors.
print(select(2, pcall(a.send, a, { f = print })).code)
a:close()
b:close()
