//! Applying a plan, in the child, in one fixed order. Nothing here decides policy: every choice
//! was made by the plan.
//!
//! Trust zone: the child between clone and the payload. It is single-threaded (a clone of a
//! single-threaded process), runs only luacell code, and ends in `_exit` on every path, so it
//! never returns into the parent's copy of the stack.
//!
//! The order (see `docs/threat-model.md` for why):
//! 1. descriptors renumbered (handed ones at 3.., the report pipe after them);
//! 2. uid/gid maps of the new user namespace; parent-death signal; stdio to /dev/null;
//! 3. the mount tree from nothing: bind sources captured as detached trees, an empty tmpfs root,
//!    binds (read-only, nosuid, nodev, noexec unless asked), tmpfs, /dev, /proc, root made
//!    read-only, pivot_root, old root detached;
//! 4. host name, rlimits, every other descriptor closed, environment cleared, new session,
//!    capabilities dropped, no_new_privs, Landlock;
//! 5. with a pid namespace: fork; this process stays pid 1 (reaper, its own seccomp list), the
//!    child goes on;
//! 6. seccomp last, then the payload.

use std::ffi::{CString, OsStr};
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::landlock::{self, Enforced};
use super::plan::{MountStep, Plan};
use super::report::{Record, Step};
use crate::sys::process::{self, SigSet};

/// What the sandboxed process runs once locked down.
pub enum Payload {
    /// `execve` of a program (a name without '/' is looked up in the plan's PATH).
    Exec { program: CString, argv: Vec<CString> },
    /// A function in this (forked) process; its return value is the exit status.
    Function(Box<dyn FnOnce() -> i32>),
}

struct Failure {
    step: Step,
    index: u32,
    errno: i32,
}

fn fail(step: Step, index: usize) -> impl Fn(std::io::Error) -> Failure {
    move |e| Failure {
        step,
        index: u32::try_from(index).unwrap_or(u32::MAX),
        errno: e.raw_os_error().unwrap_or(libc::EIO),
    }
}

fn cstr(p: &Path) -> CString {
    // Profile paths were checked for NUL when the profile was parsed.
    CString::new(p.as_os_str().as_bytes()).unwrap_or_default()
}

/// The report pipe, arranged at its fixed number.
struct Report(OwnedFd);

impl Report {
    fn send(&self, record: Record) {
        // Nothing useful can be done when the parent stopped listening.
        let _ = process::write_raw(self.0.as_fd(), &record.encode());
    }
}

/// Runs the child side of a spawn and never returns.
///
/// With `maps_written` the parent writes the id maps: the child waits for its byte (or EOF, if
/// the parent failed) before doing anything as the new user.
pub fn child(
    plan: &Plan,
    payload: Payload,
    report: OwnedFd,
    parent: OwnedFd,
    maps_written: Option<OwnedFd>,
    keep: &[RawFd],
    reaper_program: bool,
) -> ! {
    if let Some(sync) = maps_written {
        let mut byte = [0u8; 1];
        if !matches!(std::fs::File::from(sync).read(&mut byte), Ok(1)) {
            process::exit_now(126);
        }
    }
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        run(plan, payload, report, parent, keep, reaper_program)
    }));
    match result {
        Ok(code) => process::exit_now(code),
        Err(_) => process::exit_now(127),
    }
}

