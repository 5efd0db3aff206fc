//! Local actors: VMs that share an execution context (a thread and its IO engine), their
//! mailboxes, and the loop that takes the VMs of a context in turns.
//!
//! Trust zone: the main process. Every VM here runs the user's own code (sandboxed actors, in
//! child processes, are another layer); a VM is still isolated from the others: no Lua value
//! crosses between VMs, only copied messages ([`mailbox::Msg`]).
//!
//! Invariants:
//! - a VM runs only inside its context's loop, one turn ([`Vm::step`]) at a time, so it never
//!   runs on two threads at once;
//! - every op a VM starts is tagged with the VM (the engine's owner), and its completion goes
//!   back to that VM only;
//! - VMs take turns in FIFO order, one round of ready fibers each, and the engine is polled
//!   between passes, so neither a busy VM nor a flood of IO starves the others;
//! - a VM ends when nothing can run in it again (or its main fiber panicked); the context ends
//!   when its last VM has ended.

pub mod child;
pub mod link;
pub mod mailbox;

use std::cell::RefCell;
use std::collections::VecDeque;
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use mlua::{AnyUserData, Function, Lua, Table, UserData, Value};

use self::child::{ChildHandle, Phase};
use self::link::{Action, LINK_OWNER, Links};
use self::mailbox::{Cap, Mailbox, Msg, Received, Refused, Sender, Sent};
use crate::ipc::wire::Limits;
use crate::lua::api::io::{FileDescriptor, Handle};
use crate::lua::api::{Ret3, fail3, ret1};
use crate::lua::{self as vmlua, RunError, VmKind};
use crate::runtime::reactor::Backend;
use crate::runtime::{Engine, IdMap, Owner};

/// One thread of an execution context, as other threads see it: the VMs to take next (woken by
/// mailboxes), the VMs to start (spawned from anywhere), and the eventfd that wakes the thread
/// when it sleeps.
#[derive(Debug)]
pub struct Remote {
    woken: Mutex<Vec<Owner>>,
    spawns: Mutex<Vec<SpawnRequest>>,
    /// Owner ids of this thread's engine.
    next_owner: AtomicU32,
    /// Set while the thread waits in its engine: a waker must then signal the eventfd.
    sleeping: AtomicBool,
    eventfd: OwnedFd,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Every critical section here is a push or a take: a panic cannot leave the data half-made.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Remote {
    fn new() -> std::io::Result<Arc<Remote>> {
        Ok(Arc::new(Remote {
            woken: Mutex::new(Vec::new()),
            spawns: Mutex::new(Vec::new()),
            next_owner: AtomicU32::new(0),
            sleeping: AtomicBool::new(false),
            eventfd: crate::sys::eventfd()?,
        }))
    }

    fn take(&self) -> Vec<Owner> {
        std::mem::take(&mut *lock(&self.woken))
    }

    fn allocate(&self) -> Owner {
        self.next_owner.fetch_add(1, Ordering::Relaxed)
    }

    /// Wakes the thread if it sleeps (cheap when it is running: no syscall).
    fn nudge(&self) {
        if self.sleeping.swap(false, Ordering::AcqRel) {
            crate::sys::eventfd_signal(self.eventfd.as_fd());
        }
    }

    fn push_spawn(&self, r: SpawnRequest) {
        lock(&self.spawns).push(r);
        self.nudge();
    }
}

/// What every thread of the program shares: the panic flag, the threads to join, and the live
/// contexts (to tell a deadlock from a wait for another thread).
pub struct Global {
    panicked: Arc<AtomicBool>,
    backend: Option<Backend>,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    contexts: AtomicUsize,
}

/// An execution context: its threads (each with its own engine and VMs) and its live VMs.
pub struct Group {
    members: Mutex<Vec<Arc<Remote>>>,
    next: AtomicUsize,
    live_vms: AtomicUsize,
}

impl Group {
    fn new(first: Arc<Remote>) -> Arc<Group> {
        Arc::new(Group { members: Mutex::new(vec![first]), next: AtomicUsize::new(0), live_vms: AtomicUsize::new(0) })
    }

    /// The thread a new VM of this context goes to: round robin.
    fn pick(&self) -> Arc<Remote> {
        let members = lock(&self.members);
        let i = self.next.fetch_add(1, Ordering::Relaxed) % members.len();
        members[i].clone()
    }

    /// A VM of the context ended: when it was the last, every thread may stop.
    fn vm_ended(&self) {
        if self.live_vms.fetch_sub(1, Ordering::AcqRel) == 1 {
            for m in lock(&self.members).iter() {
                crate::sys::eventfd_signal(m.eventfd.as_fd());
            }
        }
    }
}

/// Fiber tokens of senders that may try again, per VM.
#[derive(Debug, Default)]
pub struct VmEvents {
    senders: Mutex<Vec<u64>>,
}

/// How a mailbox tells a VM that something it waits for happened.
#[derive(Clone, Debug)]
pub struct Waker {
    remote: Arc<Remote>,
    vm: Owner,
    events: Arc<VmEvents>,
}

impl Waker {
    pub fn wake_vm(&self) {
        lock(&self.remote.woken).push(self.vm);
        self.remote.nudge();
    }

    pub fn wake_sender(&self, token: u64) {
        lock(&self.events.senders).push(token);
        self.wake_vm();
    }
}

/// The Lua type name of a value, for refusals.
pub(crate) fn kind(v: &Value) -> &'static str {
    crate::lua::api::type_name(v)
}

/// Where a channel delivers.
#[derive(Clone)]
pub enum Target {
    /// A mailbox in this process.
    Local(Sender),
    /// An actor in another process: the send end of its capability socket.
    Remote(Arc<OwnedFd>),
}

/// A channel: the send capability to an actor's mailbox (`spawn_vm` returns one; messages carry
/// them). `close()` gives the capability up. The channel `spawn_vm` returns for a sandboxed
/// actor also holds the child (kill, detach, pid, how it ended).
pub struct Channel {
    target: RefCell<Option<Target>>,
    child: RefCell<Option<Rc<ChildHandle>>>,
    /// A remote target's socket as the engine knows it (made on the first wait for room).
    io: RefCell<Option<Rc<crate::sys::IoFd>>>,
    /// Message limits of the receiver (a sandboxed actor's profile may lower them).
    limits: Limits,
}

