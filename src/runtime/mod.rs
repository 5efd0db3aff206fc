//! The runtime of one VM: the IO engine (reactor + timers + op bookkeeping).
//!
//! Trust zone: the thread that runs one Lua VM. The fiber scheduler itself lives in the Lua
//! prelude (`lua/scheduler.lua`), where a switch costs no more than a coroutine resume; this
//! module gives it operations that complete later, and the one blocking call, [`Engine::wait`].

pub mod engine;
pub mod reactor;

pub use engine::{Engine, Finished, Started};
