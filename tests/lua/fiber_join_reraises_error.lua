-- join re-raises the fiber's error: the very same value, string or table.
local tbl = { reason = 'custom' }
local f1 = spawn(function()
  this_fiber.yield()
  error(tbl)
end)
local ok, err = pcall(f1.join, f1)
print(ok, rawequal(err, tbl), err.reason)

local f2 = spawn(function() error('plain string', 0) end)
this_fiber.yield()
ok, err = pcall(f2.join, f2)
print(ok, err)

local f3 = spawn(function() error('with position') end)
ok, err = pcall(function() return f3:join() end)
print(ok, err)

-- an error value from the runtime keeps its code
local f4 = spawn(function() require('time').sleep('soon') end)
ok, err = pcall(f4.join, f4)
print(ok, err.code, tostring(err))

-- once joined, the error is seen: nothing is reported at exit
print(f1.joinable, f2.joinable, f3.joinable, f4.joinable)
