-- `time`: sleep, steady_timer, and the clocks.
--
-- Durations are in seconds (fractions allowed). A time_point is a table with
-- `seconds_since_epoch`, supporting `+`/`-` with seconds, `-` between points, and comparisons.

local RAW, S = ...
local E = RAW.io
local raise, arg_error, check, io_op, enter, await, current =
  S.raise, S.arg_error, S.check, S.io_op, S.enter, S.await, S.current
local setmetatable, getmetatable, type, pairs, next = setmetatable, getmetatable, type, pairs, next
local E_sleep, E_cancel, now_steady, now_system = E.sleep, E.cancel, E.now_steady, E.now_system

local time = {}

function time.sleep(secs)
  if type(secs) ~= 'number' then arg_error('time.sleep', 1, 'number', secs) end
  io_op('time.sleep', E_sleep, secs)
end

------------------------------------------------------------------------------------------------
-- Clocks and time points.

local function make_clock(name, now)
  local tp_mt = { __name = name .. '.time_point' }
  local methods = {}
  local function tp(s) return setmetatable({ seconds_since_epoch = s }, tp_mt) end
  local function is_tp(x) return getmetatable(x) == tp_mt end
  tp_mt.__index = methods
  function methods.add(a, secs)
    if type(secs) ~= 'number' then arg_error(name .. '.time_point:add', 1, 'number', secs) end
    return tp(a.seconds_since_epoch + secs)
  end
  function methods.sub(a, secs)
    if type(secs) ~= 'number' then arg_error(name .. '.time_point:sub', 1, 'number', secs) end
    return tp(a.seconds_since_epoch - secs)
  end
  tp_mt.__add = function(a, b)
    if is_tp(a) and type(b) == 'number' then return tp(a.seconds_since_epoch + b) end
    if is_tp(b) and type(a) == 'number' then return tp(b.seconds_since_epoch + a) end
    raise('EINVAL', name .. '.time_point', 'only a number of seconds can be added to a time point')
  end
  tp_mt.__sub = function(a, b)
    if is_tp(a) and is_tp(b) then return a.seconds_since_epoch - b.seconds_since_epoch end
    if is_tp(a) and type(b) == 'number' then return tp(a.seconds_since_epoch - b) end
    raise('EINVAL', name .. '.time_point', 'subtract a number of seconds or a time point of the same clock')
  end
  tp_mt.__eq = function(a, b) return a.seconds_since_epoch == b.seconds_since_epoch end
  tp_mt.__lt = function(a, b)
    if not (is_tp(a) and is_tp(b)) then raise('EINVAL', name .. '.time_point', 'compare time points of the same clock') end
    return a.seconds_since_epoch < b.seconds_since_epoch
  end
  tp_mt.__le = function(a, b)
    if not (is_tp(a) and is_tp(b)) then raise('EINVAL', name .. '.time_point', 'compare time points of the same clock') end
    return a.seconds_since_epoch <= b.seconds_since_epoch
  end
  tp_mt.__tostring = function(a) return string.format('%s(%.6f)', name, a.seconds_since_epoch) end
  local clock = {
    now = function() return tp(now()) end,
    epoch = function() return tp(0) end,
  }
  return clock, is_tp
end

local is_steady_tp
time.steady_clock, is_steady_tp = make_clock('steady_clock', now_steady)
time.system_clock = make_clock('system_clock', now_system)

------------------------------------------------------------------------------------------------
-- steady_timer: wait() until the expiry; cancel() and expires_after/at() abort pending waits
-- with ECANCELED and return how many they aborted. A timer never set has already expired.

local timer_mt = { __name = 'steady_timer', __metatable = 'steady_timer' }
local timer_methods = {}
timer_mt.__index = timer_methods

-- A timer tracks the fibers waiting on it, never op ids: an id belongs to its op only until
-- the op completes (the engine then reuses it), and the record's WAITING slot is cleared at
-- that moment, so cancelling through it can never touch another fiber's op.
local WAITING = S.WAITING

local function cancel_all(t)
  local n = 0
  for rec in pairs(t.waiters) do
    t.waiters[rec] = nil
    local id = rec[WAITING]
    if type(id) == 'number' then
      E_cancel(id)
      n = n + 1
    end
  end
  return n
end

local function is_timer(t) return getmetatable(t) == 'steady_timer' end

function timer_methods.expires_after(t, secs)
  if not is_timer(t) then arg_error('steady_timer:expires_after', 1, 'steady_timer', t) end
  if type(secs) ~= 'number' then arg_error('steady_timer:expires_after', 1, 'number', secs) end
  if secs ~= secs then raise('EINVAL', 'steady_timer:expires_after', 'the duration is NaN') end
  local n = cancel_all(t)
  t.expiry = now_steady() + secs
  return n
end

function timer_methods.expires_at(t, tp)
  if not is_timer(t) then arg_error('steady_timer:expires_at', 1, 'steady_timer', t) end
  if not is_steady_tp(tp) then arg_error('steady_timer:expires_at', 1, 'steady_clock.time_point', tp) end
  local n = cancel_all(t)
  t.expiry = tp.seconds_since_epoch
  return n
end

function timer_methods.cancel(t)
  if not is_timer(t) then arg_error('steady_timer:cancel', 1, 'steady_timer', t) end
  return cancel_all(t)
end

function timer_methods.wait(t)
  local what = 'steady_timer:wait'
  if not is_timer(t) then arg_error(what, 1, 'steady_timer', t) end
  local rec = current()
  enter(rec, what)
  local left = t.expiry - now_steady()
  if left < 0 then left = 0 end
  local id = check(what, E_sleep(left))
  t.waiters[rec] = true
  local ok, err = pcall(await, what, id)
  t.waiters[rec] = nil
  if not ok then error(err, 0) end
end

time.steady_timer = {
  new = function()
    return setmetatable({ waiters = {}, expiry = 0 }, timer_mt)
  end,
}

package.preload['time'] = function() return time end
