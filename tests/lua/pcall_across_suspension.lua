-- pcall and xpcall work across suspensions, nested, in several fibers at once.
local time = require 'time'

local function work(name)
  local ok, a, b = pcall(function()
    this_fiber.yield()
    this_fiber.yield()
    return name .. ' value', 2
  end)
  print(name, 'pcall ok', ok, a, b)
  ok, a = pcall(function()
    this_fiber.yield()
    error(name .. ' failed', 0)
  end)
  print(name, 'pcall error', ok, a)
  ok, a = xpcall(function()
    this_fiber.yield()
    local inner_ok, inner_err = pcall(function()
      this_fiber.yield()
      error('inner', 0)
    end)
    print(name, 'inner pcall', inner_ok, inner_err)
    this_fiber.yield()
    error({ msg = name .. ' table error' })
  end, function(e)
    return 'handled: ' .. e.msg
  end)
  print(name, 'xpcall', ok, a)
end

local f = spawn(function() work('f') end)
work('main')
f:join()

-- pcall across IO suspensions (a timer, a future set by another fiber)
local p, fut = require('future').new()
local setter = spawn(function()
  time.sleep(0.01)
  p:set_value('from the future')
end)
print('sleep and get', pcall(function()
  time.sleep(0.001)
  return fut:get()
end))
setter:join()

-- the message handler may itself be called after a suspension and sees the traceback
local ok, tb = xpcall(function()
  this_fiber.yield()
  error('with traceback', 0)
end, function(e) return (debug.traceback(e, 1):match('^with traceback\nstack traceback:') ~= nil) end)
print('xpcall traceback', ok, tb)

-- xpcall passes arguments and returns every value
print(xpcall(function(a, b)
  this_fiber.yield()
  return a, b, a + b
end, print, 20, 22))