/// `keep` ends with luacell-reaper's memfd when `reaper_program`.
fn run(plan: &Plan, payload: Payload, report: OwnedFd, parent: OwnedFd, keep: &[RawFd], reaper_program: bool) -> i32 {
    let n = keep.len() as RawFd;
    let report_fd = 3 + n;
    // Step 1 cannot report through a descriptor it is still moving: a failure there exits 126
    // with no record, which the parent names.
    if arrange(keep, report.as_raw_fd(), parent.as_raw_fd(), report_fd).is_err() {
        process::exit_now(126);
    }
    // The originals were copied; their numbers now hold other descriptors or are closed by
    // close_range in step 4, so their owners must not close them again.
    std::mem::forget(report);
    std::mem::forget(parent);
    let report = Report(process::adopt_arranged(report_fd));
    let parent = process::adopt_arranged(report_fd + 1);
    let program = reaper_program.then(|| process::adopt_arranged(report_fd - 1));
    let forked = matches!(payload, Payload::Function(_));
    // The reaper blocks what it forwards before the spawner can learn it is ready: pid 1 of a
    // namespace drops a signal it neither blocks nor handles, so a `kill` right after the spawn
    // would otherwise be lost. Blocked, it stays pending and the reaper forwards it.
    let forwarded = SigSet::of(&wanted_signals());
    if plan.reaper
        && let Err(e) = process::sigprocmask(libc::SIG_BLOCK, &forwarded)
    {
        return report_failure(&report, fail(Step::Fork, 0)(e));
    }
    match setup(plan, parent, forked) {
        Ok(enforced) => {
            let landlock = match (plan.landlock.is_some(), enforced) {
                (false, _) => 0,
                (true, Enforced::Fully) => 1,
                (true, Enforced::Partially) => 2,
                (true, Enforced::Not) => 3,
            };
            report.send(Record::Ready { landlock });
        }
        Err(f) => {
            report.send(Record::Failed { step: f.step, index: f.index, errno: f.errno });
            return 127;
        }
    }
    if plan.reaper {
        match process::fork() {
            Err(e) => return report_failure(&report, fail(Step::Fork, 0)(e)),
            Ok(Some(pid)) => reap(plan, report, pid, &forwarded, program),
            Ok(None) => {}
        }
    }
    drop(program);
    // The payload starts with no blocked signal and default dispositions, whatever the spawner
    // blocked or ignored (ignored dispositions would survive execve).
    let _ = process::sigprocmask(libc::SIG_SETMASK, &SigSet::of(&[]));
    if forked {
        // A forked function is the runtime going on in a new process: it keeps the spawner's
        // choice about transparent huge pages (the supervisor turns them off: an actor's few
        // hundred KiB would otherwise fault in 2 MiB pages) and the runtime's own dispositions
        // (SIGPIPE ignored, the stack overflow handler). Only what the supervisor changed for
        // itself goes back to the default.
        process::default_signal_dispositions(&[libc::SIGINT, libc::SIGQUIT]);
    } else {
        // A program it executes runs with the system's policy and every default disposition.
        let _ = process::prctl(libc::PR_SET_THP_DISABLE, 0);
        process::reset_signal_dispositions();
    }
    if let Some(s) = &plan.seccomp
        && let Err(e) = process::install_seccomp(&s.compiled.1)
    {
        return report_failure(&report, fail(Step::Seccomp, 0)(e));
    }
    match payload {
        Payload::Exec { program, argv } => {
            let err = exec(plan, &program, &argv);
            report_failure(&report, fail(Step::Exec, 0)(err))
        }
        Payload::Function(f) => {
            drop(report);
            f()
        }
    }
}

fn report_failure(report: &Report, f: Failure) -> i32 {
    report.send(Record::Failed { step: f.step, index: f.index, errno: f.errno });
    127
}

fn wanted_signals() -> Vec<libc::c_int> {
    let mut s = process::FORWARDED_SIGNALS.to_vec();
    s.push(libc::SIGCHLD);
    s
}

/// Moves `keep[i]` to 3+i and the report pipe to `report_to`; returns where the parent's pidfd
/// goes (just above them). Everything is first copied above every target, so no move clobbers a
/// descriptor still to be moved.
fn arrange(keep: &[RawFd], report: RawFd, parent: RawFd, report_to: RawFd) -> std::io::Result<()> {
    let high = keep.iter().copied().chain([report, parent, report_to + 1]).max().unwrap_or(0) + 1;
    let mut copies = Vec::with_capacity(keep.len() + 2);
    for &fd in keep.iter().chain([&report, &parent]) {
        copies.push(process::dup_above(fd, high)?);
    }
    for (i, &copy) in copies.iter().enumerate().take(keep.len()) {
        process::dup_to(copy, 3 + i as RawFd, false)?;
    }
    process::dup_to(copies[keep.len()], report_to, true)?;
    process::dup_to(copies[keep.len() + 1], report_to + 1, true)?;
    Ok(())
}

/// The address space this process already has, in bytes (`/proc/self/statm`, read before the
/// mount tree hides /proc).
fn inherited_address_space() -> std::io::Result<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = statm.split_whitespace().next().and_then(|v| v.parse().ok()).unwrap_or(0);
    Ok(pages.saturating_mul(4096))
}

