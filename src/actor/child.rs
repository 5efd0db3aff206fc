//! The main process's side of a sandboxed actor: asking the supervisor for it, and the record of
//! how it runs and how it ended.
//!
//! Trust zone: the main process. What the supervisor reports is trusted (it is our own process);
//! it is still decoded by the total wire decoder and anything unexpected is an error, not a panic.
//!
//! Each child has its own report socket (the supervisor keeps the other end): first one message
//! (`{pid=N}` once the sandbox is set up, or `{error=TEXT}`), then one at its end (`{code=N}` or
//! `{signal=N}`, plus `{limit=NAME}` when a profile limit ended it). The socket is read by the
//! execution context of the thread that spawned the child ([`super::link::Action::Report`]).

use std::cell::{Cell, RefCell};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::{Arc, Mutex, OnceLock};

use super::Waker;
use super::link::{Action, Links};
use crate::ipc::wire::{self, Key, Limits, Value};
use crate::lua::api::io::ReadSink;
use crate::runtime::Engine;
use crate::sys::{FdKind, IoFd, cmsg};

/// How a sandboxed actor ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Exit {
    pub code: Option<i64>,
    pub signal: Option<i64>,
    /// The profile limit that ended it (`cpu_seconds`, `wall_seconds`, `file_size_bytes`,
    /// `seccomp`).
    pub limit: Option<String>,
    /// The end could not be observed (the supervisor is gone).
    pub unknown: Option<String>,
}

/// Where a child is.
#[derive(Clone, Debug)]
pub enum Phase {
    Starting,
    Running {
        pid: i64,
    },
    /// The sandbox could not be set up: the supervisor's error text.
    Failed(String),
    Ended {
        pid: i64,
        exit: Exit,
    },
}

/// A sandboxed actor as its spawner sees it.
pub struct ChildHandle {
    pub id: u64,
    report: Rc<IoFd>,
    phase: RefCell<Phase>,
    waiters: RefCell<Vec<(Waker, u64)>>,
    detached: Cell<bool>,
}

impl std::fmt::Debug for ChildHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChildHandle").field("id", &self.id).field("phase", &self.phase.borrow()).finish()
    }
}

impl ChildHandle {
    pub fn phase(&self) -> Phase {
        self.phase.borrow().clone()
    }

    /// Wakes `token` of `waker` at the next change of phase.
    pub fn wait(&self, waker: Waker, token: u64) {
        self.waiters.borrow_mut().push((waker, token));
    }

    pub fn detach(&self) {
        self.detached.set(true);
    }

    pub fn is_detached(&self) -> bool {
        self.detached.get()
    }

    pub fn pid(&self) -> Option<i64> {
        match &*self.phase.borrow() {
            Phase::Running { pid } | Phase::Ended { pid, .. } => Some(*pid),
            _ => None,
        }
    }

    pub fn has_ended(&self) -> bool {
        matches!(&*self.phase.borrow(), Phase::Ended { .. } | Phase::Failed(_))
    }

    /// Asks the supervisor to signal the child (through its pidfd there). A child that ended
    /// already is not signalled (its pid may be reused; the supervisor forgot it).
    pub fn kill(&self, signal: i32) -> io::Result<()> {
        if self.has_ended() {
            return Ok(());
        }
        let Some(client) = CLIENT.get() else { return Err(io::Error::from_raw_os_error(libc::ENOSYS)) };
        client.send(&table(vec![
            ("op", Value::Bytes(b"kill".to_vec())),
            ("id", Value::Int(self.id as i64)),
            ("signal", Value::Int(i64::from(signal))),
        ]))
    }

    /// The report socket is readable: take every message, wake the waiters, watch again unless
    /// the child ended.
    pub fn readable(self: Rc<Self>, engine: &mut Engine<ReadSink>, links: &mut Links) {
        let mut buf = vec![0u8; 4096];
        let mut control = cmsg::control_buffer();
        loop {
            let got = match cmsg::recv(self.report.as_fd(), &mut buf, &mut control, libc::MSG_DONTWAIT) {
                Ok(g) => g,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => {
                    self.lost(format!("its report socket failed ({})", crate::sys::errno::code_of(&e)));
                    return;
                }
            };
            if got.len == 0 {
                self.lost("the supervisor closed its report".into());
                return;
            }
            match wire::decode(&buf[..got.len], got.fds, &Limits::DEFAULT) {
                Ok(v) => self.apply(&v),
                Err(e) => {
                    self.lost(format!("a malformed report ({e})"));
                    return;
                }
            }
            if matches!(&*self.phase.borrow(), Phase::Ended { .. } | Phase::Failed(_)) {
                return;
            }
        }
        let sock = self.report.clone();
        if let Some(Action::Report(again)) = links.watch(engine, sock, false, Action::Report(self)) {
            again.readable(engine, links);
        }
    }

