-- A fiber spawned by a fiber joins the back of the ready queue, behind fibers already posted.
local log = {}
local function note(s) log[#log + 1] = s end
local inner
local outer = spawn(function()
  note('outer: start')
  inner = spawn(function() note('inner: start') end)
  note('outer: spawned inner')
  this_fiber.yield()
  note('outer: after yield')
end)
local second = spawn(function() note('second: start') end)
note('main: spawned outer and second')
outer:join()
second:join()
inner:join()
for i, s in ipairs(log) do print(i, s) end
