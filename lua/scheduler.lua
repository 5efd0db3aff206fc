-- The fiber scheduler, fibers, scopes, errors, and the coroutine wrappers.
--
-- Trust zone: runs inside the VM it schedules. Its state lives in upvalues that scripts cannot
-- reach without `debug` (sandboxed actors do not get `debug`).
--
-- A fiber is a Lua coroutine plus a record (the table `spawn` returns). A fiber suspends by
-- yielding the private SUSPEND sentinel after registering itself where it will be woken from
-- (an op id in OPS, a wait queue, the ready queue). The loop in `run` resumes ready fibers in
-- FIFO order and, between rounds, collects finished IO from the engine.
--
-- Wake protocol: whoever wakes a fiber stores (code, value) in rec[WCODE], rec[WVAL] and posts
-- it. code == nil is success; 'interrupted' means the wait was cancelled by an interruption;
-- anything else is an error code (errno name, 'EOF').

local RAW, S = ...
local E = RAW.io

local raw_create, raw_resume, raw_yield = coroutine.create, coroutine.resume, coroutine.yield
local raw_status, raw_running, raw_close = coroutine.status, coroutine.running, coroutine.close
local raw_isyieldable = coroutine.isyieldable
local traceback, getinfo, debug_setmetatable = debug.traceback, debug.getinfo, debug.setmetatable
local type, select, error, setmetatable, getmetatable = type, select, error, setmetatable, getmetatable
local tostring, xpcall, pcall, rawequal, rawget = tostring, xpcall, pcall, rawequal, rawget
local pack, unpack = table.pack, table.unpack
local format = string.format
local stderr = io.stderr
local E_wait, E_cancel = E.wait, E.cancel
local FAIL = RAW.FAIL
local describe, note_panic = RAW.describe, RAW.note_panic
-- Only in a process with a CPU budget (src/lua/budget.rs): told which Lua thread runs, before
-- each resume and once the resumer has control back.
local note = RAW.note_running

------------------------------------------------------------------------------------------------
-- Errors: tables with a stable `code` and one line of `message`.

local error_mt = { __name = 'luacell.error' }
error_mt.__index = error_mt
error_mt.__tostring = function(e) return e.message end

-- new_error('EINVAL', 'fiber:join', 'the fiber is detached') ->
--   "fiber:join: the fiber is detached (EINVAL)"
local function new_error(code, what, detail)
  local message
  if detail == nil or detail == '' then detail = describe(code) end
  if what then
    message = format('%s: %s (%s)', what, detail, code)
  else
    message = format('%s (%s)', detail, code)
  end
  return setmetatable({ code = code, message = message }, error_mt)
end

local function raise(code, what, detail)
  error(new_error(code, what, detail), 0)
end

local INTERRUPTED = setmetatable({ code = 'interrupted', message = 'fiber interrupted' }, error_mt)

local function is_interrupted(e)
  return rawequal(e, INTERRUPTED)
end

-- Raw primitives answer FAIL, code, detail for a user error; `check` raises it.
local function check(what, a, ...)
  -- FAIL is a table and raw primitives return no tables, so `==` cannot reach an __eq.
  if a == FAIL then raise((...), what, (select(2, ...))) end
  return a, ...
end

local function arg_error(what, n, expected, got)
  raise('EINVAL', what, format('bad argument #%d (%s expected, got %s)', n, expected, type(got)))
end

S.error_mt, S.new_error, S.raise, S.check, S.arg_error = error_mt, new_error, raise, check, arg_error
S.INTERRUPTED = INTERRUPTED

------------------------------------------------------------------------------------------------
-- Fiber records. Internal state sits in array slots (fast, and invisible to `f.name` lookups).

