-- Local actors: `spawn_vm`, the `inbox` module, and channel methods.
--
-- Trust zone: runs inside the VM it serves. Messages are copied by the raw primitives
-- (src/actor): no value of this VM reaches another. A fiber waiting on its inbox or on a full
-- mailbox parks here and is woken by the VM's turn (`S.actor_poll`), never by spinning.

local RAW, S = ...
local A = RAW.actor
-- A VM made without an actor layer (src/lua tests of the bare VM) has no spawn_vm or inbox.
if A == nil then return end
local FAIL = RAW.FAIL
local raise, enter, park_interruptible, wake, current = S.raise, S.enter, S.park_interruptible, S.wake, S.current
local INTERRUPTED, error_mt = S.INTERRUPTED, S.error_mt
local setmetatable, type, error, getinfo = setmetatable, type, error, debug.getinfo
local format = string.format

-- The error a receive or send raises once the other side is gone.
local CLOSED = setmetatable({ code = 'closed', message = 'Channel closed' }, error_mt)

local queue_new, queue_push, queue_pop, queue_remove = S.queue_new, S.queue_push, S.queue_pop, S.queue_remove

-- Receivers parked on this VM's inbox (FIFO, removable for interruption).
local receivers = queue_new()
-- Senders parked on a full mailbox, by token.
local senders = {}
local next_token = 0
local POLL = {}

local function wake_receivers()
  local rec = queue_pop(receivers)
  while rec do
    wake(rec)
    rec = queue_pop(receivers)
  end
end

-- Called at the start of every turn of this VM.
S.actor_poll = function()
  local ready, n = A.poll(POLL)
  for i = 1, n do
    local token = POLL[i]
    POLL[i] = nil
    local rec = senders[token]
    if rec then
      senders[token] = nil
      wake(rec)
    end
  end
  if ready and receivers.last >= receivers.first then wake_receivers() end
end

local function receive(self)
  local rec = current()
  enter(rec, 'inbox:receive')
  while true do
    local ok, msg = A.receive()
    if ok == true then return msg end
    if ok == FAIL then error(CLOSED, 2) end
    local slot = queue_push(receivers, rec)
    S.actor_wait(1)
    local code = park_interruptible(rec, function(r) return queue_remove(receivers, slot, r) end)
    S.actor_wait(-1)
    if code == 'interrupted' then error(INTERRUPTED, 0) end
  end
end

-- The inbox is a userdata made by the actor layer: sent in a message, it becomes a channel to
-- this VM.
local inbox = A.inbox
A.set_method('inbox', 'receive', receive)
A.set_method('inbox', 'close', function(self) A.inbox_close() end)
package.preload['inbox'] = function() return inbox end

local A_send = A.send

local function send(ch, msg)
  local rec = current()
  enter(rec, 'channel:send')
  while true do
    next_token = next_token + 1
    local token = next_token
    local ok, code, detail = A_send(ch, msg, token)
    if ok == true then return end
    if ok == FAIL then
      if code == 'closed' then error(CLOSED, 2) end
      raise(code, 'channel:send', detail)
    end
    -- The mailbox is full: wait until its receiver makes room, then try again.
    senders[token] = rec
    S.actor_wait(1)
    local c = park_interruptible(rec, function(r)
      if senders[token] == r then
        senders[token] = nil
        return true
      end
      return false
    end)
    S.actor_wait(-1)
    if c == 'interrupted' then error(INTERRUPTED, 0) end
  end
end

local function close(ch)
  if not A.is_channel(ch) then raise('EINVAL', 'channel:close', 'called on something other than a channel') end
  A.close(ch)
end

A.set_method('channel', 'send', send)
A.set_method('channel', 'close', close)

-- spawn_vm(module) or spawn_vm{ module = ..., inherit_context = ..., mailbox = n }
function spawn_vm(arg)
  local module, inherit, capacity
  if type(arg) == 'string' then
    module = arg
  elseif type(arg) == 'table' then
    module, inherit, capacity = arg.module, arg.inherit_context, arg.mailbox
    for k in pairs(arg) do
      if k ~= 'module' and k ~= 'inherit_context' and k ~= 'mailbox' then
        raise('EINVAL', 'spawn_vm', format("unknown option '%s'", tostring(k)))
      end
    end
  else
    raise('EINVAL', 'spawn_vm', format('module name or options table expected, got %s', type(arg)))
  end
  if type(module) ~= 'string' or module == '' then
    raise('EINVAL', 'spawn_vm', 'the module must be a non-empty string')
  end
  if capacity ~= nil and math.type(capacity) ~= 'integer' then
    raise('EINVAL', 'spawn_vm', 'mailbox must be an integer number of messages')
  end
  if inherit ~= nil and type(inherit) ~= 'boolean' then
    raise('EINVAL', 'spawn_vm', 'inherit_context must be a boolean')
  end
  -- The file of the nearest Lua caller (a tail call or pcall leaves no frame of its own).
  local caller
  for level = 2, 20 do
    local info = getinfo(level, 'S')
    if info == nil then break end
    if info.source:sub(1, 1) == '@' then
      caller = info.source:sub(2)
      break
    end
  end
  local path
  if module == '.' then
    path = caller
  elseif module:sub(1, 2) == './' or module:sub(1, 3) == '../' then
    path = caller and S.normalize(S.dirname(caller) .. '/' .. module .. '.lua')
  else
    path = package.searchpath(module, package.path)
    if path == nil then raise('ENOENT', 'spawn_vm', format("module '%s' not found", module)) end
  end
  if path == nil then raise('EINVAL', 'spawn_vm', 'the calling code has no file to resolve the module against') end
  local ch, code, detail = A.spawn(path, capacity, inherit == false)
  if ch == FAIL then raise(code, 'spawn_vm', detail) end
  return ch
end

-- spawn_context_threads(n): n more threads for this VM's execution context; VMs spawned into the
-- context from then on are spread over its threads (each VM stays on the thread it starts on).
function spawn_context_threads(n)
  if math.type(n) ~= 'integer' then
    raise('EINVAL', 'spawn_context_threads', format('an integer count expected, got %s', type(n)))
  end
  local ok, code, detail = A.add_threads(n)
  if ok == FAIL then raise(code, 'spawn_context_threads', detail) end
end
