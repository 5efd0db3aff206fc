-- Builds a word frequency table.
local text = string.rep('the quick brown fox jumps over the lazy dog ', 200)
local counts = {}
for w in text:gmatch('%a+') do counts[w] = (counts[w] or 0) + 1 end
return 'the: ' .. counts.the .. ', fox: ' .. counts.fox
