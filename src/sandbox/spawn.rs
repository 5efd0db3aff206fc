//! The parent side of a spawn: clone with the plan's namespaces, wait for the child's setup
//! report, then wait for its end (forwarding signals, enforcing the wall-time limit) and say how it
//! ended and which limit it hit.
//!
//! Trust zone: the spawning process (the `luacell exec` process now; the supervisor for actors).
//! It must be single-threaded when it clones; `spawn` checks.

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

use super::apply::{self, Payload};
use super::plan::{IdMap, MountStep, Plan};
use super::report::{RECORD_LEN, Record, Step};
use crate::sys::process::{self, ExitStatus, Forked};
use crate::sys::{cmsg, errno};

#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    #[error("cannot spawn a sandbox from a process with {0} threads (fork only copies the calling thread)")]
    Threaded(usize),
    #[error("cannot {what}")]
    Kernel {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the kernel refused to create the sandbox's namespaces: {}; run 'luacell doctor' (user namespaces may be disabled by a sysctl, AppArmor or a container's seccomp)",
        errno::describe(*.0)
    )]
    Namespaces(i32),
    #[error("sandbox setup failed {step}{object}: {}", errno::describe(*.errno))]
    Setup { step: &'static str, object: String, errno: i32 },
    #[error("cannot execute the command: {}", errno::describe(*.errno))]
    Exec { errno: i32 },
    #[error("sandbox setup ended abruptly ({0})")]
    SetupDied(String),
    #[error("the sandbox sent a malformed report")]
    Report,
}

/// What Landlock enforced, as the child's kernel reported it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LandlockStatus {
    Off,
    Fully,
    Partially,
    NotEnforced,
}

/// Which limit ended a sandboxed program.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitHit {
    CpuSeconds,
    FileSize,
    WallSeconds,
    /// A forbidden syscall under a profile that kills.
    ForbiddenSyscall,
}

impl LimitHit {
    pub fn describe(self) -> &'static str {
        match self {
            LimitHit::CpuSeconds => "the CPU-seconds limit",
            LimitHit::FileSize => "the file-size limit",
            LimitHit::WallSeconds => "the wall-time limit",
            LimitHit::ForbiddenSyscall => "a forbidden system call (seccomp)",
        }
    }
}

/// How a sandboxed program ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub status: ExitStatus,
    pub limit: Option<LimitHit>,
}

/// A running sandbox.
#[derive(Debug)]
pub struct Sandboxed {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    report: std::fs::File,
    pub landlock: LandlockStatus,
    deadline: Option<Instant>,
    reaper: bool,
    /// Set once `wait` has collected the status; until then dropping kills and reaps.
    waited: bool,
}

impl Drop for Sandboxed {
    /// A sandbox nobody waits for is killed and reaped, never left running or as a zombie.
    fn drop(&mut self) {
        if !self.waited {
            let _ = process::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
            let _ = process::wait_pidfd(self.pidfd.as_fd(), false);
        }
    }
}

fn kernel(what: &'static str) -> impl FnOnce(std::io::Error) -> SpawnError {
    move |source| SpawnError::Kernel { what, source }
}

/// Starts `payload` in a sandbox made from `plan`. `keep` are descriptors handed to it, at 3, 4,
/// ... in order; stdio follows the plan. Returns once the sandbox is fully set up (or failed).
pub fn spawn(plan: &Plan, payload: Payload, keep: &[BorrowedFd<'_>]) -> Result<Sandboxed, SpawnError> {
    let started = Instant::now();
    let keep_raw: Vec<RawFd> = keep.iter().map(|fd| fd.as_raw_fd()).collect();
    match clone_sandbox(Shape::of(plan), Parent::Me)? {
        Side::Child(c) => c.apply(plan, payload, keep_raw),
        // Only a clone for the caller's parent is lost: ours are reaped in `clone_sandbox`.
        Side::Lost { error, .. } => Err(error),
        Side::Parent(p) => {
            let mut sandbox = Sandboxed::new(p);
            sandbox.deadline = plan.wall_seconds.map(|s| started + Duration::from_secs(s));
            sandbox.until_ready(plan)
        }
    }
}

/// Who the parent of a cloned sandbox is.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    /// The calling process.
    Me,
    /// The caller's own parent (`CLONE_PARENT`): the zygote clones stems for the supervisor.
    Mine,
}

