-- Used by actor_module_syntax_error.lua: does not compile.
local x = = 1
