-- Many sandboxed actors at once: started together, their requests interleaved, every answer
-- back to the right asker.
local inbox = require 'inbox'
local N, ROUNDS = 30, 20
local actors = {}
for i = 1, N do
  actors[i] = spawn_vm{ module = './lib_sandbox_request_reply_actor', sandbox = 'untrusted-plugin' }
end
local pids = {}
for i = 1, N do pids[actors[i].child_pid] = true end
local distinct = 0
for _ in pairs(pids) do distinct = distinct + 1 end
print('actors, distinct processes:', N, distinct)
local got = 0
for round = 1, ROUNDS do
  for i = 1, N do actors[i]:send{ op = 'double', n = i * 1000 + round, reply = inbox } end
  for _ = 1, N do got = got + inbox:receive() end
end
local want = 0
for round = 1, ROUNDS do for i = 1, N do want = want + 2 * (i * 1000 + round) end end
print('answers add up:', got == want, got)
for i = 1, N do actors[i]:send{ op = 'stop' } end
local codes = {}
for i = 1, N do local c = actors[i]:wait().code; codes[c] = (codes[c] or 0) + 1 end
print('ended with code 0:', codes[0])
