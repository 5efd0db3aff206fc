//! Process-level syscalls the sandbox layer needs and `std` does not wrap: clone with namespace
//! flags and a pidfd, pidfd signals and waits, prctl, rlimits, the mount API, pivot_root,
//! capabilities, signal masks, execve.
//!
//! Trust zone: the spawning process (main or supervisor) and the child before lockdown.
//!
//! Invariants: every wrapper returns `io::Result` with the kernel's errno; no pointer handed to
//! the kernel outlives the borrow it came from; descriptors come back as `OwnedFd` and are
//! close-on-exec.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn check_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// The number of threads of this process, from `/proc/self/task`.
pub fn thread_count() -> io::Result<usize> {
    Ok(std::fs::read_dir("/proc/self/task")?.count())
}

/// Which side of a [`clone_process`] this is.
pub enum Forked {
    /// The parent: the child's pid and a pidfd that refers to it.
    Parent { pid: libc::pid_t, pidfd: OwnedFd },
    /// The new process.
    Child,
}

/// `clone(flags | CLONE_PIDFD | SIGCHLD)` with fork semantics: the child continues on a copy of
/// this stack. Namespace flags in `flags` give the child its new namespaces.
///
/// The caller must be single-threaded (checked with [`thread_count`] by the sandbox layer): the
/// child gets a copy of this thread only, so locks held by other threads would stay held forever.
pub fn clone_process(flags: libc::c_int) -> io::Result<Forked> {
    let mut pidfd: libc::c_int = -1;
    let all = (flags | libc::CLONE_PIDFD) as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: a raw clone without CLONE_VM and with a null stack duplicates the address space like
    // fork(2), so the child runs on its own copy of this stack; the only pointer passed is
    // `&mut pidfd`, which the kernel writes in the parent before returning (x86_64 and aarch64 take
    // parent_tid as the third argument).
    let ret = unsafe {
        libc::syscall(
            libc::SYS_clone,
            all,
            std::ptr::null_mut::<libc::c_void>(),
            &mut pidfd as *mut libc::c_int,
            0usize,
            0usize,
        )
    };
    match check(ret)? {
        0 => Ok(Forked::Child),
        pid => {
            // SAFETY: with CLONE_PIDFD the kernel stored a new descriptor in `pidfd`, owned by
            // nothing else in this process.
            let pidfd = unsafe { OwnedFd::from_raw_fd(pidfd) };
            Ok(Forked::Parent { pid: pid as libc::pid_t, pidfd })
        }
    }
}

/// Plain `fork(2)` (inside a sandbox, for the pid-1 reaper's child).
pub fn fork() -> io::Result<Option<libc::pid_t>> {
    // SAFETY: the caller is single-threaded (the sandboxed pid 1 never starts threads), so the
    // child's copy of this process holds no lock another thread owned.
    let pid = check_int(unsafe { libc::fork() })?;
    Ok(if pid == 0 { None } else { Some(pid) })
}

