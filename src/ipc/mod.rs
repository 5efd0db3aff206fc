//! Messages between actors in different processes.
//!
//! Trust zone: both ends of every actor link (main process, supervisor, sandboxed actors). The
//! decoder reads bytes written by a possibly compromised actor: it is total (never panics, never
//! reads out of bounds), bounded by [`wire::Limits`], and closes every descriptor of a message it
//! refuses. See `docs/wire.md` for the format byte by byte.
//!
//! Built so far: the value codec ([`wire`]). The SOCK_SEQPACKET channel with SCM_RIGHTS, sealed
//! memfd buffers and capability channels come next (issue 4).

pub mod channel;
pub mod fuzzing;
pub mod inbox;
pub mod wire;
