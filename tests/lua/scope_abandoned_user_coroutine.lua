-- A user coroutine abandoned while suspended inside a scope() must not swallow the fiber's
-- own cleanup handlers: a handler pushed afterwards at the fiber's top level still runs when
-- the fiber ends.
local f = spawn(function()
  local gen = coroutine.wrap(function()
    scope(function()
      coroutine.yield('suspended inside a scope')
    end)
  end)
  print('f:', gen())
  gen = nil -- never resumed again
  scope_cleanup_push(function() print('f: root cleanup ran') end)
  return 'f done'
end)
print('main:', f:join())