-- The ten slots every fiber uses come first and are allocated with the record; the rare ones
-- (results, errors, scopes, ...) land in the hash part only when a fiber needs them.
local CO <const> = 1        -- the coroutine
local FN <const> = 2        -- the function to run
local DONE <const> = 3      -- false, or OK/FAILED/CAUGHT (how it ended)
local JOIN <const> = 4      -- nil: joinable; 'joining' | 'joined' | 'detached'
local INTR <const> = 5      -- interruption requested
local NOINTR <const> = 6    -- disable_interruption depth
local NOSUSP <const> = 7    -- forbid_suspend depth
local WAITING <const> = 8   -- op id (number) or canceller (function) while interruptibly parked
local WCODE <const> = 9     -- wake code
local WVAL <const> = 10     -- wake value
local RESULTS <const> = 11  -- packed return values
local JOINER <const> = 12   -- the fiber waiting in join
local ERR <const> = 13      -- the error it died with
local SCOPES <const> = 14   -- stack of cleanup-handler lists (index 1: the fiber's root scope)
local LOCAL <const> = 15    -- this_fiber.local_
local ID <const> = 16       -- this_fiber.id
local MAIN <const> = 17     -- true for the main fiber
local TB <const> = 18       -- traceback of the last error seen by the message handler
local TBERR <const> = 19    -- the error that traceback belongs to
local DONE_HOW <const> = 21 -- outcome kept while root-scope cleanups run
local DONE_ERR <const> = 22

local OK <const>, FAILED <const>, CAUGHT <const> = 1, 2, 3

-- A function, so that `x == SUSPEND` never calls a script's __eq (only tables and userdata have
-- one), and no script can produce it.
local SUSPEND = function() end

-- Ready fibers: Q holds those posted for the next round (Q[1..qn], FIFO). Each round the loop
-- swaps Q with the array it just emptied, so indices always restart at 1 and both stay in the
-- tables' array parts however long fibers keep posting.
local Q, qn = {}, 0
local spare = {}
local current = nil          -- the record of the running fiber
local OPS = {}               -- op id -> record of the fiber waiting for it
local npending = 0           -- ops in flight
local OUT = {}               -- scratch for E.wait
local halted = false         -- the VM stopped (main fiber panic, failed cleanup)
local exit_status = 0
local next_id = 0
-- Fiber coroutines a script has seen (through coroutine.running), so that it cannot resume or
-- close them: filled lazily, which keeps spawn free of a weak-table insert.
local FIBER_CO = setmetatable({}, { __mode = 'k' })
-- Set in conclude(): a failed fiber nobody joined or detached gets a metatable with __gc, so
-- its panic is printed when its handle is collected (at the latest when the VM closes). Only
-- failed fibers pay for a finalizer.
local failed_fiber_mt
local PARKED_CO = setmetatable({}, { __mode = 'k' }) -- user coroutines suspended for their fiber

local function post(rec)
  qn = qn + 1
  Q[qn] = rec
end

local function vm_address()
  return format('%p', OUT)
end

local function print_panic(rec, err)
  local ok, msg = pcall(tostring, err)
  if not ok or type(msg) ~= 'string' then msg = format('(a %s whose __tostring failed)', type(err)) end
  local tb = (rec[TBERR] ~= nil and rawequal(rec[TBERR], err)) and rec[TB] or 'stack traceback:\n\t[C]: in ?'
  if rec[MAIN] then
    stderr:write(format("Main fiber from VM %s panicked: '%s'\n%s\n", vm_address(), msg, tb))
  else
    stderr:write(format("Fiber %s panicked: '%s'\n%s\n", format('%p', rec), msg, tb))
  end
  note_panic(msg)
  exit_status = 1
end

-- Frames of the scheduler itself are cut from tracebacks, and the fiber's function is named by
-- where it is defined (as a plain Lua traceback names an anonymous function).
local function clean_traceback(rec, tb)
  tb = tb:gsub("\n\t%[C%]: in function 'xpcall'\n\tluacell/scheduler%.lua:[^\n]*", '')
  tb = tb:gsub('\n\tluacell/scheduler%.lua:[^\n]*', '')
  local info = rec[FN] and getinfo(rec[FN], 'S')
  if info then
    local name = info.what == 'main' and 'main chunk' or format('function <%s:%d>', info.short_src, info.linedefined)
    tb = tb:gsub("in local 'fiber_function'", 'in ' .. name)
  end
  return tb
end

