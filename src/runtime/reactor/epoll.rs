//! The epoll backend: readiness-based, edge-triggered, with readiness remembered per descriptor.
//!
//! An op first tries its syscall when the descriptor may be ready; on `EAGAIN` it queues behind
//! the descriptor until epoll reports the edge. A short read or write also clears readiness: on a
//! stream socket or pipe it means the queue was drained (or the buffer filled) at that moment, and
//! any later change raises a new edge, so no syscall is wasted on a certain `EAGAIN`.
//!
//! Inherited blocking descriptors (stdio) are never switched to non-blocking mode (the file
//! description is shared with other processes): they are watched level-triggered and each op
//! runs its syscall once epoll says it will not block. Descriptors epoll refuses (regular files)
//! are always ready and run at once.

use std::collections::VecDeque;
use std::io;
use std::rc::{Rc, Weak};
use std::time::Duration;

use socket2::SockRef;

use super::{Backend, Completion, Op, OpId, Output, Reactor, cancelled};
use crate::runtime::IdMap;
use crate::sys::{self, IoFd, epoll};

struct Waiting {
    id: OpId,
    op: Op,
}

struct FdState {
    /// The descriptor, to change its registration: upgraded only while it is open, so a
    /// `modify` never reaches a number the kernel has reused for another file.
    fd: Weak<IoFd>,
    registered: bool,
    /// EPOLLOUT is in the interest set (non-blocking descriptors arm it only while a writer or
    /// a connect waits: otherwise every ACK that frees send space would wake epoll).
    out_armed: bool,
    /// epoll refused the descriptor (a regular file): it never blocks.
    unpollable: bool,
    /// Level-triggered interest currently armed, for blocking descriptors.
    armed: u32,
    read_ready: bool,
    write_ready: bool,
    readers: VecDeque<Waiting>,
    writers: VecDeque<Waiting>,
}

impl Default for FdState {
    fn default() -> Self {
        Self {
            fd: Weak::new(),
            registered: false,
            out_armed: false,
            unpollable: false,
            armed: 0,
            read_ready: false,
            // Not known to be full: a write is tried first, and only an EAGAIN or a short
            // write makes it wait for EPOLLOUT.
            write_ready: true,
            readers: VecDeque::new(),
            writers: VecDeque::new(),
        }
    }
}

pub struct EpollReactor {
    ep: epoll::Epoll,
    fds: IdMap<u64, FdState>,
    /// Which descriptor each waiting op queues behind, for cancellation.
    waiting: IdMap<OpId, u64>,
    /// Completions produced outside `wait` (cancellations), delivered by the next `wait`.
    done: Vec<Completion>,
    events: Vec<epoll::Event>,
}

enum Attempt {
    Done(io::Result<Output>),
    WouldBlock,
}

impl EpollReactor {
    pub fn new() -> io::Result<Self> {
        Ok(Self {
            ep: epoll::Epoll::new()?,
            fds: IdMap::default(),
            waiting: IdMap::default(),
            done: Vec::new(),
            events: vec![epoll::empty_event(); 256],
        })
    }

    /// Runs the op's syscall once. `Done` carries its result; `WouldBlock` means wait.
    fn attempt(op: &mut Op) -> (Attempt, bool) {
        // A signal (EINTR) or a connection aborted before accept() took it (ECONNABORTED) says
        // nothing about readiness: try again at once, so that WouldBlock always means drained
        // (an edge-triggered descriptor must not be marked idle while it still holds data).
        for _ in 0..16 {
            if let Some(done) = Self::attempt_once(op) {
                return done;
            }
        }
        // A storm of signals: let the next readiness report retry.
        (Attempt::WouldBlock, false)
    }

