-- spawn_vm refuses bad arguments with clear errors.
local cases = {
  { 'a number', function() return spawn_vm(42) end },
  { 'an empty name', function() return spawn_vm('') end },
  { 'a missing relative module', function() return spawn_vm('./no_such_actor_module') end },
  { 'a missing searched module', function() return spawn_vm('no.such.actor.module') end },
  { 'an unknown option', function() return spawn_vm{ module = '.', colour = 'red' } end },
  { 'a bad mailbox', function() return spawn_vm{ module = '.', mailbox = 0 } end },
  { 'a fractional mailbox', function() return spawn_vm{ module = '.', mailbox = 1.5 } end },
  { 'a bad inherit_context', function() return spawn_vm{ module = '.', inherit_context = 'no' } end },
}
if _CONTEXT == 'main' then
  for _, c in ipairs(cases) do
    local ok, e = pcall(c[2])
    print(c[1], ok, e.code, e.message)
  end
  local ch = spawn_vm('.')
  print('a good spawn gives a', tostring(ch), 'and the worker sees _CONTEXT =', (function()
    ch:send(require('inbox'))
    return require('inbox'):receive()
  end)())
else
  local back = require('inbox'):receive()
  back:send(_CONTEXT)
end
