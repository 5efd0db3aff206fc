//! The sandbox layer: it only ever removes privilege.
//!
//! Trust zone: the spawning process builds a [`Plan`] from a [`Profile`] and the probed
//! [`Features`] (pure, unit-tested); [`spawn`] clones the child, which applies the plan in one
//! fixed order (`apply.rs`) before running its payload: a command (`luacell exec`) or a function
//! (sandboxed actors). A [`Stem`] is the same child cloned ahead of its request, which it then
//! reads from the spawner.
//!
//! Invariants: a step that fails is fatal for that child (its payload never runs) unless the
//! profile allows best effort, and what was not enforced is reported; the caller is
//! single-threaded when it spawns; the child never returns into the caller's stack.
//!
//! Platform interface: Linux is the one backend (namespaces, Landlock, seccomp, rlimits). The
//! designs for FreeBSD and Windows live in `docs/platforms.md`.

mod apply;
pub mod features;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod landlock;
pub mod narrow;
pub mod plan;
pub mod probe;
pub mod profile;
mod reaper;
mod report;
pub mod seccomp;
mod spawn;
#[cfg(target_arch = "x86_64")]
mod syscalls_x86_64;

pub use apply::Payload;
pub use features::{Features, UserNamespaces};
pub use plan::{Isolation, Plan, PlanError};
pub use profile::{Profile, ProfileError};
pub use spawn::{
    GrowError, LandlockStatus, LimitHit, Outcome, Sandboxed, Shape, SpawnError, Stem, StemParts, Take, grow, spawn,
};
