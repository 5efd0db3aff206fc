-- Searching an empty span finds nothing (nil) in every direction; it is not an error.
local e = byte_span.new(0)
for _, m in ipairs({ 'find', 'rfind', 'find_first_of', 'find_last_of', 'find_first_not_of',
  'find_last_not_of' }) do
  local ok, r = pcall(e[m], e, 'x')
  print(m, ok, tostring(r))
end
print('starts_with empty', e:starts_with(''), 'ends_with empty', e:ends_with(''))
print('trimmed', #e:trimmed())
