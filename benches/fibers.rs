//! Fiber spawn+join and yield rates, against plain coroutines in the same mlua VM.
//!
//! Runs `benches/lua/fibers.lua` in-process through the library (the same code path as
//! `luacell run`); the script measures both luacell's fibers and the raw coroutine loops in the
//! one VM, takes the best of five rounds each, and prints per-op times and ratios.

use std::path::Path;

#[global_allocator]
static GLOBAL: luacell::Allocator = mimalloc::MiMalloc;

fn main() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/lua/fibers.lua");
    let opts = luacell::lua::RunOptions { script, args: Vec::new(), backend: None };
    match luacell::lua::run_script(&opts) {
        Ok(0) => {}
        Ok(status) => {
            eprintln!("fibers bench: the script exited with status {status}");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("fibers bench: {}", luacell::cli::error_chain(&e));
            std::process::exit(1);
        }
    }
}
