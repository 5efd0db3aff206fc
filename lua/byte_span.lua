-- byte_span: the Lua face of the raw span primitives (a global, as in Emilua).
--
-- Every function checks its arguments and turns a raw FAIL into an error value naming the
-- function, the reason and the code, so that no mlua conversion error reaches a script.

local RAW, S = ...
local B = RAW.byte_span
local raise, arg_error, check = S.raise, S.arg_error, S.check
local setmetatable, getmetatable, type, rawequal, select, tostring, format =
  setmetatable, getmetatable, type, rawequal, select, tostring, string.format
local preload = package.preload
-- mlua hides userdata metatables from getmetatable(); the prelude keeps a private
-- debug.getmetatable to recognise spans with a plain C call instead of a call into Rust.
local debug_getmetatable = debug.getmetatable
-- Fetched on first use: mlua builds the metatable with the first span, which must come after
-- setup has registered the span's __index (so never while the prelude loads).
local SPAN_MT = nil
local function is_span(x)
  if SPAN_MT == nil then SPAN_MT = debug_getmetatable(B.new(0)) end
  return debug_getmetatable(x) == SPAN_MT
end

------------------------------------------------------------------------------------------------
-- byte_span

local span_methods = {}
local span_names = {
  'slice', 'copy', 'append', 'find', 'rfind', 'find_first_of', 'find_last_of',
  'find_first_not_of', 'find_last_not_of', 'starts_with', 'ends_with', 'trimmed',
}
for _, name in ipairs(span_names) do
  local raw = B[name]
  local what = 'byte_span:' .. name
  -- Every span method returns one value (raw primitives may pad with nils).
  span_methods[name] = function(self, ...)
    if not is_span(self) then arg_error(what, 1, 'byte_span', self) end
    return (check(what, raw(self, ...)))
  end
end
span_methods.tostring = function(self)
  if not is_span(self) then arg_error('byte_span:tostring', 1, 'byte_span', self) end
  return tostring(self)
end

local B_get, B_set, B_capacity = B.get, B.set, B.capacity
S.byte_span_meta = {
  index = function(self, k)
    if type(k) == 'number' then return (check('byte_span[]', B_get(self, k))) end
    if k == 'capacity' then return B_capacity(self) end
    return span_methods[k]
  end,
  newindex = function(self, k, v)
    if type(k) == 'number' then
      check('byte_span[]=', B_set(self, k, v))
      return
    end
    raise('EINVAL', 'byte_span', format('cannot set field %q', tostring(k)))
  end,
}

local byte_span = {}
function byte_span.new(len, cap)
  return (check('byte_span.new', B.new(len, cap)))
end
function byte_span.append(...)
  local first = ...
  if is_span(first) then return span_methods.append(...) end
  return span_methods.append(byte_span.new(0), ...)
end
-- byte_span.from('text'): a span holding a copy of a string (luacell extension).
function byte_span.from(s)
  if type(s) ~= 'string' then arg_error('byte_span.from', 1, 'string', s) end
  return B.from(s)
end
_G.byte_span = byte_span
preload['byte_span'] = function() return byte_span end

-- io.lua (loaded on first require of stream, ip, system or json) recognises spans with it.
S.is_span = is_span
S.byte_span = byte_span
