-- Handlers pushed outside any scope() belong to the fiber's root scope: they run when the
-- fiber ends (returns, fails or is interrupted), before join returns.
local time = require 'time'

local ok_fiber = spawn(function()
  scope_cleanup_push(function() print('ok_fiber: root cleanup 1') end)
  scope_cleanup_push(function() print('ok_fiber: root cleanup 2') end)
  print('ok_fiber: returning')
  return 'result'
end)
print('main: joined', ok_fiber:join())

local failing = spawn(function()
  scope_cleanup_push(function() print('failing: root cleanup') end)
  error('failure', 0)
end)
print('main: join raised', pcall(failing.join, failing))

local interrupted = spawn(function()
  scope_cleanup_push(function()
    time.sleep(0.01)
    print('interrupted: root cleanup slept')
  end)
  time.sleep(3600)
end)
this_fiber.yield()
interrupted:interrupt()
interrupted:join()
print('main: interruption_caught', interrupted.interruption_caught)

local detached = spawn(function()
  scope_cleanup_push(function() print('detached: root cleanup') end)
end)
detached:detach()

-- the main fiber's root scope runs when the main function returns
scope_cleanup_push(function() print('main: root cleanup') end)
print('main: returning')
