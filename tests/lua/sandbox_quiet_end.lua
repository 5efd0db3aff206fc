-- Actors killed by close() or by the host's end die before they can see their channels close:
-- nothing of theirs reaches stderr (this case expects an empty one), and the host's output is whole.
local inbox = require 'inbox'
local function start()
  local ch = spawn_vm{ module = './lib_sandbox_receiver_actor', sandbox = 'untrusted-plugin' }
  ch:send{ reply = inbox }
  assert(inbox:receive() == 'ready')
  return ch
end

-- Closed by the host while it waits in receive.
for _ = 1, 5 do
  local ch = start()
  ch:close()
end

-- Collected without close().
for _ = 1, 5 do
  start()
end
collectgarbage()
collectgarbage()

-- Still running when the host ends.
local alive = {}
for i = 1, 5 do
  alive[i] = start()
end
print('host ends with', #alive, 'actors running')
