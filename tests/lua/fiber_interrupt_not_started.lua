-- Interrupting a fiber that has not started yet: it starts, runs until its first
-- interruption point, and the interruption is raised there.
local time = require 'time'

local f = spawn(function()
  print('f: started')
  local ok, err = pcall(time.sleep, 3600)
  print('f: sleep raised', ok, err.code, tostring(err))
  time.sleep(3600)
  print('f: never printed')
end)
f:interrupt()
print('main: interrupted f before it ran')
print('main: join returned', select('#', f:join()))
print('main: interruption_caught', f.interruption_caught)

-- A fiber interrupted before it starts that never reaches an interruption point ends normally.
local g = spawn(function()
  print('g: runs to the end')
  return 'g result'
end)
g:interrupt()
print('main: join g', g:join())
print('main: g interruption_caught', g.interruption_caught)
