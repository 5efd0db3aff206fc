//! The raw-kernel layer: the only place (with the io_uring backend) that calls libc directly.
//!
//! Trust zone: every process (main, supervisor, sandboxed actor). It owns the thin, audited
//! wrappers around syscalls that neither `std` nor `socket2` cover (epoll), errno naming, and the
//! `IoFd` handle that ties an owned descriptor to its reactor registration.
//!
//! Invariants: no `RawFd` leaves this module except as a borrowed number handed to the kernel
//! while an `OwnedFd` that owns it is alive; every descriptor made here is close-on-exec.
#![allow(unsafe_code)]

pub mod cmsg;
pub mod epoll;
pub mod errno;
pub mod memfd;
pub mod pages;
pub mod process;

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::rc::Rc;

/// What kind of descriptor an [`IoFd`] wraps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdKind {
    /// A non-blocking socket luacell made (opened, accepted).
    Socket,
    /// A non-blocking descriptor luacell made that is not a socket (an eventfd).
    Pollable,
    /// An inherited descriptor (stdio), left blocking because its file description is shared;
    /// whether it is a socket is asked of the kernel once.
    Inherited,
}

/// Tokens of `IoFd`s that were dropped, so that the reactor can forget their state.
pub type DroppedTokens = Rc<RefCell<Vec<u64>>>;

/// An owned descriptor used for IO by one VM's reactor.
///
/// It is shared (`Rc`) between the Lua object that names it and every operation in flight on it,
/// so the descriptor stays open until the kernel has answered the last of those operations, even
/// when the script closed or dropped the object meanwhile.
pub struct IoFd {
    fd: OwnedFd,
    token: u64,
    /// False for inherited descriptors (stdio) whose file description we must not switch to
    /// non-blocking mode, because another process shares it.
    nonblocking: bool,
    /// A socket (as opposed to a pipe, terminal or file): it takes recv/send.
    socket: bool,
    dropped: DroppedTokens,
}

impl IoFd {
    pub fn new(fd: OwnedFd, token: u64, kind: FdKind, dropped: DroppedTokens) -> Self {
        let (nonblocking, socket) = match kind {
            FdKind::Socket => (true, true),
            FdKind::Inherited => (false, is_socket(fd.as_fd())),
            FdKind::Pollable => (true, false),
        };
        Self { fd, token, nonblocking, socket, dropped }
    }

    pub fn is_socket(&self) -> bool {
        self.socket
    }

    pub fn token(&self) -> u64 {
        self.token
    }

    pub fn is_nonblocking(&self) -> bool {
        self.nonblocking
    }

    /// The descriptor number, for handing to the kernel while `self` is alive.
    pub fn raw(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

impl AsFd for IoFd {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl Drop for IoFd {
    fn drop(&mut self) {
        // A borrow conflict is impossible: the list is only borrowed for a push here and for a
        // drain in the engine, neither of which can run Lua (and so drop an IoFd) meanwhile.
        if let Ok(mut list) = self.dropped.try_borrow_mut() {
            list.push(self.token);
        }
    }
}

/// `read(2)` into `buf`.
pub fn read(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid, exclusively borrowed slice of `buf.len()` bytes for the whole
    // call, and `fd` is a live descriptor borrowed from its owner.
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n.unsigned_abs()) }
}

/// `write(2)` from `buf`. `MSG_NOSIGNAL` semantics are obtained by ignoring SIGPIPE at start-up.
pub fn write(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid slice of `buf.len()` bytes for the whole call, and `fd` is a live
    // descriptor borrowed from its owner.
    let n = unsafe { libc::write(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len()) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n.unsigned_abs()) }
}

