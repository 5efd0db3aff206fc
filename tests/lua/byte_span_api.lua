-- byte_span: construction, indexing, slices that share memory, copy, append, searches.
local function q(s) return ('%q'):format(tostring(s)) end

local s = byte_span.new(5)
print('new(5)', #s, s.capacity, q(s))
local r = byte_span.new(3, 10)
print('new(3, 10)', #r, r.capacity)
print('require gives the global', require('byte_span') == byte_span)
print('empty', #byte_span.new(0), q(byte_span.new(0)))

-- indexing: 1-based bytes
s[1], s[5] = 72, 33
print('s[1], s[5]', s[1], s[5], q(s))

-- append builds new spans; strings and spans mix
local a = byte_span.append('hello', ' ', byte_span.from('world'))
print('append', q(a), #a, a.capacity)
print('tostring method', a:tostring() == tostring(a))

-- slice: 1-based, inclusive end, shares memory with its parent
local w = a:slice(7, 11)
print('slice(7, 11)', q(w), #w, w.capacity)
w[1] = string.byte('W')
print('write through the slice', q(a), a[7])
print('slice(3)', q(a:slice(3)))
print('empty slice', #a:slice(4, 3))

-- a slice may reach into the capacity beyond the length
local base = byte_span.new(2, 8)
base[1], base[2] = 65, 66
local grown = base:append('CD')     -- fits in the capacity: same storage
print('append in place', q(grown), q(base), grown.capacity)
print('slice up to the capacity', q(base:slice(1, 4)))
local moved = base:append(string.rep('x', 10)) -- beyond the capacity: new storage
moved[1] = 90
print('append beyond capacity', #moved, moved.capacity >= 12, q(base))

-- copy: as many bytes as fit, returns the count
local c = byte_span.new(3)
print('copy', c:copy('abcdef'), q(c))
print('copy shorter', c:copy(byte_span.from('Z')), q(c))

-- searches return 1-based positions or nil
a = byte_span.from('hello world')
print('find', a:find('o'), a:find('o', 6), a:find('zz'), a:find('hello'))
print('rfind', a:rfind('o'), a:rfind('o', 7), a:rfind('h'), a:rfind('zz'))
print('find_first_of', a:find_first_of('wo'), a:find_first_of('xyz'))
print('find_last_of', a:find_last_of('lo'), a:find_last_of('h', 5))
print('find_first_not_of', a:find_first_not_of('hel'), a:find_first_not_of('helo wrd'))
print('find_last_not_of', a:find_last_not_of('dl'))
print('starts_with', a:starts_with('hell'), a:starts_with('world'), a:starts_with(''))
print('ends_with', a:ends_with('world'), a:ends_with(byte_span.from('ld')), a:ends_with('hello'))

-- trimmed: a slice without leading and trailing white space (or the given bytes)
local t = byte_span.from('  \t padded \n ')
print('trimmed', q(t:trimmed()), q(t:trimmed(' ')), q(byte_span.from('   '):trimmed()))

-- equality compares contents
print('==', byte_span.from('abc') == byte_span.from('abc'), byte_span.from('abc') == byte_span.from('abd'))
