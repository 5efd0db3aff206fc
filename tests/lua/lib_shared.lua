-- Required as '../lib_shared' from lib_dir/lib_inner.lua.
return 'shared value'