/// `pidfd_open(pid, 0)`.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes two integers and returns a new descriptor or -1.
    let fd = check(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: the kernel returned a fresh descriptor (close-on-exec by definition for pidfds).
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(pidfd, sig, NULL, 0)`.
pub fn pidfd_send_signal(pidfd: BorrowedFd<'_>, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: a null siginfo pointer asks the kernel to fill in the default one; the pidfd is
    // borrowed, hence open.
    check(unsafe {
        libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), sig, std::ptr::null::<libc::c_void>(), 0)
    })?;
    Ok(())
}

/// How a process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(i32),
    Signaled(i32),
}

impl ExitStatus {
    /// Decodes a `wait(2)` status word.
    pub fn from_wait_status(status: i32) -> Self {
        if libc::WIFSIGNALED(status) {
            ExitStatus::Signaled(libc::WTERMSIG(status))
        } else {
            ExitStatus::Exited(libc::WEXITSTATUS(status))
        }
    }

    /// The shell convention: the code, or 128 + the signal.
    pub fn code(self) -> i32 {
        match self {
            ExitStatus::Exited(c) => c,
            ExitStatus::Signaled(s) => 128 + s,
        }
    }
}

/// `waitid(P_PIDFD, pidfd, WEXITED | flags)`: `None` with `WNOHANG` when it has not exited.
pub fn wait_pidfd(pidfd: BorrowedFd<'_>, nohang: bool) -> io::Result<Option<ExitStatus>> {
    // SAFETY: siginfo_t is plain data; all-zero is a valid value the kernel overwrites.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    let flags = libc::WEXITED | if nohang { libc::WNOHANG } else { 0 };
    loop {
        // SAFETY: `info` is a live siginfo_t the kernel fills; the pidfd is borrowed, hence open.
        let ret = unsafe { libc::waitid(libc::P_PIDFD, pidfd.as_raw_fd() as libc::id_t, &mut info, flags) };
        match check_int(ret) {
            Ok(_) => break,
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    // SAFETY: waitid filled `info` for a CLD_* event (or left si_pid 0 under WNOHANG).
    let (pid, code, status) = unsafe { (info.si_pid(), info.si_code, info.si_status()) };
    if pid == 0 {
        return Ok(None);
    }
    Ok(Some(match code {
        libc::CLD_EXITED => ExitStatus::Exited(status),
        _ => ExitStatus::Signaled(status),
    }))
}

/// `wait4(-1, WNOHANG)`: one exited child, its raw status and the CPU time it used (user +
/// system, in milliseconds), or `None`.
pub fn reap_any() -> io::Result<Option<(libc::pid_t, i32, u64)>> {
    let mut status = 0;
    // SAFETY: rusage is plain data, overwritten by the kernel.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `status` and `usage` are live values the kernel writes.
    let pid = unsafe { libc::wait4(-1, &mut status, libc::WNOHANG, &mut usage) };
    let ms = |t: libc::timeval| (t.tv_sec as u64).saturating_mul(1000).saturating_add(t.tv_usec as u64 / 1000);
    match pid {
        0 => Ok(None),
        p if p < 0 => Err(io::Error::last_os_error()),
        p => Ok(Some((p, status, ms(usage.ru_utime).saturating_add(ms(usage.ru_stime))))),
    }
}

/// `waitpid(-1, 0)`: blocks until a child exits; returns it and its raw status.
pub fn wait_any() -> io::Result<(libc::pid_t, i32)> {
    let mut status = 0;
    loop {
        // SAFETY: `status` is a live int the kernel writes.
        let pid = unsafe { libc::waitpid(-1, &mut status, 0) };
        if pid > 0 {
            return Ok((pid, status));
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// `prctl(option, arg2, 0, 0, 0)`.
pub fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> io::Result<libc::c_int> {
    // SAFETY: every option used by luacell takes an integer second argument and no pointers.
    check_int(unsafe { libc::prctl(option, arg2, 0 as libc::c_ulong, 0 as libc::c_ulong, 0 as libc::c_ulong) })
}

/// `setrlimit(resource, {soft, hard})`.
pub fn setrlimit(resource: libc::__rlimit_resource_t, soft: u64, hard: u64) -> io::Result<()> {
    let lim = libc::rlimit { rlim_cur: soft, rlim_max: hard };
    // SAFETY: `lim` is a live rlimit the kernel only reads.
    check_int(unsafe { libc::setrlimit(resource, &lim) })?;
    Ok(())
}

/// Names this process (`PR_SET_NAME`, what `ps` and `/proc/PID/comm` show); a name the kernel
/// refuses changes nothing, which is all a caller could do about it.
pub fn set_name(name: &std::ffi::CStr) {
    let _ = prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong);
}

/// `close_range(first, last, 0)`.
pub fn close_range(first: u32, last: u32) -> io::Result<()> {
    // SAFETY: closing descriptors is memory-safe; the caller (the sandbox child before it runs
    // anything) owns the whole descriptor table and holds no `OwnedFd` in the range.
    check(unsafe { libc::syscall(libc::SYS_close_range, first, last, 0) })?;
    Ok(())
}

/// Closes every descriptor above stderr but `keep` (the caller holds no `OwnedFd` for the
/// others, or never drops it: a freshly cloned child's copies of its parent's).
pub fn close_all_except(keep: &[RawFd]) -> io::Result<()> {
    let mut keep: Vec<u32> = keep.iter().filter_map(|&fd| u32::try_from(fd).ok()).filter(|&fd| fd > 2).collect();
    keep.sort_unstable();
    let mut next = 3;
    for fd in keep {
        if fd > next {
            close_range(next, fd - 1)?;
        }
        next = fd + 1;
    }
    close_range(next, u32::MAX)
}

/// `dup2(from, to)` (clears close-on-exec on `to`).
pub fn dup2(from: RawFd, to: RawFd) -> io::Result<()> {
    // SAFETY: dup2 replaces descriptor `to`, which the caller (the child setting up stdio) owns as
    // a standard stream; no Rust object owns it.
    check_int(unsafe { libc::dup2(from, to) })?;
    Ok(())
}

/// `mount(source, target, fstype, flags, data)`.
pub fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let p = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a NUL-terminated string borrowed for the call.
    check_int(unsafe { libc::mount(p(source), target.as_ptr(), p(fstype), flags, p(data).cast()) })?;
    Ok(())
}

/// `open_tree(AT_FDCWD, path, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)`: a detached
/// copy of the mount tree at `path`.
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: `path` is a NUL-terminated string borrowed for the call.
    let fd = check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: the kernel returned a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, {attr_set})`: sets mount attributes
/// (`MOUNT_ATTR_*`) on every mount of the tree `fd` refers to.
pub fn mount_setattr_tree(fd: BorrowedFd<'_>, attr_set: u64) -> io::Result<()> {
    let attr = libc::mount_attr { attr_set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let flags = (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint;
    // SAFETY: the path is an empty NUL-terminated literal, `attr` is a live mount_attr whose size
    // is passed, and the fd is borrowed, hence open.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })?;
    Ok(())
}

/// `move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH)`: attaches a detached tree.
pub fn move_mount_to(fd: BorrowedFd<'_>, target: &CStr) -> io::Result<()> {
    // SAFETY: both paths are NUL-terminated strings borrowed for the call; the fd is open.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    })?;
    Ok(())
}

/// `pivot_root(".", ".")` after `chdir(new_root)`: the old root ends up stacked on the new one,
/// ready for `umount2(".", MNT_DETACH)`.
pub fn pivot_root_here() -> io::Result<()> {
    // SAFETY: both arguments are the NUL-terminated literal ".".
    check(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) })?;
    Ok(())
}

/// `umount2(target, flags)`.
pub fn umount2(target: &CStr, flags: libc::c_int) -> io::Result<()> {
    // SAFETY: `target` is a NUL-terminated string borrowed for the call.
    check_int(unsafe { libc::umount2(target.as_ptr(), flags) })?;
    Ok(())
}

/// `sethostname(name)`.
pub fn sethostname(name: &[u8]) -> io::Result<()> {
    // SAFETY: the kernel reads `name.len()` bytes from the borrowed slice.
    check_int(unsafe { libc::sethostname(name.as_ptr().cast(), name.len()) })?;
    Ok(())
}

/// `setsid()`.
pub fn setsid() -> io::Result<()> {
    // SAFETY: setsid takes no arguments and only changes this process's session.
    check_int(unsafe { libc::setsid() })?;
    Ok(())
}

/// Drops the bounding and ambient capability sets (needs CAP_SETPCAP, so it comes before
/// [`clear_capabilities`] and before any switch away from root).
pub fn drop_bounding_capabilities() -> io::Result<()> {
    let last = std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse::<libc::c_ulong>().ok())
        .unwrap_or(63);
    for cap in 0..=last {
        match prctl(libc::PR_CAPBSET_DROP, cap) {
            Ok(_) => {}
            // Capabilities past the kernel's last one do not exist.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => break,
            Err(e) => return Err(e),
        }
    }
    // SAFETY: PR_CAP_AMBIENT_CLEAR_ALL takes no pointers.
    check_int(unsafe { libc::prctl(libc::PR_CAP_AMBIENT, libc::PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) })?;
    Ok(())
}

