//! The zygote: the process that clones every sandboxed child, for the supervisor.
//!
//! Trust zone: trusted, single-threaded, and clean. The supervisor forks it before it reads its
//! first request, so the zygote's memory holds nothing of any request, and it never receives
//! one: it is only told the shape of the next child (which namespaces, which id maps). Each
//! child is a stem (`sandbox::Stem`) cloned from the zygote as the supervisor's child
//! (`CLONE_PARENT`), so the copy of memory a sandboxed actor starts with holds nothing of other
//! actors' requests: their profiles (environment values included) and their modules reach only
//! the child they are for, through its assignment socket. The supervisor itself, which does see
//! every request, clones nothing.
//!
//! Protocol (wire format, on a `SOCK_SEQPACKET` pair; one answer per request, in order):
//! - supervisor → zygote: `{flags=N}` with, for a user namespace, `{inside_uid, outside_uid,
//!   inside_gid, outside_gid, by_parent}`;
//! - zygote → supervisor: `{pid=N, pidfd=FD, report=FD, assign=FD}` (the stem's pid, a pidfd of
//!   it, the read end of its report pipe, the supervisor's end of its assignment socket) or
//!   `{error=TEXT}`, with `unreaped=FD` (a pidfd) when a stem was cloned and then killed before
//!   it could be handed over: it is the supervisor's child, so the supervisor reaps it.
//!
//! The zygote dies with the supervisor (parent-death signal, and end of stream on its socket).

use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use super::{int, take_assignment, take_fd, text};
use crate::actor::child::{field, table};
use crate::ipc::channel::{Channel, ChannelError};
use crate::ipc::wire::{Limits, Value};
use crate::sandbox::plan::IdMap;
use crate::sandbox::{Features, Shape, StemParts};
use crate::sys::cmsg;
use crate::sys::process;

/// The supervisor's handle on its zygote.
pub struct Zygote {
    ch: Channel,
    pidfd: OwnedFd,
}

impl Zygote {
    /// Forks the zygote. The caller must not have read any request yet: the zygote keeps a copy
    /// of its memory as it is now.
    pub fn start() -> io::Result<Zygote> {
        let (mine, theirs) = cmsg::seqpacket_pair()?;
        match process::fork()? {
            Some(pid) => {
                drop(theirs);
                let pidfd = process::pidfd_open(pid)?;
                Ok(Zygote { ch: Channel::new(mine, Limits::DEFAULT), pidfd })
            }
            None => {
                drop(mine);
                serve(theirs)
            }
        }
    }

    /// Its socket, for polling: an answer to [`Zygote::ask`] is readable there.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.ch.as_fd()
    }

    /// Asks for a stem of `shape`; the answer comes with [`Zygote::answer`].
    pub fn ask(&mut self, shape: Shape) -> Result<(), String> {
        let mut fields = vec![("flags", Value::Int(i64::from(shape.clone_flags)))];
        if let Some(m) = shape.id_map {
            fields.extend([
                ("inside_uid", Value::Int(i64::from(m.inside_uid))),
                ("outside_uid", Value::Int(i64::from(m.outside_uid))),
                ("inside_gid", Value::Int(i64::from(m.inside_gid))),
                ("outside_gid", Value::Int(i64::from(m.outside_gid))),
                ("by_parent", Value::Bool(m.by_parent)),
            ]);
        }
        self.ch.send(&table(fields)).map_err(|e| format!("cannot reach the supervisor's zygote: {e}"))
    }

    /// The next answer (blocking): the parts of a stem, or why the zygote could not clone it.
    /// `Err` when the zygote itself is gone or broke the protocol.
    pub fn answer(&mut self) -> Result<Result<StemParts, String>, String> {
        let mut v = loop {
            match self.ch.recv() {
                Ok(v) => break v,
                Err(ChannelError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(format!("the supervisor's zygote is gone ({e})")),
            }
        };
        if let Some(why) = text(&v, "error") {
            // A stem the zygote cloned and killed before handing it over: ours to reap (it was
            // killed, so the wait is short), or it would stay a zombie.
            if let Some(lost) = take_fd(&mut v, "unreaped") {
                let _ = process::wait_pidfd(lost.as_fd(), false);
            }
            return Ok(Err(why));
        }
        let parts = (|| {
            let pid = libc::pid_t::try_from(int(&v, "pid")?).ok()?;
            let pidfd = take_fd(&mut v, "pidfd")?;
            let report = take_fd(&mut v, "report")?;
            let assign = take_fd(&mut v, "assign")?;
            Some(StemParts { pid, pidfd, report, assign })
        })();
        parts.map(Ok).ok_or_else(|| String::from("the supervisor's zygote sent a malformed answer"))
    }
}

impl Drop for Zygote {
    /// Kills and reaps it (it is the supervisor's child).
    fn drop(&mut self) {
        let _ = process::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
        let _ = process::wait_pidfd(self.pidfd.as_fd(), false);
    }
}

fn shape(v: &Value) -> Option<Shape> {
    let clone_flags = libc::c_int::try_from(int(v, "flags")?).ok()?;
    let id = |name: &str| int(v, name).and_then(|i| u32::try_from(i).ok());
    let id_map = match field(v, "by_parent") {
        None => None,
        Some(Value::Bool(by_parent)) => Some(IdMap {
            inside_uid: id("inside_uid")?,
            outside_uid: id("outside_uid")?,
            inside_gid: id("inside_gid")?,
            outside_gid: id("outside_gid")?,
            by_parent: *by_parent,
        }),
        Some(_) => return None,
    };
    Some(Shape { clone_flags, id_map })
}

fn serve(sock: OwnedFd) -> ! {
    let _ = process::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    process::set_name(c"luacell-zygote");
    let kept = [sock.as_raw_fd()];
    if process::close_all_except(&kept).is_err() {
        process::exit_now(1);
    }
    let mut ch = Channel::new(sock, Limits::DEFAULT);
    let mut features: Option<Features> = None;
    loop {
        let v = match ch.recv() {
            Ok(v) => v,
            Err(ChannelError::Io(e)) if e.kind() == io::ErrorKind::Interrupted => continue,
            // End of stream: the supervisor is gone or dropped us.
            Err(_) => process::exit_now(0),
        };
        let answer = match shape(&v) {
            None => table(vec![("error", Value::Bytes(b"malformed request to the zygote".to_vec()))]),
            Some(shape) => {
                let features = features.get_or_insert_with(|| {
                    // luacell's own Lua, compiled once here: every child inherits the bytecode
                    // instead of parsing it. (A failure leaves each child to compile it.)
                    let _ = crate::lua::precompile();
                    Features::probe()
                });
                match crate::sandbox::grow(shape, take_assignment(features.clone(), process::ids())) {
                    Ok(p) => table(vec![
                        ("pid", Value::Int(i64::from(p.pid))),
                        ("pidfd", Value::Fd(p.pidfd)),
                        ("report", Value::Fd(p.report)),
                        ("assign", Value::Fd(p.assign)),
                    ]),
                    Err(e) => {
                        let mut fields = vec![("error", Value::Bytes(crate::cli::error_chain(&e.error).into_bytes()))];
                        // A clone killed before it was handed over is the supervisor's child.
                        fields.extend(e.unreaped.map(|fd| ("unreaped", Value::Fd(fd))));
                        table(fields)
                    }
                }
            }
        };
        // The descriptors go to the supervisor; dropping `answer` closes the zygote's copies.
        if ch.send(&answer).is_err() {
            process::exit_now(0);
        }
    }
}
