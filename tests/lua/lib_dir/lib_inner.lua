-- Required as './lib_dir/lib_inner' from lib_relative.lua; requires its sibling's parent.
local back = require '../lib_shared'
return { where = function() return 'lib_inner (shared says ' .. back .. ')' end }
