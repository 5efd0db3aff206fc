-- A sandboxed actor answers requests; it runs as a worker with the safe library subset, in a
-- process of its own, and ends with status 0 when its inbox closes.
local inbox = require 'inbox'
local ch = spawn_vm{ module = './lib_sandbox_request_reply_actor', sandbox = 'untrusted-plugin' }
print('child pid is an integer:', math.type(ch.child_pid) == 'integer')
ch:send{ op = 'describe', reply = inbox }
local d = inbox:receive()
print('context', d.context)
print('io, debug, os.execute, dofile, package.loadlib:', d.io, d.debug, d.execute, d.dofile, d.loadlib)
print('binary chunks refused:', d.binary)
for i = 1, 3 do
  ch:send{ op = 'double', n = i, reply = inbox }
  print('double', i, inbox:receive())
end
-- Every request carries a reply address (a new descriptor in the actor): far more of them than
-- its 64 open files, answered because channels that became garbage are collected as they pile up.
local sum = 0
for i = 1, 500 do
  ch:send{ op = 'double', n = i, reply = inbox }
  sum = sum + inbox:receive()
end
print('500 requests with reply addresses, sum of answers:', sum)
ch:send{ op = 'stop' }
local e = ch:wait()
print('ended with code', e.code, 'signal', e.signal, 'limit', e.limit)
-- After it ended, its channel is closed for sending.
local ok, err = pcall(ch.send, ch, 'late')
print('send after end:', ok, err.code)

-- An actor that keeps every reply address reaches its 64 open files: the message that brings one
-- too many closes that channel (said on stderr), and the actor sees its inbox close.
local h = spawn_vm{ module = './lib_sandbox_request_reply_actor', sandbox = 'untrusted-plugin' }
local sent = 0
while sent < 1000 and pcall(h.send, h, { op = 'hoard', reply = inbox }) do
  sent = sent + 1
end
print('hoarder lost its inbox before 1000 addresses:', sent < 1000)
print('hoarder ended with code', h:wait().code)
