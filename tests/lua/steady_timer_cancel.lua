-- steady_timer: wait until the expiry; cancel() aborts pending waits with ECANCELED and says
-- how many; expires_after() also aborts them.
local time = require 'time'

local t = time.steady_timer.new()
t:wait()
print('a timer never set has already expired')

t:expires_after(3600)
local w1 = spawn(function() return pcall(t.wait, t) end)
local w2 = spawn(function() return pcall(t.wait, t) end)
this_fiber.yield()
print('cancel aborted', t:cancel())
local ok, err = w1:join()
print('w1', ok, err.code, tostring(err))
ok, err = w2:join()
print('w2', ok, err.code)
print('cancel with no wait pending', t:cancel())

local w3 = spawn(function() return pcall(t.wait, t) end)
this_fiber.yield()
print('expires_after aborted', t:expires_after(0.01))
print('w3', w3:join())
t:wait()
print('waited for the new expiry')

-- expires_at with a point in the past
t:expires_at(time.steady_clock.now() - 1)
t:wait()
print('expired in the past')

-- an interrupted timer wait raises interrupted, not ECANCELED
t:expires_after(3600)
local w4 = spawn(function()
  local ok4, err4 = pcall(t.wait, t)
  print('w4', ok4, err4.code)
end)
this_fiber.yield()
w4:interrupt()
w4:join()

local bad_ok, bad = pcall(t.expires_after, t, 'soon')
print(bad_ok, tostring(bad))
bad_ok, bad = pcall(t.wait, {})
print(bad_ok, tostring(bad))
