-- Interrupting a fiber that already finished does nothing: join returns its values.
local f = spawn(function() return 'a', 'b' end)
this_fiber.yield()
f:interrupt()
print(f:join())
print('interruption_caught', f.interruption_caught)

-- a finished fiber that failed: join still re-raises its error
local g = spawn(function() error('failed first', 0) end)
this_fiber.yield()
g:interrupt()
print(pcall(g.join, g))
print('interruption_caught', g.interruption_caught)
