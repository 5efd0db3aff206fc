-- Errors raised by the runtime are tables with a code and a one-line message; tostring gives
-- the message; the interruption error has code 'interrupted' and says 'fiber interrupted'.
local time = require 'time'
local ok, err = pcall(time.sleep, 'x')
print(type(err), err.code, err.message, tostring(err) == err.message)
print('one line', err.message:find('\n') == nil)

local f = spawn(function()
  local ok2, e = pcall(time.sleep, 3600)
  return e
end)
this_fiber.yield()
f:interrupt()
local e = f:join()
print(type(e), e.code, e.message, tostring(e))
