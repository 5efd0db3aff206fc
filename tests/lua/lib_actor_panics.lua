-- Used by actor_panic_others_go_on.lua: panics on its first message.
local inbox = require 'inbox'
local m = inbox:receive()
error('actor failed on ' .. m)
