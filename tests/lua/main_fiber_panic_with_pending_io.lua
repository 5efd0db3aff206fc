-- exit: 1
-- A main fiber panic stops the VM at once even with fibers blocked in accept and sleep.
local ip = require 'ip'
local a = ip.tcp.acceptor.new()
a:bind('127.0.0.1', 0)
a:listen()
spawn(function() a:accept() end)
spawn(function() require('time').sleep(3600) end)
this_fiber.yield()
print('main: failing with IO pending')
error('main fails with IO pending')
