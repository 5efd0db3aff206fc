-- join returns every value of the fiber's function, nils included, whether the fiber
-- finished before the join or after.
local function show(...)
  local t = table.pack(...)
  local parts = {}
  for i = 1, t.n do parts[i] = tostring(t[i]) end
  print(t.n, table.concat(parts, ','))
end

local later = spawn(function()
  this_fiber.yield()
  return 1, nil, 'x', nil
end)
show(later:join())

local early = spawn(function() return 'done', 42 end)
this_fiber.yield()
this_fiber.yield()
show(early:join())

local nothing = spawn(function() end)
show(nothing:join())

local explicit_nil = spawn(function() return nil end)
show(explicit_nil:join())

local t = {}
local same = spawn(function() return t end)
print(same:join() == t)