/// Clears the effective, permitted and inheritable capability sets with `capset`.
pub fn clear_capabilities() -> io::Result<()> {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: libc::c_int,
    }
    #[repr(C)]
    #[derive(Clone, Copy)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let header = Header { version: LINUX_CAPABILITY_VERSION_3, pid: 0 };
    let data = [Data { effective: 0, permitted: 0, inheritable: 0 }; 2];
    // SAFETY: version 3 takes a header and two data words, both live and correctly laid out
    // (`repr(C)`, as in linux/capability.h); the kernel only reads them.
    check(unsafe { libc::syscall(libc::SYS_capset, &header as *const Header, data.as_ptr()) })?;
    Ok(())
}

/// `setenv(name, value, 1)` for each `NAME=value` entry.
pub fn set_environment(entries: &[CString]) -> io::Result<()> {
    for entry in entries {
        let bytes = entry.as_bytes();
        let Some(eq) = bytes.iter().position(|&b| b == b'=') else { continue };
        let name = CString::new(&bytes[..eq]).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        let value = CString::new(&bytes[eq + 1..]).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
        // SAFETY: both are NUL-terminated strings that setenv copies; the caller (the sandbox
        // child) is single-threaded, so no other thread reads the environment meanwhile.
        check_int(unsafe { libc::setenv(name.as_ptr(), value.as_ptr(), 1) })?;
    }
    Ok(())
}

