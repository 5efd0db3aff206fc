//! The sandbox's pid 1 as a program of its own: `reaper/reaper.rs`, built by `build.rs`,
//! embedded here, and kept in a sealed, execute-only memfd made once per spawning process.
//!
//! Trust zone: the spawning process (the supervisor, or `luacell exec`), which makes the memfd;
//! the sandbox child runs it as pid 1 after forking the payload (`apply.rs`).
//!
//! Why: a forked pid 1 keeps a copy of the spawner's memory for as long as the sandbox lives
//! (about 600 KiB of an idle actor's PSS was the reaper's); luacell-reaper is a kilobyte of
//! code with a stack. Its file is unreadable to the sandbox, so it is not dumpable, and it
//! carries nothing of the spawner. Without it (another architecture, a kernel that refuses to
//! run a memfd), pid 1 stays the forked, built-in reaper, which does the same job.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::OnceLock;

use crate::sys::memfd;

/// The program; empty where `build.rs` does not build it.
static PROGRAM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/luacell-reaper"));

static MEMFD: OnceLock<Option<OwnedFd>> = OnceLock::new();

/// The memfd holding luacell-reaper, made on first use; `None` when there is none to run.
pub fn program() -> Option<BorrowedFd<'static>> {
    MEMFD
        .get_or_init(|| {
            if PROGRAM.is_empty() {
                return None;
            }
            memfd::sealed_program(c"luacell-reaper", PROGRAM).ok()
        })
        .as_ref()
        .map(|fd| fd.as_fd())
}
