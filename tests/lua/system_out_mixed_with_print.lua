-- print (which flushes each line) and system.out:write_some keep their order on stdout, even
-- through a pipe.
local system = require 'system'
print('1 print')
system.out:write_some('2 write_some\n')
print('3 print')
print('4 print')
system.out:write_some('5 write_some\n')
