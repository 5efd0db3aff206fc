-- Counts primes below 20000.
local n = 0
for i = 2, 20000 do
  local p = true
  for d = 2, math.floor(math.sqrt(i)) do if i % d == 0 then p = false break end end
  if p then n = n + 1 end
end
return 'primes below 20000: ' .. n
