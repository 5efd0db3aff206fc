//! Links: actor messages that cross a process boundary.
//!
//! Trust zone: every process that runs VMs (the main process and each sandboxed actor). The
//! bytes a link reads come from another process, possibly a compromised one: they go through
//! the total wire decoder ([`crate::ipc::wire`]) under this process's limits, and a link whose
//! peer breaks a rule is closed (that capability only; nothing else is affected).
//!
//! Every address of a mailbox that leaves the process is its own `SOCK_SEQPACKET` pair: the
//! receive end stays here as a [`Link`] that feeds the mailbox (holding one counted [`Sender`]),
//! the send end travels in the message. A link is read by the execution context of its thread,
//! through a poll op on the context's engine (tagged [`LINK_OWNER`]), never by a VM: a VM sees
//! only its mailbox, the same as for local messages.
//!
//! Invariants:
//! - a link never blocks its thread: reads and sends are `MSG_DONTWAIT`;
//! - a full mailbox stops its link (the message waits in `pending`, further datagrams stay in the
//!   kernel's socket buffer, which then pushes back on the sender); the link resumes when the
//!   mailbox's receiver makes room;
//! - on the epoll backend, a readiness report moves one datagram into the mailbox and defers the
//!   rest: the link is drained (until `EAGAIN` or a full mailbox) by [`Links::flush`], which the
//!   context calls after its VMs' turn and before it waits again. So a VM answers a message
//!   before the read that finds the socket empty, which takes that syscall off the path of a
//!   round trip; a link is never left deferred while the context waits (its edge would not be
//!   reported again). On io_uring a link drains at once: its poll is one-shot, and arming it
//!   after the answer makes every wake-up go through the ring's task work, which costs more
//!   than the read saved (measured: host and actor on one CPU, 62 k → 44 k round trips/s);
//! - a link ends on end of stream, a zero-length datagram, a wire violation (reported on
//!   stderr), or a closed mailbox; its Sender is dropped then, so the mailbox's sender count
//!   stays true.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;

use super::mailbox::{Msg, Sender, Sent};
use super::{Remote, VmEvents, Waker, new_waker};
use crate::ipc::wire::{self, Key, Limits, Value};
use crate::lua::api::io::ReadSink;
use crate::runtime::reactor::{Backend, Op, OpId};
use crate::runtime::{Engine, IdMap, Owner, Started};
use crate::sys::pages::Pages;
use crate::sys::{FdKind, IoFd, cmsg};

/// The owner tag of every link op on a context's engine.
pub const LINK_OWNER: Owner = Owner::MAX - 1;

type Eng = Engine<ReadSink>;

/// What to do when a link op finishes.
pub enum Action {
    /// A link's socket is readable.
    Readable(u64),
    /// A socket a fiber sends to has room: wake the fiber.
    Writable(Waker, u64),
    /// A sandboxed child's report socket is readable.
    Report(Rc<super::child::ChildHandle>),
}

struct Link {
    sock: Rc<IoFd>,
    sender: Sender,
    /// A message the mailbox had no room for.
    pending: Option<Msg>,
}

/// The links of one thread.
pub struct Links {
    links: IdMap<u64, Link>,
    next: u64,
    ops: IdMap<OpId, Action>,
    /// Wakes this thread's context when a mailbox a link waits on has room (token: link id).
    waker: Waker,
    events: Arc<VmEvents>,
    buf: Pages,
    control: Vec<u8>,
    /// What this process accepts in one message.
    limits: Limits,
    /// Links that moved one datagram on their last readiness report and may hold more.
    deferred: Vec<u64>,
}

/// How far [`Links::drain`] goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Drain {
    /// One datagram into the mailbox, then the link waits in `deferred`.
    One,
    /// Until the socket is empty or the mailbox full.
    All,
}

/// Runs `f` with the engine's ops tagged as link ops.
fn as_links<T>(engine: &mut Eng, f: impl FnOnce(&mut Eng) -> T) -> T {
    let prev = engine.owner();
    engine.set_owner(LINK_OWNER);
    let r = f(engine);
    engine.set_owner(prev);
    r
}

