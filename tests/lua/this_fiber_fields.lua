-- this_fiber.id, .is_main and .local_ (a table of the running fiber's own).
local main_id = this_fiber.id
print('main is_main', this_fiber.is_main, 'id is a number', math.type(main_id))
print('id is stable', this_fiber.id == main_id)
this_fiber.local_.name = 'main'
local f = spawn(function()
  print('f is_main', this_fiber.is_main)
  print('f id differs from main', this_fiber.id ~= main_id)
  print('f local_ starts empty', next(this_fiber.local_) == nil)
  this_fiber.local_.name = 'f'
  this_fiber.yield()
  return this_fiber.local_.name, this_fiber.id
end)
local g = spawn(function()
  this_fiber.local_.name = 'g'
  this_fiber.yield()
  return this_fiber.local_.name, this_fiber.id
end)
local fname, fid = f:join()
local gname, gid = g:join()
print('locals kept across yields', fname, gname, this_fiber.local_.name)
print('ids distinct', fid ~= gid, fid ~= main_id, gid ~= main_id)
print('local_ is the same table', this_fiber.local_ == this_fiber.local_)
