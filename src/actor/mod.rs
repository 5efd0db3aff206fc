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

pub mod mailbox;

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use mlua::{AnyUserData, Function, Lua, Table, UserData, Value};

use self::mailbox::{Mailbox, Received, Sender, Sent};
use crate::ipc::wire::Limits;
use crate::lua::api::{Ret3, fail3, ret1};
use crate::lua::{self as vmlua, RunError, VmKind};
use crate::runtime::reactor::Backend;
use crate::runtime::{Engine, IdMap, Owner};

/// The VMs of a context to take next, filled by mailboxes (from any thread).
#[derive(Debug, Default)]
pub struct Remote {
    woken: Mutex<Vec<Owner>>,
}

impl Remote {
    fn take(&self) -> Vec<Owner> {
        std::mem::take(&mut *self.woken.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
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
        self.remote.woken.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(self.vm);
    }

    pub fn wake_sender(&self, token: u64) {
        self.events.senders.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(token);
        self.wake_vm();
    }
}

/// The Lua type name of a value, for refusals.
pub(crate) fn kind(v: &Value) -> &'static str {
    crate::lua::api::type_name(v)
}

/// A channel: the send capability to an actor's mailbox (`spawn_vm` returns one; messages carry
/// them). `close()` gives the capability up.
pub struct Channel(RefCell<Option<Sender>>);

impl UserData for Channel {
    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        // Methods are Lua functions of the prelude (they may suspend the calling fiber).
        methods.add_meta_function(mlua::MetaMethod::Index, |lua, (_, key): (AnyUserData, Value)| {
            let Value::String(k) = key else { return Ok(Value::Nil) };
            let methods: Table = lua.named_registry_value(CHANNEL_METHODS)?;
            methods.raw_get::<Value>(k)
        });
        methods.add_meta_function(mlua::MetaMethod::ToString, |_, _: AnyUserData| Ok("channel"));
    }
}

const CHANNEL_METHODS: &str = "luacell.channel.methods";
const INBOX_METHODS: &str = "luacell.inbox.methods";

/// This VM's inbox. Sent in a message, it becomes a channel to this VM (how an actor hands out
/// its own address).
pub struct InboxRef;

impl UserData for InboxRef {
    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_function(mlua::MetaMethod::Index, |lua, (_, key): (AnyUserData, Value)| {
            let Value::String(k) = key else { return Ok(Value::Nil) };
            let methods: Table = lua.named_registry_value(INBOX_METHODS)?;
            methods.raw_get::<Value>(k)
        });
        methods.add_meta_function(mlua::MetaMethod::ToString, |_, _: AnyUserData| Ok("inbox"));
    }
}

/// What a VM of the context needs from it.
struct Shared {
    spawns: RefCell<Vec<SpawnRequest>>,
    next: Cell<Owner>,
    remote: Arc<Remote>,
    panicked: Arc<AtomicBool>,
    args: Vec<String>,
}

struct SpawnRequest {
    owner: Owner,
    events: Arc<VmEvents>,
    mailbox: Arc<Mailbox>,
    source: Vec<u8>,
    path: PathBuf,
}

/// Per-VM data the actor primitives reach through the VM's app data.
struct VmEnv {
    owner: Owner,
    waker: Waker,
    mailbox: Arc<Mailbox>,
    shared: Rc<Shared>,
    limits: Limits,
}

/// One VM of the context.
struct Vm {
    // Kept alive while the VM runs; dropped (finalizers run) when it ends.
    #[allow(dead_code)]
    lua: Lua,
    step: Function,
    exit_status: Function,
    main: bool,
    mailbox: Arc<Mailbox>,
}

/// An execution context: one thread, one IO engine, its VMs.
pub struct Context {
    engine: crate::lua::api::io::SharedEngine,
    shared: Rc<Shared>,
    vms: IdMap<Owner, Vm>,
    queue: VecDeque<Owner>,
    queued: IdMap<Owner, ()>,
    main_status: i32,
}

fn new_waker(remote: &Arc<Remote>, vm: Owner, events: &Arc<VmEvents>) -> Waker {
    Waker { remote: remote.clone(), vm, events: events.clone() }
}

