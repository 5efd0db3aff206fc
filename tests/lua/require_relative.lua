-- require './x' resolves against the requiring file; a module is loaded once.
local m = require './lib_relative'
print(m.loaded_as, m.path)
print(m.greet('tests'))
local again = require './lib_relative'
print('same table', again == m)
print('shared module is the same from here', require './lib_shared')
local ok, err = pcall(require, './lib_missing')
print(ok, (tostring(err):gsub(':.*', '')))
-- a relative require inside a fiber works too
local f = spawn(function() return require('./lib_relative') == m end)
print('from a fiber', f:join())
