//! The IO engine: starts ops on the reactor, runs timers, and hands back finished ops.
//!
//! Invariants:
//! - an op id is in use from its start until its `Finished` is handed out by [`Engine::wait`]
//!   (or returned at once by a fast path); only then can the id be reused;
//! - every op owns its buffer until the kernel is done with it (see the reactor), after which the
//!   buffer returns to a pool, so steady-state IO allocates nothing;
//! - a descriptor's ops are tracked so that closing it cancels them all.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::io;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::IdMap;
use super::reactor::{Backend, Completion, Op, OpId, Output, Reactor, ReactorError, new_reactor};
use crate::sys::{DroppedTokens, FdKind, IoFd};

/// Buffers kept for reuse; larger ones are dropped rather than pinned in memory.
const POOL_MAX_BUFFERS: usize = 256;
const POOL_MAX_BUFFER_BYTES: usize = 64 * 1024;

/// A finished operation. `sink` is what the starter attached (where read bytes go).
pub struct Finished<S> {
    pub id: OpId,
    /// The VM that started it (see [`Engine::set_owner`]).
    pub owner: Owner,
    pub result: io::Result<FinishedOutput>,
    pub sink: Option<S>,
}

/// What a successful operation produced, with the bytes a read brought.
pub enum FinishedOutput {
    Read { data: Vec<u8>, n: usize },
    Wrote(usize),
    Accepted(OwnedFd),
    Connected,
    TimerFired,
}

/// Which VM of the engine's context an op belongs to.
pub type Owner = u32;

/// The result of starting an op.
pub enum Started<S> {
    Pending(OpId),
    Done(Finished<S>),
}

enum Slot<S> {
    Free,
    Timer {
        seq: u64,
    },
    /// A cancelled timer whose `ECANCELED` waits in `ready`; the id stays taken until then, so
    /// it cannot be reused while the script still expects that answer.
    TimerCancelled,
    Io {
        token: u64,
        sink: Option<S>,
    },
}

pub struct Engine<S> {
    reactor: Box<dyn Reactor>,
    slots: Vec<Slot<S>>,
    free: Vec<OpId>,
    timers: BinaryHeap<Reverse<(Instant, u64, OpId)>>,
    timer_seq: u64,
    /// Heap entries of cancelled timers, still waiting for their deadline to be popped.
    stale_timers: usize,
    /// Finished ops waiting for the next `wait` (fired or cancelled timers).
    ready: Vec<Finished<S>>,
    /// Ops in flight per descriptor token, for `cancel_fd`.
    by_fd: IdMap<u64, Vec<OpId>>,
    pool: Vec<Vec<u8>>,
    completions: Vec<Completion>,
    next_token: u64,
    dropped: DroppedTokens,
    pending: usize,
    /// The owner of each slot, parallel to `slots`.
    owners: Vec<Owner>,
    /// The VM on whose behalf ops are started now.
    current: Owner,
    /// Finished ops sorted by owner, waiting for that VM's next turn.
    routed: IdMap<Owner, Vec<Finished<S>>>,
    scratch: Vec<Finished<S>>,
}

impl<S> Engine<S> {
    /// Makes an engine on the backend `LUACELL_IO` asks for, or the best available.
    pub fn new(forced: Option<Backend>) -> Result<Self, ReactorError> {
        Ok(Self {
            reactor: new_reactor(forced)?,
            slots: Vec::new(),
            free: Vec::new(),
            timers: BinaryHeap::new(),
            timer_seq: 0,
            stale_timers: 0,
            ready: Vec::new(),
            by_fd: IdMap::default(),
            pool: Vec::new(),
            completions: Vec::new(),
            next_token: 1,
            dropped: DroppedTokens::default(),
            pending: 0,
            owners: Vec::new(),
            current: 0,
            routed: IdMap::default(),
            scratch: Vec::new(),
        })
    }

    /// Ops started from now on belong to `owner` (the context sets it before each VM's turn).
    pub fn set_owner(&mut self, owner: Owner) {
        self.current = owner;
    }

    /// The owner new ops are tagged with.
    pub fn owner(&self) -> Owner {
        self.current
    }