    /// One try of the op's syscall; `None` when it must simply be retried.
    fn attempt_once(op: &mut Op) -> Option<(Attempt, bool)> {
        // The bool says whether the descriptor is known drained/full after this attempt.
        Some(match op {
            Op::Read { fd, buf } => {
                match if fd.is_socket() { sys::recv(fd.as_fd_ref(), buf) } else { sys::read(fd.as_fd_ref(), buf) } {
                    // End of stream (0) keeps the descriptor ready: no new edge will ever announce it again.
                    Ok(n) => (Attempt::Done(Ok(Output::Bytes(n))), n > 0 && n < buf.len()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => (Attempt::WouldBlock, true),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return None,
                    Err(e) => (Attempt::Done(Err(e)), false),
                }
            }
            Op::Write { fd, buf } => {
                match if fd.is_socket() { sys::send(fd.as_fd_ref(), buf) } else { sys::write(fd.as_fd_ref(), buf) } {
                    Ok(n) => (Attempt::Done(Ok(Output::Bytes(n))), n < buf.len()),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => (Attempt::WouldBlock, true),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return None,
                    Err(e) => (Attempt::Done(Err(e)), false),
                }
            }
            Op::Accept { fd } => match SockRef::from(&**fd).accept() {
                Ok((sock, _peer)) => {
                    let made = sock.set_nonblocking(true).map(|()| Output::Accepted(sock.into()));
                    (Attempt::Done(made), false)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => (Attempt::WouldBlock, true),
                Err(e) if e.kind() == io::ErrorKind::Interrupted || e.raw_os_error() == Some(libc::ECONNABORTED) => {
                    return None;
                }
                Err(e) => (Attempt::Done(Err(e)), false),
            },
            Op::Poll { fd, output } => {
                let want = if *output { libc::POLLOUT } else { libc::POLLIN };
                match sys::poll_now(fd.as_fd_ref(), want) {
                    Ok(true) => (Attempt::Done(Ok(Output::Bytes(0))), false),
                    Ok(false) => (Attempt::WouldBlock, true),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => return None,
                    Err(e) => (Attempt::Done(Err(e)), false),
                }
            }
            Op::Connect { fd, addr, started } => {
                let sock = SockRef::from(&**fd);
                if !*started {
                    *started = true;
                    match sock.connect(addr) {
                        Ok(()) => (Attempt::Done(Ok(Output::Connected)), false),
                        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => (Attempt::WouldBlock, true),
                        Err(e) => (Attempt::Done(Err(e)), false),
                    }
                } else {
                    match sock.take_error() {
                        // Finish the handshake the way the kernel expects: a second connect()
                        // reports the outcome and leaves later connect() calls failing with
                        // EISCONN, as io_uring's CONNECT does.
                        Ok(None) => match sock.connect(addr) {
                            Ok(()) => (Attempt::Done(Ok(Output::Connected)), false),
                            Err(e) if e.raw_os_error() == Some(libc::EISCONN) => {
                                (Attempt::Done(Ok(Output::Connected)), false)
                            }
                            Err(e) if e.raw_os_error() == Some(libc::EALREADY) => (Attempt::WouldBlock, true),
                            Err(e) => (Attempt::Done(Err(e)), false),
                        },
                        Ok(Some(e)) | Err(e) => (Attempt::Done(Err(e)), false),
                    }
                }
            }
        })
    }

    /// Registers a non-blocking descriptor the first time an op must wait on it (it then stays
    /// registered, edge-triggered, until it is closed). Blocking ones are (de)registered by
    /// `rearm` as their queues fill and empty.
    fn register(ep: &epoll::Epoll, fd: &Rc<IoFd>, st: &mut FdState) {
        st.fd = Rc::downgrade(fd);
        if st.registered || st.unpollable || !fd.is_nonblocking() {
            return;
        }
        match ep.add(fd.raw(), epoll::READABLE | epoll::EDGE, fd.token()) {
            Ok(()) => st.registered = true,
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => st.unpollable = true,
            // Any other refusal (ENOMEM, ENOSPC for max_user_watches): run the ops at once,
            // where a non-blocking one reports EAGAIN instead of waiting forever.
            Err(_) => st.unpollable = true,
        }
    }

    /// Re-arms the interest of a descriptor to what its queues need: EPOLLOUT for a
    /// non-blocking one while writers wait; the whole level-triggered set for a blocking one.
    fn rearm(ep: &epoll::Epoll, st: &mut FdState) {
        if st.unpollable {
            return;
        }
        // Closed meanwhile: epoll dropped the registration along with the file.
        let Some(fd) = st.fd.upgrade() else { return };
        if fd.is_nonblocking() {
            if !st.registered {
                return;
            }
            let want_out = !st.writers.is_empty();
            if want_out != st.out_armed {
                let events = epoll::READABLE | epoll::EDGE | if want_out { epoll::WRITABLE } else { 0 };
                if ep.modify(fd.raw(), events, fd.token()).is_ok() {
                    st.out_armed = want_out;
                }
            }
            return;
        }
        // A blocking (shared) descriptor is in the interest set only while ops wait on it,
        // level-triggered: with nothing to wait for, a hung-up pipe would otherwise report
        // EPOLLHUP on every epoll_wait (it ignores the event mask) and spin the loop.
        let want = if st.readers.is_empty() { 0 } else { epoll::READABLE }
            | if st.writers.is_empty() { 0 } else { epoll::WRITABLE };
        if want == 0 {
            if st.registered && ep.delete(fd.raw()).is_ok() {
                st.registered = false;
                st.armed = 0;
            }
        } else if !st.registered {
            match ep.add(fd.raw(), want, fd.token()) {
                Ok(()) => {
                    st.registered = true;
                    st.armed = want;
                }
                // A regular file (EPERM) or no room for a watch: its ops run at once.
                Err(_) => st.unpollable = true,
            }
        } else if want != st.armed && ep.modify(fd.raw(), want, fd.token()).is_ok() {
            st.armed = want;
        }
    }

    /// Runs queued ops of one direction while the descriptor stays ready.
    fn drain(&mut self, token: u64, input: bool, out: &mut Vec<Completion>) {
        let Some(st) = self.fds.get_mut(&token) else { return };
        loop {
            let queue = if input { &mut st.readers } else { &mut st.writers };
            let Some(mut w) = queue.pop_front() else { break };
            let blocking = !w.op.fd().is_nonblocking();
            // A poll completes on the edge itself: its caller's own syscall finds out the rest.
            let (attempt, drained) = if matches!(w.op, Op::Poll { .. }) && !blocking {
                (Attempt::Done(Ok(Output::Bytes(0))), false)
            } else {
                Self::attempt(&mut w.op)
            };
            match attempt {
                Attempt::Done(result) => {
                    self.waiting.remove(&w.id);
                    out.push(Completion { id: w.id, op: w.op, result });
                    if drained || blocking {
                        // A blocking descriptor runs one op per readiness report.
                        if input {
                            st.read_ready = false
                        } else {
                            st.write_ready = false
                        }
                        if blocking {
                            break;
                        }
                    }
                }
                Attempt::WouldBlock => {
                    let queue = if input { &mut st.readers } else { &mut st.writers };
                    queue.push_front(w);
                    if input {
                        st.read_ready = false
                    } else {
                        st.write_ready = false
                    }
                    break;
                }
            }
            if st.unpollable {
                continue;
            }
            let ready = if input { st.read_ready } else { st.write_ready };
            if !ready {
                break;
            }
        }
        Self::rearm(&self.ep, st);
    }
}

trait AsFdRef {
    fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_>;
}

impl AsFdRef for Rc<IoFd> {
    fn as_fd_ref(&self) -> std::os::fd::BorrowedFd<'_> {
        use std::os::fd::AsFd;
        (**self).as_fd()
    }
}

impl Reactor for EpollReactor {
    fn backend(&self) -> Backend {
        Backend::Epoll
    }