impl Links {
    pub fn new(remote: &Arc<Remote>, limits: Limits) -> Links {
        let events = Arc::new(VmEvents::default());
        Links {
            links: IdMap::default(),
            next: 0,
            ops: IdMap::default(),
            waker: new_waker(remote, LINK_OWNER, &events),
            events,
            buf: Pages::empty(),
            control: cmsg::control_buffer(),
            limits,
            deferred: Vec::new(),
        }
    }

    /// Makes `recv_end` feed the mailbox of `sender`.
    pub fn adopt(&mut self, engine: &mut Eng, recv_end: OwnedFd, sender: Sender) -> io::Result<()> {
        socket2::SockRef::from(&recv_end).set_nonblocking(true)?;
        let sock = engine.adopt(recv_end, FdKind::Socket);
        let id = self.next;
        self.next += 1;
        self.links.insert(id, Link { sock, sender, pending: None });
        self.drain(engine, id, Drain::All);
        Ok(())
    }

    /// A new address of the mailbox of `sender`: the send end of a fresh pair whose receive end
    /// becomes a link here.
    pub fn mint(&mut self, engine: &mut Eng, sender: Sender) -> io::Result<OwnedFd> {
        let (recv_end, send_end) = cmsg::seqpacket_pair()?;
        crate::sys::shutdown(recv_end.as_fd(), std::net::Shutdown::Write)?;
        crate::sys::shutdown(send_end.as_fd(), std::net::Shutdown::Read)?;
        self.adopt(engine, recv_end, sender)?;
        Ok(send_end)
    }

    /// Waits for `sock` to be ready (`output`: writable) and then does `action`; false when the
    /// op finished at once (the caller acts now).
    pub fn watch(&mut self, engine: &mut Eng, sock: Rc<IoFd>, output: bool, action: Action) -> Option<Action> {
        match as_links(engine, |e| e.start_io(Op::Poll { fd: sock, output }, None)) {
            Started::Pending(op) => {
                self.ops.insert(op, action);
                None
            }
            Started::Done(_) => Some(action),
        }
    }

    /// Handles link ops that finished (the context collected them for [`LINK_OWNER`]).
    pub fn finished(&mut self, engine: &mut Eng, ops: &[OpId]) {
        // Every action is taken out before any runs: an action may start a new op, which can
        // reuse the id of one of these (finished ops free their ids).
        let actions: Vec<Action> = ops.iter().filter_map(|op| self.ops.remove(op)).collect();
        for action in actions {
            self.act(engine, action);
        }
    }

    fn act(&mut self, engine: &mut Eng, action: Action) {
        match action {
            Action::Readable(id) => {
                let how = if engine.backend() == Backend::Epoll { Drain::One } else { Drain::All };
                self.drain(engine, id, how)
            }
            Action::Writable(waker, token) => waker.wake_sender(token),
            Action::Report(child) => child.readable(engine, self),
        }
    }