-- The message handler of scopes and cleanup handlers: keeps the traceback of where an error
-- was raised, so that the panic shows it rather than the place a scope re-raised it.
local function msgh(err)
  local rec = current
  if rec ~= nil and not is_interrupted(err) and not rawequal(rec[TBERR], err) then
    rec[TBERR] = err
    rec[TB] = clean_traceback(rec, traceback(nil, 2))
  end
  return err
end

-- Stops the VM from inside a fiber: the loop in `run` sees `halted` and returns.
local function halt()
  halted = true
  raw_yield(SUSPEND)
end

-- Runs a list of cleanup handlers, last pushed first, with interruption disabled. A handler
-- that fails ends the VM (as in Emilua): its fiber's invariants can no longer be trusted.
local function run_cleanups(rec, list)
  if list == nil then return end
  rec[NOINTR] = rec[NOINTR] + 1
  for i = #list, 1, -1 do
    local h = list[i]
    list[i] = nil
    local ok, err = xpcall(h, msgh)
    if not ok then
      stderr:write(format("Fiber %s panicked in a scope cleanup handler: '%s'\n%s\n",
        format('%p', rec), tostring(err), rec[TB] or ''))
      note_panic()
      exit_status = 1
      halt()
    end
  end
  rec[NOINTR] = rec[NOINTR] - 1
end

-- How a fiber's function ended, once its root-scope cleanups (if any) have run.
local function conclude(rec, how, err)
  rec[DONE] = how
  if how == FAILED then rec[ERR] = err end
  rec[WAITING] = nil
  local joiner = rec[JOINER]
  if joiner then
    rec[JOINER] = nil
    joiner[WAITING] = nil
    post(joiner)
  end
  if how == FAILED then
    if rec[MAIN] then
      print_panic(rec, err)
      halted = true
    elseif rec[JOIN] == 'detached' then
      print_panic(rec, err)
    else
      debug_setmetatable(rec, failed_fiber_mt)
    end
  end
end

-- The fiber's function returned: run its root-scope cleanups (inside the fiber: they may
-- suspend), keep its results, conclude. Tail-called from the coroutine body.
local function finish_ok(rec, ...)
  local scopes = rec[SCOPES]
  if scopes and scopes[1][1] ~= nil then run_cleanups(rec, scopes[1]) end
  if (...) ~= nil or select('#', ...) > 0 then rec[RESULTS] = pack(...) end
  return conclude(rec, OK)
end

local function fiber_body()
  local rec = current
  local fiber_function = rec[FN]
  return finish_ok(rec, fiber_function())
end

-- After a failure, the root-scope cleanups run in a fresh coroutine of the same fiber.
local function root_cleanup_body()
  local rec = current
  run_cleanups(rec, rec[SCOPES][1])
  return conclude(rec, rec[DONE_HOW], rec[DONE_ERR])
end

-- The fiber's function raised `err`; called by the scheduler. The failed coroutine keeps its
-- stack, which gives the traceback (unless a scope already recorded where `err` was raised).
local function failed(rec, err)
  local how = FAILED
  if rawequal(err, INTERRUPTED) then
    how = CAUGHT
  elseif not rawequal(rec[TBERR], err) then
    rec[TBERR] = err
    rec[TB] = clean_traceback(rec, traceback(rec[CO]))
  end
  local scopes = rec[SCOPES]
  if scopes and scopes[1][1] ~= nil then
    rec[DONE_HOW], rec[DONE_ERR] = how, err
    rec[CO] = raw_create(root_cleanup_body)
    post(rec)
    return
  end
  return conclude(rec, how, err)
end

local fiber_mt = { __name = 'fiber', __metatable = 'fiber' }
local fiber_methods = {}

local function new_record(f, main)
  local rec = setmetatable({ raw_create(fiber_body), f, false, nil, false, 0, 0, nil, nil, nil }, fiber_mt)
  if main then rec[MAIN] = true end
  return rec
end

-- The same record as new_record's, built inline: spawn is the hot path of fiber creation.
function spawn(f)
  if type(f) ~= 'function' then arg_error('spawn', 1, 'function', f) end
  local rec = setmetatable({ raw_create(fiber_body), f, false, nil, false, 0, 0, nil, nil, nil }, fiber_mt)
  qn = qn + 1
  Q[qn] = rec
  return rec
