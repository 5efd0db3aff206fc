-- The spec's guarantees, from inside a sandboxed actor under 'untrusted-plugin', each next to a
-- control run of the same probe under 'none' (no lockdown) that shows it reaches the kernel.
io.stdout:setvbuf('line')
local S = require './lib_sandbox'
local ip = require 'ip'
local inbox = require 'inbox'

local function both(what, name, ...)
  print(what)
  print('  control:', (S.attempt('none', name, ...):gsub(' [%d]+ bytes', ' N bytes'):gsub('entries', 'entries')))
  print('  sandbox:', S.attempt('untrusted-plugin', name, ...))
end

-- Files outside the bound paths: read, list, create, execute.
both('read /etc/passwd', 'read', '/etc/passwd')
print('  sandbox list /:', S.attempt('untrusted-plugin', 'list', '/'))
print('  sandbox create /etc/x:', S.attempt('untrusted-plugin', 'create', '/etc/luacell-escape'))
print('  sandbox exec /bin/sh:', S.attempt('untrusted-plugin', 'exec', '/bin/sh'))

-- No network: a TCP connect to a listener on 127.0.0.1 (control connects).
local acceptor = ip.tcp.acceptor.new()
acceptor:bind('127.0.0.1', 0)
acceptor:listen()
local addr = '127.0.0.1:' .. acceptor.local_port
both('tcp connect to 127.0.0.1', 'tcp-connect', addr)
print('  sandbox socket(AF_NETLINK):', S.attempt('untrusted-plugin', 'socket', 'netlink'))

-- No other process visible or signalable: another sandboxed actor, by its pid.
local other = spawn_vm{ module = './lib_sandbox_lifecycle_actor', sandbox = 'untrusted-plugin' }
other:send{ op = 'hold', reply = inbox }
inbox:receive()
local pid = tostring(other.child_pid)
both('signal another actor (signal 0)', 'kill', pid)
print('  sandbox ptrace:', S.attempt('untrusted-plugin', 'ptrace', pid))
other:close()

-- No new privileges: no program can be executed at all (setuid or not), and prctl is not
-- among the actor's calls.
both('prctl(PR_GET_NO_NEW_PRIVS)', 'no-new-privs')

-- Forbidden calls: the actor is killed by seccomp and the host is told.
for _, call in ipairs{ 'io_uring_setup', 'mount', 'unshare', 'bpf', 'perf_event_open', 'keyctl', 'tiocsti' } do
  print(call, S.attempt('untrusted-plugin', call))
end

-- Bombs are contained: fork (no process creation at all), file descriptors (the open-files
-- limit).
both('fork bomb', 'fork-bomb', '20')
print('fd flood', S.attempt('untrusted-plugin', 'fd-flood', '100000'))