/// The two ends of a clone.
enum Side {
    Parent(Cloning),
    Child(Cloned),
    /// A child of [`Parent::Mine`] that was killed before it could be handed over: the
    /// caller's parent must reap it through `pidfd` (the caller cannot; it is a sibling).
    Lost {
        pidfd: OwnedFd,
        error: SpawnError,
    },
}

/// What the caller of [`clone_sandbox`] holds of the new process.
struct Cloning {
    pid: libc::pid_t,
    pidfd: OwnedFd,
    report: OwnedFd,
    reaper: bool,
}

/// What the child of [`clone_sandbox`] holds, besides its copy of the spawner's memory.
struct Cloned {
    report: OwnedFd,
    parent: OwnedFd,
    maps_written: Option<OwnedFd>,
    reaper_program: Option<BorrowedFd<'static>>,
}

impl Cloned {
    /// Applies `plan` and runs `payload` with `keep` at 3, 4, ... (luacell-reaper goes last,
    /// after the payload's descriptors: pid 1 runs it, the payload closes it).
    fn apply(self, plan: &Plan, payload: Payload, mut keep: Vec<RawFd>) -> ! {
        if let Some(fd) = self.reaper_program {
            keep.push(fd.as_raw_fd());
        }
        let reaper = self.reaper_program.is_some();
        apply::child(plan, payload, self.report, self.parent, self.maps_written, &keep, reaper)
    }
}

/// Clones a process with the namespaces of `shape` and, when the caller writes them, its id
/// maps; the caller gets the new process's pid, pidfd and report pipe, its setup not read yet.
fn clone_sandbox(shape: Shape, parent: Parent) -> Result<Side, SpawnError> {
    let threads = process::thread_count().map_err(kernel("count this process's threads"))?;
    if threads != 1 {
        return Err(SpawnError::Threaded(threads));
    }
    let (report_r, report_w) = process::pipe().map_err(kernel("create the report pipe"))?;
    let parent_pid = match parent {
        Parent::Me => std::process::id(),
        Parent::Mine => std::os::unix::process::parent_id(),
    };
    let me = process::pidfd_open(parent_pid as libc::pid_t).map_err(kernel("open a pidfd to the sandbox's parent"))?;
    let reaper = shape.reaper();
    let reaper_program = if reaper { super::reaper::program() } else { None };
    let by_parent = shape.id_map.is_some_and(|m| m.by_parent);
    let sync = if by_parent { Some(process::pipe().map_err(kernel("create the id-map pipe"))?) } else { None };
    let flags = shape.clone_flags | if parent == Parent::Mine { libc::CLONE_PARENT } else { 0 };
    let forked = match process::clone_process(flags) {
        Ok(f) => f,
        Err(e) if shape.clone_flags & libc::CLONE_NEWUSER != 0 => {
            return Err(SpawnError::Namespaces(e.raw_os_error().unwrap_or(libc::EPERM)));
        }
        Err(e) => return Err(kernel("clone the sandbox process")(e)),
    };
    let (pid, pidfd) = match forked {
        Forked::Child => {
            drop(report_r);
            let maps_written = sync.map(|(r, w)| {
                drop(w);
                r
            });
            return Ok(Side::Child(Cloned { report: report_w, parent: me, maps_written, reaper_program }));
        }
        Forked::Parent { pid, pidfd } => (pid, pidfd),
    };
    drop(report_w);
    drop(me);
    if let (Some(m), Some((r, w))) = (shape.id_map, sync) {
        drop(r);
        let released = write_maps(pid, m).map_err(kernel("write the sandbox's uid/gid maps")).and_then(|()| {
            process::write_raw(w.as_fd(), b"1").map_err(kernel("release the sandbox after writing its maps"))
        });
        if let Err(error) = released {
            // Closing `w` without a byte makes the child exit; kill it all the same (a stem
            // killed from outside before its maps were written is one way to get here). Its
            // parent reaps it: this process now, or the supervisor, given the pidfd, for a
            // stem; otherwise it would stay a zombie the supervisor knows nothing of.
            drop(w);
            let _ = process::pidfd_send_signal(pidfd.as_fd(), libc::SIGKILL);
            return match parent {
                Parent::Me => {
                    let _ = process::wait_pidfd(pidfd.as_fd(), false);
                    Err(error)
                }
                Parent::Mine => Ok(Side::Lost { pidfd, error }),
            };
        }
    }
    Ok(Side::Parent(Cloning { pid, pidfd, report: report_r, reaper }))
}

/// How a stem ends when it cannot take its assignment (a child's setup never exits with it).
const STEM_REFUSED: i32 = 125;