end

------------------------------------------------------------------------------------------------
-- Suspension.

-- Refuses to suspend where the fiber cannot: inside forbid_suspend, or inside a C call that
-- has no continuation (a table.sort comparator, a gsub callback, a metamethod called from C).
-- Checked before anything is registered or started, so nothing is left waiting for a fiber
-- that never parked.
local function check_suspend(rec, what)
  if rec[NOSUSP] > 0 then
    raise('EPERM', what, 'the fiber is inside a forbid_suspend block')
  end
  if not raw_isyieldable() then
    raise('EPERM', what, 'cannot suspend inside a call from C (a callback or metamethod run by a C function)')
  end
end

-- Checks made at every suspending call, before anything is started: suspension must be
-- possible, and a pending interruption is raised (an interruption point).
local function enter(rec, what)
  check_suspend(rec, what)
  if rec[INTR] and rec[NOINTR] == 0 then
    error(INTERRUPTED, 0)
  end
end

local function wake_values(rec)
  local code, value = rec[WCODE], rec[WVAL]
  rec[WCODE], rec[WVAL] = nil, nil
  return code, value
end

-- Parks the running fiber until something posts it; returns (code, value).
local function park(rec)
  raw_yield(SUSPEND)
  return wake_values(rec)
end

-- Ops that may finish at once before the running fiber must give the others a turn: a fiber
-- on an always-ready socket cannot starve the rest, and the common case pays no switch.
local IMMEDIATE_BUDGET <const> = 64
local immediate_left = IMMEDIATE_BUDGET

-- The budget of immediate completions ran out: give the other fibers a turn (the scheduler
-- refills the budget when it resumes this one).
local function yield_turn(rec)
  qn = qn + 1
  Q[qn] = rec
  raw_yield(SUSPEND)
  rec[WCODE], rec[WVAL] = nil, nil
end

-- Waits for a started op: `id` from a raw primitive. Returns its value or raises its error.
local function await(what, id, value)
  local rec = current
  if id == false then
    immediate_left = immediate_left - 1
    if immediate_left <= 0 then yield_turn(rec) end
    return value
  end
  OPS[id] = rec
  npending = npending + 1
  rec[WAITING] = id
  raw_yield(SUSPEND)
  local code, v = rec[WCODE], rec[WVAL]
  rec[WCODE], rec[WVAL] = nil, nil
  if code == nil then return v end
  if code == 'ECANCELED' and rec[INTR] and rec[NOINTR] == 0 then error(INTERRUPTED, 0) end
  raise(code, what)
end

-- Starts an op through a raw primitive and waits for it: the common shape of every IO call.
local function io_op(what, start, ...)
  local rec = current
  enter(rec, what)
  return await(what, check(what, start(...)))
end

-- The same for the per-message calls (`h:read(buf)`, `h:write(buf)`), flattened: one Lua call
-- between the script and the Rust method when the op finishes at once.
local function io_method(what, h, method, arg)
  local rec = current
  if rec[NOSUSP] > 0 or (rec[INTR] and rec[NOINTR] == 0) or not raw_isyieldable() then enter(rec, what) end
  local id, v, detail = method(h, arg)
  if id == false then
    immediate_left = immediate_left - 1
    if immediate_left <= 0 then yield_turn(rec) end
    return v
  end
  if id == FAIL then raise(v, what, detail) end
  return await(what, id)
end

-- Parks the running fiber interruptibly on a wait queue. `cancel(rec)` must remove it from the
-- queue and return true if it was still there (so the interruption wins), false if it was
-- already woken (so the wake-up, and whatever it carries, is kept).
local function park_interruptible(rec, cancel)
  rec[WAITING] = cancel
  raw_yield(SUSPEND)
  rec[WAITING] = nil
  return wake_values(rec)
end

local function wake(rec, code, value)
  rec[WAITING] = nil
  rec[WCODE], rec[WVAL] = code, value
  post(rec)
end

