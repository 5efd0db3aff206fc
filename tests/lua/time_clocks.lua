-- steady_clock and system_clock time points: arithmetic, comparisons, tostring.
local time = require 'time'
local t0 = time.steady_clock.now()
time.sleep(0.05)
local t1 = time.steady_clock.now()
print('elapsed at least the sleep', t1 - t0 >= 0.05)
print('ordered', t0 < t1, t0 <= t1, t1 > t0, t0 == t0, t0 ~= t1)
print('plus and minus seconds', (t0 + 2) - t0, (t0 - 2) - t0, (3 + t0) - t0)
print('add/sub methods', t0:add(1.5) - t0, t0:sub(0.5) - t0)
print('point minus seconds is a point', getmetatable(t0 - 1) == getmetatable(t0))
print('epoch', time.steady_clock.epoch().seconds_since_epoch, time.system_clock.epoch().seconds_since_epoch)
print('system clock is after 2020', time.system_clock.now().seconds_since_epoch > 1577836800)
print('tostring', (tostring(time.steady_clock.epoch() + 1.5)))
