-- API functions called with wrong argument types raise one-line error values with a code.
local time = require 'time'
local mutex = require 'mutex'
local future = require 'future'
local json = require 'json'
local system = require 'system'
local condition_variable = require 'condition_variable'

local function try(label, f, ...)
  local ok, err = pcall(f, ...)
  print(label, ok, type(err), err and err.code, tostring(err))
end

try("time.sleep('x')", time.sleep, 'x')
try('time.sleep()', time.sleep)
try('time.sleep(-1)', time.sleep, -1)
try('time.sleep(0/0)', time.sleep, 0 / 0)
try('spawn(42)', spawn, 42)
try('spawn()', spawn)
try('scope(1)', scope, 1)
try("scope_cleanup_push('x')", scope_cleanup_push, 'x')
try('this_fiber.id = 3', function() this_fiber.id = 3 end)
try('byte_span.new(-1)', byte_span.new, -1)
try('byte_span.new(true)', byte_span.new, true)
try('json.decode()', json.decode)
try('system.exit(true)', system.exit, true)
try('mutex lock()', mutex.new().lock)
try('promise set_value()', (future.new()).set_value)
try('condition_variable notify_all(5)', condition_variable.new().notify_all, 5)
try('steady_timer expires_at(5)', time.steady_timer.new().expires_at, time.steady_timer.new(), 5)
try('steady_timer expires_at(system time)', time.steady_timer.new().expires_at, time.steady_timer.new(),
  time.system_clock.now())
try("time_point + 'x'", function() return time.steady_clock.now() + 'x' end)
try('steady - system', function() return time.steady_clock.now() - time.system_clock.now() end)
try('time_point < 1', function() return time.steady_clock.now() < 1 end)
try("time_point:add('x')", function() return time.steady_clock.now():add('x') end)
try('system.out.write_some(nil)', system.out.write_some, nil, 'x')