local function cancel_wait(rec)
  local w = rec[WAITING]
  if w == nil then return end
  if type(w) == 'number' then
    E_cancel(w)  -- its completion (ECANCELED or the real result) wakes the fiber
  elseif w(rec) then
    rec[WAITING] = nil
    rec[WCODE] = 'interrupted'
    post(rec)
  end
end

-- A FIFO queue of fiber records with O(1) removal of any member (for interruption).
local function queue_new()
  return { first = 1, last = 0 }
end

local function queue_push(q, rec)
  local last = q.last + 1
  q.last = last
  q[last] = rec
  return last
end

local function queue_pop(q)
  for i = q.first, q.last do
    local rec = q[i]
    q[i] = nil
    q.first = i + 1
    if rec then return rec end
  end
  return nil
end

local function queue_remove(q, slot, rec)
  if q[slot] == rec then
    q[slot] = nil
    return true
  end
  return false
end

S.queue_new, S.queue_push, S.queue_pop, S.queue_remove = queue_new, queue_push, queue_pop, queue_remove

S.enter, S.park, S.park_interruptible, S.wake, S.await, S.io_op = enter, park, park_interruptible, wake, await, io_op
S.io_method = io_method
S.post = post
S.check_suspend = check_suspend
S.current = function() return current end
S.WAITING = WAITING

------------------------------------------------------------------------------------------------
-- Fiber handles.

function fiber_methods.join(f)
  local what = 'fiber:join'
  if getmetatable(f) ~= 'fiber' then arg_error(what, 1, 'fiber', f) end
  local rec = current
  if f == rec then raise('EDEADLK', what, 'a fiber cannot join itself') end
  if f[JOIN] ~= nil then
    raise('EINVAL', what, 'the fiber is ' .. (f[JOIN] == 'joining' and 'being joined' or f[JOIN]))
  end
  if rec[INTR] and rec[NOINTR] == 0 then error(INTERRUPTED, 0) end
  if not f[DONE] then
    enter(rec, what)
    f[JOIN] = 'joining'
    f[JOINER] = rec
    local code = park_interruptible(rec, function()
      f[JOINER] = nil
      f[JOIN] = nil
      return true
    end)
    if code == 'interrupted' then error(INTERRUPTED, 0) end
  end
  f[JOIN] = 'joined'
  local how = f[DONE]
  if how == FAILED then
    error(f[ERR], 0)
  elseif how == CAUGHT then
    return
  end
  local r = f[RESULTS]
  if r then return unpack(r, 1, r.n) end
end

function fiber_methods.detach(f)
  local what = 'fiber:detach'
  if getmetatable(f) ~= 'fiber' then arg_error(what, 1, 'fiber', f) end
  if f[JOIN] ~= nil then raise('EINVAL', what, 'the fiber is not joinable') end
  f[JOIN] = 'detached'
  if f[DONE] == FAILED then print_panic(f, f[ERR]) end
end

function fiber_methods.interrupt(f)
  if getmetatable(f) ~= 'fiber' then arg_error('fiber:interrupt', 1, 'fiber', f) end
  if f[DONE] or f[INTR] then return end
  f[INTR] = true
  if f[NOINTR] == 0 and f ~= current then cancel_wait(f) end
end

fiber_mt.__index = function(f, k)
  local m = fiber_methods[k]
  if m then return m end
  if k == 'joinable' then
    return f[JOIN] == nil
  elseif k == 'interruption_caught' then
    if f[JOIN] ~= 'joined' then
      raise('EINVAL', 'fiber.interruption_caught', 'only known after the fiber was joined')
    end
    return f[DONE] == CAUGHT
  end
  return nil
end
fiber_mt.__tostring = function(f) return format('fiber: %p', f) end

failed_fiber_mt = {}
for k, v in pairs(fiber_mt) do failed_fiber_mt[k] = v end
failed_fiber_mt.__gc = function(rec)
  if rec[JOIN] == nil then print_panic(rec, rec[ERR]) end
end

------------------------------------------------------------------------------------------------
-- this_fiber

local this_fiber_fns = {}

