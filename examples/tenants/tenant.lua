-- One tenant's sandbox: runs the script it is sent and replies with its result.
local inbox = require 'inbox'
local job = inbox:receive()
local f = assert(load(job.source, '=' .. job.name, 't', { string = string, math = math, table = table, pairs = pairs, tostring = tostring }))
job.reply:send{ name = job.name, result = f() }