    fn apply(&self, v: &Value) {
        let int = |k: &str| field(v, k).and_then(|f| if let Value::Int(i) = f { Some(*i) } else { None });
        let text = |k: &str| {
            field(v, k).and_then(|f| {
                if let Value::Bytes(b) = f { Some(String::from_utf8_lossy(b).into_owned()) } else { None }
            })
        };
        let next = if let Some(error) = text("error") {
            Phase::Failed(error)
        } else if field(v, "ended").is_some() {
            let pid = self.pid().unwrap_or(0);
            Phase::Ended {
                pid,
                exit: Exit { code: int("code"), signal: int("signal"), limit: text("limit"), unknown: None },
            }
        } else if let Some(pid) = int("pid") {
            Phase::Running { pid }
        } else {
            self.lost("a report of an unknown kind".into());
            return;
        };
        self.set(next);
    }

    fn lost(&self, why: String) {
        let ended = matches!(&*self.phase.borrow(), Phase::Ended { .. } | Phase::Failed(_));
        if !ended {
            let pid = self.pid().unwrap_or(0);
            let phase = if pid == 0 {
                Phase::Failed(why)
            } else {
                Phase::Ended { pid, exit: Exit { unknown: Some(why), ..Exit::default() } }
            };
            self.set(phase);
        }
    }

    fn set(&self, phase: Phase) {
        if matches!(phase, Phase::Ended { .. } | Phase::Failed(_)) {
            release_held(self.id);
        }
        *self.phase.borrow_mut() = phase;
        for (waker, token) in self.waiters.borrow_mut().drain(..) {
            waker.wake_sender(token);
        }
    }
}

/// The entry `name` of a table with string keys (the control and report messages).
pub fn field<'v>(v: &'v Value, name: &str) -> Option<&'v Value> {
    let Value::Table(entries) = v else { return None };
    entries.iter().find(|(k, _)| matches!(k, Key::Bytes(b) if b == name.as_bytes())).map(|(_, v)| v)
}

/// A table with string keys (the control messages).
pub fn table(entries: Vec<(&str, Value)>) -> Value {
    Value::Table(entries.into_iter().map(|(k, v)| (Key::Bytes(k.as_bytes().to_vec()), v)).collect())
}

/// The main process's end of the supervisor's control socket.
pub struct Client {
    sock: Mutex<OwnedFd>,
    next_id: std::sync::atomic::AtomicU64,
    /// The main process's pidfd of the supervisor (a sandboxed actor has none: it only asks).
    supervisor: Option<OwnedFd>,
}

static CLIENT: OnceLock<Client> = OnceLock::new();

/// Called once, by `main`, with the control socket of the supervisor it forked and its pidfd.
pub fn set_supervisor(sock: OwnedFd, pidfd: OwnedFd) {
    let _ = CLIENT.set(Client {
        sock: Mutex::new(sock),
        next_id: std::sync::atomic::AtomicU64::new(1),
        supervisor: Some(pidfd),
    });
}

/// Called once, in a sandboxed actor's process, with its request socket: the actors it starts
/// are asked for there (the supervisor holds them to a profile that narrows its own).
pub fn set_request_socket(sock: OwnedFd) {
    let _ =
        CLIENT.set(Client { sock: Mutex::new(sock), next_id: std::sync::atomic::AtomicU64::new(1), supervisor: None });
}

/// Called by `main` as the process ends: the supervisor kills every child, reaps them and
/// exits, and this waits for it. The channels' sockets (and those held in [`GRAVEYARD`]) are
/// still open meanwhile, so no actor sees its peers go before it dies.
pub fn stop_supervisor() {
    let Some(client) = CLIENT.get() else { return };
    let Some(supervisor) = &client.supervisor else { return };
    if client.send(&table(vec![("op", Value::Bytes(b"shutdown".to_vec()))])).is_ok() {
        let _ = crate::sys::process::wait_pidfd(supervisor.as_fd(), false);
    }
}

