-- A scope opened inside a user coroutine belongs to that coroutine's call stack: while the
-- coroutine is suspended inside its scope, the fiber's own scope_cleanup_push goes to the
-- fiber's scope (here its root scope), not into the coroutine's.
local gen = coroutine.wrap(function()
  scope(function()
    scope_cleanup_push(function() print('coroutine scope cleanup') end)
    coroutine.yield('yielded inside its scope')
    print('coroutine resumed')
  end)
  return 'coroutine done'
end)

print(gen())
scope(function()
  scope_cleanup_push(function() print('fiber scope cleanup') end)
end)
scope_cleanup_push(function() print('fiber root cleanup (runs at the end)') end)
print(gen())
print('main: end of the main function')