/// Whether `fd` is a socket (`fstat` says `S_IFSOCK`).
pub fn is_socket(fd: BorrowedFd<'_>) -> bool {
    let mut st = std::mem::MaybeUninit::<libc::stat>::zeroed();
    // SAFETY: `st` is a writable, properly aligned `stat` buffer that lives across the call, and
    // `fd` is a live descriptor borrowed from its owner; the kernel only writes into `st`.
    let r = unsafe { libc::fstat(fd.as_raw_fd(), st.as_mut_ptr()) };
    if r != 0 {
        return false;
    }
    // SAFETY: fstat returned 0, so it filled `st` completely.
    let st = unsafe { st.assume_init() };
    st.st_mode & libc::S_IFMT == libc::S_IFSOCK
}

/// `recv(2)` into `buf`: a read on a socket straight to the socket layer (no VFS checks).
pub fn recv(fd: BorrowedFd<'_>, buf: &mut [u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid, exclusively borrowed slice of `buf.len()` bytes for the whole
    // call, and `fd` is a live descriptor borrowed from its owner.
    let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n.unsigned_abs()) }
}

/// `send(2)` from `buf` with `MSG_NOSIGNAL`: a closed peer is an `EPIPE` error, never a signal.
pub fn send(fd: BorrowedFd<'_>, buf: &[u8]) -> io::Result<usize> {
    // SAFETY: `buf` is a valid slice of `buf.len()` bytes for the whole call, and `fd` is a live
    // descriptor borrowed from its owner.
    let n = unsafe { libc::send(fd.as_raw_fd(), buf.as_ptr().cast(), buf.len(), libc::MSG_NOSIGNAL) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n.unsigned_abs()) }
}

/// Duplicates `fd` (close-on-exec), e.g. to wrap an inherited stdio descriptor.
pub fn dup_cloexec(fd: BorrowedFd<'_>) -> io::Result<OwnedFd> {
    fd.try_clone_to_owned()
}

/// Ignores SIGPIPE for the whole process, so that writing to a closed peer is an `EPIPE` error
/// returned to the fiber instead of a silent death.
pub fn ignore_sigpipe() {
    // SAFETY: installing SIG_IGN for SIGPIPE has no memory-safety preconditions; it is done once
    // at start-up, and nothing in luacell installs a SIGPIPE handler.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

/// A non-blocking, close-on-exec eventfd.
pub fn eventfd() -> io::Result<OwnedFd> {
    // SAFETY: eventfd takes an initial value and flags, and returns a new descriptor or -1.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    Ok(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) })
}

/// Adds 1 to an eventfd's counter (a full counter already wakes its reader: EAGAIN is fine).
pub fn eventfd_signal(fd: BorrowedFd<'_>) {
    let _ = write(fd, &1u64.to_ne_bytes());
}

/// Waits until at least one of `fds` is readable (or hung up, or in error) and says which.
/// `timeout_ms`: -1 waits forever.
pub fn poll_readable(fds: &[BorrowedFd<'_>], timeout_ms: i32) -> io::Result<Vec<bool>> {
    let mut pfds: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    loop {
        // SAFETY: `pfds` is a valid, exclusively borrowed array of `pfds.len()` pollfd entries
        // that lives across the call; every fd in it is borrowed from a live owner.
        let n = unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, timeout_ms) };
        if n >= 0 {
            return Ok(pfds.iter().map(|p| p.revents != 0).collect());
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    }
}

/// Whether `fd` is ready for `events` (`POLLIN` or `POLLOUT`) right now; an error or hang-up
/// counts as ready (the next syscall on it reports what happened).
pub fn poll_now(fd: BorrowedFd<'_>, events: libc::c_short) -> io::Result<bool> {
    let mut p = libc::pollfd { fd: fd.as_raw_fd(), events, revents: 0 };
    // SAFETY: one valid, exclusively borrowed pollfd that lives across the call; the fd is
    // borrowed from a live owner; a zero timeout never blocks.
    let n = unsafe { libc::poll(&mut p, 1, 0) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(n > 0 && p.revents != 0)
}

/// `shutdown(2)` one direction of a socket.
pub fn shutdown(fd: BorrowedFd<'_>, how: std::net::Shutdown) -> io::Result<()> {
    socket2::SockRef::from(&fd).shutdown(how)
}