    fn start(&mut self, id: OpId, mut op: Op) -> Option<Completion> {
        let fd = op.fd().clone();
        let input = op.is_input();
        let st = self.fds.entry(fd.token()).or_default();
        if let Op::Poll { output, .. } = op
            && st.registered
        {
            // The caller just saw EAGAIN: an edge seen before that is spent.
            if output { st.write_ready = false } else { st.read_ready = false }
        }
        let nonblocking = fd.is_nonblocking();
        let queue_empty = if input { st.readers.is_empty() } else { st.writers.is_empty() };
        let maybe_ready = !st.registered || if input { st.read_ready } else { st.write_ready };
        // A blocking descriptor runs its syscall only when epoll said it will not block (or when
        // epoll cannot watch it at all); a non-blocking one tries whenever it may be ready.
        let try_now = queue_empty && (st.unpollable || (nonblocking && maybe_ready));
        if try_now {
            let (attempt, drained) = Self::attempt(&mut op);
            match attempt {
                Attempt::Done(result) => {
                    if drained && st.registered {
                        if input { st.read_ready = false } else { st.write_ready = false }
                    }
                    return Some(Completion { id, op, result });
                }
                Attempt::WouldBlock => {
                    if input {
                        st.read_ready = false
                    } else {
                        st.write_ready = false
                    }
                }
            }
        }
        Self::register(&self.ep, &fd, st);
        if st.unpollable && !try_now {
            // epoll refused it: run it now, it cannot block for long (regular file).
            let (attempt, _) = Self::attempt(&mut op);
            let result = match attempt {
                Attempt::Done(result) => result,
                Attempt::WouldBlock => Err(io::Error::from_raw_os_error(libc::EAGAIN)),
            };
            return Some(Completion { id, op, result });
        }
        let queue = if input { &mut st.readers } else { &mut st.writers };
        queue.push_back(Waiting { id, op });
        Self::rearm(&self.ep, st);
        if st.unpollable {
            // A blocking descriptor epoll refused when its first op arrived: run it now.
            let queue = if input { &mut st.readers } else { &mut st.writers };
            if let Some(mut w) = queue.pop_back() {
                let (attempt, _) = Self::attempt(&mut w.op);
                let result = match attempt {
                    Attempt::Done(result) => result,
                    Attempt::WouldBlock => Err(io::Error::from_raw_os_error(libc::EAGAIN)),
                };
                return Some(Completion { id, op: w.op, result });
            }
        }
        self.waiting.insert(id, fd.token());
        None
    }

