-- connect on a socket that is already connected fails with EISCONN (under every backend).
local c, s, a = require('./lib_tcp').connected_pair()
print('connected', s.remote_port == c.local_port)
local ok, err = pcall(c.connect, c, '127.0.0.1', a.local_port)
print(ok, err and err.code, tostring(err))
c:close()
s:close()
a:close()
