-- Goes over its memory quota.
local t = {}
while true do t[#t + 1] = string.rep('m', 1 << 20) .. #t end
