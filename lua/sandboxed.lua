-- Run last in a sandboxed actor's VM: takes the unsafe parts of the standard library away from
-- the script (defence in depth: the kernel lockdown is what really holds). The prelude loaded
-- before this keeps private references to what it needs (debug.traceback, io.stderr).
--
-- Left: base functions (with `load` for text chunks only), coroutine, table, string, utf8, math,
-- os.clock/time/date/difftime, require of preloaded modules. Gone: io, debug, dofile, loadfile,
-- os.execute/exit/getenv/remove/rename/tmpname/setlocale, package.loadlib, C and file searchers,
-- and binary chunks.

local G = _G
local text_load, error, type = load, error, type

G.load = function(chunk, name, mode, env)
  if mode ~= nil and mode ~= 't' then
    error('a sandboxed actor can only load text chunks', 2)
  end
  return text_load(chunk, name, 't', env)
end

G.io, G.debug, G.dofile, G.loadfile = nil, nil, nil, nil

local os = G.os
local safe_os = { clock = os.clock, time = os.time, date = os.date, difftime = os.difftime }
G.os = safe_os

local package = G.package
package.loaded.io, package.loaded.debug, package.loaded.os = nil, nil, safe_os
package.loadlib = nil
package.path, package.cpath = '', ''
package.searchers = { package.searchers[1] }
