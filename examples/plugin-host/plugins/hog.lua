-- Allocates without end.
return function(text)
  local t = {}
  while true do t[#t + 1] = string.rep(text, 1 << 16) .. #t end
end
