//! luacell: a Lua 5.4 execution engine whose actors can live in locked-down child processes.
//!
//! See `docs/architecture.md` for the module map and the trust zones. In short:
//!
//! - [`sys`]: the raw-kernel layer (epoll, reads and writes, SCM_RIGHTS, sealed memfds, errno
//!   names);
//! - [`ipc`]: actor messages across processes: the wire codec (total, fuzzed), channels with fd
//!   passing, capability channels (inboxes and addresses);
//! - [`runtime`]: the IO engine of one VM (reactor with io_uring and epoll backends, timers);
//! - [`lua`]: VM construction, the Lua-side prelude (fiber scheduler, sync primitives) and the
//!   API modules;
//! - [`cli`]: the `luacell` command line.

pub mod actor;
pub mod cli;
mod cli_sandbox;
pub mod ipc;
pub mod lua;
pub mod runtime;
pub mod sandbox;
pub mod supervisor;
pub mod sys;

/// The allocator every luacell binary uses (the `luacell` binary, tests and benches declare it
/// with `#[global_allocator]`). Lua allocates through Rust's allocator, and fibers, messages and
/// buffers are many short-lived small objects: mimalloc serves them several times faster than
/// glibc's malloc (see `benches/fibers.rs`). It is built without transparent huge pages
/// (`no_thp`): with them every process (main, supervisor, each sandboxed actor) faulted in 4 MiB
/// of arena at start, where it needs a few hundred KiB.
pub type Allocator = mimalloc::MiMalloc;
