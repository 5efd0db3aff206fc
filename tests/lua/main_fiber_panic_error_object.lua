-- exit: 1
-- The main fiber's panic message is tostring of the error: here a luacell error object.
print('main: calling spawn with a number')
spawn(42)
