//! The runtime of one execution context: the IO engine (reactor + timers + op bookkeeping), shared
//! by the VMs of the context (each op records the VM that started it).
//!
//! Trust zone: the thread that runs one Lua VM. The fiber scheduler itself lives in the Lua
//! prelude (`lua/scheduler.lua`), where a switch costs no more than a coroutine resume; this
//! module gives it operations that complete later, and the one blocking call, [`Engine::wait`].

pub mod engine;
pub mod reactor;

pub use engine::{Engine, Finished, Owner, Started};

/// A hasher for the engine's own keys (op ids, descriptor tokens): unique integers that no
/// script chooses, so a multiplicative (Fibonacci) hash is enough, and SipHash's cost is not.
#[derive(Default, Clone, Copy)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// A map keyed by engine ids.
pub type IdMap<K, V> = std::collections::HashMap<K, V, std::hash::BuildHasherDefault<IdHasher>>;
