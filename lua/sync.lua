-- Synchronisation between fibers of one VM: mutex, recursive_mutex, condition_variable, future.
--
-- All wait queues are FIFO. `mutex:lock()` is not an interruption point (as in Emilua): a fiber
-- interrupted while waiting for a lock still gets it, and the interruption is raised at its
-- next interruption point. `condition_variable:wait` and `future:get` are interruption points.

local RAW, S = ...
local raise, arg_error, enter, park, park_interruptible, wake, post =
  S.raise, S.arg_error, S.enter, S.park, S.park_interruptible, S.wake, S.post
local current, INTERRUPTED = S.current, S.INTERRUPTED
local setmetatable, getmetatable, error, rawequal, type = setmetatable, getmetatable, error, rawequal, type
local preload = package.preload

local queue_new, queue_push, queue_pop, queue_remove = S.queue_new, S.queue_push, S.queue_pop, S.queue_remove

local function wake_all(q)
  local rec = queue_pop(q)
  while rec do
    wake(rec)
    rec = queue_pop(q)
  end
end

-- Parks `rec` in `q` until woken; an interruption removes it only while it is still queued.
-- Returns the wake code ('interrupted' or nil).
local function wait_in(q, rec)
  local slot = queue_push(q, rec)
  return park_interruptible(rec, function(r) return queue_remove(q, slot, r) end)
end

------------------------------------------------------------------------------------------------
-- mutex

local mutex_mt = { __name = 'mutex', __metatable = 'mutex' }
local mutex_methods = {}
mutex_mt.__index = mutex_methods

local function acquire(m, rec)
  -- Not an interruption point; only forbid_suspend is checked.
  if m.owner == nil then
    m.owner = rec
    return
  end
  local q = m.waiters
  if q == nil then
    q = queue_new()
    m.waiters = q
  end
  queue_push(q, rec)
  park(rec)  -- woken by release, which made us the owner
end

local function release(m)
  local q = m.waiters
  local nxt = q and queue_pop(q)
  m.owner = nxt
  if nxt then post(nxt) end
end

local check_suspend = S.check_suspend

function mutex_methods.lock(m)
  if getmetatable(m) ~= 'mutex' then arg_error('mutex:lock', 1, 'mutex', m) end
  local rec = current()
  if rawequal(m.owner, rec) then raise('EDEADLK', 'mutex:lock', 'the fiber already owns this mutex') end
  if m.owner ~= nil then check_suspend(rec, 'mutex:lock') end
  acquire(m, rec)
end

function mutex_methods.try_lock(m)
  if getmetatable(m) ~= 'mutex' then arg_error('mutex:try_lock', 1, 'mutex', m) end
  local rec = current()
  if rawequal(m.owner, rec) then raise('EDEADLK', 'mutex:try_lock', 'the fiber already owns this mutex') end
  if m.owner ~= nil then return false end
  m.owner = rec
  return true
end

-- Unlocking needs the lock held by the calling fiber (stricter than Emilua, which does not
-- track the owner).
local function check_unlock(m, kind)
  local what = kind .. ':unlock'
  if getmetatable(m) ~= kind then arg_error(what, 1, kind, m) end
  if m.owner == nil then raise('EPERM', what, 'the mutex is not locked') end
  if not rawequal(m.owner, current()) then raise('EPERM', what, 'the mutex is locked by another fiber') end
end

function mutex_methods.unlock(m)
  check_unlock(m, 'mutex')
  release(m)
end

local mutex = {}
function mutex.new()
  return setmetatable({}, mutex_mt)
end
preload['mutex'] = function() return mutex end

------------------------------------------------------------------------------------------------
-- recursive_mutex

local rmutex_mt = { __name = 'recursive_mutex', __metatable = 'recursive_mutex' }
local rmutex_methods = {}
rmutex_mt.__index = rmutex_methods

function rmutex_methods.lock(m)
  if getmetatable(m) ~= 'recursive_mutex' then arg_error('recursive_mutex:lock', 1, 'recursive_mutex', m) end
  local rec = current()
  if rawequal(m.owner, rec) then
    m.depth = m.depth + 1
    return
  end
  if m.owner ~= nil then check_suspend(rec, 'recursive_mutex:lock') end
  acquire(m, rec)
  m.depth = 1
end

function rmutex_methods.try_lock(m)
  if getmetatable(m) ~= 'recursive_mutex' then arg_error('recursive_mutex:try_lock', 1, 'recursive_mutex', m) end
  local rec = current()
  if rawequal(m.owner, rec) then
    m.depth = m.depth + 1
    return true
  end
  if m.owner ~= nil then return false end
  m.owner, m.depth = rec, 1
  return true
