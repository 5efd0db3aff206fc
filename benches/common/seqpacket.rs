//! The raw SOCK_SEQPACKET loop the message benches are set against: two processes, one
//! `send`/`recv` per datagram, nothing else. Included with `#[path]` by `wire.rs` and
//! `sandboxed.rs`.
//!
//! The forks and the affinity calls go through libc; every unsafe block says why it is sound.
#![allow(unsafe_code)]
// Each including bench uses its own part of this module.
#![allow(dead_code)]

use std::os::fd::{AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use luacell::sys::cmsg;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pattern {
    /// `n` datagrams one way, then one acknowledgement back.
    OneWay,
    /// `n` datagrams each answered by one.
    PingPong,
}

/// Pins this process to `cpu`.
pub fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it; the call only
    // reads the set and changes this process's affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Lets this process run on every CPU again.
pub fn unpin() {
    // SAFETY: a zeroed set filled with every CPU; the call only reads it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for cpu in 0..libc::CPU_SETSIZE as usize {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

pub fn raw_send(sock: &OwnedFd, bytes: &[u8]) {
    // SAFETY: `bytes` is a valid slice for the whole call; the socket is a live descriptor.
    let r = unsafe { libc::send(sock.as_raw_fd(), bytes.as_ptr().cast(), bytes.len(), libc::MSG_NOSIGNAL) };
    assert!(r >= 0, "raw send failed");
}

pub fn raw_recv(sock: &OwnedFd, buf: &mut [u8]) {
    // SAFETY: `buf` is an exclusively borrowed buffer for the whole call; the socket is live.
    let r = unsafe { libc::recv(sock.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
    assert!(r >= 0, "raw recv failed");
}

/// Forks a process that runs `peer` on its end of a new SOCK_SEQPACKET pair and exits; returns
/// this process's end and the peer's pid. The caller must be single-threaded.
pub fn fork_peer(pinned: bool, peer: impl FnOnce(OwnedFd)) -> (OwnedFd, libc::pid_t) {
    let (parent_end, child_end) = cmsg::seqpacket_pair().expect("socketpair");
    // SAFETY: the benches that call this are single-threaded, so the child holds no lock another
    // thread could own; it runs `peer` and leaves through _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(parent_end);
        if pinned {
            pin(0);
        }
        peer(child_end);
        // SAFETY: ends the forked child without running the parent's exit handlers.
        unsafe { libc::_exit(0) };
    }
    drop(child_end);
    (parent_end, pid)
}

/// Waits for the peer `pid` to exit.
pub fn wait(pid: libc::pid_t) {
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
}

/// The raw loop: `n` datagrams of `datagram` in `pattern` between this process and a forked
/// peer; the time this side saw.
pub fn raw_loop(pattern: Pattern, pinned: bool, n: usize, datagram: &[u8]) -> Duration {
    let reply = datagram.to_vec();
    let (sock, pid) = fork_peer(pinned, move |sock| {
        let mut buf = vec![0u8; 65536];
        for _ in 0..n {
            raw_recv(&sock, &mut buf);
            if pattern == Pattern::PingPong {
                raw_send(&sock, &reply);
            }
        }
        if pattern == Pattern::OneWay {
            raw_send(&sock, &reply);
        }
    });
    if pinned {
        pin(0);
    }
    let mut buf = vec![0u8; 65536];
    let t0 = Instant::now();
    for _ in 0..n {
        raw_send(&sock, datagram);
        if pattern == Pattern::PingPong {
            raw_recv(&sock, &mut buf);
        }
    }
    if pattern == Pattern::OneWay {
        raw_recv(&sock, &mut buf);
    }
    let elapsed = t0.elapsed();
    wait(pid);
    if pinned {
        unpin();
    }
    elapsed
}
