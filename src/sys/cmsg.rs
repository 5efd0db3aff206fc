//! Datagrams with descriptors: `SOCK_SEQPACKET` socketpairs, `sendmsg`/`recvmsg` with
//! `SCM_RIGHTS`.
//!
//! The control buffer is built and parsed as plain bytes with the Linux layout (a `cmsghdr` of
//! `usize` length, `i32` level, `i32` type, data aligned to `usize`): the parsing is safe and
//! total, and only the two syscalls are `unsafe`. Received descriptors are close-on-exec
//! (`MSG_CMSG_CLOEXEC`) and wrapped in `OwnedFd` at once, so none can leak, whatever follows.

use std::io;
use std::mem::size_of;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// The most descriptors Linux passes in one message (`SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;

const HDR: usize = size_of::<usize>() + 2 * size_of::<i32>();

const fn align(n: usize) -> usize {
    (n + size_of::<usize>() - 1) & !(size_of::<usize>() - 1)
}

/// `CMSG_SPACE` for `n` descriptors.
const fn space_for(n: usize) -> usize {
    align(HDR) + align(n * size_of::<RawFd>())
}

/// A message header over one iovec and a control buffer (no address: the socket is connected).
/// The header only holds pointers; the caller keeps both alive across the syscall.
fn msghdr(iov: &mut libc::iovec, control: &mut [u8]) -> libc::msghdr {
    libc::msghdr {
        msg_name: std::ptr::null_mut(),
        msg_namelen: 0,
        msg_iov: iov,
        msg_iovlen: 1,
        msg_control: control.as_mut_ptr().cast(),
        msg_controllen: control.len(),
        msg_flags: 0,
    }
}

/// A connected pair of `SOCK_SEQPACKET` unix sockets (close-on-exec).
pub fn seqpacket_pair() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as RawFd; 2];
    // SAFETY: `fds` is a writable array of two ints that lives across the call; the kernel
    // writes the two new descriptors into it and keeps no pointer.
    let r = unsafe { libc::socketpair(libc::AF_UNIX, libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr()) };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: socketpair succeeded: both numbers are fresh descriptors owned by nothing else.
    let a = unsafe { OwnedFd::from_raw_fd(fds[0]) };
    // SAFETY: as above, for the second descriptor.
    let b = unsafe { OwnedFd::from_raw_fd(fds[1]) };
    Ok((a, b))
}

/// Sends one datagram carrying `fds` (at most [`SCM_MAX_FD`]). `MSG_NOSIGNAL`: a closed peer is
/// `EPIPE`.
pub fn send(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>]) -> io::Result<usize> {
    send_with(sock, bytes, fds, 0)
}

/// [`send`] with extra flags (`MSG_DONTWAIT`: a full socket is `EAGAIN`).
pub fn send_with(sock: BorrowedFd<'_>, bytes: &[u8], fds: &[BorrowedFd<'_>], flags: i32) -> io::Result<usize> {
    let flags = flags | libc::MSG_NOSIGNAL;
    if fds.len() > SCM_MAX_FD {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if fds.is_empty() {
        // No control data: plain send(2), which skips sendmsg's msghdr copy-in.
        // SAFETY: `bytes` is a valid slice for the whole call; `sock` is a live descriptor.
        let n = unsafe { libc::send(sock.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), flags) };
        return if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n.unsigned_abs()) };
    }
    let data_len = fds.len() * size_of::<RawFd>();
    let mut control = vec![0u8; space_for(fds.len())];
    control[..size_of::<usize>()].copy_from_slice(&(align(HDR) + data_len).to_ne_bytes());
    let level_at = size_of::<usize>();
    control[level_at..level_at + 4].copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
    control[level_at + 4..level_at + 8].copy_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
    for (i, fd) in fds.iter().enumerate() {
        let at = align(HDR) + i * size_of::<RawFd>();
        control[at..at + 4].copy_from_slice(&fd.as_raw_fd().to_ne_bytes());
    }
    let mut iov = libc::iovec { iov_base: bytes.as_ptr().cast_mut().cast(), iov_len: bytes.len() };
    let msg = msghdr(&mut iov, &mut control);
    // SAFETY: `msg` points at `iov` (one iovec over `bytes`, which the kernel only reads) and at
    // `control` (a buffer of `control.len()` bytes laid out as one SCM_RIGHTS cmsghdr); all of
    // them live across the call, and every fd in it is borrowed from a live owner.
    let n = unsafe { libc::sendmsg(sock.as_raw_fd(), &msg, flags) };
    if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n.unsigned_abs()) }
}

