-- The coroutine cases again, each in a sandboxed actor whose CPU budget is armed: there the
-- scheduler tells the budget which Lua thread runs at every switch (fibers, nested and
-- suspended user coroutines, coroutine.close), and the cases must print exactly what they
-- print in the main VM.
for _, case in ipairs{
  'coroutine_nested_suspending', 'coroutine_resume_suspending', 'coroutine_wrap_suspending',
  'coroutine_interrupted_inside', 'coroutine_shared_between_fibers', 'coroutine_wrap_shared_between_fibers',
  'coroutine_wrappers_bad_arguments', 'coroutine_yield_outside',
} do
  local ch = spawn_vm{ module = './' .. case, sandbox = 'untrusted-plugin' }
  local e = ch:wait()
  assert(e.code == 0, case)
end
print('all ran in sandboxed actors')