/// The signals a pid-1 reaper forwards to its child.
pub const FORWARDED_SIGNALS: [libc::c_int; 5] =
    [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR1, libc::SIGUSR2];

/// A signal set.
pub struct SigSet(libc::sigset_t);

impl SigSet {
    pub fn of(signals: &[libc::c_int]) -> Self {
        // SAFETY: sigset_t is plain data; sigemptyset initialises it.
        let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: `set` is a live sigset_t.
        unsafe { libc::sigemptyset(&mut set) };
        for &s in signals {
            // SAFETY: `set` is a live sigset_t; an invalid signal number only makes this fail.
            unsafe { libc::sigaddset(&mut set, s) };
        }
        SigSet(set)
    }
}

/// `sigprocmask(how, set)`; returns the previous mask.
pub fn sigprocmask(how: libc::c_int, set: &SigSet) -> io::Result<SigSet> {
    // SAFETY: sigset_t is plain data, overwritten by the kernel.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both sets are live sigset_t values; the process is single-threaded, so the mask is
    // the whole process's.
    check_int(unsafe { libc::sigprocmask(how, &set.0, &mut old) })?;
    Ok(SigSet(old))
}

/// `sigwaitinfo(set)`: waits for one of the (blocked) signals in `set` and returns it.
pub fn sigwait(set: &SigSet) -> io::Result<libc::c_int> {
    loop {
        // SAFETY: `set` is a live sigset_t; a null siginfo pointer is allowed.
        let sig = unsafe { libc::sigwaitinfo(&set.0, std::ptr::null_mut()) };
        if sig >= 0 {
            return Ok(sig);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// Sets the disposition of every catchable signal back to the default.
pub fn reset_signal_dispositions() {
    for sig in 1..libc::SIGRTMAX() {
        if sig != libc::SIGKILL && sig != libc::SIGSTOP {
            default_signal_disposition(sig);
        }
    }
}

/// Sets each of `signals` (catchable ones) back to its default disposition.
pub fn default_signal_dispositions(signals: &[libc::c_int]) {
    for &sig in signals {
        default_signal_disposition(sig);
    }
}

fn default_signal_disposition(sig: libc::c_int) {
    // SAFETY: SIG_DFL is a valid disposition for every catchable signal; failures (for signals
    // glibc reserves) are harmless and ignored.
    unsafe { libc::signal(sig, libc::SIG_DFL) };
}

/// Runs `handler` when `sig` arrives, with `SA_RESTART` (an interrupted read goes on) and
/// nothing else blocked meanwhile. `handler` runs at any point of the program: it may only do
/// what is async-signal-safe.
pub fn on_signal(sig: libc::c_int, handler: extern "C" fn(libc::c_int)) -> io::Result<()> {
    // SAFETY: sigaction is plain data; every field is set or meant to be zero below.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = handler as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    action.sa_mask = SigSet::of(&[]).0;
    // SAFETY: `action` is a live sigaction naming a function of the right type for a handler
    // without SA_SIGINFO; a null old-action pointer is allowed.
    check_int(unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) })?;
    Ok(())
}

/// Ends this process by `sig` with its default action, as if the kernel had sent it: the parent
/// sees the same wait status. Exits with 128 + `sig` should the signal not end it.
pub fn die_of(sig: libc::c_int) -> ! {
    default_signal_disposition(sig);
    let _ = sigprocmask(libc::SIG_UNBLOCK, &SigSet::of(&[sig]));
    // SAFETY: raise takes a signal number; with the default action restored and the signal
    // unblocked, it ends the process before returning.
    unsafe { libc::raise(sig) };
    exit_now(128 + sig)
}

/// The soft limit of `resource` for this process (`u64::MAX` when unlimited).
pub fn soft_limit(resource: libc::__rlimit_resource_t) -> io::Result<u64> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `lim` is a live, exclusively borrowed rlimit the kernel fills.
    check_int(unsafe { libc::getrlimit(resource, &mut lim) })?;
    Ok(lim.rlim_cur)
}