fn setup(plan: &Plan, parent: OwnedFd, forked: bool) -> Result<Enforced, Failure> {
    // A forked payload keeps the spawner's mappings (allocator arenas reserve address space), so
    // its address-space limit counts from what it inherits; an exec'd one starts from nothing.
    let inherited = if forked { inherited_address_space().map_err(fail(Step::Rlimit, 0))? } else { 0 };
    if let Some(m) = plan.id_map.filter(|m| m.by_parent) {
        // The process still has its host ids, which the maps leave unmapped: take the inside ones.
        process::become_ids(m.inside_uid, m.inside_gid).map_err(fail(Step::UidMap, 0))?;
    }
    if let Some(m) = plan.id_map.filter(|m| !m.by_parent) {
        std::fs::write("/proc/self/setgroups", b"deny").map_err(fail(Step::Setgroups, 0))?;
        std::fs::write("/proc/self/uid_map", format!("{} {} 1\n", m.inside_uid, m.outside_uid))
            .map_err(fail(Step::UidMap, 0))?;
        std::fs::write("/proc/self/gid_map", format!("{} {} 1\n", m.inside_gid, m.outside_gid))
            .map_err(fail(Step::GidMap, 0))?;
    }
    if plan.lockdown {
        process::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong).map_err(fail(Step::DeathSignal, 0))?;
    }
    // The parent may have died before the death signal was armed: its pidfd is readable then.
    if crate::sys::poll_readable(&[parent.as_fd()], 0).map_err(fail(Step::ParentGone, 0))?.first() == Some(&true) {
        return Err(Failure { step: Step::ParentGone, index: 0, errno: libc::ESRCH });
    }
    stdio(plan).map_err(fail(Step::Stdio, 0))?;
    if !plan.mounts.is_empty() || plan.clone_flags & libc::CLONE_NEWNS != 0 {
        mount_tree(plan)?;
    }
    if let Some(name) = &plan.hostname {
        process::sethostname(name).map_err(fail(Step::Hostname, 0))?;
    }
    for (i, &(res, soft, hard)) in plan.rlimits.iter().enumerate() {
        let (soft, hard) = if res == libc::RLIMIT_AS && hard != u64::MAX {
            (soft.saturating_add(inherited), hard.saturating_add(inherited))
        } else {
            (soft, hard)
        };
        process::setrlimit(res, soft, hard).map_err(fail(Step::Rlimit, i))?;
    }
    // Keep 0-2, the handed descriptors and the report pipe; the parent's pidfd (just above) goes.
    let first_closed = parent.as_raw_fd() as u32;
    drop(parent);
    process::close_range(first_closed, u32::MAX).map_err(fail(Step::CloseDescriptors, 0))?;
    process::clear_environment();
    if forked {
        // An exec'd payload gets the profile's environment from execve; a forked one here.
        process::set_environment(&plan.environment).map_err(fail(Step::Environment, 0))?;
    }
    if plan.lockdown {
        process::setsid().map_err(fail(Step::Setsid, 0))?;
        process::drop_bounding_capabilities().map_err(fail(Step::Capabilities, 0))?;
        if let Some((uid, gid)) = plan.drop_to {
            process::become_ids(uid, gid).map_err(fail(Step::DropIds, 0))?;
        }
        process::clear_capabilities().map_err(fail(Step::Capabilities, 1))?;
        process::prctl(libc::PR_SET_NO_NEW_PRIVS, 1).map_err(fail(Step::NoNewPrivs, 0))?;
        if process::prctl(libc::PR_GET_NO_NEW_PRIVS, 0).map_err(fail(Step::NoNewPrivs, 0))? != 1 {
            return Err(Failure { step: Step::NoNewPrivs, index: 0, errno: libc::EPERM });
        }
        // Nothing in the sandbox may read this process's memory or descriptors through /proc
        // (ptrace access checks): the reaper's copy of the spawner's memory stays private.
        process::prctl(libc::PR_SET_DUMPABLE, 0).map_err(fail(Step::NotDumpable, 0))?;
    }
    match &plan.landlock {
        None => Ok(Enforced::Not),
        Some(l) => landlock::enforce(l).map_err(|f| Failure { step: Step::Landlock, index: f.part, errno: f.errno }),
    }
}

fn stdio(plan: &Plan) -> std::io::Result<()> {
    if !(plan.stdin_null || plan.stdout_null || plan.stderr_null) {
        return Ok(());
    }
    let null = std::fs::OpenOptions::new().read(true).write(true).open("/dev/null")?;
    for (wanted, fd) in [(plan.stdin_null, 0), (plan.stdout_null, 1), (plan.stderr_null, 2)] {
        if wanted {
            process::dup2(null.as_raw_fd(), fd)?;
        }
    }
    Ok(())
}

/// A bind source captured before the new root hides the host.
enum Source {
    Tree(OwnedFd),
    Link(PathBuf),
    Missing,
}

/// Where the new root is assembled: a directory that exists on every host; the tmpfs mounted on it
/// lives only in this mount namespace.
const STAGING: &[&str] = &["/tmp", "/mnt", "/run"];

