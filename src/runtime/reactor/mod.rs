//! The IO reactor: one interface, two backends (io_uring and epoll).
//!
//! Trust zone: every VM's thread (main process and, later, sandboxed actors, which use epoll).
//!
//! An [`Op`] owns everything the kernel may touch while it is in flight: its buffer, its socket
//! address and a reference to its descriptor. The reactor keeps the op until the kernel is done
//! with it and hands it back inside a [`Completion`], cancelled or not, so no memory or descriptor
//! is released while the kernel may still use it.

mod epoll;
mod uring;

use std::fmt;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::Duration;

use socket2::SockAddr;

use crate::sys::IoFd;

/// Which backend drives IO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    IoUring,
    Epoll,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::IoUring => "io_uring",
            Backend::Epoll => "epoll",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The identity of an operation; dense, reused only after its completion was delivered.
pub type OpId = u32;

/// An IO operation and everything it owns while in flight.
pub enum Op {
    Accept {
        fd: Rc<IoFd>,
    },
    Connect {
        fd: Rc<IoFd>,
        addr: Box<SockAddr>,
        started: bool,
    },
    /// Reads at most `buf.len()` bytes into `buf`.
    Read {
        fd: Rc<IoFd>,
        buf: Vec<u8>,
    },
    /// Writes at most `buf.len()` bytes from `buf` (one `write`, as `write_some` promises).
    Write {
        fd: Rc<IoFd>,
        buf: Vec<u8>,
    },
    /// Waits until the descriptor is readable (or writable, with `output`) without touching
    /// its data: for sockets whose messages are taken with `recvmsg` (descriptors attached).
    /// The caller has just seen `EAGAIN` in that direction (or never used the descriptor), so
    /// the epoll backend waits for the next edge without checking first, and completes on the
    /// edge without checking again: a wake with nothing to read costs the caller one `EAGAIN`.
    Poll {
        fd: Rc<IoFd>,
        output: bool,
    },
}

impl Op {
    fn fd(&self) -> &Rc<IoFd> {
        match self {
            Op::Accept { fd }
            | Op::Connect { fd, .. }
            | Op::Read { fd, .. }
            | Op::Write { fd, .. }
            | Op::Poll { fd, .. } => fd,
        }
    }

    /// Whether this op waits for readability (else writability).
    fn is_input(&self) -> bool {
        matches!(self, Op::Accept { .. } | Op::Read { .. } | Op::Poll { output: false, .. })
    }

    /// Gives back the op's buffer, if it has one, for reuse.
    pub fn into_buffer(self) -> Option<Vec<u8>> {
        match self {
            Op::Read { buf, .. } | Op::Write { buf, .. } => Some(buf),
            Op::Accept { .. } | Op::Connect { .. } | Op::Poll { .. } => None,
        }
    }
}

/// What a successful op produced.
pub enum Output {
    Bytes(usize),
    Accepted(OwnedFd),
    Connected,
}

/// A finished op (successful, failed or cancelled) with everything it owned.
pub struct Completion {
    pub id: OpId,
    pub op: Op,
    pub result: io::Result<Output>,
}

/// The interface both backends implement.
pub trait Reactor {
    fn backend(&self) -> Backend;

    /// Starts `op`. Returns its completion when it finished at once (the epoll backend tries the
    /// syscall first); otherwise the completion arrives later through [`Reactor::wait`].
    fn start(&mut self, id: OpId, op: Op) -> Option<Completion>;

    /// Asks for `id` to be cancelled. Its completion still arrives through [`Reactor::wait`]:
    /// `ECANCELED` if the cancellation won, the real result if the kernel finished first.
    fn cancel(&mut self, id: OpId);

    /// Forgets whatever state the reactor keeps for a descriptor that was closed.
    fn forget(&mut self, token: u64);

    /// Whether completions are already waiting to be collected (so `wait` must not block).
    fn has_ready(&self) -> bool;

    /// Collects completions into `out`, blocking up to `timeout` (`None`: until one arrives).
    fn wait(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()>;
}

/// Why no reactor could be made.
#[derive(Debug, thiserror::Error)]
pub enum ReactorError {
    #[error("LUACELL_IO={value:?} is not a known IO backend (expected 'io_uring' or 'epoll')")]
    UnknownBackend { value: String },
    #[error(
        "the io_uring backend was forced by LUACELL_IO, but this kernel refuses io_uring \
             (check the sysctl kernel.io_uring_disabled, seccomp, or use LUACELL_IO=epoll)"
    )]
    UringUnavailable {
        #[source]
        source: io::Error,
    },
    #[error("cannot create the epoll reactor")]
    Epoll {
        #[source]
        source: io::Error,
    },
}

/// Which backend the user asked for through `LUACELL_IO`, if any.
pub fn forced_backend(value: Option<&str>) -> Result<Option<Backend>, ReactorError> {
    match value {
        None | Some("") => Ok(None),
        Some("io_uring") => Ok(Some(Backend::IoUring)),
        Some("epoll") => Ok(Some(Backend::Epoll)),
        Some(other) => Err(ReactorError::UnknownBackend { value: other.to_owned() }),
    }
}

/// Makes a reactor: io_uring when the kernel allows it, epoll otherwise, or the `forced` one.
pub fn new_reactor(forced: Option<Backend>) -> Result<Box<dyn Reactor>, ReactorError> {
    match forced {
        Some(Backend::Epoll) => new_epoll(),
        Some(Backend::IoUring) => match uring::UringReactor::new() {
            Ok(r) => Ok(Box::new(r)),
            Err(source) => Err(ReactorError::UringUnavailable { source }),
        },
        None => match uring::UringReactor::new() {
            Ok(r) => Ok(Box::new(r)),
            Err(_) => new_epoll(),
        },
    }
}

fn new_epoll() -> Result<Box<dyn Reactor>, ReactorError> {
    epoll::EpollReactor::new().map(|r| Box::new(r) as Box<dyn Reactor>).map_err(|source| ReactorError::Epoll { source })
}

/// Whether io_uring can be used on this kernel (for `luacell doctor` and the tests).
pub fn io_uring_available() -> bool {
    uring::UringReactor::new().is_ok()
}

fn cancelled() -> io::Error {
    io::Error::from_raw_os_error(libc::ECANCELED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forced_backend_unknown_value_is_refused() {
        let err = forced_backend(Some("kqueue")).err().map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("LUACELL_IO=\"kqueue\" is not a known IO backend (expected 'io_uring' or 'epoll')")
        );
    }

    #[test]
    fn forced_backend_names_parse() {
        assert_eq!(forced_backend(Some("epoll")).ok().flatten(), Some(Backend::Epoll));
        assert_eq!(forced_backend(Some("io_uring")).ok().flatten(), Some(Backend::IoUring));
        assert_eq!(forced_backend(None).ok().flatten(), None);
    }
}
