-- condition_variable: producer/consumer, notify_all in FIFO order, and EPERM without the mutex.
local mutex = require 'mutex'
local condition_variable = require 'condition_variable'
local m, cv = mutex.new(), condition_variable.new()
local queue = {}

local consumer = spawn(function()
  local got = {}
  m:lock()
  while #got < 3 do
    while #queue == 0 do cv:wait(m) end
    got[#got + 1] = table.remove(queue, 1)
  end
  m:unlock()
  return table.concat(got, ',')
end)
for _, item in ipairs({ 'a', 'b', 'c' }) do
  m:lock()
  queue[#queue + 1] = item
  cv:notify_one()
  m:unlock()
  this_fiber.yield()
end
print('consumer got', consumer:join())

-- notify_all wakes every waiter, first come first served
local waiters = {}
for i = 1, 3 do
  waiters[i] = spawn(function()
    m:lock()
    cv:wait(m)
    print('waiter ' .. i .. ' woke')
    m:unlock()
  end)
end
this_fiber.yield()
m:lock()
cv:notify_all()
print('main: notified all')
m:unlock()
for i = 1, 3 do waiters[i]:join() end

-- notify with no waiter is a no-op
cv:notify_one()
cv:notify_all()

local ok, err = pcall(cv.wait, cv, m)
print(ok, err.code, tostring(err))
local holder = spawn(function() m:lock(); this_fiber.yield(); m:unlock() end)
this_fiber.yield()
ok, err = pcall(cv.wait, cv, m)
print(ok, err.code)
holder:join()
ok, err = pcall(cv.wait, cv, 'mutex')
print(ok, tostring(err))
ok, err = pcall(cv.notify_one, {})
print(ok, tostring(err))
