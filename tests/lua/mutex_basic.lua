-- mutex: FIFO hand-over between waiters, try_lock, and the misuse errors.
local mutex = require 'mutex'
local m = mutex.new()

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then print(label, 'ok', err) else print(label, err.code, tostring(err)) end
end

m:lock()
local fibers = {}
for i = 1, 3 do
  fibers[i] = spawn(function()
    m:lock()
    print('fiber ' .. i .. ' got the lock')
    this_fiber.yield()
    m:unlock()
  end)
end
this_fiber.yield()
try('main: lock twice', m.lock, m)
try('main: try_lock twice', m.try_lock, m)
m:unlock()
for i = 1, 3 do fibers[i]:join() end

try('main: unlock not locked', m.unlock, m)
local holder = spawn(function()
  m:lock()
  this_fiber.yield()
  m:unlock()
end)
this_fiber.yield()
try('main: unlock held by another fiber', m.unlock, m)
print('main: try_lock held by another fiber', m:try_lock())
holder:join()
print('main: try_lock free', m:try_lock())
m:unlock()
try('wrong receiver', m.lock, {})
try('wrong receiver', m.unlock, nil)
