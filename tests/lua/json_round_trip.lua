-- json.encode sorts object keys; decode -> encode round-trips; json.null stands for null;
-- decoded arrays (even empty ones) encode back as arrays.
local json = require 'json'

print(json.encode({ b = 1, a = { 1, 2, 3 }, c = { y = json.null, x = true }, d = 'str', e = 1.5 }))
local text = '{"z":[1,2.5,"x",null,true,{}],"a":{"k":[]},"n":-3,"s":"caf\\u00e9 \\"q\\""}'
local v = json.decode(text)
print(v.n, math.type(v.n), v.z[2], v.z[3], v.z[4] == json.null, v.z[5], #v.z)
print(v.s)
print(json.encode(v))
print(json.encode(json.decode(json.encode(v))) == json.encode(v))
print(json.encode({}), json.encode(json.decode('[]')), json.encode(json.decode('{}')))
print(json.encode('line\nbreak'), json.encode(1), json.encode(-7), json.encode(true), json.encode(json.null))
print(json.decode('null') == json.null, json.decode('false'), json.decode('"s"'), json.decode(' 42 '))
print(json.encode({ { 1, { 2, { 3 } } }, { key = { 'deep' } } }))
