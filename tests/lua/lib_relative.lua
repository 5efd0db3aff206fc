-- A module for require_relative.lua: loaded once, may itself require relative modules.
local name, path = ...
local inner = require './lib_dir/lib_inner'
local M = { loaded_as = name, path = path, inner = inner }
M.count = (M.count or 0) + 1
function M.greet(who) return 'hello ' .. who .. ' from ' .. inner.where() end
print('lib_relative: loading')
return M
