-- Sleeping fibers wake in the order of their deadlines; sleeps run concurrently.
local time = require 'time'
local order = {}
local t0 = time.steady_clock.now()
local fibers = {}
for i, d in ipairs({ 0.3, 0.1, 0.2, 0 }) do
  fibers[i] = spawn(function()
    time.sleep(d)
    order[#order + 1] = i
  end)
end
for i = 1, 4 do fibers[i]:join() end
local elapsed = time.steady_clock.now() - t0
-- The order also shows that the sleeps ran at once: one after another, they would have ended in
-- the order they were spawned (1 2 3 4). No upper bound on the time: a loaded machine may stall.
print('wake order', table.concat(order, ' '))
print('slept at least 0.3 s', elapsed >= 0.3)
