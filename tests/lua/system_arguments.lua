-- args: one two --three 4
-- system.arguments holds the script then the arguments after it, all strings.
local system = require 'system'
print(#system.arguments)
for i, a in ipairs(system.arguments) do print(i, a, type(a)) end