    /// Retries links whose mailbox made room.
    pub fn retry(&mut self, engine: &mut Eng) {
        let tokens =
            std::mem::take(&mut *self.events.senders.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        for id in tokens {
            self.drain(engine, id, Drain::All);
        }
    }

    /// Drains the links that moved one datagram on their last readiness report; the context
    /// calls it after its VMs' turn, before it waits.
    pub fn flush(&mut self, engine: &mut Eng) {
        // A full drain never defers, so one pass empties the list.
        for id in std::mem::take(&mut self.deferred) {
            self.drain(engine, id, Drain::All);
        }
    }

    /// Whether links are in flight (a remote sender may still deliver).
    pub fn any(&self) -> bool {
        !self.links.is_empty() || !self.ops.is_empty()
    }

    /// Moves datagrams from a link's socket into its mailbox until the socket is empty (then
    /// waits for it) or the mailbox is full (then waits for room); with [`Drain::One`], stops
    /// after the first one and leaves the rest to [`Links::flush`].
    fn drain(&mut self, engine: &mut Eng, id: u64, how: Drain) {
        let mut moved = false;
        loop {
            let Some(link) = self.links.get_mut(&id) else { return };
            if let Some(msg) = link.pending.take() {
                match link.sender.mailbox().send(msg, &self.waker, id) {
                    (Sent::Delivered, _) => moved = true,
                    (Sent::Full, back) => {
                        link.pending = back;
                        return;
                    }
                    (Sent::Closed, _) => {
                        self.links.remove(&id);
                        return;
                    }
                }
            }
            if moved && how == Drain::One {
                self.deferred.push(id);
                return;
            }
            match self.receive(id) {
                Ok(Some(msg)) => {
                    if let Some(link) = self.links.get_mut(&id) {
                        link.pending = Some(msg);
                    }
                }
                Ok(None) => {
                    let sock = link_sock(&self.links, id);
                    // Readable already: go round again.
                    if let Some(sock) = sock
                        && self.watch(engine, sock, false, Action::Readable(id)).is_some()
                    {
                        continue;
                    }
                    return;
                }
                Err(reason) => {
                    if let Some(reason) = reason {
                        eprintln!("luacell: {reason}; that channel is closed");
                    }
                    self.links.remove(&id);
                    return;
                }
            }
        }
    }

    /// One datagram of a link: `Ok(None)` when none is waiting; `Err(None)` when the link
    /// ended; `Err(Some(why))` when it must be closed, `why` a sentence for stderr.
    fn receive(&mut self, id: u64) -> Result<Option<Msg>, Option<String>> {
        let broke = |reason: &str| Some(format!("a channel's peer broke the wire rules ({reason})"));
        let Some(link) = self.links.get(&id) else { return Err(None) };
        let want = self.limits.max_bytes.saturating_add(1);
        if self.buf.len() < want {
            self.buf = Pages::new(want).map_err(|e| Some(format!("cannot map a receive buffer: {e}")))?;
        }
        let got = loop {
            match cmsg::recv(link.sock.as_fd(), &mut self.buf[..want], &mut self.control, libc::MSG_DONTWAIT) {
                Ok(got) => break got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
                Err(_) => return Err(None),
            }
        };
        if got.truncated || got.len > self.limits.max_bytes {
            return Err(broke(&format!("a message larger than {} bytes", self.limits.max_bytes)));
        }
        if got.control_truncated {
            // The kernel drops the descriptors it cannot install: say so when that is why.
            let full = link.sock.as_fd().try_clone_to_owned().is_err_and(|e| e.raw_os_error() == Some(libc::EMFILE));
            return Err(if full {
                Some("a message's descriptors could not be received: this process is at its open-files limit".into())
            } else {
                broke("descriptors were cut off or a foreign control message came along")
            });
        }
        if got.len == 0 {
            return Err(None);
        }
        if !got.fds.is_empty() {
            fd_pressure::received(got.fds.len());
        }
        match wire::decode(&self.buf[..got.len], got.fds, &self.limits) {
            Ok(v) => Ok(Some(from_wire(v))),
            Err(e) => Err(broke(&e.to_string())),
        }
    }

    /// The wire form of a message: local channels become new addresses (links here).
    pub fn to_wire(&mut self, engine: &mut Eng, msg: Msg) -> io::Result<Value> {
        Ok(match msg {
            Msg::Nil => Value::Nil,
            Msg::Bool(b) => Value::Bool(b),
            Msg::Int(i) => Value::Int(i),
            Msg::Float(f) => Value::Float(f),
            Msg::Str(s) => Value::Bytes(s),
            Msg::Buffer(b) => Value::Buffer(b),
            Msg::Fd(fd) => Value::Fd(fd),
            Msg::Address(fd) => Value::Address(fd.try_clone()?),
            Msg::Channel(sender) => Value::Address(self.mint(engine, sender)?),
            Msg::Table(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    let key = match k {
                        Msg::Str(s) => Key::Bytes(s),
                        Msg::Int(i) => Key::Int(i),
                        Msg::Bool(b) => Key::Bool(b),
                        Msg::Float(f) => Key::Float(f),
                        // The copier admits no other key.
                        _ => return Err(io::Error::from_raw_os_error(libc::EINVAL)),
                    };
                    out.push((key, self.to_wire(engine, v)?));
                }
                Value::Table(out)
            }
        })
    }
}

