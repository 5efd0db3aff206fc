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
//!   end `{ended=true, code=N | signal=N, limit=NAME?}`.
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
use crate::sandbox::{Features, Payload, Plan, Profile, Sandboxed, spawn};
use crate::sys::cmsg;
use crate::sys::process::{self, ExitStatus};

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

struct Child {
    id: i64,
    sandbox: Sandboxed,
    plan: Plan,
    report: OwnedFd,
    deadline: Option<Instant>,
    wall_hit: bool,
}

fn serve(ctl: OwnedFd) -> ! {
    // Die with the main process; the control socket's end of stream tells the same, and covers
    // the race where it died before this line.
    let _ = process::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    let _ = process::prctl(libc::PR_SET_NAME, c"luacell-supvr".as_ptr() as libc::c_ulong);
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
    let mut ctl = Channel::new(ctl, Limits::DEFAULT);
    let mut features: Option<Features> = None;
    let mut children: Vec<Child> = Vec::new();
    loop {
        let now = Instant::now();
        let timeout = children
            .iter()
            .filter_map(|c| c.deadline)
            .min()
            .map_or(-1, |d| i32::try_from(d.saturating_duration_since(now).as_millis()).unwrap_or(i32::MAX));
        let mut fds = vec![ctl.as_fd()];
        fds.extend(children.iter().map(|c| c.sandbox.pidfd()));
        let ready = match crate::sys::poll_readable(&fds, timeout) {
            Ok(r) => r,
            Err(_) => shutdown(&mut children),
        };
        drop(fds);
        if ready[0] {
            match ctl.recv() {
                Ok(v) => handle(v, &mut children, &mut features),
                Err(ChannelError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                // End of stream: the main process is gone. Anything else from our own main
                // process means it is broken: stop too.
                Err(_) => shutdown(&mut children),
            }
        }
        // Readiness of the pidfds is in `ready[1..]`, in the order of `children`.
        let ended: Vec<usize> = (0..children.len()).filter(|&i| ready.get(i + 1).copied().unwrap_or(false)).collect();
        for i in ended.into_iter().rev() {
            finish(children.swap_remove(i));
        }
        let now = Instant::now();
        for c in &mut children {
            if c.deadline.is_some_and(|d| now >= d) {
                let _ = c.sandbox.kill(libc::SIGKILL);
                c.wall_hit = true;
                c.deadline = None;
            }
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

fn shutdown(children: &mut Vec<Child>) -> ! {
    for c in children.iter() {
        let _ = c.sandbox.kill(libc::SIGKILL);
    }
    // Dropping a Sandboxed kills and reaps it.
    children.clear();
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

fn handle(mut v: Value, children: &mut Vec<Child>, features: &mut Option<Features>) {
    match text(&v, "op").as_deref() {
        // The main process is ending: every child dies before it closes its ends of their
        // channels, so none of them sees its peers go and reacts (see `child::stop_supervisor`).
        Some("shutdown") => shutdown(children),
        Some("kill") => {
            let (Some(id), Some(sig)) = (int(&v, "id"), int(&v, "signal")) else { return };
            if let Some(c) = children.iter().find(|c| c.id == id) {
                let _ = c.sandbox.kill(i32::try_from(sig).unwrap_or(libc::SIGKILL));
            }
        }
        Some("spawn") => {
            let (Some(report_fd), Some(inbox)) = (take_fd(&mut v, "report"), take_fd(&mut v, "inbox")) else {
                return;
            };
            match spawn_child(&v, inbox, features) {
                Ok((sandbox, plan)) => {
                    report(&report_fd, &table(vec![("pid", Value::Int(i64::from(sandbox.pid())))]));
                    let deadline = plan.wall_seconds.map(|s| Instant::now() + Duration::from_secs(s));
                    children.push(Child {
                        id: int(&v, "id").unwrap_or(0),
                        sandbox,
                        plan,
                        report: report_fd,
                        deadline,
                        wall_hit: false,
                    });
                }
                Err(e) => report(&report_fd, &table(vec![("error", Value::Bytes(e.into_bytes()))])),
            }
        }
        _ => {}
    }
}

fn spawn_child(v: &Value, inbox: OwnedFd, features: &mut Option<Features>) -> Result<(Sandboxed, Plan), String> {
    let name = text(v, "name").unwrap_or_else(|| "inline profile".into());
    let json = text(v, "profile").ok_or("the request has no profile")?;
    let profile = Profile::parse(&json, &name).map_err(|e| e.to_string())?;
    let features = features.get_or_insert_with(Features::probe);
    // Our own Lua, compiled once here: every child inherits the bytecode instead of parsing it.
    crate::lua::precompile().map_err(|e| e.to_string())?;
    let plan = Plan::build(&name, &profile, features, process::ids()).map_err(|e| e.to_string())?;
    let module = match field(v, "module") {
        Some(Value::Buffer(b)) => b.clone(),
        _ => return Err("the request has no module".into()),
    };
    let init = crate::actor::SandboxedInit {
        module,
        path: text(v, "path").unwrap_or_default(),
        heap_limit: profile.limits.lua_heap_bytes.value().and_then(|b| usize::try_from(b).ok()),
        message_bytes: profile.limits.message_bytes.value().and_then(|b| usize::try_from(b).ok()),
        mailbox: int(v, "mailbox")
            .and_then(|m| usize::try_from(m).ok())
            .unwrap_or(crate::actor::mailbox::DEFAULT_CAPACITY),
        hooks: matches!(field(v, "hooks"), Some(Value::Bool(true))),
    };
    let payload = Payload::Function(Box::new(move || crate::actor::run_sandboxed(init)));
    let sandbox = spawn(&plan, payload, &[inbox.as_fd()]).map_err(|e| crate::cli::error_chain(&e))?;
    Ok((sandbox, plan))
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