/// `kill(pid, sig)`.
pub fn kill(pid: libc::pid_t, sig: libc::c_int) -> io::Result<()> {
    // SAFETY: kill takes two integers.
    check_int(unsafe { libc::kill(pid, sig) })?;
    Ok(())
}

/// An argument vector made ready for an exec ahead of time, so that the exec itself allocates
/// nothing (pid 1 execs under a seccomp list that has no memory calls).
pub struct ExecArgs {
    _strings: Vec<CString>,
    /// Pointers into `_strings` (their heap buffers do not move), then a null.
    ptrs: Vec<*const libc::c_char>,
}

impl ExecArgs {
    pub fn new(argv: Vec<CString>) -> Self {
        let mut ptrs: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        ExecArgs { _strings: argv, ptrs }
    }
}

/// `execveat(fd, "", argv, [], AT_EMPTY_PATH)`: runs the program `fd` refers to with an empty
/// environment; returns only on failure, allocating nothing.
pub fn execveat_empty_path(fd: BorrowedFd<'_>, argv: &ExecArgs) -> io::Error {
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];
    // SAFETY: the path is an empty NUL-terminated literal; `argv.ptrs` and `envp` are
    // null-terminated arrays of pointers to NUL-terminated strings, all alive across the call.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.ptrs.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
    };
    io::Error::last_os_error()
}

/// `execve(path, argv, envp)`: returns only on failure.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> io::Error {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: `a` and `e` are null-terminated arrays of pointers to NUL-terminated strings, all
    // borrowed from `argv`/`envp` and alive until execve returns (it only returns on failure).
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    io::Error::last_os_error()
}

/// `_exit(code)`: ends the process without running destructors or atexit handlers, as a forked
/// child must (its copies of the parent's objects are not its own to tear down).
pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit never returns and touches no Rust state.
    unsafe { libc::_exit(code) }
}

/// `clearenv()`.
pub fn clear_environment() {
    // SAFETY: the caller is the single-threaded sandbox child, so no other thread reads the
    // environment while it is cleared.
    unsafe { libc::clearenv() };
}

