-- coroutine.resume/wrap/close with a wrong argument: a plain Lua argument error like stock
-- Lua's, that names no luacell internals (no 'raw_resume', no luacell/scheduler.lua).
local function check(label, f, ...)
  local ok, err = pcall(f, ...)
  local msg = tostring(err)
  print(label, ok, msg:find('bad argument #1', 1, true) ~= nil, msg:find('raw_', 1, true) == nil,
    msg:find('luacell/', 1, true) == nil)
end
check('resume(5)', coroutine.resume, 5)
check('wrap(5)', coroutine.wrap, 5)
check('close(5)', coroutine.close, 5)
check('status(5)', coroutine.status, 5)