    /// Waits like [`Engine::wait`] and sorts what finished by owner, for [`Engine::take_for`].
    /// Returns whether anything finished.
    pub fn wait_routed(&mut self, block: bool) -> io::Result<bool> {
        let mut out = std::mem::take(&mut self.scratch);
        self.wait(block, &mut out)?;
        let any = !out.is_empty();
        for f in out.drain(..) {
            self.routed.entry(f.owner).or_default().push(f);
        }
        self.scratch = out;
        Ok(any)
    }

    /// The owners that have finished ops waiting.
    pub fn owners_with_finished(&self) -> impl Iterator<Item = Owner> + '_ {
        self.routed.iter().filter(|(_, v)| !v.is_empty()).map(|(k, _)| *k)
    }

    /// Moves the finished ops of `owner` into `out`.
    pub fn take_for(&mut self, owner: Owner, out: &mut Vec<Finished<S>>) {
        if let Some(list) = self.routed.get_mut(&owner) {
            out.append(list);
        }
    }

    /// Drops whatever finished for an owner that is gone (its VM ended).
    pub fn forget_owner(&mut self, owner: Owner) {
        self.routed.remove(&owner);
    }

    pub fn backend(&self) -> Backend {
        self.reactor.backend()
    }

    /// Operations started and not yet handed back.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Wraps a descriptor for IO on this engine.
    pub fn adopt(&mut self, fd: OwnedFd, kind: FdKind) -> Rc<IoFd> {
        let token = self.next_token;
        self.next_token += 1;
        Rc::new(IoFd::new(fd, token, kind, self.dropped.clone()))
    }

    /// A buffer of exactly `len` bytes, from the pool when one is free.
    pub fn buffer(&mut self, len: usize) -> Vec<u8> {
        let mut buf = self.pool.pop().unwrap_or_default();
        buf.clear();
        buf.resize(len, 0);
        buf
    }

    /// Returns a buffer to the pool.
    pub fn recycle(&mut self, buf: Vec<u8>) {
        if self.pool.len() < POOL_MAX_BUFFERS && buf.capacity() <= POOL_MAX_BUFFER_BYTES {
            self.pool.push(buf);
        }
    }

    fn alloc(&mut self, slot: Slot<S>) -> OpId {
        self.pending += 1;
        match self.free.pop() {
            Some(id) => {
                self.slots[id as usize] = slot;
                self.owners[id as usize] = self.current;
                id
            }
            None => {
                let id = OpId::try_from(self.slots.len()).expect("invariant: fewer than 2^32 ops in flight");
                self.slots.push(slot);
                self.owners.push(self.current);
                id
            }
        }
    }

    fn owner_of(&self, id: OpId) -> Owner {
        self.owners.get(id as usize).copied().unwrap_or(0)
    }

    fn release(&mut self, id: OpId) -> Slot<S> {
        self.pending -= 1;
        self.free.push(id);
        std::mem::replace(&mut self.slots[id as usize], Slot::Free)
    }

    /// Starts a timer that fires after `after`.
    pub fn start_timer(&mut self, after: Duration) -> OpId {
        self.timer_seq += 1;
        let seq = self.timer_seq;
        let id = self.alloc(Slot::Timer { seq });
        let deadline = Instant::now().checked_add(after).unwrap_or_else(far_future);
        self.timers.push(Reverse((deadline, seq, id)));
        id
    }

    /// Starts an IO op; `sink` comes back with its `Finished`.
    pub fn start_io(&mut self, op: Op, sink: Option<S>) -> Started<S> {
        let token = match &op {
            Op::Accept { fd }
            | Op::Connect { fd, .. }
            | Op::Read { fd, .. }
            | Op::Write { fd, .. }
            | Op::Poll { fd, .. } => fd.token(),
        };
        let id = self.alloc(Slot::Io { token, sink });
        match self.reactor.start(id, op) {
            None => {
                self.by_fd.entry(token).or_default().push(id);
                Started::Pending(id)
            }
            Some(done) => Started::Done(self.finish_io(done)),
        }
    }

    fn finish_io(&mut self, c: Completion) -> Finished<S> {
        let owner = self.owner_of(c.id);
        let sink = match self.release(c.id) {
            Slot::Io { token, sink } => {
                if let Some(ids) = self.by_fd.get_mut(&token) {
                    ids.retain(|&i| i != c.id);
                    if ids.is_empty() {
                        self.by_fd.remove(&token);
                    }
                }
                sink
            }
            Slot::Free | Slot::Timer { .. } | Slot::TimerCancelled => None,
        };
        let result = match c.result {
            Err(e) => {
                if let Some(buf) = c.op.into_buffer() {
                    self.recycle(buf);
                }
                Err(e)
            }
            Ok(out) => Ok(match (out, c.op) {
                (Output::Bytes(n), Op::Read { buf, .. }) => FinishedOutput::Read { data: buf, n },
                (Output::Bytes(n), op) => {
                    if let Some(buf) = op.into_buffer() {
                        self.recycle(buf);
                    }
                    FinishedOutput::Wrote(n)
                }
                (Output::Accepted(fd), _) => FinishedOutput::Accepted(fd),
                (Output::Connected, _) => FinishedOutput::Connected,
            }),
        };
        Finished { id: c.id, owner, result, sink }
    }

    /// Cancels `id`. Its `Finished` still arrives through `wait` (with `ECANCELED`, or with
    /// its real result if it completed first).
    pub fn cancel(&mut self, id: OpId) {
        match self.slots.get(id as usize) {
            Some(Slot::Timer { .. }) => {
                self.slots[id as usize] = Slot::TimerCancelled;
                self.stale_timers += 1;
                self.compact_timers();
                let result = Err(io::Error::from_raw_os_error(libc::ECANCELED));
                let owner = self.owner_of(id);
                self.ready.push(Finished { id, owner, result, sink: None });
            }
            Some(Slot::Io { .. }) => self.reactor.cancel(id),
            Some(Slot::Free | Slot::TimerCancelled) | None => {}
        }
    }

    /// Cancels every op in flight on a descriptor (when the script closes it).
    pub fn cancel_fd(&mut self, token: u64) {
        if let Some(ids) = self.by_fd.get(&token) {
            for id in ids.clone() {
                self.reactor.cancel(id);
            }
        }
    }

    /// Collects finished ops into `out`; blocks until at least one finishes when `block`.
    pub fn wait(&mut self, block: bool, out: &mut Vec<Finished<S>>) -> io::Result<()> {
        let dropped: Vec<u64> = std::mem::take(&mut *self.dropped.borrow_mut());
        for token in dropped {
            self.reactor.forget(token);
        }
        for f in std::mem::take(&mut self.ready) {
            self.release(f.id);
            out.push(f);
        }
        let now = Instant::now();
        let timeout = if !block || !out.is_empty() || self.reactor.has_ready() {
            Some(Duration::ZERO)
        } else {
            self.timers.peek().map(|Reverse((deadline, _, _))| deadline.saturating_duration_since(now))
        };
        let mut completions = std::mem::take(&mut self.completions);
        self.reactor.wait(timeout, &mut completions)?;
        for c in completions.drain(..) {
            let f = self.finish_io(c);
            out.push(f);
        }
        self.completions = completions;
        self.fire_timers(out);
        Ok(())
    }

    /// Drops the heap entries of cancelled timers once they outnumber the live ones, so that a
    /// program that arms and cancels long timeouts (one per request, say) keeps a small heap.
    fn compact_timers(&mut self) {
        if self.stale_timers < 64 || self.stale_timers * 2 < self.timers.len() {
            return;
        }
        let slots = &self.slots;
        self.timers.retain(
            |Reverse((_, seq, id))| matches!(slots.get(*id as usize), Some(Slot::Timer { seq: s }) if s == seq),
        );
        self.stale_timers = 0;
    }

    fn fire_timers(&mut self, out: &mut Vec<Finished<S>>) {
        let now = Instant::now();
        while let Some(&Reverse((deadline, seq, id))) = self.timers.peek() {
            if deadline > now {
                break;
            }
            self.timers.pop();
            // A cancelled timer's slot was freed (and maybe reused): match the sequence number.
            if matches!(self.slots.get(id as usize), Some(Slot::Timer { seq: s }) if *s == seq) {
                self.release(id);
                let owner = self.owner_of(id);
                out.push(Finished { id, owner, result: Ok(FinishedOutput::TimerFired), sink: None });
            } else {
                self.stale_timers = self.stale_timers.saturating_sub(1);
            }
        }
    }
}

