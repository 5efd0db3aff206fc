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

local function new_token()
  next_token = next_token + 1
  return next_token
end

-- Parks the fiber until `token` is woken (room in a mailbox or socket, news of a child).
local function park_token(rec, token)
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

local function send(ch, msg)
  local rec = current()
  enter(rec, 'channel:send')
  while true do
    local token = new_token()
    local ok, code, detail = A_send(ch, msg, token)
    if ok == true then
      -- Descriptors move: the objects they came from are closed once the message is out.
      if code ~= nil then
        for i = 1, #code do pcall(code[i].close, code[i]) end
      end
      return
    end
    if ok == FAIL then
      if code == 'closed' then error(CLOSED, 2) end
      raise(code, 'channel:send', detail)
    end
    -- The mailbox (or the socket to another process) is full: wait for room, then try again.
    park_token(rec, token)
  end
end

local function close(ch)
  if not A.is_channel(ch) then raise('EINVAL', 'channel:close', 'called on something other than a channel') end
  A.close(ch)
end

A.set_method('channel', 'send', send)
A.set_method('channel', 'close', close)

-- Sandboxed actors: the channel spawn_vm returns also holds the child process.
local function child_state(ch, what, token)
  local state, a, b = A.child_state(ch, token or 0)
  if state == FAIL then raise(a, what, b) end
  return state, a
end

-- Waits until the child left `phase`; returns its new state.
local function child_leave(ch, what, phase)
  local rec = current()
  while true do
    local token = new_token()
    local state, a = child_state(ch, what, token)
    if state ~= phase then
      if senders[token] then senders[token] = nil end
      return state, a
    end
    enter(rec, what)
    park_token(rec, token)
  end
end

A.set_method('channel', 'kill', function(ch, signo)
  if signo == nil then signo = 9 end
  if math.type(signo) ~= 'integer' then raise('EINVAL', 'channel:kill', 'the signal must be an integer') end
  local ok, code, detail = A.kill(ch, signo)
  if ok == FAIL then raise(code, 'channel:kill', detail) end
end)

A.set_method('channel', 'detach', function(ch)
  local ok, code, detail = A.detach(ch)
  if ok == FAIL then raise(code, 'channel:detach', detail) end
end)

-- channel:wait() -> { code = n | nil, signal = 'SIGKILL' | nil, limit = name | nil }: suspends
-- until the sandboxed actor ended.
A.set_method('channel', 'wait', function(ch)
  local state, a = child_state(ch, 'channel:wait')
  if state == 'starting' then state, a = child_leave(ch, 'channel:wait', 'starting') end
  if state == 'running' then state, a = child_leave(ch, 'channel:wait', 'running') end
  if state == 'failed' then raise('sandbox', 'channel:wait', a) end
  return a
end)

-- `channel.child_pid` is a field: channels index through a function from here on (set last:
-- it replaces the method table the methods above went into).
do
  local child_pid, methods = A.child_pid, nil
  methods = A.set_channel_index(function(ch, k)
    local m = methods[k]
    if m ~= nil then return m end
    if k == 'child_pid' then return child_pid(ch) end
    return nil
  end)
end

-- spawn_vm(module) or spawn_vm{ module = ..., inherit_context = ..., mailbox = n }
function spawn_vm(arg)
  local module, inherit, capacity, sandbox, subprocess
  if type(arg) == 'string' then
    module = arg
  elseif type(arg) == 'table' then
    module, inherit, capacity = arg.module, arg.inherit_context, arg.mailbox
    sandbox, subprocess = arg.sandbox, arg.subprocess
    for k in pairs(arg) do
      if k ~= 'module' and k ~= 'inherit_context' and k ~= 'mailbox' and k ~= 'sandbox' and k ~= 'subprocess' then
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
  if sandbox ~= nil or subprocess ~= nil then
    if sandbox ~= nil and subprocess ~= nil then
      raise('EINVAL', 'spawn_vm', "'sandbox' and 'subprocess' cannot be used together")
    end
    if inherit ~= nil then
      raise('EINVAL', 'spawn_vm', "'inherit_context' does not apply to an actor in another process")
    end
    local name, json
    if subprocess ~= nil then
      json = S.subprocess_profile(subprocess)
    elseif type(sandbox) == 'string' then
      name = sandbox
    elseif type(sandbox) == 'table' then
      local text = RAW.json.encode(sandbox)
      if text == FAIL then raise('EINVAL', 'spawn_vm', 'the sandbox table cannot be encoded as a profile') end
      json = text
    else
      raise('EINVAL', 'spawn_vm', format('sandbox must be a profile name or table, got %s', type(sandbox)))
    end
    local ch, code, detail = A.spawn_sandboxed(path, name, json, capacity)
    if ch == FAIL then raise(code, 'spawn_vm', detail) end
    local state, a = child_leave(ch, 'spawn_vm', 'starting')
    if state == 'failed' then raise('sandbox', 'spawn_vm', a) end
    return ch
  end
  local ch, code, detail = A.spawn(path, capacity, inherit == false)
  if ch == FAIL then raise(code, 'spawn_vm', detail) end
  return ch
end

-- Emilua's subprocess options as a profile: only the namespaces asked for, no Landlock, no
-- seccomp, no limits (a compatibility form; profiles are how luacell locks an actor down).
S.subprocess_profile = function(sp)
  if type(sp) ~= 'table' then raise('EINVAL', 'spawn_vm', 'subprocess must be a table') end
  local ns = { user = false, pid = false, mount = false, net = false, ipc = false, uts = false, cgroup = false }
  local stdio = { stdin = 'null', stdout = 'null', stderr = 'null' }
  local environment = {}
  for k, v in pairs(sp) do
    local n = type(k) == 'string' and k:match('^newns_(%a+)$')
    if n and ns[n] ~= nil then
      if type(v) ~= 'boolean' then raise('EINVAL', 'spawn_vm', format("subprocess.%s must be a boolean", k)) end
      ns[n] = v
    elseif k == 'stdin' or k == 'stdout' or k == 'stderr' then
      if v ~= 'share' then raise('EINVAL', 'spawn_vm', format("subprocess.%s must be 'share' or nil", k)) end
      stdio[k] = 'inherit'
    elseif k == 'environment' then
      if type(v) ~= 'table' then raise('EINVAL', 'spawn_vm', 'subprocess.environment must be a table') end
      for ek, ev in pairs(v) do
        if type(ek) ~= 'string' or type(ev) ~= 'string' then
          raise('EINVAL', 'spawn_vm', 'subprocess.environment maps names to strings')
        end
        environment[ek] = ev
      end
    else
      raise('EINVAL', 'spawn_vm', format("unknown subprocess option '%s'", tostring(k)))
    end
  end
  local any = ns.pid or ns.mount or ns.net or ns.ipc or ns.uts or ns.cgroup
  if any then ns.user = true end
  local empty = setmetatable({}, RAW.json.array_mt)
  local text = RAW.json.encode({
    namespaces = ns,
    filesystem = { bind = empty, tmpfs = empty, dev = false, proc = false },
    landlock = { mode = 'off' },
    seccomp = { mode = 'off' },
    environment = environment,
    stdio = stdio,
  })
  if text == FAIL then raise('EINVAL', 'spawn_vm', 'the subprocess options cannot be encoded') end
  return text
end

-- Test hooks (a sandboxed actor started with LUACELL_TEST_HOOKS=1 in the main process): play a
-- compromised actor.
if A.hook_raw_send then
  luacell_test = { raw_send = A.hook_raw_send, raw_request = A.hook_raw_request, probe = A.hook_probe }
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