/// One received datagram.
#[derive(Debug)]
pub struct Received {
    /// Bytes written into the buffer.
    pub len: usize,
    /// The descriptors that came with it, already owned (and close-on-exec).
    pub fds: Vec<OwnedFd>,
    /// `MSG_TRUNC`: the datagram was larger than the buffer (the rest is lost).
    pub truncated: bool,
    /// `MSG_CTRUNC` or a control message that is not `SCM_RIGHTS`: descriptors may be missing.
    pub control_truncated: bool,
}

/// The control buffer [`recv`] needs: room for [`SCM_MAX_FD`] descriptors. Reuse one per
/// socket; its old contents do not matter (the kernel reports how much it wrote).
pub fn control_buffer() -> Vec<u8> {
    vec![0u8; space_for(SCM_MAX_FD)]
}

/// Receives one datagram into `buf`, with up to [`SCM_MAX_FD`] descriptors; `control` comes
/// from [`control_buffer`].
pub fn recv(sock: BorrowedFd<'_>, buf: &mut [u8], control: &mut Vec<u8>, flags: i32) -> io::Result<Received> {
    if control.len() < space_for(SCM_MAX_FD) {
        control.resize(space_for(SCM_MAX_FD), 0);
    }
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    let mut msg = msghdr(&mut iov, control);
    // SAFETY: `msg` points at `iov` (one iovec over `buf`, exclusively borrowed) and at
    // `control` (`control.len()` writable bytes); both live across the call and the kernel
    // writes at most their lengths into them.
    let n = unsafe { libc::recvmsg(sock.as_raw_fd(), &mut msg, flags | libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let used = msg.msg_controllen.min(control.len());
    let (fds, foreign) = parse_rights(&control[..used]);
    Ok(Received {
        len: n.unsigned_abs(),
        fds,
        truncated: msg.msg_flags & libc::MSG_TRUNC != 0,
        control_truncated: msg.msg_flags & libc::MSG_CTRUNC != 0 || foreign,
    })
}

/// Takes ownership of every descriptor in a control buffer; the bool says whether anything
/// else was in it (which a luacell peer never sends).
fn parse_rights(control: &[u8]) -> (Vec<OwnedFd>, bool) {
    let mut fds = Vec::new();
    let mut foreign = false;
    let mut at = 0;
    while at + HDR <= control.len() {
        let mut len_bytes = [0u8; size_of::<usize>()];
        len_bytes.copy_from_slice(&control[at..at + size_of::<usize>()]);
        let len = usize::from_ne_bytes(len_bytes);
        let level = i32::from_ne_bytes(control_array(control, at + size_of::<usize>()));
        let kind = i32::from_ne_bytes(control_array(control, at + size_of::<usize>() + 4));
        if len < HDR || at + len > control.len() {
            foreign = true;
            break;
        }
        let data = &control[at + align(HDR)..at + len];
        if level == libc::SOL_SOCKET && kind == libc::SCM_RIGHTS {
            for raw in data.chunks_exact(size_of::<RawFd>()) {
                let fd = RawFd::from_ne_bytes([raw[0], raw[1], raw[2], raw[3]]);
                // SAFETY: the kernel installed this descriptor in our table for this message
                // (SCM_RIGHTS); nothing else knows its number, so we take sole ownership.
                fds.push(unsafe { OwnedFd::from_raw_fd(fd) });
            }
        } else {
            foreign = true;
        }
        at += align(len);
    }
    (fds, foreign)
}

fn control_array(control: &[u8], at: usize) -> [u8; 4] {
    let mut a = [0u8; 4];
    a.copy_from_slice(&control[at..at + 4]);
    a
}