impl Context {
    /// A context on the backend asked for (or the best available).
    pub fn new(backend: Option<Backend>, args: Vec<String>, panicked: Arc<AtomicBool>) -> Result<Context, RunError> {
        let engine = Rc::new(RefCell::new(Engine::new(backend)?));
        let shared = Rc::new(Shared {
            spawns: RefCell::new(Vec::new()),
            next: Cell::new(0),
            remote: Arc::new(Remote::default()),
            panicked,
            args,
        });
        Ok(Context {
            engine,
            shared,
            vms: IdMap::default(),
            queue: VecDeque::new(),
            queued: IdMap::default(),
            main_status: 0,
        })
    }

    /// Starts the main VM on `source` (the script at `path`).
    pub fn start_main(&mut self, source: &[u8], path: PathBuf) -> Result<(), RunError> {
        let owner = self.allocate();
        let events = Arc::new(VmEvents::default());
        let waker = new_waker(&self.shared.remote, owner, &events);
        let mailbox = Mailbox::new(mailbox::DEFAULT_CAPACITY, waker);
        self.add_vm(owner, events, mailbox, source, path, VmKind::Main)
    }

    fn allocate(&self) -> Owner {
        let id = self.shared.next.get();
        self.shared.next.set(id + 1);
        id
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
        let env =
            VmEnv { owner, waker, mailbox: mailbox.clone(), shared: self.shared.clone(), limits: Limits::DEFAULT };
        let script_name = path.to_string_lossy().into_owned();
        let init = vmlua::VmInit {
            kind,
            engine: self.engine.clone(),
            owner,
            script: &script_name,
            args: if kind == VmKind::Main { &self.shared.args } else { &[] },
            panicked: self.shared.panicked.clone(),
        };
        let (lua, s) = vmlua::new_vm(&init, &|lua, raw| install(lua, raw, env_events(&events)))?;
        lua.set_app_data(env);
        let chunk = vmlua::compile(&lua, source, &path)?;
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
        let requests: Vec<SpawnRequest> = std::mem::take(&mut *self.shared.spawns.borrow_mut());
        for r in requests {
            let mailbox = r.mailbox.clone();
            if let Err(e) = self.add_vm(r.owner, r.events, r.mailbox, &r.source, r.path.clone(), VmKind::Worker) {
                // The actor never starts: its mailbox closes, so senders see `Channel closed`.
                eprintln!("luacell: actor {} cannot start: {e}", r.path.display());
                self.shared.panicked.store(true, Ordering::Relaxed);
                mailbox.close();
            }
        }
    }

    /// Runs every VM to its end; returns the main VM's exit status.
    pub fn run(mut self) -> Result<i32, RunError> {
        loop {
            self.start_spawned();
            for owner in self.shared.remote.take() {
                self.enqueue(owner);
            }
            let owners: Vec<Owner> = self.engine.borrow().owners_with_finished().collect();
            for owner in owners {
                self.enqueue(owner);
            }
            // One pass: every VM queued now takes one turn.
            for _ in 0..self.queue.len() {
                let Some(owner) = self.queue.pop_front() else { break };
                self.queued.remove(&owner);
                let Some(vm) = self.vms.get(&owner) else { continue };
                self.engine.borrow_mut().set_owner(owner);
                let status = vm.step.call::<i64>(()).map_err(|e| RunError::Scheduler(e.to_string()))?;
                match status {
                    0 => {}
                    1 => self.enqueue(owner),
                    _ => self.end_vm(owner),
                }
            }
            if self.vms.is_empty() && self.shared.spawns.borrow().is_empty() {
                return Ok(self.main_status);
            }
            let idle = self.queue.is_empty() && self.shared.spawns.borrow().is_empty();
            let woken = !self.shared.remote.woken.lock().unwrap_or_else(std::sync::PoisonError::into_inner).is_empty();
            let block = idle && !woken;
            if block && self.engine.borrow().pending() == 0 {
                // Every VM left waits for a message that no VM can send any more.
                self.report_deadlock();
                return Ok(1);
            }
            self.engine.borrow_mut().wait_routed(block).map_err(|e| {
                RunError::Scheduler(format!("the IO engine failed to wait: {}", crate::sys::errno::code_of(&e)))
            })?;
        }
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
            drop(vm);
            self.engine.borrow_mut().forget_owner(owner);
        }
    }

    fn report_deadlock(&self) {
        eprintln!(
            "luacell: {} actor(s) wait for messages that no running actor can send (deadlock); stopping",
            self.vms.len()
        );
    }
}

