-- Runs one plugin inside its sandbox: the host sends the plugin's source (the sandbox has no
-- filesystem), then requests; each gets { ok = true, result = ... } or { ok = false, error = ... }.
local inbox = require 'inbox'
local setup = inbox:receive()
local handler = assert(load(setup.source, '=' .. setup.name, 't', { string = string, table = table, math = math, require = require }))()
while true do
  local ok, req = pcall(inbox.receive, inbox)
  if not ok then return end
  local fine, result = pcall(handler, req.text)
  if fine then req.reply:send{ ok = true, result = result } else req.reply:send{ ok = false, error = tostring(result) } end
end