function this_fiber_fns.yield()
  local rec = current
  if rec[NOSUSP] > 0 or (rec[INTR] and rec[NOINTR] == 0) or not raw_isyieldable() then
    enter(rec, 'this_fiber.yield')
  end
  qn = qn + 1
  Q[qn] = rec
  raw_yield(SUSPEND)
  if rec[INTR] and rec[NOINTR] == 0 then error(INTERRUPTED, 0) end
end

-- A nesting counter kept in a record slot: the first function opens a level, the second closes
-- one and refuses (EPERM) to close a level that was never opened.
local function nesting(slot, close_what, not_open)
  local function open()
    local rec = current
    rec[slot] = rec[slot] + 1
  end
  local function close()
    local rec = current
    if rec[slot] == 0 then raise('EPERM', close_what, not_open) end
    rec[slot] = rec[slot] - 1
  end
  return open, close
end

this_fiber_fns.disable_interruption, this_fiber_fns.restore_interruption =
  nesting(NOINTR, 'this_fiber.restore_interruption', 'interruption is not disabled')
this_fiber_fns.forbid_suspend, this_fiber_fns.allow_suspend =
  nesting(NOSUSP, 'this_fiber.allow_suspend', 'suspension is not forbidden')

this_fiber = setmetatable(this_fiber_fns, {
  __name = 'this_fiber',
  __index = function(_, k)
    local rec = current
    if k == 'id' then
      local id = rec[ID]
      if id == nil then
        next_id = next_id + 1
        id = next_id
        rec[ID] = id
      end
      return id
    elseif k == 'is_main' then
      return rec[MAIN] == true
    elseif k == 'local_' then
      local t = rec[LOCAL]
      if t == nil then
        t = {}
        rec[LOCAL] = t
      end
      return t
    end
    return nil
  end,
  __newindex = function(_, k)
    raise('EINVAL', 'this_fiber', format('field %q is read-only', tostring(k)))
  end,
})

------------------------------------------------------------------------------------------------
-- Scopes

local function scopes_of(rec)
  local s = rec[SCOPES]
  if s == nil then
    s = { {} }
    rec[SCOPES] = s
  end
  return s
end

-- Scope stacks belong to call stacks: the fiber's own coroutine uses the record's stack (whose
-- first list is the fiber's root scope); a user coroutine has a stack of its own, so a
-- coroutine suspended inside scope() never captures the fiber's handlers. A handler pushed in
-- a user coroutine outside any of its scopes goes to the fiber's root scope (it runs when the
-- fiber ends, never lost with the coroutine).
local USER_SCOPES = setmetatable({}, { __mode = 'k' })

local function scope_stack(rec)
  local co = raw_running()
  if co == rec[CO] then return scopes_of(rec) end
  local s = USER_SCOPES[co]
  if s == nil then
    s = {}
    USER_SCOPES[co] = s
  end
  return s
end