/// Sets `sig` to be ignored.
pub fn ignore_signal(sig: libc::c_int) {
    // SAFETY: SIG_IGN installs no handler code; the call only changes this process's
    // disposition table.
    unsafe { libc::signal(sig, libc::SIG_IGN) };
}

/// Overwrites with zeros the argument and environment strings the kernel put on this process's
/// stack at exec (`/proc/self/stat` fields 48 to 51 say where they are), so that nothing forked
/// from this process afterwards can read them. The caller cleared its environment first and no
/// longer needs its arguments; it is single-threaded.
pub fn scrub_initial_strings() {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else { return };
    // Fields after the command name, which is in parentheses and may contain spaces.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return };
    let fields: Vec<u64> = rest.split_whitespace().map(|f| f.parse().unwrap_or(0)).collect();
    // Field 3 (state) is fields[0]; fields 48..=51 are fields[45..=48].
    let (Some(&arg_start), Some(&env_end)) = (fields.get(45), fields.get(48)) else { return };
    if arg_start == 0 || env_end <= arg_start || env_end - arg_start > 16 << 20 {
        return;
    }
    let len = (env_end - arg_start) as usize;
    // SAFETY: [arg_start, env_end) is the block of argument and environment strings the kernel
    // wrote at the top of this process's stack at exec; it stays mapped and writable for the
    // life of the process. Nothing reads it any more: the environment was cleared (clearenv
    // leaves `environ` empty), and the caller does not use its arguments from here on.
    unsafe { std::ptr::write_bytes(arg_start as usize as *mut u8, 0, len) };
}

/// `write(fd, bytes)` once, retried on EINTR.
pub fn write_raw(fd: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<usize> {
    loop {
        // SAFETY: the kernel reads `bytes.len()` bytes from the borrowed slice; the fd is open.
        let n = unsafe { libc::write(fd.as_raw_fd(), bytes.as_ptr().cast(), bytes.len()) };
        if n >= 0 {
            return Ok(n as usize);
        }
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINTR) {
            return Err(e);
        }
    }
}

/// `pipe2(O_CLOEXEC)`: (read end, write end).
pub fn pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [-1; 2];
    // SAFETY: `fds` is a live two-int array the kernel fills.
    check_int(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) })?;
    // SAFETY: pipe2 returned two fresh descriptors owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// `signalfd(-1, set, SFD_CLOEXEC)`.
pub fn signalfd(set: &SigSet) -> io::Result<OwnedFd> {
    // SAFETY: `set` is a live sigset_t the kernel copies.
    let fd = check_int(unsafe { libc::signalfd(-1, &set.0, libc::SFD_CLOEXEC) })?;
    // SAFETY: a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Reads one signal number from a signalfd.
pub fn read_signalfd(fd: BorrowedFd<'_>) -> io::Result<libc::c_int> {
    // SAFETY: signalfd_siginfo is plain data, overwritten by the kernel.
    let mut info: libc::signalfd_siginfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::signalfd_siginfo>();
    // SAFETY: the kernel writes at most `size` bytes into the live `info`.
    let n = unsafe { libc::read(fd.as_raw_fd(), (&mut info as *mut libc::signalfd_siginfo).cast(), size) };
    if n as usize != size {
        return Err(io::Error::last_os_error());
    }
    Ok(info.ssi_signo as libc::c_int)
}

/// The real user and group ids of this process.
pub fn ids() -> (u32, u32) {
    // SAFETY: getuid and getgid cannot fail and take no arguments.
    unsafe { (libc::getuid(), libc::getgid()) }
}

/// The kernel's release string (`uname -r`).
pub fn kernel_release() -> String {
    // SAFETY: utsname is plain data, filled by the kernel.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: `u` is a live utsname.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::from("unknown");
    }
    // SAFETY: uname NUL-terminates `release` within its fixed-size array.
    unsafe { CStr::from_ptr(u.release.as_ptr()) }.to_string_lossy().into_owned()
}

