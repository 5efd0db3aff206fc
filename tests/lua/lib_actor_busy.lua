-- Used by actor_busy_context_does_not_starve.lua: loops without yielding (bounded, so that a
-- broken scheduler fails the case instead of hanging it).
local inbox = require 'inbox'
inbox:receive()
local t = os.clock()
while os.clock() - t < 60 do end