fn mount_tree(plan: &Plan) -> Result<(), Failure> {
    process::mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None).map_err(fail(Step::MakePrivate, 0))?;

    let mut sources = Vec::with_capacity(plan.mounts.len());
    for (i, m) in plan.mounts.iter().enumerate() {
        let MountStep::Bind { source, writable, exec, optional, .. } = m else {
            sources.push(Source::Missing);
            continue;
        };
        let meta = match std::fs::symlink_metadata(source) {
            Ok(meta) => meta,
            Err(_) if *optional => {
                sources.push(Source::Missing);
                continue;
            }
            Err(e) => return Err(fail(Step::OpenBindSource, i)(e)),
        };
        if meta.file_type().is_symlink() {
            let link = std::fs::read_link(source).map_err(fail(Step::OpenBindSource, i))?;
            sources.push(Source::Link(link));
            continue;
        }
        let tree = process::open_tree_clone(&cstr(source)).map_err(fail(Step::OpenBindSource, i))?;
        let mut attrs = libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
        if !writable {
            attrs |= libc::MOUNT_ATTR_RDONLY;
        }
        if !exec {
            attrs |= libc::MOUNT_ATTR_NOEXEC;
        }
        process::mount_setattr_tree(tree.as_fd(), attrs).map_err(fail(Step::SetBindAttributes, i))?;
        sources.push(Source::Tree(tree));
    }

    let staging = STAGING.iter().map(Path::new).find(|p| p.is_dir()).ok_or(Failure {
        step: Step::StageRoot,
        index: 0,
        errno: libc::ENOENT,
    })?;
    let root = cstr(staging);
    process::mount(
        Some(c"tmpfs"),
        &root,
        Some(c"tmpfs"),
        libc::MS_NOSUID | libc::MS_NODEV,
        Some(c"mode=0755,size=1m,nr_inodes=4096"),
    )
    .map_err(fail(Step::StageRoot, 0))?;

    let inside = |p: &Path| staging.join(p.strip_prefix("/").unwrap_or(p));
    for (i, (m, source)) in plan.mounts.iter().zip(sources).enumerate() {
        match (m, source) {
            (MountStep::Bind { target, .. }, Source::Tree(tree)) => {
                let at = inside(target);
                let is_dir = tree
                    .try_clone()
                    .and_then(|fd| std::fs::File::from(fd).metadata())
                    .map_err(fail(Step::CreateMountPoint, i))?
                    .is_dir();
                make_mount_point(&at, is_dir).map_err(fail(Step::CreateMountPoint, i))?;
                process::move_mount_to(tree.as_fd(), &cstr(&at)).map_err(fail(Step::AttachBind, i))?;
            }
            (MountStep::Bind { target, .. }, Source::Link(link)) => {
                let at = inside(target);
                make_parent(&at).map_err(fail(Step::CreateMountPoint, i))?;
                std::os::unix::fs::symlink(&link, &at).map_err(fail(Step::CreateMountPoint, i))?;
            }
            (MountStep::Bind { .. }, Source::Missing) => {}
            (MountStep::Tmpfs { target, size_bytes }, _) => {
                let at = inside(target);
                std::fs::create_dir_all(&at).map_err(fail(Step::CreateMountPoint, i))?;
                let data = CString::new(format!("mode=1777,size={size_bytes}")).unwrap_or_default();
                process::mount(
                    Some(c"tmpfs"),
                    &cstr(&at),
                    Some(c"tmpfs"),
                    libc::MS_NOSUID | libc::MS_NODEV,
                    Some(&data),
                )
                .map_err(fail(Step::Tmpfs, i))?;
            }
            (MountStep::Dev, _) => {
                dev(&inside(Path::new("/dev")), plan.mounts.contains(&MountStep::Proc)).map_err(fail(Step::Dev, i))?
            }
            (MountStep::Proc, _) => {
                let at = inside(Path::new("/proc"));
                std::fs::create_dir_all(&at).map_err(fail(Step::Proc, i))?;
                process::mount(
                    Some(c"proc"),
                    &cstr(&at),
                    Some(c"proc"),
                    libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
                    Some(c"subset=pid"),
                )
                .map_err(fail(Step::Proc, i))?;
            }
        }
    }

    process::mount(
        None,
        &root,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
        None,
    )
    .map_err(fail(Step::RootReadOnly, 0))?;
    std::env::set_current_dir(staging).map_err(fail(Step::PivotRoot, 0))?;
    process::pivot_root_here().map_err(fail(Step::PivotRoot, 0))?;
    process::umount2(c".", libc::MNT_DETACH).map_err(fail(Step::DetachOldRoot, 0))?;
    std::env::set_current_dir("/").map_err(fail(Step::DetachOldRoot, 0))?;
    Ok(())
}