/// What a stem must have been cloned with to serve a plan: its namespaces and id maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    pub clone_flags: libc::c_int,
    pub id_map: Option<IdMap>,
}

impl Shape {
    pub fn of(plan: &Plan) -> Self {
        Shape { clone_flags: plan.clone_flags, id_map: plan.id_map }
    }

    /// A pid namespace has a pid-1 reaper (as `Plan::reaper`).
    fn reaper(self) -> bool {
        self.clone_flags & libc::CLONE_NEWPID != 0
    }
}

/// What a stem does with its assignment socket once it is claimed: reads the request and
/// returns the plan (which must have the stem's shape), the payload and the descriptors to hand
/// the payload at 3, 4, ... `None` when it cannot.
pub type Take = Box<dyn FnOnce(OwnedFd) -> Option<(Plan, Payload, Vec<OwnedFd>)>>;

/// A sandbox process cloned ahead of its request: the namespaces exist (and the id maps are
/// written), nothing else. It waits on its assignment socket and, once the spawner has sent the
/// request there ([`Stem::assignment`], [`Stem::start`]), builds its plan and payload from it and
/// goes on exactly as a freshly cloned child does (`apply.rs`).
///
/// Stems are cloned by a process other than the one that uses them (the supervisor's zygote,
/// which never sees a request): [`grow`] clones one as a sibling of the caller (`CLONE_PARENT`)
/// and returns its [`StemParts`] to be sent to the parent, which adopts them.
///
/// Trust zone: the stem is a copy of the process that cloned it, holding only its report pipe, a
/// pidfd of its parent, luacell-reaper's memfd and the assignment socket (every other inherited
/// descriptor is closed as it starts); it runs no code but this module's until the request comes
/// from its parent, which is trusted. It dies with its parent.
#[derive(Debug)]
pub struct Stem {
    sandbox: Sandboxed,
    assign: OwnedFd,
    shape: Shape,
}

/// A stem as its cloner hands it over: pid, pidfd, report pipe and assignment socket.
#[derive(Debug)]
pub struct StemParts {
    pub pid: libc::pid_t,
    pub pidfd: OwnedFd,
    pub report: OwnedFd,
    pub assign: OwnedFd,
}

/// Clones a stem of `shape` as a sibling of the caller; in it, `take` turns the request into
/// what to run. The caller sends the parts to its parent and closes its copies.
pub fn grow(shape: Shape, take: Take) -> Result<StemParts, GrowError> {
    let failed = |error| GrowError { error, unreaped: None };
    let (mine, theirs) = cmsg::seqpacket_pair().map_err(kernel("create a stem's assignment socket")).map_err(failed)?;
    match clone_sandbox(shape, Parent::Mine).map_err(failed)? {
        Side::Child(c) => {
            drop(mine);
            wait_for_assignment(c, shape, theirs, take)
        }
        Side::Parent(p) => Ok(StemParts { pid: p.pid, pidfd: p.pidfd, report: p.report, assign: mine }),
        Side::Lost { pidfd, error } => Err(GrowError { error, unreaped: Some(pidfd) }),
    }
}

/// Why [`grow`] made no stem. `unreaped` is the pidfd of a child it cloned and killed: the
/// caller's parent, whose child it is, must reap it.
pub struct GrowError {
    pub error: SpawnError,
    pub unreaped: Option<OwnedFd>,
}

impl Stem {
    /// Takes charge of a stem of `shape` a zygote cloned as this process's child. From here on,
    /// dropping it kills and reaps it.
    pub fn adopt(parts: StemParts, shape: Shape) -> Stem {
        let StemParts { pid, pidfd, report, assign } = parts;
        let sandbox = Sandboxed::new(Cloning { pid, pidfd, report, reaper: shape.reaper() });
        Stem { sandbox, assign, shape }
    }

    /// The namespaces and id maps it was cloned with.
    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Where the spawner sends the request (once; a send that fails means the stem is gone:
    /// drop it and use another).
    pub fn assignment(&self) -> BorrowedFd<'_> {
        self.assign.as_fd()
    }

    /// After the request was sent: waits for the sandbox's setup, as [`spawn`] does.
    pub fn start(self, plan: &Plan) -> Result<Sandboxed, SpawnError> {
        let Stem { mut sandbox, assign, .. } = self;
        drop(assign);
        sandbox.deadline = plan.wall_seconds.map(|s| Instant::now() + Duration::from_secs(s));
        sandbox.until_ready(plan)
    }
}

