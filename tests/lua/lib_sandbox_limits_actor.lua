local inbox = require 'inbox'
local m = inbox:receive()
if m.op == 'memory' then
  local t = {}
  while true do t[#t + 1] = string.rep('x', 1 << 20) .. #t end
elseif m.op == 'loop' then
  while true do end
elseif m.op == 'loop in a coroutine' then
  -- The budget stops the coroutine that runs, not only the fiber.
  coroutine.wrap(function()
    local n = 0
    while true do n = n + 1 end
  end)()
elseif m.op == 'loop in a coroutine after a suspension' then
  -- The fiber suspends inside the coroutine; when woken, the scheduler resumes the fiber,
  -- which resumes the coroutine: the loop runs there.
  coroutine.wrap(function()
    require('time').sleep(0.01)
    while true do end
  end)()
elseif m.op == 'loop under pcall' then
  -- Nothing the script catches keeps it going.
  while true do pcall(function() while true do end end) end
elseif m.op == 'loop in C' then
  -- One long C call runs no Lua instruction: the hard limit stops it.
  string.find(string.rep('a', 3000), '.-.-.-.-b')
elseif m.op == 'thread' then
  local ok, err = pcall(spawn_vm, { module = '.', inherit_context = false })
  local ok2, err2 = pcall(spawn_context_threads, 1)
  m.reply:send{ ok = ok, err = tostring(err), ok2 = ok2, err2 = tostring(err2) }
elseif m.op == 'garbage' then
  luacell_test.raw_send(m.reply, 'not a luacell message')
  -- The host closes that channel when it reads the garbage: from then on sends fail.
  local time = require 'time'
  for _ = 1, 200 do
    local ok, err = pcall(m.reply.send, m.reply, 'after the garbage')
    if not ok and err.code == 'closed' then return end
    time.sleep(0.01)
  end
  error('the channel should be closed')
end