fn far_future() -> Instant {
    // About 30 years: further than any script waits, and safe from overflow.
    Instant::now() + Duration::from_secs(30 * 365 * 24 * 3600)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::unix::net::UnixStream;

    use super::*;

    fn engines() -> Vec<Engine<()>> {
        let mut v = vec![Engine::new(Some(Backend::Epoll)).expect("epoll works")];
        // io_uring is required on the machines luacell is tested on (see docs/architecture.md).
        v.push(Engine::new(Some(Backend::IoUring)).expect("io_uring works on this kernel"));
        v
    }

    fn wait_all(e: &mut Engine<()>, want: usize) -> Vec<Finished<()>> {
        let mut out = Vec::new();
        while out.len() < want {
            e.wait(true, &mut out).expect("wait works");
        }
        out
    }

    #[test]
    fn timers_fire_in_deadline_order() {
        for mut e in engines() {
            let late = e.start_timer(Duration::from_millis(20));
            let early = e.start_timer(Duration::ZERO);
            let done = wait_all(&mut e, 2);
            let order: Vec<OpId> = done.iter().map(|f| f.id).collect();
            assert_eq!(order, vec![early, late], "backend {}", e.backend());
            assert_eq!(e.pending(), 0);
        }
    }

    #[test]
    fn cancelled_timer_reports_ecanceled_and_keeps_its_id_until_then() {
        for mut e in engines() {
            let id = e.start_timer(Duration::from_secs(3600));
            e.cancel(id);
            // The id must not be handed out again before its ECANCELED was delivered.
            let other = e.start_timer(Duration::ZERO);
            assert_ne!(other, id);
            let done = wait_all(&mut e, 2);
            let cancelled = done.iter().find(|f| f.id == id).expect("the cancelled timer is reported");
            let err = cancelled.result.as_ref().err().and_then(io::Error::raw_os_error);
            assert_eq!(err, Some(libc::ECANCELED));
        }
    }

    #[test]
    fn cancelled_timers_do_not_pile_up_in_the_heap() {
        let mut e: Engine<()> = Engine::new(Some(Backend::Epoll)).expect("epoll works");
        let mut out = Vec::new();
        for _ in 0..10_000 {
            let id = e.start_timer(Duration::from_secs(3600));
            e.cancel(id);
            e.wait(false, &mut out).expect("wait works");
            out.clear();
        }
        assert!(e.timers.len() < 200, "{} heap entries for no live timer", e.timers.len());
        let live = e.start_timer(Duration::ZERO);
        let done = wait_all(&mut e, 1);
        assert_eq!(done[0].id, live, "live timers still fire after compaction");
    }

    #[test]
    fn read_on_socketpair_returns_the_bytes_written() {
        for mut e in engines() {
            let (a, mut b) = UnixStream::pair().expect("socketpair");
            a.set_nonblocking(true).expect("nonblocking");
            let fd = e.adopt(a.into(), FdKind::Socket);
            let buf = e.buffer(16);
            let id = match e.start_io(Op::Read { fd, buf }, None) {
                Started::Pending(id) => id,
                Started::Done(_) => panic!("nothing was written yet, the read cannot finish"),
            };
            b.write_all(b"hello").expect("write to the peer");
            let done = wait_all(&mut e, 1);
            assert_eq!(done[0].id, id);
            match &done[0].result {
                Ok(FinishedOutput::Read { data, n }) => assert_eq!(&data[..*n], b"hello"),
                _ => panic!("backend {}: the read did not return the bytes", e.backend()),
            }
        }
    }

    #[test]
    fn cancelled_read_returns_ecanceled_and_releases_the_descriptor() {
        for mut e in engines() {
            let (a, _b) = UnixStream::pair().expect("socketpair");
            a.set_nonblocking(true).expect("nonblocking");
            let fd = e.adopt(a.into(), FdKind::Socket);
            let weak = Rc::downgrade(&fd);
            let buf = e.buffer(16);
            let Started::Pending(id) = e.start_io(Op::Read { fd, buf }, None) else {
                panic!("nothing was written yet, the read cannot finish")
            };
            assert!(weak.upgrade().is_some(), "the op keeps the descriptor alive");
            e.cancel_fd(weak.upgrade().map(|f| f.token()).unwrap_or_default());
            let done = wait_all(&mut e, 1);
            assert_eq!(done[0].id, id);
            let err = done[0].result.as_ref().err().and_then(io::Error::raw_os_error);
            assert_eq!(err, Some(libc::ECANCELED), "backend {}", e.backend());
            drop(done);
            assert!(weak.upgrade().is_none(), "backend {}: the descriptor is released", e.backend());
        }
    }
}