    fn cancel(&mut self, id: OpId) {
        let Some(token) = self.waiting.remove(&id) else { return };
        let Some(st) = self.fds.get_mut(&token) else { return };
        let mut found = None;
        for queue in [&mut st.readers, &mut st.writers] {
            if let Some(pos) = queue.iter().position(|w| w.id == id) {
                found = queue.remove(pos);
                break;
            }
        }
        if let Some(w) = found {
            self.done.push(Completion { id, op: w.op, result: Err(cancelled()) });
            Self::rearm(&self.ep, st);
        }
    }

    fn forget(&mut self, token: u64) {
        // The descriptor is closed, so epoll already dropped it; only our state remains. Ops
        // cannot be queued here: each holds a reference that keeps the descriptor open.
        self.fds.remove(&token);
    }

    fn has_ready(&self) -> bool {
        !self.done.is_empty()
    }

    fn wait(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()> {
        out.append(&mut self.done);
        let timeout_ms = if !out.is_empty() {
            0
        } else {
            match timeout {
                None => -1,
                // Round up so that a timer never wakes us a hair early and spins.
                Some(d) => i32::try_from(d.as_nanos().div_ceil(1_000_000)).unwrap_or(i32::MAX),
            }
        };
        let n = self.ep.wait(&mut self.events, timeout_ms)?;
        for i in 0..n {
            let ev = self.events[i];
            let (token, bits) = (ev.u64, ev.events);
            let Some(st) = self.fds.get_mut(&token) else { continue };
            let input = bits & (epoll::READABLE | epoll::ERROR) != 0;
            let output = bits & (epoll::WRITABLE | epoll::ERROR) != 0;
            if input {
                st.read_ready = true;
            }
            if output {
                st.write_ready = true;
            }
            if input {
                self.drain(token, true, out);
            }
            if output {
                self.drain(token, false, out);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::time::Duration;

    use super::*;
    use crate::sys::DroppedTokens;

    #[test]
    fn hung_up_blocking_pipe_leaves_no_event_once_its_ops_are_done() {
        // Control: epoll reports EPOLLHUP for a hung-up pipe even with an empty event mask, so
        // a registration kept while no op waits would make every epoll_wait return at once.
        let (control_r, control_w) = std::io::pipe().expect("pipe");
        drop(control_w);
        let control = epoll::Epoll::new().expect("epoll");
        control.add(std::os::fd::AsRawFd::as_raw_fd(&control_r), 0, 1).expect("add");
        let mut events = vec![epoll::empty_event(); 4];
        assert_eq!(control.wait(&mut events, 0).expect("wait"), 1, "the control reports the hang-up");

        let mut reactor = EpollReactor::new().expect("epoll reactor");
        let (r, mut w) = std::io::pipe().expect("pipe");
        let fd = Rc::new(IoFd::new(r.into(), 7, crate::sys::FdKind::Inherited, DroppedTokens::default()));
        assert!(reactor.start(1, Op::Read { fd, buf: vec![0; 8] }).is_none(), "nothing to read yet");
        w.write_all(b"x").expect("write");
        let mut out = Vec::new();
        while out.is_empty() {
            reactor.wait(Some(Duration::from_secs(5)), &mut out).expect("wait");
        }
        assert!(matches!(out[0].result, Ok(Output::Bytes(1))));
        drop(w);
        assert_eq!(reactor.ep.wait(&mut events, 0).expect("wait"), 0, "no op waits: the pipe is not watched");
    }
}