/// The stem's side: keeps only what it needs, waits for its request, then becomes the sandbox.
fn wait_for_assignment(c: Cloned, shape: Shape, assign: OwnedFd, take: Take) -> ! {
    // What `ps` shows while it waits (`take` names it for what it becomes).
    process::set_name(c"luacell-stem");
    // Nothing the stem inherited may outlive its purpose in it: a copy of another process's
    // socket held here would keep that socket's peer from seeing it close.
    let mut kept = vec![c.report.as_raw_fd(), c.parent.as_raw_fd(), assign.as_raw_fd()];
    kept.extend(c.maps_written.as_ref().map(|fd| fd.as_raw_fd()));
    kept.extend(c.reaper_program.map(|fd| fd.as_raw_fd()));
    if process::close_all_except(&kept).is_err() {
        process::exit_now(STEM_REFUSED);
    }
    // Die with the parent while waiting (the plan arms this again during setup), and do not
    // wait for a parent that died before it was armed.
    let armed = process::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong);
    if armed.is_err() || !matches!(crate::sys::poll_readable(&[c.parent.as_fd()], 0).as_deref(), Ok([false])) {
        process::exit_now(STEM_REFUSED);
    }
    let taken = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| take(assign)));
    let Ok(Some((plan, payload, fds))) = taken else { process::exit_now(STEM_REFUSED) };
    if Shape::of(&plan) != shape {
        process::exit_now(STEM_REFUSED);
    }
    // `fds` stays alive (this function never returns) until the setup renumbers them.
    let keep = fds.iter().map(|fd| fd.as_raw_fd()).collect();
    c.apply(&plan, payload, keep)
}

/// Written by a root parent; setgroups stays allowed so that the child can drop root's
/// supplementary groups (it loses the capability to call it again when it drops capabilities).
fn write_maps(pid: libc::pid_t, m: IdMap) -> std::io::Result<()> {
    std::fs::write(format!("/proc/{pid}/uid_map"), format!("{} {} 1\n", m.inside_uid, m.outside_uid))?;
    std::fs::write(format!("/proc/{pid}/gid_map"), format!("{} {} 1\n", m.inside_gid, m.outside_gid))
}

fn setup_error(plan: &Plan, step: Step, index: u32, errno: i32) -> SpawnError {
    if step == Step::Exec {
        return SpawnError::Exec { errno };
    }
    let object = match step {
        Step::OpenBindSource | Step::SetBindAttributes | Step::CreateMountPoint | Step::AttachBind | Step::Tmpfs => {
            match plan.mounts.get(index as usize) {
                Some(MountStep::Bind { source, target, .. }) => {
                    format!(" {} -> {}", source.display(), target.display())
                }
                Some(MountStep::Tmpfs { target, .. }) => format!(" {}", target.display()),
                _ => String::new(),
            }
        }
        Step::Landlock => format!(" ({})", super::landlock::PARTS.get(index as usize).unwrap_or(&"?")),
        Step::Rlimit => match plan.rlimits.get(index as usize) {
            Some((res, soft, _)) => format!(" (resource {res}, value {soft})"),
            None => String::new(),
        },
        _ => String::new(),
    };
    SpawnError::Setup { step: step.describe(), object, errno }
}

impl Sandboxed {
    fn new(p: Cloning) -> Sandboxed {
        Sandboxed {
            pid: p.pid,
            pidfd: p.pidfd,
            report: std::fs::File::from(p.report),
            landlock: LandlockStatus::Off,
            deadline: None,
            reaper: p.reaper,
            waited: false,
        }
    }

    /// Reads the child's setup report: ready (the sandbox is returned) or the step that failed.
    fn until_ready(mut self, plan: &Plan) -> Result<Sandboxed, SpawnError> {
        match self.next_record()? {
            Some(Record::Ready { landlock }) => {
                self.landlock = match landlock {
                    1 => LandlockStatus::Fully,
                    2 => LandlockStatus::Partially,
                    3 => LandlockStatus::NotEnforced,
                    _ => LandlockStatus::Off,
                };
                Ok(self)
            }
            // Dropping `self` kills and reaps the child.
            Some(Record::Failed { step, index, errno }) => Err(setup_error(plan, step, index, errno)),
            Some(Record::PayloadStatus { .. }) => Err(SpawnError::Report),
            None => {
                let status = process::wait_pidfd(self.pidfd.as_fd(), false).map_err(kernel("wait for the sandbox"))?;
                self.waited = true;
                Err(SpawnError::SetupDied(match status {
                    Some(ExitStatus::Exited(126)) => String::from("it could not arrange its descriptors"),
                    Some(ExitStatus::Exited(STEM_REFUSED)) => {
                        String::from("the process cloned ahead of the request could not take it")
                    }
                    Some(s) => format!("status {}", s.code()),
                    None => String::from("no status"),
                }))
            }
        }
    }

