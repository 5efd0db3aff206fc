-- Many tenants' scripts on one machine, each in its own sandbox ('tenant-script' narrowed to a
-- per-tenant quota: heap and CPU seconds). Tenants cannot see each other; one that goes over
-- its quota is stopped and reported, the others finish.
--
-- Run: luacell run examples/tenants/host.lua
local inbox = require 'inbox'
local json = require 'json'
local dir = debug.getinfo(1, 'S').source:sub(2):match('^(.*)/') or '.'

-- The shipped 'tenant-script' profile, with each tenant's quota written in.
local TENANT_SCRIPT = [[{"namespaces": {"user": true, "pid": true, "mount": true, "net": true, "ipc": true, "uts": true, "cgroup": true}, "without_user_namespace": "fail", "filesystem": {"bind": [], "tmpfs": [{"path": "/tmp", "size_bytes": 67108864}, {"path": "/home/tenant", "size_bytes": 67108864}], "dev": true, "proc": false}, "landlock": {"mode": "required", "min_abi": 6, "connect_tcp": [], "bind_tcp": [], "scope_signals": true, "scope_abstract_unix": true}, "seccomp": {"mode": "on", "preset": "actor", "allow": [], "forbidden": "eperm"}, "limits": {"lua_heap_bytes": 134217728, "address_space_bytes": 1073741824, "cpu_seconds": 30, "wall_seconds": "unlimited", "open_files": 128, "processes": 4, "file_size_bytes": 33554432, "message_bytes": 1048576}, "environment": {"HOME": "/home/tenant"}, "stdio": {"stdin": "null", "stdout": "inherit", "stderr": "inherit"}}]]

local function profile(quota)
  local p = json.decode(TENANT_SCRIPT)
  p.limits.lua_heap_bytes = quota.heap
  p.limits.cpu_seconds = quota.cpu
  return p
end

local tenants = {
  { name = 'alice', quota = { heap = 16 << 20, cpu = 2 } },
  { name = 'bob', quota = { heap = 16 << 20, cpu = 2 } },
  { name = 'mallory', quota = { heap = 8 << 20, cpu = 2 } },
  { name = 'trudy', quota = { heap = 8 << 20, cpu = 1 } },
}

local running = {}
for _, t in ipairs(tenants) do
  local f = assert(io.open(dir .. '/scripts/' .. t.name .. '.lua'))
  local source = f:read('a')
  f:close()
  local ch = spawn_vm{ module = './tenant', sandbox = profile(t.quota) }
  ch:send{ name = t.name, source = source, reply = inbox }
  running[#running + 1] = { name = t.name, ch = ch }
end

local results = {}
local waiters = {}
for _, r in ipairs(running) do
  waiters[#waiters + 1] = spawn(function()
    local e = r.ch:wait()
    return r.name, e
  end)
end
local collector = spawn(function()
  while true do
    local ok, m = pcall(inbox.receive, inbox)
    if not ok then return end
    results[m.name] = m.result
  end
end)
for _, w in ipairs(waiters) do
  local name, e = w:join()
  -- The reply and the report of the end travel on different sockets: give the reply a moment.
  for _ = 1, 100 do
    if results[name] or e.code ~= 0 then break end
    require('time').sleep(0.01)
  end
  if e.limit then
    print(string.format('%-8s stopped: over its %s quota', name, e.limit))
  else
    print(string.format('%-8s finished: %s', name, results[name] or ('exit ' .. tostring(e.code))))
  end
end
collector:interrupt()
