-- A suspending call inside coroutine.wrap suspends the whole fiber; the wrapped coroutine
-- sees only its own yields. (The calls wait for events, never for time: the order printed
-- must not depend on how fast the machine is.)

local ticker = spawn(function()
  for i = 1, 3 do
    print('ticker', i)
    this_fiber.yield()
  end
end)

local gen = coroutine.wrap(function(a)
  print('gen: got', a)
  this_fiber.yield()          -- suspends the fiber, not a yield of gen
  local b = coroutine.yield(a * 10)
  print('gen: got', b)
  ticker:join()               -- suspends the fiber again, until the ticker is done
  local c = coroutine.yield(b * 10)
  print('gen: got', c)
  return 'gen finished'
end)

print('main: first resume ->', gen(1))
print('main: second resume ->', gen(2))
print('main: third resume ->', gen(3))

-- an error raised after a suspension inside the coroutine reaches the caller of the wrapper
local bad = coroutine.wrap(function()
  this_fiber.yield()
  error('inside wrap')
end)
print(pcall(bad))