impl Channel {
    fn new(target: Target, limits: Limits) -> Channel {
        Channel { target: RefCell::new(Some(target)), child: RefCell::new(None), io: RefCell::new(None), limits }
    }

    /// Gives the capability up. The spawner's channel of a sandboxed actor also kills the actor,
    /// unless it was detached (as in Emilua).
    fn close(&self) {
        let target = self.target.borrow_mut().take();
        self.io.borrow_mut().take();
        if let Some(child) = self.child.borrow_mut().take()
            && !child.is_detached()
            && child.kill(libc::SIGKILL).is_ok()
            && !child.has_ended()
            && let Some(Target::Remote(end)) = target
        {
            // The actor dies before it can see this end close.
            child::hold_until_ended(child.id, end);
        }
    }
}

impl Drop for Channel {
    /// A channel collected without `close()`: the same.
    fn drop(&mut self) {
        self.close();
    }
}

impl UserData for Channel {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        // Methods are Lua functions of the prelude (they may suspend the calling fiber), in a
        // plain table the metatable indexes directly: no call into Rust per lookup.
        fields.add_meta_field_with(mlua::MetaMethod::Index, |lua| lua.named_registry_value::<Value>(CHANNEL_METHODS));
    }

    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_function(mlua::MetaMethod::ToString, |_, _: AnyUserData| Ok("channel"));
    }
}

const CHANNEL_METHODS: &str = "luacell.channel.methods";
const INBOX_METHODS: &str = "luacell.inbox.methods";

/// This VM's inbox. Sent in a message, it becomes a channel to this VM (how an actor hands out
/// its own address).
pub struct InboxRef;

impl UserData for InboxRef {
    fn add_fields<F: mlua::UserDataFields<Self>>(fields: &mut F) {
        fields.add_meta_field_with(mlua::MetaMethod::Index, |lua| lua.named_registry_value::<Table>(INBOX_METHODS));
    }

    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_function(mlua::MetaMethod::ToString, |_, _: AnyUserData| Ok("inbox"));
    }
}

/// What the VMs of one thread reach through their app data.
struct Shared {
    remote: Arc<Remote>,
    group: Arc<Group>,
    global: Arc<Global>,
    args: Vec<String>,
    engine: crate::lua::api::io::SharedEngine,
    /// Message links to other processes, read by this thread.
    links: RefCell<Links>,
    /// Limits of messages this thread's VMs send and receive (a sandboxed actor's profile).
    limits: Limits,
    /// A sandboxed actor's process: heap cap for its VM; test hooks allowed.
    sandboxed: Option<SandboxedConfig>,
}

/// What makes a sandboxed actor's context differ.
#[derive(Clone, Copy, Debug)]
struct SandboxedConfig {
    heap_limit: Option<usize>,
    hooks: bool,
}

/// A VM to start on a thread (sent there: the Lua state is made by the thread that runs it).
#[derive(Debug)]
pub struct SpawnRequest {
    owner: Owner,
    events: Arc<VmEvents>,
    mailbox: Arc<Mailbox>,
    source: Vec<u8>,
    path: PathBuf,
}

/// Per-VM data the actor primitives reach through the VM's app data.
struct VmEnv {
    waker: Waker,
    mailbox: Arc<Mailbox>,
    shared: Rc<Shared>,
    limits: Limits,
}

/// One VM of the context.
struct Vm {
    // Kept alive while the VM runs; dropped (finalizers run) when it ends. Collected fully when
    // descriptors pile up (see `link::fd_pressure`).
    lua: Lua,
    step: Function,
    exit_status: Function,
    main: bool,
    mailbox: Arc<Mailbox>,
}

/// The owner id of the thread's own wake-up read on the shared engine.
const CONTEXT_OWNER: Owner = Owner::MAX;

/// One thread of an execution context: its IO engine and its VMs.
pub struct Context {
    engine: crate::lua::api::io::SharedEngine,
    shared: Rc<Shared>,
    vms: IdMap<Owner, Vm>,
    queue: VecDeque<Owner>,
    queued: IdMap<Owner, ()>,
    main_status: i32,
    /// The eventfd as the engine knows it, and whether a read on it is in flight.
    wake_fd: Rc<crate::sys::IoFd>,
    wake_armed: bool,
}

fn new_waker(remote: &Arc<Remote>, vm: Owner, events: &Arc<VmEvents>) -> Waker {
    Waker { remote: remote.clone(), vm, events: events.clone() }
}

fn setup_io(e: std::io::Error) -> RunError {
    RunError::Setup(format!(
        "cannot make the context's wake-up descriptor: {}",
        crate::sys::errno::describe(e.raw_os_error().unwrap_or(0))
    ))
}

impl Context {
    /// The main thread's context, on the backend asked for (or the best available).
    pub fn new(backend: Option<Backend>, args: Vec<String>, panicked: Arc<AtomicBool>) -> Result<Context, RunError> {
        Context::first(backend, args, panicked, Limits::DEFAULT, None)
    }

    fn first(
        backend: Option<Backend>,
        args: Vec<String>,
        panicked: Arc<AtomicBool>,
        limits: Limits,
        sandboxed: Option<SandboxedConfig>,
    ) -> Result<Context, RunError> {
        let global =
            Arc::new(Global { panicked, backend, threads: Mutex::new(Vec::new()), contexts: AtomicUsize::new(1) });
        let remote = Remote::new().map_err(setup_io)?;
        let group = Group::new(remote.clone());
        Context::on_thread(global, group, remote, args, limits, sandboxed)
    }

    fn on_thread(
        global: Arc<Global>,
        group: Arc<Group>,
        remote: Arc<Remote>,
        args: Vec<String>,
        limits: Limits,
        sandboxed: Option<SandboxedConfig>,
    ) -> Result<Context, RunError> {
        let engine = Rc::new(RefCell::new(Engine::new(global.backend)?));
        let own = remote.eventfd.try_clone().map_err(setup_io)?;
        let wake_fd = engine.borrow_mut().adopt(own, crate::sys::FdKind::Pollable);
        let links = RefCell::new(Links::new(&remote, limits));
        let shared = Rc::new(Shared { remote, group, global, args, engine: engine.clone(), links, limits, sandboxed });
        Ok(Context {
            engine,
            shared,
            vms: IdMap::default(),
            queue: VecDeque::new(),
            queued: IdMap::default(),
            main_status: 0,
            wake_fd,
            wake_armed: false,
        })
    }