fn env_events(events: &Arc<VmEvents>) -> Arc<VmEvents> {
    events.clone()
}

fn env(lua: &Lua) -> mlua::Result<mlua::AppDataRef<'_, VmEnv>> {
    lua.app_data_ref::<VmEnv>()
        .ok_or_else(|| mlua::Error::RuntimeError("invariant: the VM has an actor environment".into()))
}

fn channel_sender(v: &Value) -> Option<Sender> {
    let Value::UserData(ud) = v else { return None };
    let ch = ud.borrow::<Channel>().ok()?;
    ch.0.borrow().as_ref().cloned()
}

fn new_channel(lua: &Lua, sender: Sender) -> mlua::Result<Value> {
    Ok(Value::UserData(lua.create_userdata(Channel(RefCell::new(Some(sender))))?))
}

/// Installs the raw actor primitives (`RAW.actor`) for the prelude's `lua/actor.lua`.
fn install(lua: &Lua, raw: &Table, events: Arc<VmEvents>) -> mlua::Result<()> {
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

    // send(channel, msg, token) -> true | false (full: the fiber waits for `token`) | FAIL, code, detail
    t.set(
        "send",
        lua.create_function(|lua, (ch, msg, token): (AnyUserData, Value, u64)| -> mlua::Result<Ret3> {
            let Some(sender) = ch.borrow::<Channel>().ok().and_then(|c| c.0.borrow().as_ref().cloned()) else {
                return fail3(lua, "closed", "Channel closed");
            };
            let (limits, waker, own) = {
                let e = env(lua)?;
                (e.limits, e.waker.clone(), e.mailbox.clone())
            };
            let sender_of = |v: &Value| match v {
                Value::UserData(ud) if ud.is::<InboxRef>() => Some(Sender::new(own.clone())),
                _ => channel_sender(v),
            };
            let m = match mailbox::from_lua(&msg, &limits, &sender_of) {
                Ok(m) => m,
                Err(r) => return fail3(lua, "EINVAL", format!("cannot send {}", r.0)),
            };
            match sender.mailbox().send(m, &waker, token).0 {
                Sent::Delivered => Ok(ret1(Value::Boolean(true))),
                Sent::Full => Ok(ret1(Value::Boolean(false))),
                Sent::Closed => fail3(lua, "closed", "Channel closed"),
            }
        })?,
    )?;

    t.set(
        "close",
        lua.create_function(|_, ch: AnyUserData| {
            if let Ok(c) = ch.borrow::<Channel>() {
                c.0.borrow_mut().take();
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

    // spawn(path, capacity) -> channel | FAIL, code, detail
    t.set(
        "spawn",
        lua.create_function(|lua, (path, capacity): (String, Option<i64>)| -> mlua::Result<Ret3> {
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
            let e = env(lua)?;
            let shared = e.shared.clone();
            let owner = shared.next.get();
            shared.next.set(owner + 1);
            let events = Arc::new(VmEvents::default());
            let waker = new_waker(&shared.remote, owner, &events);
            let mailbox = Mailbox::new(capacity, waker);
            let sender = Sender::new(mailbox.clone());
            shared.spawns.borrow_mut().push(SpawnRequest { owner, events, mailbox, source, path: PathBuf::from(path) });
            drop(e);
            Ok(ret1(new_channel(lua, sender)?))
        })?,
    )?;

    t.set("vm_id", lua.create_function(|lua, ()| Ok(env(lua)?.owner))?)?;
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
    t.set("inbox", lua.create_userdata(InboxRef)?)?;
    raw.set("actor", t)?;
    Ok(())
}
