-- Values that are not messages are refused with a clear error, and nothing is sent.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local a = spawn_vm('.')
  local cyclic = {}
  cyclic.self = cyclic
  local deep = {}
  local t = deep
  for _ = 1, 40 do
    t.next = {}
    t = t.next
  end
  local cases = {
    { 'a function', function() end },
    { 'a coroutine', coroutine.create(function() end) },
    { 'a table holding a function', { f = print } },
    { 'a table with a metatable', setmetatable({}, {}) },
    { 'a cyclic table', cyclic },
    { 'a deep table', deep },
    { 'a huge string', string.rep('x', 300 * 1024) },
    { 'a function as a key', { [print] = 1 } },
    { 'a file', io.stdout },
  }
  for _, c in ipairs(cases) do
    local ok, e = pcall(function() a:send(c[2]) end)
    print(c[1], ok, e.code, e.message)
  end
  a:send({ reply_to = inbox })
  print('main: the worker received', inbox:receive(), 'message(s)')
else
  local m = inbox:receive()
  m.reply_to:send(1)
end