/// `syscall(nr, args...)` for feature probes that pass only integers or null pointers.
pub fn probe_syscall(nr: libc::c_long, args: [libc::c_long; 3]) -> io::Result<libc::c_long> {
    // SAFETY: luacell's probes (landlock ABI query, io_uring_setup with a null params pointer,
    // seccomp mode queries) pass integers and null pointers only, which the kernel rejects or
    // answers without writing memory.
    check(unsafe { libc::syscall(nr, args[0], args[1], args[2]) })
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, min)`: a close-on-exec copy numbered at least `min`. The caller
/// (the sandbox child arranging its table) owns the result as a bare number until it closes it
/// with [`close_range`] or moves it with [`dup_to`].
pub fn dup_above(fd: RawFd, min: RawFd) -> io::Result<RawFd> {
    // SAFETY: fcntl duplicates a descriptor; no memory is passed.
    check_int(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) })
}

/// `dup3(from, to, cloexec ? O_CLOEXEC : 0)`, or only the flag change when `from == to`.
pub fn dup_to(from: RawFd, to: RawFd, cloexec: bool) -> io::Result<()> {
    if from == to {
        let flags = if cloexec { libc::FD_CLOEXEC } else { 0 };
        // SAFETY: F_SETFD takes an integer flag word.
        check_int(unsafe { libc::fcntl(to, libc::F_SETFD, flags) })?;
        return Ok(());
    }
    // SAFETY: dup3 replaces `to`, which the caller (the sandbox child arranging its descriptor
    // table before running anything) owns as a bare number.
    check_int(unsafe { libc::dup3(from, to, if cloexec { libc::O_CLOEXEC } else { 0 }) })?;
    Ok(())
}

/// Takes ownership of a descriptor number the sandbox child arranged with [`dup_to`].
pub fn adopt_arranged(fd: RawFd) -> OwnedFd {
    // SAFETY: the sandbox child just made `fd` with dup3 and no other object owns that number;
    // the returned OwnedFd is its only owner from here on.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

/// One classic-BPF instruction, laid out as the kernel's `struct sock_filter` (same fields, same
/// order, `repr(C)`), so that a program goes to the kernel as it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// Installs a seccomp BPF program on the calling thread with `seccomp(SECCOMP_SET_MODE_FILTER)`.
/// The caller has set `PR_SET_NO_NEW_PRIVS` (checked by the kernel: EACCES otherwise).
pub fn install_seccomp(program: &[BpfInsn]) -> io::Result<()> {
    const _: () = assert!(
        std::mem::size_of::<BpfInsn>() == std::mem::size_of::<libc::sock_filter>()
            && std::mem::align_of::<BpfInsn>() == std::mem::align_of::<libc::sock_filter>()
    );
    let len = u16::try_from(program.len()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = libc::sock_fprog { len, filter: program.as_ptr().cast::<libc::sock_filter>().cast_mut() };
    // SAFETY: `prog` points at `program`, alive for the call, whose elements have the layout of
    // `struct sock_filter` (`BpfInsn` is repr(C) with its fields in order; size and alignment
    // are checked above); the kernel copies the program and never writes through the pointer.
    check(unsafe {
        libc::syscall(libc::SYS_seccomp, libc::SECCOMP_SET_MODE_FILTER, 0, &prog as *const libc::sock_fprog)
    })?;
    Ok(())
}

/// Becomes `uid`/`gid` (real, effective, saved) with no supplementary groups. Used inside a new
/// user namespace whose maps the parent wrote, while this process still holds that namespace's
/// capabilities.
pub fn become_ids(uid: u32, gid: u32) -> io::Result<()> {
    // SAFETY: a zero-length group list with a null pointer is valid for setgroups.
    check_int(unsafe { libc::setgroups(0, std::ptr::null()) })?;
    // SAFETY: setresgid and setresuid take integers only.
    check_int(unsafe { libc::setresgid(gid, gid, gid) })?;
    // SAFETY: as above.
    check_int(unsafe { libc::setresuid(uid, uid, uid) })?;
    Ok(())
}
