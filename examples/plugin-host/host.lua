-- A plugin host: every plugin in plugins/ runs in its own sandboxed actor (the
-- 'untrusted-plugin' profile: no files, no network, a heap cap, a CPU budget). The host serves
-- requests to them; a plugin that loops, allocates without end or tries to escape is killed,
-- the host says why, restarts it, and keeps serving the others.
--
-- Run: luacell run examples/plugin-host/host.lua
local inbox = require 'inbox'
local time = require 'time'

local dir = _ENV.arg and arg[0] and arg[0]:match('^(.*)/') or debug.getinfo(1, 'S').source:sub(2):match('^(.*)/') or '.'
local names = {}
for name in io.popen("ls -1 '" .. dir .. "/plugins'"):lines() do
  if name:match('%.lua$') then names[#names + 1] = name:sub(1, -5) end
end
table.sort(names)

local function read(name)
  local f = assert(io.open(dir .. '/plugins/' .. name .. '.lua'))
  local s = f:read('a')
  f:close()
  return s
end

local plugins = {}
local function start(name)
  local ch = spawn_vm{ module = './runner', sandbox = 'untrusted-plugin' }
  ch:send{ name = name, source = read(name) }
  plugins[name] = ch
end

local function describe(e)
  if e.limit then return 'hit its ' .. e.limit .. ' limit' end
  if e.signal then return 'was killed by ' .. e.signal end
  return 'exited with code ' .. tostring(e.code)
end

-- One request, with a deadline: past it the plugin is killed.
local function ask(name, text)
  local ch = plugins[name]
  ch:send{ text = text, reply = inbox }
  local f = spawn(function() return inbox:receive() end)
  local timer = spawn(function() time.sleep(0.5) f:interrupt() end)
  local reply = f:join()
  timer:interrupt()
  if f.interruption_caught or not reply.ok then
    local why = reply and ('failed: ' .. reply.error:gsub('^.-: ', '')) or 'did not answer in time'
    ch:kill()
    local e = ch:wait()
    print(string.format('%-8s %s; it %s; restarting it', name, why, describe(e)))
    start(name)
    return nil
  end
  return reply.result
end

for _, name in ipairs(names) do start(name) end
for round = 1, 2 do
  for _, name in ipairs(names) do
    local r = ask(name, 'round ' .. round)
    if r then print(string.format('%-8s -> %s', name, r)) end
  end
end
for _, ch in pairs(plugins) do ch:close() end
print('served ' .. #names .. ' plugins for 2 rounds')
