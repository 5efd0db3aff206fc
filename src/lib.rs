//! luacell: a Lua 5.4 execution engine whose actors can live in locked-down child processes.
//!
//! See `docs/architecture.md` for the module map and the trust zones. In short:
//!
//! - [`sys`]: the raw-kernel layer (epoll, reads and writes, errno names);
//! - [`runtime`]: the IO engine of one VM (reactor with io_uring and epoll backends, timers);
//! - [`lua`]: VM construction, the Lua-side prelude (fiber scheduler, sync primitives) and the
//!   API modules;
//! - [`cli`]: the `luacell` command line.

pub mod cli;
pub mod lua;
pub mod runtime;
pub mod sys;
