-- A suspending call where the fiber cannot suspend (inside a callback run by a C function) is
-- refused with EPERM before anything starts: no op is left behind to wake a later wait.
local time = require 'time'
local mutex = require 'mutex'
local now = time.steady_clock.now

local ok, err = pcall(table.sort, { 3, 2, 1 }, function(a, b)
  time.sleep(0.05)
  return a < b
end)
print('sleep in a sort comparator', ok, err.code)

-- The control: the next sleep really waits its whole duration (a stray op from the refused
-- call would have woken it early).
local t0 = now()
time.sleep(0.1)
print('the next sleep waited its whole duration', now() - t0 >= 0.1)

local m = mutex.new()
local holder = spawn(function()
  m:lock()
  time.sleep(0.05)
  m:unlock()
end)
this_fiber.yield()
ok, err = pcall(string.gsub, 'a', 'a', function() m:lock() end)
print('lock a held mutex in a gsub callback', ok, err.code)
holder:join()
print('the mutex is free again', m:try_lock())
m:unlock()

ok, err = pcall(string.gsub, 'a', 'a', function() this_fiber.yield() end)
print('yield in a gsub callback', ok, err.code)