local function innermost_list(rec)
  local stack = scope_stack(rec)
  return stack[#stack] or scopes_of(rec)[1]
end

local function scope_exit(rec, scopes, depth, ok, ...)
  local list = scopes[depth]
  scopes[depth] = nil
  run_cleanups(rec, list)
  if ok then return ... end
  error((...), 0)
end

function scope(f, ...)
  if type(f) ~= 'function' then arg_error('scope', 1, 'function', f) end
  local rec = current
  local scopes = scope_stack(rec)
  local depth = #scopes + 1
  scopes[depth] = {}
  return scope_exit(rec, scopes, depth, xpcall(f, msgh, ...))
end

function scope_cleanup_push(h)
  if type(h) ~= 'function' then arg_error('scope_cleanup_push', 1, 'function', h) end
  local list = innermost_list(current)
  list[#list + 1] = h
end

function scope_cleanup_pop(run_it)
  local list = innermost_list(current)
  local n = #list
  if n == 0 then
    raise('EINVAL', 'scope_cleanup_pop', 'no cleanup handler was pushed in this scope')
  end
  local h = list[n]
  list[n] = nil
  if run_it ~= false then
    local rec = current
    rec[NOINTR] = rec[NOINTR] + 1
    local ok, err = pcall(h)
    rec[NOINTR] = rec[NOINTR] - 1
    if not ok then error(err, 0) end
  end
end

------------------------------------------------------------------------------------------------
-- User coroutines stay transparent to fiber suspension: a suspending call inside a coroutine
-- yields SUSPEND up through the user's resume, which passes it on to the fiber and resumes the
-- coroutine when the fiber is woken. The user only ever sees their own yields.

local function resume_result(co, ok, first, ...)
  if note then note(raw_running()) end
  if ok and first == SUSPEND then
    PARKED_CO[co] = true
    raw_yield(SUSPEND)
    PARKED_CO[co] = nil
    if note then note(co) end
    return resume_result(co, raw_resume(co))
  end
  return ok, first, ...
end

local function closed(...)
  if note then note(raw_running()) end
  return ...
end

local function guard(co, what)
  if FIBER_CO[co] then
    return format("cannot %s a fiber's own coroutine", what)
  elseif PARKED_CO[co] then
    return format('cannot %s a coroutine suspended in a fiber operation', what)
  end
end

local function bad_coroutine(fname, n, expected, got)
  error(format("bad argument #%d to '%s' (%s expected, got %s)", n, fname, expected, type(got)), 3)
end

function coroutine.resume(co, ...)
  if type(co) ~= 'thread' then bad_coroutine('resume', 1, 'coroutine', co) end
  local refusal = guard(co, 'resume')
  if refusal then return false, refusal end
  if note then note(co) end
  return resume_result(co, raw_resume(co, ...))
end

local function wrap_result(co, ok, ...)
  if ok then return ... end
  local err = ...
  if raw_status(co) == 'dead' then
    if note then note(co) end
    raw_close(co)
    if note then note(raw_running()) end
  end
  if type(err) == 'string' then error(err, 2) end
  error(err, 0)
end

function coroutine.wrap(f)
  if type(f) ~= 'function' then bad_coroutine('wrap', 1, 'function', f) end
  local co = raw_create(f)
  return function(...)
    -- The same guard as coroutine.resume: a coroutine parked in another fiber's operation
    -- must not be resumed from here (it would steal that fiber's wake-up).
    local refusal = guard(co, 'resume')
    if refusal then error(refusal, 2) end
    if note then note(co) end
    return wrap_result(co, resume_result(co, raw_resume(co, ...)))
  end
end

local function at_fiber_top()
  local rec = current
  return rec ~= nil and raw_running() == rec[CO]
end

function coroutine.running()
  local co, ismain = raw_running()
  local rec = current
  if rec ~= nil and co == rec[CO] then FIBER_CO[co] = true end
  return co, ismain
end

function coroutine.yield(...)
  if at_fiber_top() then
    error('attempt to yield from outside a coroutine', 2)
  end
  return raw_yield(...)
end

function coroutine.isyieldable()
  return raw_isyieldable() and not at_fiber_top()
end

function coroutine.close(co)
  if type(co) ~= 'thread' then bad_coroutine('close', 1, 'coroutine', co) end
  local refusal = guard(co, 'close')
  if refusal then error(refusal, 2) end
  -- Pending to-be-closed variables of `co` run their __close on `co` (only a suspended or dead
  -- coroutine can be closed; for any other, raw_close raises and `co` must not stay noted).
  if note then
    local st = raw_status(co)
    if st == 'suspended' or st == 'dead' then note(co) end
  end
  return closed(raw_close(co))
end

------------------------------------------------------------------------------------------------
-- Relative modules: require './x' resolves against the requiring file.

local raw_require = require
local loaded = package.loaded

local function dirname(path)
  return path:match('^(.*)/[^/]*$') or '.'
end

local function normalize(path)
  local parts, absolute = {}, path:sub(1, 1) == '/'
  for part in path:gmatch('[^/]+') do
    if part == '..' and #parts > 0 and parts[#parts] ~= '..' then
      parts[#parts] = nil
    elseif part ~= '.' then
      parts[#parts + 1] = part
    end
  end
  local joined = table.concat(parts, '/')
  if absolute then return '/' .. joined end
  return joined == '' and '.' or joined
end

S.dirname, S.normalize = dirname, normalize

function require(name)
  if type(name) == 'string' and (name:sub(1, 2) == './' or name:sub(1, 3) == '../') then
    local info = getinfo(2, 'S')
    local source = info and info.source or ''
    local base = source:sub(1, 1) == '@' and dirname(source:sub(2)) or '.'
    local path = normalize(base .. '/' .. name .. '.lua')
    local key = '@' .. path
    local have = loaded[key]
    if have ~= nil then return have end
    if loadfile == nil then
      error(format("module '%s' not found: a sandboxed actor has no file system (send it the code)", name), 2)
    end
    local chunk, err = loadfile(path, 't')
    if not chunk then
      error(format("module '%s' not found: %s", name, err), 2)
    end
    local r = chunk(name, path)
    if r == nil then r = true end
    if loaded[key] == nil then loaded[key] = r end
    return loaded[key]
  end
  -- Stock `require` is a C function: it cannot suspend, so a protected call loses nothing. A
  -- lookup failure is re-raised at the caller's line, as stock Lua reports it; errors raised by
  -- the module's own code pass through unchanged.
  local ok, r = pcall(raw_require, name)
  if ok then return r end
  if type(r) == 'string' and r:sub(1, 8) == "module '" then error(r, 2) end
  error(r, 0)
end

------------------------------------------------------------------------------------------------
-- The loop.

local function dispatch(n)
  local out = OUT
  for i = 1, n * 3, 3 do
    local id, value, code = out[i], out[i + 1], out[i + 2]
    out[i], out[i + 1], out[i + 2] = nil, nil, nil
    local rec = OPS[id]
    if rec then
      OPS[id] = nil
      npending = npending - 1
      rec[WAITING] = nil
      rec[WCODE], rec[WVAL] = code, value
      post(rec)
    end
  end
end

-- Fibers parked on actor messages (a receive, or a send to a full mailbox): the VM is not done
-- while one of them can still be woken by another VM.
local actor_waiters = 0
-- Fibers waiting on a future (sync.lua counts them): a collection may wake them.
S.future_waiters = 0
function S.actor_wait(delta) actor_waiters = actor_waiters + delta end

-- Set by the actor layer: collects message events for this VM (wakes receivers and senders).
S.actor_poll = nil

-- One turn of this VM, called by its execution context: collects the IO that finished for it,
-- runs the fibers ready now (one round: fibers they wake run in the next turn, after the engine
-- had a chance to report IO, so a yielding fiber cannot starve IO or other VMs), and says what
-- the VM needs next:
--   0: idle, it waits for IO, a timer or a message;
--   1: ready, it has fibers to run;
--   2: done, nothing can ever run in it again;
--   3: halted (main fiber panic, failed cleanup).
function S.step()
  if npending > 0 then dispatch(check('IO engine', E_wait(false, OUT))) end
  local poll = S.actor_poll
  if poll then poll() end
  local raw_resume = raw_resume
  local me = note and raw_running()
  if me then note(me) end
  local round, n = Q, qn
  Q, qn, spare = spare, 0, round
  for i = 1, n do
    local rec = round[i]
    round[i] = nil
    current = rec
    immediate_left = IMMEDIATE_BUDGET
    local co = rec[CO]
    if me then note(co) end
    local ok, err = raw_resume(co)
    if me then note(me) end
    if not ok then failed(rec, err) end
    if halted then
      current = nil
      for j = i + 1, n do round[j] = nil end
      return 3
    end
  end
  current = nil
  if qn > 0 then return 1 end
  if npending == 0 and actor_waiters == 0 then
    -- Nothing can run: before giving up, let the collector run the finalizers that may still
    -- wake a fiber (a promise collected unsatisfied breaks its future). Only a fiber waiting on
    -- a future can be woken that way.
    if S.future_waiters > 0 then
      collectgarbage()
      if poll then poll() end
      if qn > 0 then return 1 end
    end
    if npending == 0 and actor_waiters == 0 then return 2 end
  end
  return 0
end

-- Posts `chunk` as the main fiber of this VM; the context then steps the VM.
function S.start(chunk)
  post(new_record(chunk, true))
end

function S.exit_status()
  return exit_status
end

S.vm_address = vm_address
