-- coroutine.yield at a fiber's top level is an error, as in plain Lua's main thread; the
-- fiber's own coroutine cannot be resumed or closed by the script.
print(pcall(coroutine.yield, 1))
local ok, err = pcall(function() coroutine.yield('x') end)
print(ok, err)

local f = spawn(function()
  print('f:', pcall(coroutine.yield))
  print('f: isyieldable', coroutine.isyieldable())
  local co, ismain = coroutine.running()
  print('f: running is a thread', type(co), ismain)
  print('f: resume own coroutine', coroutine.resume(co))
  print('f: close own coroutine', pcall(coroutine.close, co))
  return 'f ok'
end)
print(f:join())

-- inside a user coroutine, yield works as usual
local co = coroutine.create(function() coroutine.yield('yielded') end)
print(coroutine.resume(co))