    pub fn pid(&self) -> libc::pid_t {
        self.pid
    }

    pub fn pidfd(&self) -> BorrowedFd<'_> {
        self.pidfd.as_fd()
    }

    /// Sends a signal to the sandbox's first process (the pid-1 reaper forwards the usual ones;
    /// SIGKILL ends the whole sandbox).
    pub fn kill(&self, sig: libc::c_int) -> Result<(), SpawnError> {
        process::pidfd_send_signal(self.pidfd.as_fd(), sig).map_err(kernel("signal the sandbox"))
    }

    fn next_record(&mut self) -> Result<Option<Record>, SpawnError> {
        let mut buf = [0u8; RECORD_LEN];
        let mut got = 0;
        while got < RECORD_LEN {
            match self.report.read(&mut buf[got..]) {
                Ok(0) if got == 0 => return Ok(None),
                Ok(0) => return Err(SpawnError::Report),
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(kernel("read the sandbox's report")(e)),
            }
        }
        Record::decode(&buf).map(Some).ok_or(SpawnError::Report)
    }

    /// Waits for the sandbox to end. Signals readable on `signals` (a signalfd) are forwarded to
    /// it; past the plan's wall time it is killed. A failure after setup (seccomp, exec) is an
    /// error naming the step.
    pub fn wait(mut self, plan: &Plan, signals: Option<BorrowedFd<'_>>) -> Result<Outcome, SpawnError> {
        let mut wall_hit = false;
        loop {
            let timeout = match self.deadline {
                None => -1,
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    i32::try_from(left.as_millis()).unwrap_or(i32::MAX)
                }
            };
            let mut fds = vec![self.pidfd.as_fd()];
            fds.extend(signals);
            let ready = match crate::sys::poll_readable(&fds, timeout) {
                Ok(r) => r,
                Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
                Err(e) => return Err(kernel("wait for the sandbox")(e)),
            };
            if ready[0] {
                break;
            }
            if let (Some(sfd), Some(true)) = (signals, ready.get(1)) {
                if let Ok(sig) = process::read_signalfd(sfd) {
                    let _ = process::pidfd_send_signal(self.pidfd.as_fd(), sig);
                }
                continue;
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                wall_hit = true;
                let _ = process::pidfd_send_signal(self.pidfd.as_fd(), libc::SIGKILL);
                self.deadline = None;
            }
        }
        let first = process::wait_pidfd(self.pidfd.as_fd(), false)
            .map_err(kernel("wait for the sandbox"))?
            .ok_or_else(|| SpawnError::SetupDied(String::from("no status")))?;
        self.waited = true;
        let mut status = first;
        let mut cpu_ms = None;
        while let Some(record) = self.next_record()? {
            match record {
                Record::PayloadStatus { wait_status, cpu_ms: used } if self.reaper => {
                    status = ExitStatus::from_wait_status(wait_status);
                    cpu_ms = Some(u64::from(used));
                }
                Record::Failed { step, index, errno } => return Err(setup_error(plan, step, index, errno)),
                _ => return Err(SpawnError::Report),
            }
        }
        let limit = match status {
            _ if wall_hit => Some(LimitHit::WallSeconds),
            ExitStatus::Signaled(libc::SIGXCPU) => Some(LimitHit::CpuSeconds),
            // The hard CPU limit kills one second after SIGXCPU when the program ignores it: the
            // reaper reports the CPU time the payload used, which tells it from another SIGKILL.
            ExitStatus::Signaled(libc::SIGKILL)
                if plan.rlimits.iter().any(|&(res, soft, _)| {
                    res == libc::RLIMIT_CPU && cpu_ms.is_some_and(|ms| ms >= soft.saturating_mul(1000))
                }) =>
            {
                Some(LimitHit::CpuSeconds)
            }
            ExitStatus::Signaled(libc::SIGXFSZ) => Some(LimitHit::FileSize),
            ExitStatus::Signaled(libc::SIGSYS) if plan.seccomp.is_some() => Some(LimitHit::ForbiddenSyscall),
            _ => None,
        };
        Ok(Outcome { status, limit })
    }
}
