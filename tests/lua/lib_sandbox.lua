-- Helpers for the sandbox_* cases.
local inbox = require 'inbox'
local M = {}

-- How an actor ended, in one line.
function M.ended(e)
  local parts = {}
  if e.code then parts[#parts + 1] = 'code ' .. e.code end
  if e.signal then parts[#parts + 1] = 'signal ' .. e.signal end
  if e.limit then parts[#parts + 1] = 'limit ' .. e.limit end
  return table.concat(parts, ' ')
end

-- One probe in a fresh actor under `profile`: its answer when it lived to give one, else how
-- it ended ('signal SIGSYS', 'signal SIGXCPU limit cpu_seconds', ...).
function M.attempt(profile, name, ...)
  local ch = spawn_vm{ module = './lib_probe_actor', sandbox = profile }
  ch:send{ reply = inbox, name = name, args = { ... } }
  local e = ch:wait()
  if e.code == 0 then return inbox:receive() end
  return M.ended(e)
end

return M
