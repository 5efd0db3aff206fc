-- Nested user coroutines around suspending calls, interleaved with another fiber.
local time = require 'time'

local other = spawn(function()
  for i = 1, 3 do
    print('other', i)
    this_fiber.yield()
  end
end)

local outer = coroutine.wrap(function()
  local inner = coroutine.wrap(function()
    this_fiber.yield()
    coroutine.yield('inner 1')
    other:join()              -- suspends until the other fiber is done (an event, not a time)
    coroutine.yield('inner 2')
    return 'inner done'
  end)
  coroutine.yield('outer got ' .. inner())
  this_fiber.yield()
  coroutine.yield('outer got ' .. inner())
  coroutine.yield('outer got ' .. inner())
  return 'outer done'
end)

for _ = 1, 4 do print('main:', outer()) end

-- a coroutine created inside a coroutine inside another fiber
local f = spawn(function()
  local gen = coroutine.wrap(function()
    for i = 1, 3 do
      local sub = coroutine.create(function()
        time.sleep(0.001)
        coroutine.yield(i * 100)
      end)
      local _, v = coroutine.resume(sub)
      coroutine.yield(v)
    end
  end)
  return gen() + gen() + gen()
end)
print('f:', f:join())