    /// Starts the main VM on `source` (the script at `path`).
    pub fn start_main(&mut self, source: &[u8], path: PathBuf) -> Result<(), RunError> {
        let owner = self.shared.remote.allocate();
        let events = Arc::new(VmEvents::default());
        let waker = new_waker(&self.shared.remote, owner, &events);
        let mailbox = Mailbox::new(mailbox::DEFAULT_CAPACITY, waker);
        self.shared.group.live_vms.fetch_add(1, Ordering::AcqRel);
        self.add_vm(owner, events, mailbox, source, path, VmKind::Main)
    }

    fn add_vm(
        &mut self,
        owner: Owner,
        events: Arc<VmEvents>,
        mailbox: Arc<Mailbox>,
        source: &[u8],
        path: PathBuf,
        kind: VmKind,
    ) -> Result<(), RunError> {
        let waker = new_waker(&self.shared.remote, owner, &events);
        let env = VmEnv { waker, mailbox: mailbox.clone(), shared: self.shared.clone(), limits: self.shared.limits };
        let script_name = path.to_string_lossy().into_owned();
        let init = vmlua::VmInit {
            kind,
            engine: self.engine.clone(),
            owner,
            script: &script_name,
            args: if kind == VmKind::Main { &self.shared.args } else { &[] },
            panicked: self.shared.global.panicked.clone(),
            heap_limit: self.shared.sandboxed.and_then(|c| c.heap_limit),
        };
        let hooks = self.shared.sandboxed.is_some_and(|c| c.hooks);
        let (lua, s) = vmlua::new_vm(&init, &|lua, raw| install(lua, raw, events.clone(), hooks))?;
        lua.set_app_data(env);
        let chunk = if kind == VmKind::Main {
            vmlua::compile(&lua, source, &path)?
        } else {
            vmlua::compile_cached(&lua, source, &path)?
        };
        let start: Function = s.get("start").map_err(|e| RunError::Setup(e.to_string()))?;
        start.call::<()>(chunk).map_err(|e| RunError::Scheduler(e.to_string()))?;
        let step = s.get("step").map_err(|e| RunError::Setup(e.to_string()))?;
        let exit_status = s.get("exit_status").map_err(|e| RunError::Setup(e.to_string()))?;
        self.vms.insert(owner, Vm { lua, step, exit_status, main: kind == VmKind::Main, mailbox });
        self.enqueue(owner);
        Ok(())
    }

    fn enqueue(&mut self, owner: Owner) {
        if self.vms.contains_key(&owner) && self.queued.insert(owner, ()).is_none() {
            self.queue.push_back(owner);
        }
    }

    fn start_spawned(&mut self) {
        let requests: Vec<SpawnRequest> = std::mem::take(&mut *lock(&self.shared.remote.spawns));
        for r in requests {
            let mailbox = r.mailbox.clone();
            // Inside a sandbox, every VM gets the sandboxed library subset and heap cap.
            let kind = if self.shared.sandboxed.is_some() { VmKind::Sandboxed } else { VmKind::Worker };
            if let Err(e) = self.add_vm(r.owner, r.events, r.mailbox, &r.source, r.path.clone(), kind) {
                // The actor never starts: its mailbox closes, so senders see `Channel closed`.
                eprintln!("luacell: actor {} cannot start: {e}", r.path.display());
                self.shared.global.panicked.store(true, Ordering::Relaxed);
                mailbox.close();
                self.shared.group.vm_ended();
            }
        }
    }

    /// Runs this thread's VMs to their end (for a thread added to a context: until the
    /// context has no VM left anywhere); returns the main VM's exit status.
    pub fn run(mut self) -> Result<i32, RunError> {
        let result = self.run_loop();
        // The VMs left (after an error) close here, not wherever `self` is dropped.
        let vms = std::mem::take(&mut self.vms);
        vmlua::budget::outside_turns(|| drop(vms));
        self.shared.global.contexts.fetch_sub(1, Ordering::AcqRel);
        result
    }

    fn run_loop(&mut self) -> Result<i32, RunError> {
        let mut fd_mark = 0;
        loop {
            if link::fd_pressure::due(&mut fd_mark) {
                // Channel objects that became garbage close their descriptors now.
                vmlua::budget::outside_turns(|| {
                    for vm in self.vms.values() {
                        let _ = vm.lua.gc_collect();
                    }
                });
            }
            // Link ops that finished are handled first: their op ids are free again, and a
            // link op started below may take one.
            let owners: Vec<Owner> = self.engine.borrow().owners_with_finished().collect();
            for owner in owners {
                if owner == CONTEXT_OWNER {
                    let mut drained = Vec::new();
                    self.engine.borrow_mut().take_for(CONTEXT_OWNER, &mut drained);
                    self.wake_armed = false;
                } else if owner == LINK_OWNER {
                    let mut drained = Vec::new();
                    let mut engine = self.engine.borrow_mut();
                    engine.take_for(LINK_OWNER, &mut drained);
                    let ids: Vec<_> = drained.iter().map(|f| f.id).collect();
                    self.shared.links.borrow_mut().finished(&mut engine, &ids);
                } else {
                    self.enqueue(owner);
                }
            }
            self.start_spawned();
            for owner in self.shared.remote.take() {
                if owner == LINK_OWNER {
                    self.shared.links.borrow_mut().retry(&mut self.engine.borrow_mut());
                } else {
                    self.enqueue(owner);
                }
            }
            // One pass: every VM queued now takes one turn.
            for _ in 0..self.queue.len() {
                let Some(owner) = self.queue.pop_front() else { break };
                self.queued.remove(&owner);
                let Some(vm) = self.vms.get(&owner) else { continue };
                self.engine.borrow_mut().set_owner(owner);
                let status = vm.step.call::<i64>(()).map_err(|e| RunError::Scheduler(e.to_string()));
                vmlua::budget::between_turns();
                let status = status?;
                match status {
                    0 => {}
                    1 => self.enqueue(owner),
                    _ => self.end_vm(owner),
                }
            }
            // Links that moved one datagram before the VMs' turn read the rest now, after the
            // answers went out and before the engine waits (their edge is spent).
            self.shared.links.borrow_mut().flush(&mut self.engine.borrow_mut());
            let spawns_waiting = !lock(&self.shared.remote.spawns).is_empty();
            if self.vms.is_empty() && !spawns_waiting && self.shared.group.live_vms.load(Ordering::Acquire) == 0 {
                return Ok(self.main_status);
            }
            let mut block = self.queue.is_empty() && !spawns_waiting && lock(&self.shared.remote.woken).is_empty();
            if block {
                let alone = self.shared.global.contexts.load(Ordering::Acquire) == 1;
                let own_ops = self.engine.borrow().pending() - usize::from(self.wake_armed);
                if alone && own_ops == 0 {
                    // Every VM left waits for a message that no VM can send any more.
                    self.report_deadlock();
                    return Ok(1);
                }
                if !alone && !self.arm_wake() {
                    block = false;
                } else if !alone {
                    self.shared.remote.sleeping.store(true, Ordering::Release);
                    // A wake that came before `sleeping` was set finds it unset: look again.
                    if !lock(&self.shared.remote.woken).is_empty() || !lock(&self.shared.remote.spawns).is_empty() {
                        self.shared.remote.sleeping.store(false, Ordering::Release);
                        block = false;
                    }
                }
            }
            if !block && self.engine.borrow().pending() == 0 {
                // Nothing in flight and work to do: no need to ask the kernel.
                continue;
            }
            let waited = self.engine.borrow_mut().wait_routed(block);
            self.shared.remote.sleeping.store(false, Ordering::Release);
            waited.map_err(|e| {
                RunError::Scheduler(format!("the IO engine failed to wait: {}", crate::sys::errno::code_of(&e)))
            })?;
        }
    }

