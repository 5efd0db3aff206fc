//! The supervisor: the process that spawns sandboxed actors.
//!
//! Trust zone: trusted, single-threaded, and holding nothing worth stealing. `main` forks it
//! first thing, before any thread exists and before the script, its arguments or the environment
//! are used; it then clears its environment and overwrites the argument and environment strings
//! it inherited, so a sandboxed actor (a fork of it) finds none of them in its memory. It never
//! runs Lua. What one child needs (its profile, its module's source) comes in that child's spawn
//! request and goes to that child alone.
//!
//! Protocol (wire-format messages, `docs/architecture.md` has the table):
//! - main → supervisor, on the control socket: `{op='spawn', id, name, profile, module, path,
//!   mailbox, hooks, inbox=FD, report=FD}`, `{op='kill', id, signal}` and, as the main process
//!   ends, `{op='shutdown'}` (kill every child, reap them, exit);
//! - supervisor → main, on each child's report socket: `{pid=N}` or `{error=TEXT}`, then at its
//!   end `{ended=true, code=N | signal=N, limit=NAME?}`;
//! - sandboxed actor → supervisor, on its request socket (fd 4 in the actor, untrusted):
//!   `{op='spawn', ...}` as above, for a profile that narrows its own and within the quota of its
//!   top-level actor, and `{op='kill', id, signal}` for the actors it started; the answers go to
//!   the report socket it sent, as for the main process.
//!
//! Every child is cloned by the sandbox layer ([`crate::sandbox::spawn`]), killed through its
//! pidfd, reaped here, and its end reported. When the main process goes (its control socket
//! reaches end of stream, or the parent-death signal comes), the supervisor kills every child
//! and exits; the children also carry a parent-death signal aimed at the supervisor.

use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

use crate::actor::child::{field, table};
use crate::ipc::channel::{Channel, ChannelError};
use crate::ipc::wire::{Key, Limits, Value};
use crate::sandbox::{Features, Payload, Plan, Profile, Sandboxed, Shape, SpawnError, Stem, Take};
use crate::sys::cmsg;
use crate::sys::process::{self, ExitStatus};

mod zygote;

use zygote::Zygote;

/// Forks the supervisor. Returns the main process's end of the control socket and a pidfd of
/// the supervisor; the supervisor itself never returns from here.
pub fn start() -> io::Result<(OwnedFd, OwnedFd)> {
    let (main_end, sup_end) = cmsg::seqpacket_pair()?;
    match process::fork()? {
        Some(pid) => Ok((main_end, process::pidfd_open(pid)?)),
        None => {
            drop(main_end);
            serve(sup_end)
        }
    }
}

/// Who asked for a child: the main process, or a sandboxed actor (by its supervisor key).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Owner {
    Main,
    Actor(u64),
}

struct Child {
    /// The supervisor's own name for it (ids come from whoever asked, so they may collide).
    key: u64,
    owner: Owner,
    /// The id its owner gave it, for `kill`.
    id: i64,
    /// The key of the top-level actor it descends from (itself when the main process asked).
    root: u64,
    /// 0 for an actor the main process asked for, its owner's depth + 1 otherwise.
    depth: u32,
    /// The profile it runs under: what the actors it starts may only narrow.
    profile: Profile,
    hooks: bool,
    sandbox: Sandboxed,
    plan: Plan,
    report: OwnedFd,
    deadline: Option<Instant>,
    wall_hit: bool,
    /// Its end of the socket on which it asks for actors of its own (untrusted input); gone once
    /// it closed it or broke the rules on it.
    requests: Option<Channel>,
}

/// At most this many actors alive below one top-level actor, whatever its `processes` limit.
const MAX_DESCENDANTS: u64 = 64;

struct State {
    children: Vec<Child>,
    features: Option<Features>,
    next_key: u64,
    /// Clones the children; `None` once it is gone (spawns then fail, saying so).
    zygote: Option<Zygote>,
    /// The next child, cloned ahead of its request in the shape of the last one (see [`Stem`]).
    stem: Option<Stem>,
    /// The shape of the stem the zygote is cloning (its answer not read yet).
    growing: Option<Shape>,
}

