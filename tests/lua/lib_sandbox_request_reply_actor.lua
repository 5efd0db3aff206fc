local inbox = require 'inbox'
local hoard = {}
while true do
  local ok, m = pcall(inbox.receive, inbox)
  -- Its inbox closed (every sender gone, or the link refused): it ends.
  if not ok then return end
  if m.op == 'stop' then return end
  if m.op == 'describe' then
    local binary = not pcall(function() assert(load(string.dump(function() end), 'x', 'b')) end)
    m.reply:send{
      context = _CONTEXT, io = io == nil, debug = debug == nil, execute = os.execute == nil,
      dofile = dofile == nil, loadlib = package.loadlib == nil, binary = binary,
    }
  elseif m.op == 'double' then
    m.reply:send(m.n * 2)
  elseif m.op == 'hoard' then
    -- Keeps every reply address: descriptors the collector cannot free.
    hoard[#hoard + 1] = m.reply
  end
end