fn make_parent(at: &Path) -> std::io::Result<()> {
    match at.parent() {
        Some(p) => std::fs::create_dir_all(p),
        None => Ok(()),
    }
}

fn make_mount_point(at: &Path, dir: bool) -> std::io::Result<()> {
    if dir {
        return std::fs::create_dir_all(at);
    }
    make_parent(at)?;
    std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(at).map(drop)
}

fn dev(at: &Path, with_proc: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(at)?;
    process::mount(
        Some(c"tmpfs"),
        &cstr(at),
        Some(c"tmpfs"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some(c"mode=0755,size=64k,nr_inodes=64"),
    )?;
    for node in ["null", "zero", "urandom"] {
        let target = at.join(node);
        make_mount_point(&target, false)?;
        let host = PathBuf::from("/dev").join(node);
        process::mount(Some(&cstr(&host)), &cstr(&target), None, libc::MS_BIND, None)?;
    }
    if with_proc {
        for (name, to) in [
            ("fd", "/proc/self/fd"),
            ("stdin", "/proc/self/fd/0"),
            ("stdout", "/proc/self/fd/1"),
            ("stderr", "/proc/self/fd/2"),
        ] {
            std::os::unix::fs::symlink(to, at.join(name))?;
        }
    }
    process::mount(
        None,
        &cstr(at),
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC,
        None,
    )
}

/// The pid-1 reaper: forwards signals to the payload, reaps every child, and exits with the
/// payload's status once it ends (reporting the raw status, since pid 1 cannot die of a signal
/// it sends itself).
///
/// With `program` (luacell-reaper's memfd), it becomes that program once its seccomp list is in
/// place, handing it the payload's pid and the report pipe; should the kernel refuse, it goes
/// on here.
fn reap(plan: &Plan, report: Report, payload: libc::pid_t, set: &SigSet, program: Option<OwnedFd>) -> ! {
    // The report pipe must outlive the exec; the memfd must not. Everything the exec needs is
    // made before the seccomp list, which has no memory calls.
    let report_fd = report.0.as_raw_fd();
    let program = program.filter(|p| {
        process::dup_to(report_fd, report_fd, false).is_ok()
            && process::dup_to(p.as_raw_fd(), p.as_raw_fd(), true).is_ok()
    });
    let argv = program
        .as_ref()
        .map(|_| process::ExecArgs::new(vec![c"luacell-reaper".to_owned(), pid_arg(payload), pid_arg(report_fd)]));
    if let Some(s) = &plan.seccomp {
        // The reaper's list holds no forbidden call: everything else gets ENOSYS.
        if let Err(e) = process::install_seccomp(&s.reaper) {
            report.send(Record::Failed { step: Step::Seccomp, index: 1, errno: e.raw_os_error().unwrap_or(libc::EIO) });
            let _ = process::kill(payload, libc::SIGKILL);
            process::exit_now(127);
        }
    }
    if let (Some(program), Some(argv)) = (program, argv) {
        let _refused = process::execveat_empty_path(program.as_fd(), &argv);
    }
    loop {
        let sig = match process::sigwait(set) {
            Ok(sig) => sig,
            Err(_) => continue,
        };
        if sig != libc::SIGCHLD {
            let _ = process::kill(payload, sig);
            continue;
        }
        while let Ok(Some((pid, status, cpu_ms))) = process::reap_any() {
            if pid == payload {
                let cpu_ms = u32::try_from(cpu_ms).unwrap_or(u32::MAX);
                report.send(Record::PayloadStatus { wait_status: status, cpu_ms });
                let code = process::ExitStatus::from_wait_status(status).code();
                process::exit_now(code);
            }
        }
    }
}

fn pid_arg(n: libc::c_int) -> CString {
    CString::new(n.to_string()).expect("invariant: a decimal number has no NUL byte")
}

fn exec(plan: &Plan, program: &CString, argv: &[CString]) -> std::io::Error {
    let bytes = program.as_bytes();
    if bytes.contains(&b'/') {
        return process::execve(program, argv, &plan.environment);
    }
    let mut last = std::io::Error::from_raw_os_error(libc::ENOENT);
    for dir in plan.path.split(':').filter(|d| !d.is_empty()) {
        let full = Path::new(dir).join(OsStr::from_bytes(bytes));
        let err = process::execve(&cstr(&full), argv, &plan.environment);
        // Keep looking past directories that do not have it; remember a more telling error.
        if err.raw_os_error() != Some(libc::ENOENT) {
            last = err;
        }
    }
    last
}