/// The supervisor's process name (and its children's, until they exec or rename themselves).
const SUPERVISOR_NAME: &std::ffi::CStr = c"luacell-supvr";

fn serve(ctl: OwnedFd) -> ! {
    // Die with the main process; the control socket's end of stream tells the same, and covers
    // the race where it died before this line.
    let _ = process::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    process::set_name(SUPERVISOR_NAME);
    // Huge pages would make every fork copy and fault 2 MiB at a time, for a process (and
    // children) of a few hundred KiB each; the children keep this (see `sandbox::apply`).
    let _ = process::prctl(libc::PR_SET_THP_DISABLE, 1);
    process::clear_environment();
    process::scrub_initial_strings();
    // Keyboard signals go to the whole foreground group: the main process decides about them.
    process::ignore_signal(libc::SIGINT);
    process::ignore_signal(libc::SIGQUIT);
    // Only stdio (which children may share per their profile) and the control socket stay.
    let ctl = match keep_only(ctl) {
        Ok(fd) => fd,
        Err(_) => process::exit_now(1),
    };
    // Before the first request is read: the zygote's memory must hold none.
    let zygote = Zygote::start().ok();
    let mut ctl = Channel::new(ctl, Limits::DEFAULT);
    let mut st = State { children: Vec::new(), features: None, next_key: 1, zygote, stem: None, growing: None };
    loop {
        let now = Instant::now();
        let timeout = st
            .children
            .iter()
            .filter_map(|c| c.deadline)
            .min()
            .map_or(-1, |d| i32::try_from(d.saturating_duration_since(now).as_millis()).unwrap_or(i32::MAX));
        // Polled: the control socket, the zygote's socket (while it lives), every child's pidfd,
        // then every open request socket.
        let mut fds = vec![ctl.as_fd()];
        fds.extend(st.zygote.as_ref().map(Zygote::as_fd));
        let first_child = fds.len();
        fds.extend(st.children.iter().map(|c| c.sandbox.pidfd()));
        let asking: Vec<u64> = st.children.iter().filter(|c| c.requests.is_some()).map(|c| c.key).collect();
        fds.extend(st.children.iter().filter_map(|c| c.requests.as_ref().map(Channel::as_fd)));
        let ready = match crate::sys::poll_readable(&fds, timeout) {
            Ok(r) => r,
            Err(_) => shutdown(&mut st),
        };
        drop(fds);
        let n = st.children.len();
        let ended: Vec<u64> = (0..n)
            .filter(|&i| ready.get(first_child + i).copied().unwrap_or(false))
            .map(|i| st.children[i].key)
            .collect();
        let requests: Vec<u64> = asking
            .iter()
            .enumerate()
            .filter(|(i, _)| ready.get(first_child + n + i).copied().unwrap_or(false))
            .map(|(_, k)| *k)
            .collect();
        if first_child == 2 && ready[1] {
            collect_stem(&mut st);
        }
        if ready[0] {
            match ctl.recv() {
                Ok(v) => handle_main(v, &mut st),
                Err(ChannelError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                // End of stream: the main process is gone. Anything else from our own main
                // process means it is broken: stop too.
                Err(_) => shutdown(&mut st),
            }
        }
        for key in requests {
            handle_actor(key, &mut st);
        }
        for key in ended {
            if let Some(i) = st.children.iter().position(|c| c.key == key) {
                let child = st.children.swap_remove(i);
                // Nothing outlives the actor that started it: its own actors die with it (and
                // theirs when they are collected in turn).
                for c in st.children.iter().filter(|c| c.owner == Owner::Actor(key)) {
                    let _ = c.sandbox.kill(libc::SIGKILL);
                }
                finish(child);
            }
        }
        let now = Instant::now();
        let expired: Vec<u64> =
            st.children.iter().filter(|c| c.deadline.is_some_and(|d| now >= d)).map(|c| c.key).collect();
        for key in expired {
            if let Some(c) = st.children.iter_mut().find(|c| c.key == key) {
                c.wall_hit = true;
                c.deadline = None;
            }
            kill_tree(key, &mut st.children);
        }
    }
}

/// Moves the control socket to descriptor 3 and closes every other one above stdio.
fn keep_only(ctl: OwnedFd) -> io::Result<OwnedFd> {
    let raw = ctl.as_raw_fd();
    if raw != 3 {
        process::dup_to(raw, 3, true)?;
        drop(ctl);
    } else {
        std::mem::forget(ctl);
    }
    process::close_range(4, u32::MAX)?;
    Ok(process::adopt_arranged(3))
}

fn shutdown(st: &mut State) -> ! {
    // The stems first: they hold nothing yet (dropping one kills and reaps it), and one being
    // cloned is collected to be dropped too; then the zygote.
    st.stem = None;
    if st.growing.is_some() {
        collect_stem(st);
        st.stem = None;
    }
    st.zygote = None;
    let children = &mut st.children;
    // The deepest first, each killed and reaped before the next (dropping a Sandboxed kills and
    // reaps it): no actor sees the one that started it vanish.
    children.sort_by_key(|c| std::cmp::Reverse(c.depth));
    for c in children.drain(..) {
        drop(c);
    }
    process::exit_now(0)
}

fn int(v: &Value, name: &str) -> Option<i64> {
    match field(v, name) {
        Some(Value::Int(i)) => Some(*i),
        _ => None,
    }
}

fn text(v: &Value, name: &str) -> Option<String> {
    match field(v, name) {
        Some(Value::Bytes(b)) => String::from_utf8(b.clone()).ok(),
        _ => None,
    }
}

fn take_fd(v: &mut Value, name: &str) -> Option<OwnedFd> {
    let Value::Table(entries) = v else { return None };
    let i = entries.iter().position(|(k, _)| matches!(k, Key::Bytes(b) if b == name.as_bytes()))?;
    match entries.swap_remove(i).1 {
        Value::Fd(fd) => Some(fd),
        _ => None,
    }
}

fn report(fd: &OwnedFd, v: &Value) {
    let mut out = Vec::new();
    if let Ok(fds) = crate::ipc::wire::encode_into(v, &Limits::DEFAULT, &mut out) {
        debug_assert!(fds.is_empty());
        // The main process may have stopped listening (the spawner ended): nothing to do then.
        let _ = cmsg::send_with(fd.as_fd(), &out, &[], libc::MSG_DONTWAIT);
    }
}

/// A message from the main process (trusted).
fn handle_main(mut v: Value, st: &mut State) {
    match text(&v, "op").as_deref() {
        // The main process is ending: every child dies before it closes its ends of their
        // channels, so none of them sees its peers go and reacts (see `child::stop_supervisor`).
        Some("shutdown") => shutdown(st),
        Some("kill") => kill(&v, Owner::Main, &mut st.children),
        Some("spawn") => {
            let (Some(report_fd), Some(inbox)) = (take_fd(&mut v, "report"), take_fd(&mut v, "inbox")) else {
                return;
            };
            let hooks = matches!(field(&v, "hooks"), Some(Value::Bool(true)));
            start_child(&v, inbox, report_fd, Owner::Main, hooks, st);
        }
        _ => {}
    }
}

/// A message from sandboxed actor `key` on its request socket: untrusted. A request that breaks
/// the wire rules closes that socket (the actor can start no more actors); anything else it may
/// ask is checked against what it holds itself.
fn handle_actor(key: u64, st: &mut State) {
    let Some(asker) = st.children.iter_mut().find(|c| c.key == key) else { return };
    let Some(sock) = asker.requests.as_mut() else { return };
    let mut v = match sock.recv() {
        Ok(v) => v,
        Err(ChannelError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => return,
        Err(ChannelError::Closed) => {
            asker.requests = None;
            return;
        }
        Err(e) => {
            eprintln!(
                "luacell: a sandboxed actor broke the rules of its request channel ({e}); it can start no more actors"
            );
            asker.requests = None;
            return;
        }
    };
    let (hooks, root) = (asker.hooks, asker.root);
    match text(&v, "op").as_deref() {
        Some("kill") => kill(&v, Owner::Actor(key), &mut st.children),
        Some("spawn") => {
            let (Some(report_fd), Some(inbox)) = (take_fd(&mut v, "report"), take_fd(&mut v, "inbox")) else {
                return;
            };
            let live = st.children.iter().filter(|c| c.root == root && c.key != root).count() as u64;
            let quota = st
                .children
                .iter()
                .find(|c| c.key == root)
                .and_then(|r| r.profile.limits.processes.value())
                .map_or(MAX_DESCENDANTS, |p| p.min(MAX_DESCENDANTS));
            if live >= quota {
                let why =
                    format!("the actors below this top-level actor are at their quota ({quota}: its limits.processes)");
                report(&report_fd, &table(vec![("error", Value::Bytes(why.into_bytes()))]));
                return;
            }
            start_child(&v, inbox, report_fd, Owner::Actor(key), hooks, st);
        }
        _ => {}
    }
}

/// `{op='kill', id, signal}` from `owner`: only its own children.
fn kill(v: &Value, owner: Owner, children: &mut Vec<Child>) {
    let (Some(id), Some(sig)) = (int(v, "id"), int(v, "signal")) else { return };
    let sig = i32::try_from(sig).ok().filter(|s| (1..=64).contains(s)).unwrap_or(libc::SIGKILL);
    let Some(target) = children.iter().find(|c| c.owner == owner && c.id == id).map(|c| c.key) else { return };
    if sig == libc::SIGKILL {
        kill_tree(target, children);
    } else if let Some(c) = children.iter().find(|c| c.key == target) {
        let _ = c.sandbox.kill(sig);
    }
}

/// Kills actor `key` and every actor below it, the deepest first, each reaped (and reported)
/// before the next: none of them sees the actor that started it vanish and reacts.
fn kill_tree(key: u64, children: &mut Vec<Child>) {
    let mut below = vec![key];
    let mut i = 0;
    while i < below.len() {
        let k = below[i];
        below.extend(children.iter().filter(|c| c.owner == Owner::Actor(k)).map(|c| c.key));
        i += 1;
    }
    // The actor itself is collected by the loop when its pidfd says it ended.
    let target = below.remove(0);
    below.sort_by_key(|k| std::cmp::Reverse(children.iter().find(|c| c.key == *k).map_or(0, |c| c.depth)));
    for k in below {
        if let Some(i) = children.iter().position(|c| c.key == k) {
            let child = children.swap_remove(i);
            let _ = child.sandbox.kill(libc::SIGKILL);
            finish(child);
        }
    }
    if let Some(c) = children.iter().find(|c| c.key == target) {
        let _ = c.sandbox.kill(libc::SIGKILL);
    }
}

/// Starts the child `v` asks for and reports its pid (or why not) on `report_fd`.
fn start_child(v: &Value, inbox: OwnedFd, report_fd: OwnedFd, owner: Owner, hooks: bool, st: &mut State) {
    let parent = match owner {
        Owner::Main => None,
        Owner::Actor(k) => st.children.iter().find(|c| c.key == k).map(|c| c.profile.clone()),
    };
    let key = st.next_key;
    st.next_key += 1;
    match spawn_child(v, inbox, parent.as_ref(), hooks, st) {
        Ok((sandbox, plan, profile, requests)) => {
            report(&report_fd, &table(vec![("pid", Value::Int(i64::from(sandbox.pid())))]));
            let deadline = plan.wall_seconds.map(|s| Instant::now() + Duration::from_secs(s));
            let shape = Shape::of(&plan);
            let (root, depth) = match owner {
                Owner::Main => (key, 0),
                Owner::Actor(k) => st.children.iter().find(|c| c.key == k).map_or((key, 0), |c| (c.root, c.depth + 1)),
            };
            st.children.push(Child {
                key,
                owner,
                id: int(v, "id").unwrap_or(0),
                root,
                depth,
                profile,
                hooks,
                sandbox,
                plan,
                report: report_fd,
                deadline,
                wall_hit: false,
                requests: Some(Channel::new(requests, Limits::DEFAULT)),
            });
            // After the reply: the zygote clones the next one while this actor starts.
            ask_for_stem(st, shape);
        }
        Err(e) => report(&report_fd, &table(vec![("error", Value::Bytes(e.into_bytes()))])),
    }
}

/// Asks the zygote for a stem of `shape` unless one is there or on its way; the answer is
/// collected by the loop ([`collect_stem`]).
fn ask_for_stem(st: &mut State, shape: Shape) {
    if st.stem.is_some() || st.growing.is_some() {
        return;
    }
    let Some(z) = st.zygote.as_mut() else { return };
    match z.ask(shape) {
        Ok(()) => st.growing = Some(shape),
        Err(_) => st.zygote = None,
    }
}

/// Reads the zygote's answer to the stem being grown (blocking: it is on its way). A stem the
/// zygote could not clone leaves none; the next spawn asks again and reports why.
fn collect_stem(st: &mut State) {
    let Some(z) = st.zygote.as_mut() else {
        st.growing = None;
        return;
    };
    match z.answer() {
        Ok(Ok(parts)) => {
            let shape = st.growing.take();
            // An answer nobody asked for is a stem all the same: adopted, so that dropping it
            // kills and reaps it.
            let stem = Stem::adopt(parts, shape.unwrap_or(Shape { clone_flags: 0, id_map: None }));
            st.stem = shape.map(|_| stem);
        }
        Ok(Err(_)) => st.growing = None,
        Err(_) => {
            st.growing = None;
            st.zygote = None;
        }
    }
}

/// A stem of `shape`: the one waiting if it fits, else the one being grown if it fits, else a
/// new one (waited for). Misfits are dropped (killed and reaped).
fn stem_for(st: &mut State, shape: Shape) -> Result<Stem, String> {
    if let Some(stem) = st.stem.take()
        && stem.shape() == shape
    {
        return Ok(stem);
    }
    if st.growing.is_some() {
        collect_stem(st);
        if let Some(stem) = st.stem.take()
            && stem.shape() == shape
        {
            return Ok(stem);
        }
    }
    let gone = || String::from("cannot clone the actor: the supervisor's zygote is gone");
    let z = st.zygote.as_mut().ok_or_else(gone)?;
    if z.ask(shape).is_err() {
        st.zygote = None;
        return Err(gone());
    }
    match z.answer() {
        Ok(Ok(parts)) => Ok(Stem::adopt(parts, shape)),
        Ok(Err(why)) => Err(why),
        Err(why) => {
            st.zygote = None;
            Err(why)
        }
    }
}

type Started = (Sandboxed, Plan, Profile, OwnedFd);

/// Starts the child: its inbox at descriptor 3, its end of a new request socket at 4. A child
/// asked for by an actor (`parent` is that actor's profile) must narrow it. The request goes to
/// a stem of the plan's shape; if that stem is gone before it took the request, to a second one.
fn spawn_child(
    v: &Value,
    inbox: OwnedFd,
    parent: Option<&Profile>,
    hooks: bool,
    st: &mut State,
) -> Result<Started, String> {
    let (name, profile) = parse_profile(v)?;
    if let Some(parent) = parent {
        crate::sandbox::narrow::check(&profile, parent).map_err(|e| format!("profile {name}: {e}"))?;
    }
    let features = st.features.get_or_insert_with(Features::probe);
    // The supervisor's own plan: it checks the request, and names a failed step or a limit
    // later. The stem makes the same one from the same request.
    let plan = child_plan(v, &name, &profile, features, process::ids())?;
    let (mine, theirs) = cmsg::seqpacket_pair().map_err(|e| format!("cannot make its request socket: {e}"))?;
    let shape = Shape::of(&plan);
    let mut tries = 0;
    let sandbox = loop {
        tries += 1;
        let stem = stem_for(st, shape)?;
        match assign(stem, v, hooks, &inbox, &theirs, &plan) {
            Some(Ok(sandbox)) => break sandbox,
            // Gone before it read the request (killed from outside): nothing ran, try another.
            None | Some(Err(SpawnError::SetupDied(_))) if tries < 2 => continue,
            None => return Err(String::from("cannot hand the request to the process cloned for it: it is gone")),
            Some(Err(e)) => return Err(crate::cli::error_chain(&e)),
        }
    };
    Ok((sandbox, plan, profile, mine))
}

fn parse_profile(v: &Value) -> Result<(String, Profile), String> {
    let name = text(v, "name").unwrap_or_else(|| "inline profile".into());
    let json = text(v, "profile").ok_or("the request has no profile")?;
    let profile = Profile::parse(&json, &name).map_err(|e| e.to_string())?;
    Ok((name, profile))
}

/// The plan from a spawn request: made by the supervisor, and again by a stem from the same
/// request and the same features and ids, so both hold the same plan.
fn child_plan(v: &Value, name: &str, profile: &Profile, features: &Features, ids: (u32, u32)) -> Result<Plan, String> {
    if !matches!(field(v, "module"), Some(Value::Buffer(_))) {
        return Err("the request has no module".into());
    }
    Plan::build(name, profile, features, ids).map_err(|e| e.to_string())
}

/// The actor's start-up from a spawn request (in the stem that runs it).
fn actor_init(v: &Value, profile: &Profile, hooks: bool) -> Option<crate::actor::SandboxedInit> {
    let Some(Value::Buffer(module)) = field(v, "module") else { return None };
    Some(crate::actor::SandboxedInit {
        module: module.clone(),
        path: text(v, "path").unwrap_or_default(),
        heap_limit: profile.limits.lua_heap_bytes.value().and_then(|b| usize::try_from(b).ok()),
        message_bytes: profile.limits.message_bytes.value().and_then(|b| usize::try_from(b).ok()),
        mailbox: int(v, "mailbox")
            .and_then(|m| usize::try_from(m).ok())
            .filter(|m| (1..=1 << 20).contains(m))
            .unwrap_or(crate::actor::mailbox::DEFAULT_CAPACITY),
        hooks,
        cpu_seconds: profile.limits.cpu_seconds.value(),
    })
}

/// Fields of a spawn request a stem needs to rebuild the child's plan and start-up.
const ASSIGNED: [&str; 5] = ["name", "profile", "module", "path", "mailbox"];

/// Hands the request to `stem`. `None` when the stem cannot take it (it died, or the request
/// does not fit one datagram): the stem is dropped (killed and reaped) and the caller clones
/// afresh.
fn assign(
    stem: Stem,
    v: &Value,
    hooks: bool,
    inbox: &OwnedFd,
    requests: &OwnedFd,
    plan: &Plan,
) -> Option<Result<Sandboxed, crate::sandbox::SpawnError>> {
    let mut fields: Vec<(&str, Value)> = ASSIGNED.iter().filter_map(|&k| Some((k, plain(field(v, k)?)?))).collect();
    fields.push(("hooks", Value::Bool(hooks)));
    // Copies: the originals stay here for a fresh clone, should the stem be gone.
    fields.push(("inbox", Value::Fd(inbox.try_clone().ok()?)));
    fields.push(("requests", Value::Fd(requests.try_clone().ok()?)));
    let request = table(fields);
    let mut out = Vec::new();
    let fds = crate::ipc::wire::encode_into(&request, &Limits::DEFAULT, &mut out).ok()?;
    let fds: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
    cmsg::send_with(stem.assignment(), &out, &fds, libc::MSG_DONTWAIT).ok()?;
    Some(stem.start(plan))
}

/// A copy of a value without descriptors (the fields of a spawn request a stem needs).
fn plain(v: &Value) -> Option<Value> {
    Some(match v {
        Value::Nil => Value::Nil,
        Value::Bool(b) => Value::Bool(*b),
        Value::Int(i) => Value::Int(*i),
        Value::Float(f) => Value::Float(*f),
        Value::Bytes(b) => Value::Bytes(b.clone()),
        Value::Buffer(b) => Value::Buffer(b.clone()),
        Value::Table(_) | Value::Fd(_) | Value::Address(_) => return None,
    })
}

/// The shipped profile a stem builds a plan from while it waits for its request.
const WARM_UP_PROFILE: &str = "untrusted-plugin";

/// What a stem does with its request (see [`Stem`]); runs in the stem.
fn take_assignment(features: Features, ids: (u32, u32)) -> Take {
    Box::new(move |assign: OwnedFd| {
        // While it waits: build the plan of a shipped profile once, and throw it away. The
        // stem's first allocations copy the zygote's allocator pages (copy-on-write faults);
        // done here, they are off the spawn's path (measured: the request's parse and plan
        // took 161 µs in a fresh stem, 26 µs after this). The data is luacell's own.
        if let Ok(profile) = Profile::load(WARM_UP_PROFILE) {
            let _ = Plan::build(WARM_UP_PROFILE, &profile, &features, ids);
        }
        let mut ch = Channel::new(assign, Limits::DEFAULT);
        let mut v = ch.recv().ok()?;
        drop(ch);
        let inbox = take_fd(&mut v, "inbox")?;
        let requests = take_fd(&mut v, "requests")?;
        let hooks = matches!(field(&v, "hooks"), Some(Value::Bool(true)));
        let (name, profile) = parse_profile(&v).ok()?;
        let plan = child_plan(&v, &name, &profile, &features, ids).ok()?;
        let init = actor_init(&v, &profile, hooks)?;
        // `ps` shows what the process now is: it stops being a stem here.
        process::set_name(c"luacell-actor");
        let payload = Payload::Function(Box::new(move || crate::actor::run_sandboxed(init)));
        Some((plan, payload, vec![inbox, requests]))
    })
}

/// The child ended: collect how, and report it.
fn finish(child: Child) {
    let msg = match child.sandbox.wait(&child.plan, None) {
        Ok(outcome) => {
            let mut fields = vec![("ended", Value::Bool(true))];
            match outcome.status {
                ExitStatus::Exited(c) => fields.push(("code", Value::Int(i64::from(c)))),
                ExitStatus::Signaled(s) => fields.push(("signal", Value::Int(i64::from(s)))),
            }
            let limit = if child.wall_hit {
                Some("wall_seconds")
            } else {
                match outcome.limit {
                    Some(crate::sandbox::LimitHit::CpuSeconds) => Some("cpu_seconds"),
                    Some(crate::sandbox::LimitHit::FileSize) => Some("file_size_bytes"),
                    Some(crate::sandbox::LimitHit::WallSeconds) => Some("wall_seconds"),
                    Some(crate::sandbox::LimitHit::ForbiddenSyscall) => Some("seccomp"),
                    None if outcome.status == ExitStatus::Exited(crate::actor::EXIT_HEAP) => Some("lua_heap_bytes"),
                    None => None,
                }
            };
            if let Some(l) = limit {
                fields.push(("limit", Value::Bytes(l.as_bytes().to_vec())));
            }
            table(fields)
        }
        Err(e) => table(vec![
            ("ended", Value::Bool(true)),
            ("error", Value::Bytes(format!("cannot collect its status: {}", crate::cli::error_chain(&e)).into_bytes())),
        ]),
    };
    report(&child.report, &msg);
}
