-- interruption_caught: EINVAL before a join; after it, whether the fiber ended by interruption.
local time = require 'time'

local normal = spawn(function() return 'fine' end)
local ok, err = pcall(function() return normal.interruption_caught end)
print(ok, err.code, tostring(err))
print(normal:join(), normal.interruption_caught)

local victim = spawn(function()
  time.sleep(3600)
  print('never printed')
end)
this_fiber.yield()
victim:interrupt()
ok, err = pcall(function() return victim.interruption_caught end)
print(ok, err.code)
print(select('#', victim:join()), victim.interruption_caught)

-- a fiber that failed: join raises, and after that the flag says false
local failing = spawn(function() error('oops', 0) end)
print(pcall(failing.join, failing))
print(failing.interruption_caught)

-- detached fibers are never joined: the flag stays unknown
local d = spawn(function() end)
d:detach()
ok, err = pcall(function() return d.interruption_caught end)
print(ok, err.code)