    /// Arms the wake-up read; false when it could not (signals keep coming: do not block).
    fn arm_wake(&mut self) -> bool {
        if self.wake_armed {
            return true;
        }
        let mut engine = self.engine.borrow_mut();
        engine.set_owner(CONTEXT_OWNER);
        // A read that completes at once consumed an old signal (its wake-ups are on the lists
        // already): read again until one waits, so that the next signal wakes the engine.
        for _ in 0..4 {
            let buf = engine.buffer(8);
            if let crate::runtime::Started::Pending(_) =
                engine.start_io(crate::runtime::reactor::Op::Read { fd: self.wake_fd.clone(), buf }, None)
            {
                self.wake_armed = true;
                return true;
            }
        }
        false
    }

    fn end_vm(&mut self, owner: Owner) {
        if let Some(vm) = self.vms.remove(&owner) {
            if vm.main {
                self.main_status = vm.exit_status.call::<i32>(()).unwrap_or(1);
            }
            // Nobody will receive any more: senders see `Channel closed` from now on.
            vm.mailbox.close();
            // Dropping the VM runs its finalizers (panics of fibers never joined are printed);
            // what its ops still bring back is dropped.
            vmlua::budget::outside_turns(|| drop(vm));
            self.engine.borrow_mut().forget_owner(owner);
            self.shared.group.vm_ended();
        }
    }

    fn report_deadlock(&self) {
        eprintln!(
            "luacell: {} actor(s) wait for messages that no running actor can send (deadlock); stopping",
            self.vms.len()
        );
    }

    /// Waits for every thread the program started (after the main thread's context ended).
    pub fn join_threads(global: &Global) {
        loop {
            let handles: Vec<_> = std::mem::take(&mut *lock(&global.threads));
            if handles.is_empty() {
                return;
            }
            for h in handles {
                let _ = h.join();
            }
        }
    }

    pub fn global(&self) -> Arc<Global> {
        self.shared.global.clone()
    }
}

/// Why a sandboxed actor cannot start a thread: its process runs its VMs on one thread (its
/// seccomp preset admits no thread, and its CPU budget stops the Lua thread running on it).
const ONE_THREAD: &str = "a sandboxed actor runs on one thread: its actors join its own context";

