-- recursive_mutex: the owner may lock again; it is released after as many unlocks.
local recursive_mutex = require 'recursive_mutex'
local m = recursive_mutex.new()

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  if ok then print(label, 'ok', err) else print(label, err.code, tostring(err)) end
end

m:lock()
m:lock()
print('main: try_lock by owner', m:try_lock())
local other = spawn(function()
  print('other: try_lock', m:try_lock())
  try('other: unlock', m.unlock, m)
  m:lock()
  print('other: got the lock')
  m:lock()
  m:unlock()
  m:unlock()
  print('other: released')
end)
this_fiber.yield()
m:unlock()
m:unlock()
this_fiber.yield()
print('main: still held after two of three unlocks')
m:unlock()
other:join()
try('main: unlock not locked', m.unlock, m)
try('wrong receiver', m.lock, 1)
