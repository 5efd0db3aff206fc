-- exit: 1
-- An uncaught error in the main fiber prints a panic and stops the VM: no other fiber runs.
local f = spawn(function()
  print('f: started')
  this_fiber.yield()
  print('f: never printed, the VM stopped')
end)
this_fiber.yield()
print('main: about to fail')
error('main failed')