end

function rmutex_methods.unlock(m)
  check_unlock(m, 'recursive_mutex')
  m.depth = m.depth - 1
  if m.depth == 0 then
    release(m)
    -- the next owner (if any) starts at depth 1
    if m.owner ~= nil then m.depth = 1 end
  end
end

local recursive_mutex = {}
function recursive_mutex.new()
  return setmetatable({ depth = 0 }, rmutex_mt)
end
preload['recursive_mutex'] = function() return recursive_mutex end

------------------------------------------------------------------------------------------------
-- condition_variable

local cond_mt = { __name = 'condition_variable', __metatable = 'condition_variable' }
local cond_methods = {}
cond_mt.__index = cond_methods

function cond_methods.wait(c, m)
  local what = 'condition_variable:wait'
  if getmetatable(c) ~= 'condition_variable' then arg_error(what, 1, 'condition_variable', c) end
  if getmetatable(m) ~= 'mutex' then arg_error(what, 2, 'mutex', m) end
  local rec = current()
  if not rawequal(m.owner, rec) then
    raise('EPERM', what, 'the fiber does not hold the mutex')
  end
  enter(rec, what)
  local q = c.waiters
  local slot = queue_push(q, rec)
  release(m)
  -- An interruption removes us only while we are still queued: once notified, the wake-up is
  -- ours and is kept (the interruption waits for the next interruption point), so it never
  -- swallows a notification meant for another waiter.
  local code = park_interruptible(rec, function(r) return queue_remove(q, slot, r) end)
  acquire(m, rec)
  if code == 'interrupted' then error(INTERRUPTED, 0) end
end

function cond_methods.notify_one(c)
  if getmetatable(c) ~= 'condition_variable' then arg_error('condition_variable:notify_one', 1, 'condition_variable', c) end
  local rec = queue_pop(c.waiters)
  if rec then wake(rec) end
end

function cond_methods.notify_all(c)
  if getmetatable(c) ~= 'condition_variable' then arg_error('condition_variable:notify_all', 1, 'condition_variable', c) end
  wake_all(c.waiters)
end

local condition_variable = {}
function condition_variable.new()
  return setmetatable({ waiters = queue_new() }, cond_mt)
end
preload['condition_variable'] = function() return condition_variable end

------------------------------------------------------------------------------------------------
-- future: a promise/future pair over one shared state. Many fibers may wait on one future.

local promise_mt = { __name = 'promise', __metatable = 'promise' }
local future_mt = { __name = 'future', __metatable = 'future' }
local promise_methods, future_methods = {}, {}
promise_mt.__index = promise_methods
future_mt.__index = future_methods

local function settle(st, ok, v)
  st.done, st.ok, st.value = true, ok, v
  wake_all(st.waiters)
end

function promise_methods.set_value(p, v)
  if getmetatable(p) ~= 'promise' then arg_error('promise:set_value', 1, 'promise', p) end
  local st = p.state
  if st.done then raise('EINVAL', 'promise:set_value', 'the promise is already satisfied') end
  settle(st, true, v)
end

function promise_methods.set_error(p, e)
  if getmetatable(p) ~= 'promise' then arg_error('promise:set_error', 1, 'promise', p) end
  if e == nil then raise('EINVAL', 'promise:set_error', 'the error must not be nil') end
  local st = p.state
  if st.done then raise('EINVAL', 'promise:set_error', 'the promise is already satisfied') end
  settle(st, false, e)
end

-- A promise collected unsatisfied breaks its future: waiters get an EPIPE error.
promise_mt.__gc = function(p)
  local st = p.state
  if not st.done then
    settle(st, false, S.new_error('EPIPE', 'future:get', 'broken promise (collected before it was satisfied)'))
  end
end

function future_methods.get(f)
  local what = 'future:get'
  if getmetatable(f) ~= 'future' then arg_error(what, 1, 'future', f) end
  local st = f.state
  local rec = current()
  if not st.done then
    enter(rec, what)
    S.future_waiters = S.future_waiters + 1
    local code = wait_in(st.waiters, rec)
    S.future_waiters = S.future_waiters - 1
    if code == 'interrupted' then error(INTERRUPTED, 0) end
  end
  if st.ok then return st.value end
  error(st.value, 0)
end

local future = {}
function future.new()
  local st = { waiters = queue_new() }
  return setmetatable({ state = st }, promise_mt), setmetatable({ state = st }, future_mt)
end
preload['future'] = function() return future end
