-- 100 000 fibers spawned, each yielding once, then joined in order: a checksum of the results.
local N = 100000
local fibers = {}
for i = 1, N do
  fibers[i] = spawn(function()
    this_fiber.yield()
    return i * 3 % 1000003
  end)
end
local sum, xor = 0, 0
for i = 1, N do
  local v = fibers[i]:join()
  sum = sum + v
  xor = xor ~ (v * i)
end
print('joined', N)
print('sum', sum)
print('xor', xor)
