-- An actor answers requests; the main VM hands its own inbox as the reply address.
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local worker = spawn_vm('.')
  for i = 1, 3 do
    worker:send({ reply_to = inbox, n = i, tag = 'sq' })
    local r = inbox:receive()
    print('main: reply', r.n, r.result, r.from)
  end
  worker:send({ stop = true })
else
  while true do
    local req = inbox:receive()
    if req.stop then break end
    req.reply_to:send({ n = req.n, result = req.n * req.n, from = _CONTEXT })
  end
  print('worker: stopping')
end