fn link_sock(links: &IdMap<u64, Link>, id: u64) -> Option<Rc<IoFd>> {
    links.get(&id).map(|l| l.sock.clone())
}

/// A decoded message as a mailbox holds it.
pub fn from_wire(v: Value) -> Msg {
    match v {
        Value::Nil => Msg::Nil,
        Value::Bool(b) => Msg::Bool(b),
        Value::Int(i) => Msg::Int(i),
        Value::Float(f) => Msg::Float(f),
        Value::Bytes(b) => Msg::Str(b),
        Value::Buffer(b) => Msg::Buffer(b),
        Value::Fd(fd) => Msg::Fd(fd),
        Value::Address(fd) => Msg::Address(Arc::new(fd)),
        Value::Table(entries) => Msg::Table(
            entries
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        Key::Bytes(b) => Msg::Str(b),
                        Key::Int(i) => Msg::Int(i),
                        Key::Bool(b) => Msg::Bool(b),
                        Key::Float(f) => Msg::Float(f),
                    };
                    (key, from_wire(v))
                })
                .collect(),
        ),
    }
}

/// Sends a message to a remote address without blocking: `Ok(true)` delivered, `Ok(false)` the
/// socket is full (the caller waits for it to be writable), `Err` the peer is gone or the
/// message is refused.
pub fn send_to(fd: &OwnedFd, value: &Value, limits: &Limits, out: &mut Vec<u8>) -> Result<bool, SendError> {
    let fds = wire::encode_into(value, limits, out).map_err(|e| SendError::Refused(e.to_string()))?;
    let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
    loop {
        return match cmsg::send_with(fd.as_fd(), out, &borrowed, libc::MSG_DONTWAIT) {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(false),
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN | libc::ECONNREFUSED)
                ) =>
            {
                Err(SendError::Closed)
            }
            Err(e) => Err(SendError::Io(e)),
        };
    }
}

#[derive(Debug)]
pub enum SendError {
    Closed,
    Refused(String),
    Io(io::Error),
}

/// Descriptors that arrive in messages are held by channel objects that only Lua's collector
/// frees, and the collector does not see descriptors: a sandboxed actor answering requests that
/// each carry a reply address would reach its open-files limit (64 under `untrusted-plugin`)
/// long before a collection. So every context counts what arrives and collects its VMs fully
/// each time a quarter of the open-files limit (8 to 256 descriptors) came in.
pub mod fd_pressure {
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicUsize, Ordering};

    static RECEIVED: AtomicUsize = AtomicUsize::new(0);

    pub fn received(n: usize) {
        RECEIVED.fetch_add(n, Ordering::Relaxed);
    }

    /// How many descriptors may arrive between two collections.
    fn every() -> usize {
        static EVERY: OnceLock<usize> = OnceLock::new();
        *EVERY.get_or_init(|| {
            let soft = crate::sys::process::soft_limit(libc::RLIMIT_NOFILE).unwrap_or(1024);
            usize::try_from(soft / 4).unwrap_or(256).clamp(8, 256)
        })
    }

    /// Whether a context whose last collection saw `*mark` should collect now (it then updates
    /// `*mark`).
    pub fn due(mark: &mut usize) -> bool {
        let now = RECEIVED.load(Ordering::Relaxed);
        if now.wrapping_sub(*mark) >= every() {
            *mark = now;
            true
        } else {
            false
        }
    }
}
