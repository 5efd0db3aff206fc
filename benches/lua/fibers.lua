-- Fiber spawn+join and yield rates against plain coroutines in the same VM.
-- The peers use the raw coroutine functions (the ones luacell's wrappers call), taken from the
-- wrappers' upvalues: this bench runs in the trusted main VM, which has `debug`.
local time = require 'time'
local now = time.steady_clock.now

local function upvalue(f, name)
  for i = 1, 64 do
    local n, v = debug.getupvalue(f, i)
    if n == nil then break end
    if n == name then return v end
  end
  error('no upvalue ' .. name)
end
local raw_resume = upvalue(coroutine.resume, 'raw_resume')
local raw_yield = upvalue(coroutine.yield, 'raw_yield')
local raw_create = coroutine.create

local N_SPAWN = 100000
local N_YIELD = 1000000
local ROUNDS = 5

local function best(f)
  local b = math.huge
  for _ = 1, ROUNDS do
    collectgarbage()
    local t0 = now()
    f()
    local dt = now() - t0
    if dt < b then b = dt end
  end
  return b
end

local function empty() end

local spawn_join = best(function()
  local fs = {}
  for i = 1, N_SPAWN do fs[i] = spawn(empty) end
  for i = 1, N_SPAWN do fs[i]:join() end
end)

local create_resume = best(function()
  local cs = {}
  for i = 1, N_SPAWN do cs[i] = raw_create(empty) end
  for i = 1, N_SPAWN do raw_resume(cs[i]) end
end)

local yields = best(function()
  local y = this_fiber.yield
  for _ = 1, N_YIELD do y() end
end)

-- The same number of yields spread over 512 fibers that are all ready at once: the ready queue
-- must cost the same however many fibers it holds.
local N_WIDE = 512
local wide_yields = best(function()
  local per = N_YIELD // N_WIDE
  local fs = {}
  local y = this_fiber.yield
  for i = 1, N_WIDE do
    fs[i] = spawn(function() for _ = 1, per do y() end end)
  end
  for i = 1, N_WIDE do fs[i]:join() end
end)

local resume_yield = best(function()
  local co = raw_create(function()
    for _ = 1, N_YIELD do raw_yield() end
  end)
  for _ = 1, N_YIELD do raw_resume(co) end
end)

local function us(t, n) return t / n * 1e6 end
print(string.format('spawn+join   %8.3f us/fiber   coroutine create+resume %8.3f us   ratio %.2fx   (target <= 1 us/fiber; Emilua 0.6 here: 4.7 us)',
  us(spawn_join, N_SPAWN), us(create_resume, N_SPAWN), spawn_join / create_resume))
print(string.format('yield        %8.3f us/yield   coroutine resume/yield  %8.3f us   ratio %.2fx   (target <= 0.15 us; Emilua 0.6 here: 0.21 us)',
  us(yields, N_YIELD), us(resume_yield, N_YIELD), yields / resume_yield))
print(string.format('yield x512   %8.3f us/yield   (512 ready fibers; the ratio to one fiber shows what the queue costs: %.2fx)',
  us(wide_yields, (N_YIELD // N_WIDE) * N_WIDE), (wide_yields / ((N_YIELD // N_WIDE) * N_WIDE)) / (yields / N_YIELD)))
