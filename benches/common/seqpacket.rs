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

/// The event-loop floor: the ping-pong of [`raw_loop`] with both sides as an event loop does it
/// (non-blocking socket, `epoll_wait` until readable, `recvmsg` until `EAGAIN`, then answer);
/// what any runtime built on epoll pays per hop before its own work.
pub fn epoll_ping_pong(pinned: bool, n: usize, datagram: &[u8]) -> Duration {
    let reply = datagram.to_vec();
    let (sock, pid) = fork_peer(pinned, move |sock| {
        let mut side = EpollSide::new(sock);
        for _ in 0..n {
            side.recv_one();
            raw_send(&side.sock, &reply);
        }
    });
    if pinned {
        pin(0);
    }
    let mut side = EpollSide::new(sock);
    let t0 = Instant::now();
    for _ in 0..n {
        raw_send(&side.sock, datagram);
        side.recv_one();
    }
    let elapsed = t0.elapsed();
    wait(pid);
    if pinned {
        unpin();
    }
    elapsed
}

struct EpollSide {
    sock: OwnedFd,
    ep: luacell::sys::epoll::Epoll,
    events: Vec<luacell::sys::epoll::Event>,
    buf: Vec<u8>,
    control: Vec<u8>,
}

impl EpollSide {
    fn new(sock: OwnedFd) -> Self {
        socket2::SockRef::from(&sock).set_nonblocking(true).expect("non-blocking");
        let ep = luacell::sys::epoll::Epoll::new().expect("epoll");
        let edge = luacell::sys::epoll::READABLE | luacell::sys::epoll::EDGE;
        ep.add(sock.as_raw_fd(), edge, 1).expect("epoll add");
        let events = vec![luacell::sys::epoll::empty_event(); 8];
        Self { sock, ep, events, buf: vec![0u8; 65536], control: cmsg::control_buffer() }
    }

    /// Waits for one datagram, then drains to `EAGAIN` as an edge-triggered loop must.
    fn recv_one(&mut self) {
        use std::os::fd::AsFd;
        let mut got = false;
        loop {
            match cmsg::recv(self.sock.as_fd(), &mut self.buf, &mut self.control, libc::MSG_DONTWAIT) {
                // The peer may finish and close right after its last answer.
                Ok(r) if r.len == 0 && got => return,
                Ok(r) if r.len == 0 => panic!("the peer closed its end"),
                Ok(_) => got = true,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if got {
                        return;
                    }
                    self.ep.wait(&mut self.events, -1).expect("epoll_wait");
                }
                Err(e) => panic!("recvmsg failed: {e}"),
            }
        }
    }
}