/// Starts a thread with a new context whose first VM is `request` (`spawn_vm{ inherit_context =
/// false }`), or an empty member of `group` (`spawn_context_threads`).
fn start_thread(global: Arc<Global>, group: Option<Arc<Group>>, remote: Arc<Remote>, request: Option<SpawnRequest>) {
    global.contexts.fetch_add(1, Ordering::AcqRel);
    let g = global.clone();
    let spawned = std::thread::Builder::new().name("luacell-context".into()).spawn(move || {
        let group = group.unwrap_or_else(|| Group::new(remote.clone()));
        if let Some(r) = request {
            group.live_vms.fetch_add(1, Ordering::AcqRel);
            lock(&remote.spawns).push(r);
        }
        match Context::on_thread(g.clone(), group.clone(), remote.clone(), Vec::new(), Limits::DEFAULT, None) {
            Ok(ctx) => {
                if let Err(e) = ctx.run() {
                    eprintln!("luacell: an execution context failed: {e}");
                    g.panicked.store(true, Ordering::Relaxed);
                }
            }
            Err(e) => {
                eprintln!("luacell: cannot start an execution context: {e}");
                g.panicked.store(true, Ordering::Relaxed);
                g.contexts.fetch_sub(1, Ordering::AcqRel);
                for r in std::mem::take(&mut *lock(&remote.spawns)) {
                    r.mailbox.close();
                    group.vm_ended();
                }
            }
        }
    });
    match spawned {
        Ok(h) => lock(&global.threads).push(h),
        Err(e) => {
            eprintln!("luacell: cannot start a thread: {e}");
            global.panicked.store(true, Ordering::Relaxed);
            global.contexts.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn env(lua: &Lua) -> mlua::Result<mlua::AppDataRef<'_, VmEnv>> {
    lua.app_data_ref::<VmEnv>()
        .ok_or_else(|| mlua::Error::RuntimeError("invariant: the VM has an actor environment".into()))
}

/// The message form of a value that travels as a capability: a channel, this VM's inbox, a
/// received descriptor, or an IO object (whose descriptor moves). Objects whose descriptor
/// moves are added to `moved` (closed once the message is delivered).
fn capability_of(v: &Value, own: &Arc<Mailbox>, moved: &RefCell<Vec<Value>>) -> Result<Option<Msg>, Refused> {
    match v {
        Value::UserData(ud) if ud.is::<InboxRef>() => Ok(Some(Msg::Channel(Sender::new(own.clone())))),
        Value::UserData(ud) if ud.is::<Channel>() => {
            let ch = ud.borrow::<Channel>().map_err(|e| Refused(format!("an unreadable channel: {e}")))?;
            let target = ch.target.borrow();
            match target.as_ref() {
                Some(Target::Local(s)) => Ok(Some(Msg::Channel(s.clone()))),
                Some(Target::Remote(fd)) => Ok(Some(Msg::Address(fd.clone()))),
                None => Err(Refused("a closed channel".into())),
            }
        }
        Value::UserData(ud) if ud.is::<FileDescriptor>() => {
            let fd = ud.borrow::<FileDescriptor>().map_err(|e| Refused(format!("an unreadable descriptor: {e}")))?;
            let dup = match fd.0.borrow().as_ref() {
                Some(fd) => {
                    fd.try_clone().map_err(|e| Refused(format!("a descriptor that cannot be duplicated ({e})")))?
                }
                None => return Err(Refused("a closed file_descriptor".into())),
            };
            moved.borrow_mut().push(v.clone());
            Ok(Some(Msg::Fd(dup)))
        }
        Value::Table(t) => {
            let Some(mt) = t.metatable() else { return Ok(None) };
            let Ok(Value::Function(get)) = mt.raw_get::<Value>("__luacell_handle") else { return Ok(None) };
            let handle = get.call::<Value>(t.clone()).map_err(|e| Refused(format!("an IO object ({e})")))?;
            let Value::UserData(h) = handle else { return Err(Refused("an IO object that is not open".into())) };
            let h = h.borrow::<Handle>().map_err(|e| Refused(format!("an IO object ({e})")))?;
            match h.duplicate() {
                Some(Ok(fd)) => {
                    moved.borrow_mut().push(v.clone());
                    Ok(Some(Msg::Fd(fd)))
                }
                Some(Err(e)) => Err(Refused(format!("an IO object whose descriptor cannot be duplicated ({e})"))),
                None => Err(Refused("a closed IO object".into())),
            }
        }
        _ => Ok(None),
    }
}

fn new_channel(lua: &Lua, cap: Cap) -> mlua::Result<Value> {
    let limits = env(lua).map(|e| e.limits).unwrap_or(Limits::DEFAULT);
    let target = match cap {
        Cap::Local(s) => Target::Local(s),
        Cap::Remote(fd) => Target::Remote(fd),
    };
    Ok(Value::UserData(lua.create_userdata(Channel::new(target, limits))?))
}

fn borrow_channel(v: &Value) -> Option<mlua::UserDataRef<Channel>> {
    match v {
        Value::UserData(ud) => ud.borrow::<Channel>().ok(),
        _ => None,
    }
}

/// Sends to an actor in another process without blocking the thread.
fn send_remote(lua: &Lua, ch: &Channel, fd: &Arc<OwnedFd>, m: Msg, token: u64) -> mlua::Result<Ret3> {
    let e = env(lua)?;
    let shared = e.shared.clone();
    let waker = e.waker.clone();
    drop(e);
    let value = {
        let mut engine = shared.engine.borrow_mut();
        match shared.links.borrow_mut().to_wire(&mut engine, m) {
            Ok(v) => v,
            Err(err) => return fail3(lua, crate::sys::errno::code_of(&err), "cannot make an address for the message"),
        }
    };
    let mut out = Vec::new();
    match link::send_to(fd, &value, &ch.limits, &mut out) {
        Ok(true) => Ok(ret1(Value::Boolean(true))),
        Ok(false) => {
            // The receiver's socket is full: the fiber waits until it has room.
            let io = {
                let mut cell = ch.io.borrow_mut();
                if cell.is_none() {
                    match fd.try_clone() {
                        Ok(dup) => *cell = Some(shared.engine.borrow_mut().adopt(dup, crate::sys::FdKind::Socket)),
                        Err(err) => return fail3(lua, crate::sys::errno::code_of(&err), "cannot wait on the channel"),
                    }
                }
                cell.clone()
            };
            if let Some(io) = io {
                let mut engine = shared.engine.borrow_mut();
                let action =
                    shared.links.borrow_mut().watch(&mut engine, io, true, Action::Writable(waker.clone(), token));
                if action.is_some() {
                    waker.wake_sender(token);
                }
            }
            Ok(ret1(Value::Boolean(false)))
        }
        Err(link::SendError::Closed) => fail3(lua, "closed", "Channel closed"),
        Err(link::SendError::Refused(why)) => fail3(lua, "EINVAL", format!("cannot send {why}")),
        Err(link::SendError::Io(err)) => fail3(lua, crate::sys::errno::code_of(&err), "the channel's socket failed"),
    }
}

/// Installs the raw actor primitives (`RAW.actor`) for the prelude's `lua/actor.lua`.
fn install(lua: &Lua, raw: &Table, events: Arc<VmEvents>, hooks: bool) -> mlua::Result<()> {
    let t = lua.create_table()?;

    // receive() -> true, msg | false (nothing yet: the VM is told when it comes) | FAIL, code
    t.set(
        "receive",
        lua.create_function(|lua, ()| -> mlua::Result<Ret3> {
            let mailbox = env(lua)?.mailbox.clone();
            match mailbox.receive() {
                Received::Message(m) => Ok((Value::Boolean(true), mailbox::to_lua(lua, m, &new_channel)?, Value::Nil)),
                Received::Empty => Ok(ret1(Value::Boolean(false))),
                Received::Closed => fail3(lua, "closed", "Channel closed"),
            }
        })?,
    )?;

    // send(channel, msg, token) -> true, moved | false (full: the fiber waits for `token`) |
    // FAIL, code, detail. `moved` lists the objects whose descriptor went with the message.
    t.set(
        "send",
        lua.create_function(|lua, (ch, msg, token): (Value, Value, u64)| -> mlua::Result<Ret3> {
            let Some(channel) = borrow_channel(&ch) else {
                return fail3(lua, "EINVAL", "called on something other than a channel");
            };
            let Some(target) = channel.target.borrow().clone() else {
                return fail3(lua, "closed", "Channel closed");
            };
            let e = env(lua)?;
            let limits = e.limits.narrowed(channel.limits);
            let own = e.mailbox.clone();
            let moved = RefCell::new(Vec::new());
            let m = match mailbox::from_lua(&msg, &limits, &|v| capability_of(v, &own, &moved)) {
                Ok(m) => m,
                Err(r) => return fail3(lua, "EINVAL", format!("cannot send {}", r.0)),
            };
            let moved_list = |lua: &Lua| -> mlua::Result<Value> {
                let list = moved.take();
                if list.is_empty() { Ok(Value::Nil) } else { Ok(Value::Table(lua.create_sequence_from(list)?)) }
            };
            match target {
                Target::Local(sender) => {
                    let sent = sender.mailbox().send(m, &e.waker, token).0;
                    drop(e);
                    match sent {
                        Sent::Delivered => Ok((Value::Boolean(true), moved_list(lua)?, Value::Nil)),
                        Sent::Full => Ok(ret1(Value::Boolean(false))),
                        Sent::Closed => fail3(lua, "closed", "Channel closed"),
                    }
                }
                Target::Remote(fd) => {
                    drop(e);
                    let r = send_remote(lua, &channel, &fd, m, token)?;
                    if matches!(r.0, Value::Boolean(true)) {
                        return Ok((Value::Boolean(true), moved_list(lua)?, Value::Nil));
                    }
                    Ok(r)
                }
            }
        })?,
    )?;

    t.set(
        "close",
        lua.create_function(|_, ch: AnyUserData| {
            if let Ok(c) = ch.borrow::<Channel>() {
                c.close();
            }
            Ok(())
        })?,
    )?;

    t.set(
        "is_channel",
        lua.create_function(|_, v: Value| Ok(matches!(&v, Value::UserData(ud) if ud.is::<Channel>())))?,
    )?;

    t.set(
        "inbox_close",
        lua.create_function(|lua, ()| {
            env(lua)?.mailbox.close();
            Ok(())
        })?,
    )?;

    // poll(out) -> mail_ready, n: tokens of senders that may try again go to out[1..n].
    t.set(
        "poll",
        lua.create_function(move |lua, out: Table| {
            let tokens = std::mem::take(&mut *events.senders.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
            for (i, tok) in tokens.iter().enumerate() {
                out.raw_set(i + 1, *tok)?;
            }
            Ok((env(lua)?.mailbox.ready(), tokens.len()))
        })?,
    )?;

    // spawn(path, capacity, new_context) -> channel | FAIL, code, detail
    t.set(
        "spawn",
        lua.create_function(|lua, (path, capacity, new_context): (String, Option<i64>, bool)| -> mlua::Result<Ret3> {
            if new_context && env(lua)?.shared.sandboxed.is_some() {
                return fail3(lua, "ENOTSUP", ONE_THREAD);
            }
            let source = match std::fs::read(&path) {
                Ok(s) => s,
                Err(e) => {
                    return fail3(lua, crate::sys::errno::code_of(&e), format!("cannot read module '{path}'"));
                }
            };
            let capacity = match capacity {
                None => mailbox::DEFAULT_CAPACITY,
                Some(n) if (1..=1 << 20).contains(&n) => n as usize,
                Some(n) => return fail3(lua, "EINVAL", format!("mailbox capacity must be 1 to 1048576, got {n}")),
            };
            let shared = env(lua)?.shared.clone();
            let (target, group) = if new_context {
                match Remote::new() {
                    Ok(r) => (r, None),
                    Err(e) => return fail3(lua, crate::sys::errno::code_of(&e), "cannot make a new execution context"),
                }
            } else {
                (shared.group.pick(), Some(shared.group.clone()))
            };
            let owner = target.allocate();
            let events = Arc::new(VmEvents::default());
            let waker = new_waker(&target, owner, &events);
            let mailbox = Mailbox::new(capacity, waker);
            let sender = Sender::new(mailbox.clone());
            let request = SpawnRequest { owner, events, mailbox, source, path: PathBuf::from(path) };
            match group {
                Some(g) => {
                    g.live_vms.fetch_add(1, Ordering::AcqRel);
                    target.push_spawn(request);
                }
                None => start_thread(shared.global.clone(), None, target, Some(request)),
            }
            Ok(ret1(new_channel(lua, Cap::Local(sender))?))
        })?,
    )?;

    // add_threads(n): n more threads for this VM's execution context.
    t.set(
        "add_threads",
        lua.create_function(|lua, n: i64| -> mlua::Result<Ret3> {
            if !(1..=256).contains(&n) {
                return fail3(lua, "EINVAL", format!("the thread count must be 1 to 256, got {n}"));
            }
            let shared = env(lua)?.shared.clone();
            if shared.sandboxed.is_some() {
                return fail3(lua, "ENOTSUP", ONE_THREAD);
            }
            for _ in 0..n {
                let remote = match Remote::new() {
                    Ok(r) => r,
                    Err(e) => return fail3(lua, crate::sys::errno::code_of(&e), "cannot add a thread"),
                };
                lock(&shared.group.members).push(remote.clone());
                start_thread(shared.global.clone(), Some(shared.group.clone()), remote, None);
            }
            Ok(ret1(Value::Boolean(true)))
        })?,
    )?;

    install_sandboxed(lua, &t, hooks)?;

    lua.set_named_registry_value(CHANNEL_METHODS, lua.create_table()?)?;
    lua.set_named_registry_value(INBOX_METHODS, lua.create_table()?)?;
    // set_method('channel' | 'inbox', name, f): the Lua methods of those userdata.
    t.set(
        "set_method",
        lua.create_function(|lua, (of, name, f): (String, String, Function)| {
            let key = if of == "inbox" { INBOX_METHODS } else { CHANNEL_METHODS };
            let methods: Table = lua.named_registry_value(key)?;
            methods.raw_set(name, f)
        })?,
    )?;
    // set_channel_index(f) -> methods: channels index through `f` from now on.
    t.set(
        "set_channel_index",
        lua.create_function(|lua, f: Function| {
            let methods: Table = lua.named_registry_value(CHANNEL_METHODS)?;
            lua.set_named_registry_value(CHANNEL_METHODS, f)?;
            Ok(methods)
        })?,
    )?;
    t.set("inbox", lua.create_userdata(InboxRef)?)?;
    raw.set("actor", t)?;
    Ok(())
}

fn channel_child(v: &Value) -> Option<Rc<ChildHandle>> {
    borrow_channel(v).and_then(|c| c.child.borrow().clone())
}

/// Message limits a profile sets (it can only lower the defaults).
fn profile_limits(profile: &crate::sandbox::Profile) -> Limits {
    let mut l = Limits::DEFAULT;
    if let Some(b) = profile.limits.message_bytes.value().and_then(|b| usize::try_from(b).ok()) {
        l.max_bytes = l.max_bytes.min(b);
    }
    l
}

/// The primitives of sandboxed actors: spawn through the supervisor, and the child's record.
fn install_sandboxed(lua: &Lua, t: &Table, hooks: bool) -> mlua::Result<()> {
    // spawn_sandboxed(path, profile_name | nil, profile_json | nil, capacity, hooks) -> channel |
    // FAIL, code, detail. The channel's child starts in phase 'starting'.
    t.set(
        "spawn_sandboxed",
        lua.create_function(
            |lua,
             (path, name, json, capacity): (String, Option<String>, Option<String>, Option<i64>)|
             -> mlua::Result<Ret3> {
                let shared = env(lua)?.shared.clone();
                let source = if shared.sandboxed.is_some() {
                    // It has no files: it may start its own module ('.'), under a profile that
                    // narrows its own (the supervisor checks).
                    match child::own_module(&path) {
                        Some(s) => s.to_vec(),
                        None => {
                            return fail3(
                                lua,
                                "ENOTSUP",
                                format!("a sandboxed actor can start only its own module ('.'), not '{path}'"),
                            );
                        }
                    }
                } else {
                    match std::fs::read(&path) {
                        Ok(s) => s,
                        Err(e) => {
                            return fail3(lua, crate::sys::errno::code_of(&e), format!("cannot read module '{path}'"));
                        }
                    }
                };
                let (origin, text) = match (&name, json) {
                    (Some(n), _) => match crate::sandbox::Profile::text_of(n) {
                        Ok(t) => (n.clone(), t),
                        Err(e) => return fail3(lua, "EINVAL", crate::cli::error_chain(&e)),
                    },
                    (None, Some(j)) => ("inline profile".to_owned(), j),
                    (None, None) => return fail3(lua, "EINVAL", "no profile"),
                };
                let profile = match crate::sandbox::Profile::parse(&text, &origin) {
                    Ok(p) => p,
                    Err(e) => return fail3(lua, "EINVAL", crate::cli::error_chain(&e)),
                };
                let capacity = match capacity {
                    None => mailbox::DEFAULT_CAPACITY,
                    Some(n) if (1..=1 << 20).contains(&n) => n as usize,
                    Some(n) => return fail3(lua, "EINVAL", format!("mailbox capacity must be 1 to 1048576, got {n}")),
                };
                let pair = crate::sys::cmsg::seqpacket_pair().and_then(|(host, child)| {
                    crate::sys::shutdown(host.as_fd(), std::net::Shutdown::Read)?;
                    crate::sys::shutdown(child.as_fd(), std::net::Shutdown::Write)?;
                    Ok((host, child))
                });
                let (host_end, child_end) = match pair {
                    Ok(p) => p,
                    Err(e) => return fail3(lua, crate::sys::errno::code_of(&e), "cannot make the actor's channel"),
                };
                let req = child::Request {
                    profile_name: &origin,
                    profile_json: &text,
                    module: &source,
                    path: &path,
                    mailbox: capacity,
                    hooks: std::env::var_os("LUACELL_TEST_HOOKS").is_some_and(|v| v == "1"),
                };
                let handle = {
                    let mut engine = shared.engine.borrow_mut();
                    let handle = match child::request_spawn(&mut engine, &req, child_end) {
                        Ok(h) => h,
                        Err(e) => {
                            return fail3(
                                lua,
                                crate::sys::errno::code_of(&e),
                                format!("cannot ask the supervisor: {e}"),
                            );
                        }
                    };
                    child::watch(&mut engine, &mut shared.links.borrow_mut(), &handle);
                    handle
                };
                let ch = Channel::new(Target::Remote(Arc::new(host_end)), profile_limits(&profile));
                *ch.child.borrow_mut() = Some(handle);
                Ok(ret1(Value::UserData(lua.create_userdata(ch)?)))
            },
        )?,
    )?;

    // child_state(channel, token) -> 'starting' (token woken at the next change) | 'running',
    // pid | 'failed', text | 'ended', {code, signal, limit} | FAIL, code, detail
    t.set(
        "child_state",
        lua.create_function(|lua, (ch, token): (Value, u64)| -> mlua::Result<Ret3> {
            let Some(child) = channel_child(&ch) else {
                return fail3(lua, "EINVAL", "not the channel of a sandboxed actor (or it was closed)");
            };
            let s = |x: &str| lua.create_string(x).map(Value::String);
            match child.phase() {
                Phase::Starting => {
                    child.wait(env(lua)?.waker.clone(), token);
                    Ok(ret1(s("starting")?))
                }
                Phase::Running { pid } => {
                    child.wait(env(lua)?.waker.clone(), token);
                    Ok((s("running")?, Value::Integer(pid), Value::Nil))
                }
                Phase::Failed(text) => Ok((s("failed")?, s(&text)?, Value::Nil)),
                Phase::Ended { exit, .. } => {
                    let t = lua.create_table()?;
                    t.set("code", exit.code)?;
                    t.set("signal", exit.signal.map(|n| crate::sys::errno::signal_name(n as i32)))?;
                    t.set("limit", exit.limit)?;
                    t.set("reason", exit.unknown)?;
                    Ok((s("ended")?, Value::Table(t), Value::Nil))
                }
            }
        })?,
    )?;

    // kill(channel, signo) -> true | FAIL, code, detail
    t.set(
        "kill",
        lua.create_function(|lua, (ch, sig): (Value, i64)| -> mlua::Result<Ret3> {
            let Some(child) = channel_child(&ch) else {
                return fail3(lua, "EINVAL", "not the channel of a sandboxed actor (or it was closed)");
            };
            if !(1..=64).contains(&sig) {
                return fail3(lua, "EINVAL", format!("{sig} is not a signal number"));
            }
            match child.kill(sig as i32) {
                Ok(()) => Ok(ret1(Value::Boolean(true))),
                Err(e) => fail3(lua, crate::sys::errno::code_of(&e), "cannot reach the supervisor"),
            }
        })?,
    )?;

    t.set(
        "detach",
        lua.create_function(|lua, ch: Value| -> mlua::Result<Ret3> {
            let Some(child) = channel_child(&ch) else {
                return fail3(lua, "EINVAL", "not the channel of a sandboxed actor (or it was closed)");
            };
            child.detach();
            Ok(ret1(Value::Boolean(true)))
        })?,
    )?;

    t.set("child_pid", lua.create_function(|_, ch: Value| Ok(channel_child(&ch).and_then(|c| c.pid())))?)?;

    // Test hooks (only in a sandboxed actor whose main process ran with LUACELL_TEST_HOOKS=1):
    // raw_send writes bytes that need not be a message, to play a compromised actor.
    if hooks {
        // probe(name, args...) -> 'ok DETAIL' | 'err ERRNO': one escape attempt from this process.
        t.set(
            "hook_probe",
            lua.create_function(|_, (name, args): (String, mlua::Variadic<String>)| {
                Ok(match crate::sandbox::probe::attempt(&name, &args) {
                    Ok(detail) => format!("ok {detail}"),
                    Err(e) => format!(
                        "err {}",
                        crate::sys::errno::name(e).map_or_else(|| format!("errno {e}"), str::to_owned)
                    ),
                })
            })?,
        )?;
        t.set(
            "hook_raw_send",
            lua.create_function(|lua, (ch, bytes): (Value, mlua::LuaString)| -> mlua::Result<Ret3> {
                let Some(channel) = borrow_channel(&ch) else { return fail3(lua, "EINVAL", "not a channel") };
                let Some(Target::Remote(fd)) = channel.target.borrow().clone() else {
                    return fail3(lua, "EINVAL", "not a channel to another process");
                };
                match crate::sys::cmsg::send_with(fd.as_fd(), &bytes.as_bytes(), &[], libc::MSG_DONTWAIT) {
                    Ok(_) => Ok(ret1(Value::Boolean(true))),
                    Err(e) => fail3(lua, crate::sys::errno::code_of(&e), "raw send failed"),
                }
            })?,
        )?;
        // hook_raw_request(bytes): bytes on this process's request socket to the supervisor,
        // as a compromised sandboxed actor could write them.
        t.set(
            "hook_raw_request",
            lua.create_function(|lua, bytes: mlua::LuaString| -> mlua::Result<Ret3> {
                match child::raw_request(&bytes.as_bytes()) {
                    Ok(()) => Ok(ret1(Value::Boolean(true))),
                    Err(e) => fail3(lua, crate::sys::errno::code_of(&e), "raw request failed"),
                }
            })?,
        )?;
    }
    Ok(())
}

/// A sandboxed actor's process exits with this status when its main fiber died because the Lua
/// heap cap refused an allocation; the supervisor reports it as the `lua_heap_bytes` limit.
pub const EXIT_HEAP: i32 = 3;

/// What a sandboxed actor's process runs (sent by the main process in the spawn request).
pub struct SandboxedInit {
    pub module: Vec<u8>,
    pub path: String,
    pub heap_limit: Option<usize>,
    pub message_bytes: Option<usize>,
    pub mailbox: usize,
    pub hooks: bool,
    /// The profile's `cpu_seconds` (also the process's RLIMIT_CPU soft limit).
    pub cpu_seconds: Option<u64>,
}

/// The payload of a sandboxed actor's process (after the lockdown): one context on the epoll
/// backend, one VM with the safe library subset, its inbox fed by descriptor 3. Returns the
/// process's exit status.
pub fn run_sandboxed(init: SandboxedInit) -> i32 {
    let inbox = crate::sys::process::adopt_arranged(3);
    if let Some(seconds) = init.cpu_seconds
        && let Err(e) = vmlua::budget::arm(seconds, &init.path)
    {
        eprintln!("luacell: sandboxed actor {}: cannot arm its CPU budget: {e}", init.path);
        return 1;
    }
    child::set_request_socket(crate::sys::process::adopt_arranged(4));
    child::set_own_module(init.path.clone(), init.module.clone());
    let mut limits = Limits::DEFAULT;
    if let Some(b) = init.message_bytes {
        limits.max_bytes = limits.max_bytes.min(b);
    }
    let panicked = Arc::new(AtomicBool::new(false));
    let config = SandboxedConfig { heap_limit: init.heap_limit, hooks: init.hooks };
    let run = || -> Result<i32, RunError> {
        let mut ctx = Context::first(Some(Backend::Epoll), Vec::new(), panicked.clone(), limits, Some(config))?;
        let owner = ctx.shared.remote.allocate();
        let events = Arc::new(VmEvents::default());
        let waker = new_waker(&ctx.shared.remote, owner, &events);
        let mailbox = Mailbox::new(init.mailbox, waker);
        ctx.shared.group.live_vms.fetch_add(1, Ordering::AcqRel);
        {
            let mut engine = ctx.engine.borrow_mut();
            ctx.shared
                .links
                .borrow_mut()
                .adopt(&mut engine, inbox, Sender::new(mailbox.clone()))
                .map_err(|e| RunError::Setup(format!("cannot watch the inbox: {e}")))?;
        }
        ctx.add_vm(owner, events, mailbox, &init.module, PathBuf::from(&init.path), VmKind::Sandboxed)?;
        ctx.run()
    };
    match run() {
        Ok(_) if crate::lua::HEAP_EXHAUSTED.load(Ordering::Relaxed) => EXIT_HEAP,
        Ok(status) if status == 0 && panicked.load(Ordering::Relaxed) => 1,
        Ok(status) => status,
        Err(e) => {
            eprintln!("luacell: sandboxed actor {}: {e}", init.path);
            1
        }
    }
}
