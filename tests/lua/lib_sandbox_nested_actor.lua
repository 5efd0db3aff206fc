-- A sandboxed actor that starts sandboxed actors of its own (from its own module, '.').
local inbox = require 'inbox'
local kids = {}

local function start(profile)
  local ok, ch = pcall(spawn_vm, { module = '.', sandbox = profile })
  if ok then kids[#kids + 1] = ch end
  return ok, ch
end

-- untrusted-plugin with the network namespace left out: wider than its parent.
local wider = {
  namespaces = { user = true, pid = true, mount = true, net = false, ipc = true, uts = true, cgroup = true },
  filesystem = { bind = {}, tmpfs = {}, dev = false, proc = false },
  limits = { lua_heap_bytes = 16777216, cpu_seconds = 3, processes = 4, open_files = 64,
             address_space_bytes = 536870912, file_size_bytes = 4194304 },
  stdio = { stdin = 'null', stdout = 'inherit', stderr = 'inherit' },
}

while true do
  local m = inbox:receive()
  if m.op == 'hello' then
    m.reply:send{ text = 'hello from the second level', address = inbox }
  elseif m.op == 'nest' then
    local ok, ch = start('untrusted-plugin')
    if not ok then m.reply:send('nest failed: ' .. tostring(ch)) else ch:send{ op = 'hello', reply = m.reply } end
  elseif m.op == 'widen' then
    local ok, err = start(wider)
    m.reply:send(ok and 'widened!' or tostring(err))
  elseif m.op == 'other_module' then
    local ok, err = pcall(spawn_vm, { module = './lib_sandbox_lifecycle_actor', sandbox = 'untrusted-plugin' })
    m.reply:send(ok and 'started another module!' or tostring(err))
  elseif m.op == 'quota' then
    local started = 0
    while true do
      local ok, err = start('untrusted-plugin')
      if not ok then
        m.reply:send{ started = started, err = tostring(err) }
        break
      end
      started = started + 1
      if started > 10 then m.reply:send{ started = started, err = 'no quota' } break end
    end
  elseif m.op == 'garbage' then
    -- A compromised actor writes garbage to the supervisor: it loses its request socket.
    luacell_test.raw_request('not a luacell message')
    require('time').sleep(0.1)
    local ok = start('untrusted-plugin')
    m.reply:send(ok)
  elseif m.op == 'kill_stranger' then
    -- A channel that is not the spawner's: kill refuses it here; the supervisor would too.
    local ok, err = pcall(m.stranger.kill, m.stranger)
    m.reply:send(ok and 'killed a stranger!' or err.code)
  end
end