/// Test hook: `bytes` as they are on the supervisor socket (see `hook_raw_request`).
pub fn raw_request(bytes: &[u8]) -> io::Result<()> {
    let Some(client) = CLIENT.get() else { return Err(io::Error::from_raw_os_error(libc::ENOSYS)) };
    let sock = client.sock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    cmsg::send(sock.as_fd(), bytes, &[]).map(|_| ())
}

/// A sandboxed actor's own module: the one module it may start actors from (it has no files).
static OWN_MODULE: OnceLock<(String, Vec<u8>)> = OnceLock::new();

/// Called once, in a sandboxed actor's process, with the path and source it was started from.
pub fn set_own_module(path: String, source: Vec<u8>) {
    let _ = OWN_MODULE.set((path, source));
}

/// The source of `path` if it is this sandboxed actor's own module.
pub fn own_module(path: &str) -> Option<&'static [u8]> {
    OWN_MODULE.get().filter(|(p, _)| p == path).map(|(_, s)| s.as_slice())
}

/// Ends of channels to sandboxed actors that are being killed, by child id: held until the
/// child's end is reported, so that the actor never sees them close and reacts (prints a
/// `Channel closed` panic, answers someone) between `close()` and the kill. An entry whose
/// report never comes (its spawner's thread ended first) lives until the process ends.
static GRAVEYARD: Mutex<Vec<(u64, Arc<OwnedFd>)>> = Mutex::new(Vec::new());

/// Keeps `end` open until child `id` is reported ended.
pub fn hold_until_ended(id: u64, end: Arc<OwnedFd>) {
    GRAVEYARD.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push((id, end));
}

fn release_held(id: u64) {
    let released: Vec<_> = {
        let mut held = GRAVEYARD.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (gone, kept) = std::mem::take(&mut *held).into_iter().partition(|(i, _)| *i == id);
        *held = kept;
        gone
    };
    // Closed outside the lock.
    drop(released);
}

impl Client {
    fn send(&self, v: &Value) -> io::Result<()> {
        let mut out = Vec::new();
        let fds = wire::encode_into(v, &Limits::DEFAULT, &mut out)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
        let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
        let sock = self.sock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        loop {
            match cmsg::send(sock.as_fd(), &out, &borrowed) {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

/// What a spawn request carries.
pub struct Request<'a> {
    pub profile_name: &'a str,
    pub profile_json: &'a str,
    pub module: &'a [u8],
    pub path: &'a str,
    pub mailbox: usize,
    pub hooks: bool,
}

/// Asks the supervisor for a sandboxed actor whose inbox reads `inbox_end`. The answer arrives
/// on the returned handle's report socket, which the caller watches.
pub fn request_spawn(
    engine: &mut Engine<ReadSink>,
    req: &Request<'_>,
    inbox_end: OwnedFd,
) -> io::Result<Rc<ChildHandle>> {
    let Some(client) = CLIENT.get() else {
        return Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "this process has no supervisor (sandboxed actors need 'luacell run')",
        ));
    };
    let (mine, theirs) = cmsg::seqpacket_pair()?;
    socket2::SockRef::from(&mine).set_nonblocking(true)?;
    let id = client.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let msg = table(vec![
        ("op", Value::Bytes(b"spawn".to_vec())),
        ("id", Value::Int(id as i64)),
        ("name", Value::Bytes(req.profile_name.as_bytes().to_vec())),
        ("profile", Value::Bytes(req.profile_json.as_bytes().to_vec())),
        ("module", Value::Buffer(req.module.to_vec())),
        ("path", Value::Bytes(req.path.as_bytes().to_vec())),
        ("mailbox", Value::Int(req.mailbox as i64)),
        ("hooks", Value::Bool(req.hooks)),
        ("inbox", Value::Fd(inbox_end)),
        ("report", Value::Fd(theirs)),
    ]);
    client.send(&msg)?;
    let report = engine.adopt(mine, FdKind::Socket);
    Ok(Rc::new(ChildHandle {
        id,
        report,
        phase: RefCell::new(Phase::Starting),
        waiters: RefCell::new(Vec::new()),
        detached: Cell::new(false),
    }))
}

/// Starts watching a new child's report socket.
pub fn watch(engine: &mut Engine<ReadSink>, links: &mut Links, child: &Rc<ChildHandle>) {
    if let Some(Action::Report(c)) = links.watch(engine, child.report.clone(), false, Action::Report(child.clone())) {
        c.readable(engine, links);
    }
}
