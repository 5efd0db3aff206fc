-- scope(f, ...) returns f's values; its cleanup handlers run last pushed first on exit.
local r = table.pack(scope(function(a, b)
  scope_cleanup_push(function() print('cleanup 1') end)
  scope_cleanup_push(function() print('cleanup 2') end)
  scope_cleanup_push(function() print('cleanup 3') end)
  print('body', a, b)
  return a + b, 'second', nil
end, 2, 3))
print('scope returned', r.n, r[1], r[2], r[3])

-- nested scopes: the inner handlers run when the inner scope ends
scope(function()
  scope_cleanup_push(function() print('outer cleanup') end)
  scope(function()
    scope_cleanup_push(function() print('inner cleanup') end)
    print('inner body')
  end)
  print('outer body after inner scope')
end)

-- a scope across suspensions
scope(function()
  scope_cleanup_push(function() print('cleanup after a yield') end)
  this_fiber.yield()
  require('time').sleep(0)
end)
print('end')
