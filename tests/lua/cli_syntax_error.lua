-- exit: 1
-- A script with a syntax error is refused with one line naming the file and line.
print('never printed')
local x = = 1
