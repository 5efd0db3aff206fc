//! Seccomp: the presets (every allowed syscall with its reason), the forbidden list, and the two
//! BPF programs a plan installs, compiled with seccompiler.
//!
//! Trust zone: main process (compiling is pure); the programs are installed in the child, last.
//!
//! Two filters are stacked. The first is the allow-list: listed syscalls pass, anything else gets
//! `ENOSYS`, so libc falls back (`clone3` -> `clone`) and unknown calls fail softly. The second,
//! installed after it, matches the forbidden calls and answers with the profile's action (SIGSYS
//! or `EPERM`); the kernel runs every filter and keeps the most severe answer, and between two
//! `ERRNO` answers the newest filter's, so a forbidden call never degrades to `ENOSYS`. Both check
//! the architecture (seccompiler kills on a foreign one), and the allow-list matches exact x86_64
//! numbers, so x32 aliases (bit 30 set) get `ENOSYS`.

use std::collections::BTreeMap;

use seccompiler::{
    BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
};

use super::profile::{ForbiddenAction, Seccomp};

#[cfg(target_arch = "x86_64")]
use super::syscalls_x86_64::SYSCALLS;

#[cfg(target_arch = "x86_64")]
const ARCH: seccompiler::TargetArch = seccompiler::TargetArch::x86_64;

/// The number of a syscall on this architecture.
pub fn number(name: &str) -> Option<i64> {
    #[cfg(target_arch = "x86_64")]
    {
        SYSCALLS.binary_search_by(|(n, _)| (*n).cmp(name)).ok().map(|i| SYSCALLS[i].1)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = name;
        None
    }
}

/// A syscall the filter lets through only when its arguments pass a check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ArgCheck {
    /// `socket`/`socketpair`: only `AF_UNIX`.
    UnixOnly,
    /// `ioctl`: anything but `TIOCSTI` (typing into a terminal) and `TIOCLINUX`.
    NotTerminalInjection,
    /// `clone`: no namespace flags.
    NoNamespaceFlags,
}

type Entry = (&'static str, &'static str);

/// What a Lua actor on the epoll runtime needs: IO on descriptors it was handed, files under its
/// bound paths (the mount tree and Landlock decide which), memory, time, signals to itself.
pub const ACTOR: &[Entry] = &[
    ("read", "reads from handed descriptors"),
    ("write", "writes to handed descriptors and stdio"),
    ("readv", "vectored reads (libc stdio)"),
    ("writev", "vectored writes (libc stdio, panic messages)"),
    ("pread64", "reads at an offset in an open file"),
    ("pwrite64", "writes at an offset in an open file"),
    ("recvfrom", "socket reads"),
    ("sendto", "socket writes"),
    ("recvmsg", "actor messages with descriptors (SCM_RIGHTS)"),
    ("sendmsg", "actor messages with descriptors (SCM_RIGHTS)"),
    ("shutdown", "half-closing a handed socket"),
    ("getsockopt", "socket errors and options of handed sockets"),
    ("setsockopt", "socket options of handed sockets"),
    ("getsockname", "addresses of handed sockets"),
    ("getpeername", "addresses of handed sockets"),
    ("accept4", "accepting on a handed listening socket"),
    ("connect", "unix sockets only (socket() admits AF_UNIX alone; Landlock scopes abstract names)"),
    ("socket", "AF_UNIX only: local socketpairs and unix sockets under bound paths"),
    ("socketpair", "AF_UNIX only: channels between fibers and children"),
    ("close", "closing descriptors"),
    ("dup", "duplicating descriptors"),
    ("dup3", "duplicating descriptors"),
    ("fcntl", "descriptor flags (non-blocking, close-on-exec)"),
    ("ioctl", "terminal and FIONREAD queries; TIOCSTI and TIOCLINUX are refused"),
    ("pipe2", "pipes between fibers"),
    ("eventfd2", "wake-ups"),
    ("epoll_create1", "the epoll reactor"),
    ("epoll_ctl", "the epoll reactor"),
    ("epoll_wait", "the epoll reactor"),
    ("epoll_pwait", "the epoll reactor"),
    ("epoll_pwait2", "the epoll reactor"),
    ("poll", "waiting on a descriptor"),
    ("ppoll", "waiting on a descriptor"),
    ("memfd_create", "large messages travel as sealed memfds"),
    ("ftruncate", "sizing a memfd or a file under a writable path"),
    ("fallocate", "sizing a memfd"),
    ("openat", "files under bound paths (mounts and Landlock decide which)"),
    ("newfstatat", "metadata of open files and bound paths"),
    ("fstat", "metadata of open files"),
    ("statx", "metadata of open files and bound paths"),
    ("lseek", "seeking in open files"),
    ("getdents64", "listing bound directories"),
    ("readlinkat", "resolving links under bound paths"),
    ("faccessat2", "access checks under bound paths"),
    ("mkdirat", "directories under writable paths"),
    ("mkdir", "directories under writable paths (Rust's std uses the legacy names)"),
    ("rmdir", "removing directories under writable paths"),
    ("unlink", "removing files under writable paths (Rust's std uses the legacy names)"),
    ("rename", "renaming under writable paths (Rust's std uses the legacy names)"),
    ("unlinkat", "removing files under writable paths"),
    ("renameat2", "renaming under writable paths"),
    ("fsync", "flushing files under writable paths"),
    ("fdatasync", "flushing files under writable paths"),
    ("getcwd", "the current directory"),
    ("chdir", "the current directory"),
    ("mmap", "memory (bounded by the address-space limit)"),
    ("munmap", "memory"),
    ("mremap", "memory (growing buffers)"),
    ("mprotect", "memory protections (guard pages)"),
    ("madvise", "returning memory to the kernel"),
    ("brk", "the heap"),
    ("futex", "locks in libc and the allocator"),
    ("sched_yield", "spin-lock back-off in the allocator"),
    ("sched_getaffinity", "CPU count queries"),
    ("clock_gettime", "clocks (usually answered by the vDSO)"),
    ("clock_getres", "clock resolution"),
    ("clock_nanosleep", "timers"),
    ("nanosleep", "timers"),
    ("gettimeofday", "clocks (usually answered by the vDSO)"),
    ("getrandom", "hash seeds and Lua's random numbers"),
    ("getpid", "own pid"),
    ("gettid", "own thread id"),
    ("getppid", "parent pid (0 or 1 inside a pid namespace)"),
    ("getuid", "own ids"),
    ("geteuid", "own ids"),
    ("getgid", "own ids"),
    ("getegid", "own ids"),
    ("prlimit64", "reading limits (raising past the hard limit is impossible)"),
    ("getrusage", "own CPU usage for budgets"),
    ("rt_sigaction", "signal handlers"),
    ("rt_sigprocmask", "signal masks"),
    ("rt_sigreturn", "returning from a signal handler"),
    ("sigaltstack", "the stack-overflow handler"),
    ("restart_syscall", "restarting a call interrupted by a signal"),
    ("kill", "signals inside the sandbox (the pid namespace and Landlock scope hide the rest)"),
    ("tgkill", "abort() signals its own thread"),
    ("exit", "ending a thread"),
    ("exit_group", "ending the process"),
    ("uname", "system name (the UTS namespace hides the host's)"),
    ("rseq", "glibc restartable sequences"),
    ("seccomp", "stacking a stricter filter on itself (a filter can only add restrictions)"),
];

/// What `luacell exec` needs to start an ordinary dynamically linked program and let it run
/// shell-like work: the actor set plus exec, process creation without namespaces, and the
/// classic file calls.
pub const EXEC: &[Entry] = &[
    ("execve", "starting the command (files must be under an exec bind)"),
    ("execveat", "starting the command by descriptor"),
    ("clone", "fork and threads, never with namespace flags"),
    ("fork", "legacy fork"),
    ("vfork", "posix_spawn"),
    ("wait4", "waiting for children"),
    ("waitid", "waiting for children"),
    ("arch_prctl", "thread-local storage at program start"),
    ("set_tid_address", "thread start-up in libc"),
    ("set_robust_list", "thread start-up in libc"),
    ("get_robust_list", "thread start-up in libc"),
    ("prctl", "thread names and no-new-privileges queries"),
    ("open", "legacy file opens"),
    ("stat", "legacy metadata"),
    ("lstat", "legacy metadata"),
    ("access", "legacy access checks"),
    ("faccessat", "access checks"),
    ("readlink", "legacy links"),
    ("statfs", "file-system queries"),
    ("fstatfs", "file-system queries"),
    ("fchdir", "changing directory"),
    ("renameat", "rename"),
    ("link", "hard links under writable paths"),
    ("linkat", "hard links under writable paths"),
    ("symlink", "symlinks under writable paths"),
    ("symlinkat", "symlinks under writable paths"),
    ("chmod", "modes under writable paths"),
    ("fchmod", "modes under writable paths"),
    ("fchmodat", "modes under writable paths"),
    ("utimensat", "timestamps under writable paths"),
    ("truncate", "sizing files under writable paths"),
    ("umask", "the file mode mask"),
    ("dup2", "shell redirections"),
    ("pipe", "shell pipes"),
    ("select", "legacy waiting"),
    ("pselect6", "waiting"),
    ("getgroups", "own ids"),
    ("getresuid", "own ids"),
    ("getresgid", "own ids"),
    ("getpgrp", "job control"),
    ("getpgid", "job control"),
    ("setpgid", "job control"),
    ("getsid", "job control"),
    ("setsid", "job control"),
    ("sysinfo", "memory queries"),
    ("times", "CPU time"),
    ("getitimer", "interval timers"),
    ("setitimer", "interval timers"),
    ("alarm", "alarm timers"),
    ("pause", "waiting for a signal"),
    ("rt_sigsuspend", "waiting for a signal"),
    ("rt_sigpending", "pending signals"),
    ("rt_sigtimedwait", "waiting for a signal"),
    ("tkill", "signalling own threads"),
    ("pidfd_open", "waiting on own children (the pid namespace hides every other process)"),
    ("bind", "unix sockets under writable paths"),
    ("listen", "unix sockets under writable paths"),
    ("accept", "unix sockets under writable paths"),
    ("flock", "file locks"),
    ("fadvise64", "read-ahead hints"),
    ("sendfile", "copying files"),
    ("copy_file_range", "copying files"),
    ("splice", "pipes"),
    ("getcpu", "CPU queries"),
    ("sched_getparam", "scheduler queries"),
    ("sched_getscheduler", "scheduler queries"),
    ("capget", "capability queries (there are none left)"),
    ("mincore", "memory residency queries"),
    ("msync", "flushing mapped files"),
    ("timerfd_create", "timers"),
    ("timerfd_settime", "timers"),
    ("timerfd_gettime", "timers"),
    ("signalfd4", "signals as descriptors"),
    ("inotify_init1", "watching files under bound paths"),
    ("inotify_add_watch", "watching files under bound paths"),
    ("inotify_rm_watch", "watching files under bound paths"),
    ("getxattr", "ls and cp read ACLs and labels"),
    ("lgetxattr", "ls and cp read ACLs and labels"),
    ("fgetxattr", "ls and cp read ACLs and labels"),
    ("listxattr", "ls and cp read ACLs and labels"),
    ("llistxattr", "ls and cp read ACLs and labels"),
    ("flistxattr", "ls and cp read ACLs and labels"),
];

/// The pid-1 reaper's own list: reap, forward signals, report, exit.
pub const REAPER: &[Entry] = &[
    ("wait4", "reaping children"),
    ("rt_sigtimedwait", "waiting for a forwarded signal or SIGCHLD"),
    ("rt_sigprocmask", "the blocked-signal mask"),
    ("kill", "forwarding a signal to the child"),
    ("write", "reporting the child's status to the parent"),
    ("close", "closing the report descriptor"),
    ("rt_sigreturn", "returning from a signal"),
    ("restart_syscall", "restarting an interrupted wait"),
    ("exit_group", "exiting with the child's status"),
    ("exit", "exiting"),
    ("seccomp", "installing the forbidden-call filter on top of this list"),
    ("execveat", "becoming luacell-reaper, from its sealed memfd (only with AT_EMPTY_PATH)"),
    ("prctl", "luacell-reaper making itself non-dumpable (PR_SET_DUMPABLE 0 only)"),
];

/// Forbidden whatever a profile says, with the reason: they reach kernel surface a sandbox must
/// not have, or they would undo the sandbox.
pub const FORBIDDEN: &[Entry] = &[
    ("io_uring_setup", "io_uring operations are not filtered by seccomp"),
    ("io_uring_enter", "io_uring operations are not filtered by seccomp"),
    ("io_uring_register", "io_uring operations are not filtered by seccomp"),
    ("ptrace", "inspecting or controlling other processes"),
    ("process_vm_readv", "reading other processes' memory"),
    ("process_vm_writev", "writing other processes' memory"),
    ("pidfd_getfd", "stealing other processes' descriptors"),
    ("kcmp", "probing other processes' kernel objects"),
    ("mount", "changing the mount tree"),
    ("umount2", "changing the mount tree"),
    ("pivot_root", "changing the root"),
    ("chroot", "changing the root"),
    ("open_tree", "changing the mount tree"),
    ("move_mount", "changing the mount tree"),
    ("fsopen", "changing the mount tree"),
    ("fsconfig", "changing the mount tree"),
    ("fsmount", "changing the mount tree"),
    ("fspick", "changing the mount tree"),
    ("mount_setattr", "changing the mount tree"),
    ("unshare", "new namespaces are new kernel attack surface"),
    ("setns", "entering other namespaces"),
    ("bpf", "loading kernel programs"),
    ("perf_event_open", "kernel profiling surface and side channels"),
    ("keyctl", "the kernel keyring"),
    ("add_key", "the kernel keyring"),
    ("request_key", "the kernel keyring"),
    ("userfaultfd", "stalling the kernel at will (a classic exploit aid)"),
    ("personality", "disabling address-space randomisation"),
    ("init_module", "loading kernel modules"),
    ("finit_module", "loading kernel modules"),
    ("delete_module", "unloading kernel modules"),
    ("kexec_load", "replacing the kernel"),
    ("kexec_file_load", "replacing the kernel"),
    ("reboot", "rebooting"),
    ("swapon", "swap configuration"),
    ("swapoff", "swap configuration"),
    ("acct", "process accounting"),
    ("quotactl", "disk quotas"),
    ("open_by_handle_at", "opening files by handle bypasses the mount tree"),
    ("name_to_handle_at", "file handles"),
    ("syslog", "the kernel log"),
    ("settimeofday", "the system clock"),
    ("clock_settime", "the system clock"),
    ("adjtimex", "the system clock"),
    ("clock_adjtime", "the system clock"),
    ("iopl", "raw port IO"),
    ("ioperm", "raw port IO"),
    ("vhangup", "terminal hang-up"),
];

fn preset(name: &str) -> Option<&'static [Entry]> {
    match name {
        "actor" => Some(ACTOR),
        "exec" => Some(EXEC),
        _ => None,
    }
}

fn arg_check(name: &str) -> Option<ArgCheck> {
    match name {
        "socket" | "socketpair" => Some(ArgCheck::UnixOnly),
        "ioctl" => Some(ArgCheck::NotTerminalInjection),
        "clone" => Some(ArgCheck::NoNamespaceFlags),
        _ => None,
    }
}

/// Checks a profile's seccomp section; the error is (field, message).
pub fn check_policy(s: &Seccomp) -> Result<(), (String, String)> {
    if preset(&s.preset).is_none() {
        return Err(("seccomp.preset".into(), format!("unknown preset '{}' (known: actor, exec)", s.preset)));
    }
    for (i, a) in s.allow.iter().enumerate() {
        let field = format!("seccomp.allow[{i}].syscall");
        if let Some((_, why)) = FORBIDDEN.iter().find(|(n, _)| *n == a.syscall) {
            return Err((field, format!("{} is always forbidden: {why}", a.syscall)));
        }
        if number(&a.syscall).is_none() {
            return Err((field, format!("unknown syscall '{}' on this architecture", a.syscall)));
        }
    }
    Ok(())
}

/// The resolved allow-list of a policy: (name, reason), preset first.
pub fn allowed(s: &Seccomp) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> =
        preset(&s.preset).unwrap_or(&[]).iter().map(|(n, w)| (n.to_string(), w.to_string())).collect();
    if s.preset == "exec" {
        out.extend(ACTOR.iter().map(|(n, w)| (n.to_string(), w.to_string())));
    }
    for a in &s.allow {
        out.push((a.syscall.clone(), a.why.clone()));
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

#[derive(Debug, thiserror::Error)]
pub enum CompileError {
    #[error("seccomp filters are only built for x86_64 so far")]
    Architecture,
    #[error("unknown syscall '{0}'")]
    Unknown(String),
    #[error("cannot compile the seccomp filter")]
    Backend(#[source] seccompiler::BackendError),
}

fn cond(arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64) -> Result<SeccompCondition, CompileError> {
    SeccompCondition::new(arg, len, op, value).map_err(CompileError::Backend)
}

fn rule(conditions: Vec<SeccompCondition>) -> Result<SeccompRule, CompileError> {
    SeccompRule::new(conditions).map_err(CompileError::Backend)
}

const NAMESPACE_FLAGS: [u64; 7] = [
    libc::CLONE_NEWNS as u64,
    libc::CLONE_NEWCGROUP as u64,
    libc::CLONE_NEWUTS as u64,
    libc::CLONE_NEWIPC as u64,
    libc::CLONE_NEWUSER as u64,
    libc::CLONE_NEWPID as u64,
    libc::CLONE_NEWNET as u64,
];

fn allow_rules(check: Option<ArgCheck>) -> Result<Vec<SeccompRule>, CompileError> {
    use SeccompCmpArgLen::{Dword, Qword};
    Ok(match check {
        None => Vec::new(),
        Some(ArgCheck::UnixOnly) => vec![rule(vec![cond(0, Dword, SeccompCmpOp::Eq, libc::AF_UNIX as u64)?])?],
        Some(ArgCheck::NotTerminalInjection) => vec![rule(vec![
            cond(1, Dword, SeccompCmpOp::Ne, libc::TIOCSTI)?,
            cond(1, Dword, SeccompCmpOp::Ne, libc::TIOCLINUX)?,
        ])?],
        Some(ArgCheck::NoNamespaceFlags) => {
            let mask = NAMESPACE_FLAGS.iter().fold(0, |m, f| m | f);
            vec![rule(vec![cond(0, Qword, SeccompCmpOp::MaskedEq(mask), 0)?])?]
        }
    })
}

fn nr(name: &str) -> Result<i64, CompileError> {
    number(name).ok_or_else(|| CompileError::Unknown(name.to_owned()))
}

/// The allow-list program: listed syscalls pass (with their argument checks), anything else
/// gets `ENOSYS`.
pub fn compile_allow_list<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<BpfProgram, CompileError> {
    if cfg!(not(target_arch = "x86_64")) {
        return Err(CompileError::Architecture);
    }
    let mut rules = BTreeMap::new();
    for name in names {
        rules.insert(nr(name)?, allow_rules(arg_check(name))?);
    }
    build(rules, SeccompAction::Errno(libc::ENOSYS as u32), SeccompAction::Allow)
}

/// The forbidden-call program: the forbidden list, terminal injection and namespace-creating
/// clones get `action`; everything else passes on to the allow-list.
pub fn compile_forbidden(action: ForbiddenAction) -> Result<BpfProgram, CompileError> {
    use SeccompCmpArgLen::{Dword, Qword};
    let mut rules = BTreeMap::new();
    for (name, _) in FORBIDDEN {
        rules.insert(nr(name)?, Vec::new());
    }
    rules.insert(
        nr("ioctl")?,
        vec![
            rule(vec![cond(1, Dword, SeccompCmpOp::Eq, libc::TIOCSTI)?])?,
            rule(vec![cond(1, Dword, SeccompCmpOp::Eq, libc::TIOCLINUX)?])?,
        ],
    );
    let ns: Result<Vec<_>, _> =
        NAMESPACE_FLAGS.iter().map(|&f| rule(vec![cond(0, Qword, SeccompCmpOp::MaskedEq(f), f)?])).collect();
    rules.insert(nr("clone")?, ns?);
    let action = match action {
        ForbiddenAction::Kill => SeccompAction::KillProcess,
        ForbiddenAction::Eperm => SeccompAction::Errno(libc::EPERM as u32),
    };
    build(rules, SeccompAction::Allow, action)
}

/// The pid-1 reaper's program: [`REAPER`], where `execveat` passes only with `AT_EMPTY_PATH` (it
/// runs the descriptor it is given, the memfd holding luacell-reaper) and `prctl` only as
/// `PR_SET_DUMPABLE 0`.
pub fn compile_reaper() -> Result<BpfProgram, CompileError> {
    if cfg!(not(target_arch = "x86_64")) {
        return Err(CompileError::Architecture);
    }
    let mut rules = BTreeMap::new();
    for (name, _) in REAPER {
        let r = if *name == "execveat" {
            let empty_path = libc::AT_EMPTY_PATH as u64;
            vec![rule(vec![cond(4, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, empty_path)?])?]
        } else if *name == "prctl" {
            let dumpable = libc::PR_SET_DUMPABLE as u64;
            vec![rule(vec![
                cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, dumpable)?,
                cond(1, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, 0)?,
            ])?]
        } else {
            allow_rules(arg_check(name))?
        };
        rules.insert(nr(name)?, r);
    }
    build(rules, SeccompAction::Errno(libc::ENOSYS as u32), SeccompAction::Allow)
}

/// Rules per seccompiler program in a split filter.
const GROUP: usize = 16;

/// Compiles `rules` with seccompiler, split by syscall number into programs of [`GROUP`] rules
/// behind a small dispatcher on the syscall number.
///
/// seccompiler emits one linear chain: a syscall that is not listed walks all of it. The kernel
/// walks every filter once per syscall number when the filter is attached (to build its
/// allow-cache), so a 170-syscall chain costs a third of a millisecond per spawn. Split, every
/// number walks the dispatcher (two instructions per group) and one group. Each group is a whole
/// seccompiler program (its own architecture check, rules and default), so the split changes
/// which instructions run, never the verdict; `split_filter_gives_the_same_verdicts` checks that
/// against the single chain for every syscall number.
fn build(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: SeccompAction,
    matched: SeccompAction,
) -> Result<BpfProgram, CompileError> {
    let mut groups: Vec<(i64, BpfProgram)> = Vec::new();
    let mut entries = rules.into_iter().peekable();
    while entries.peek().is_some() {
        let group: BTreeMap<i64, Vec<SeccompRule>> = entries.by_ref().take(GROUP).collect();
        let low = group.keys().next().copied().unwrap_or(0);
        groups.push((low, build_one(group, mismatch.clone(), matched.clone())?));
    }
    if groups.len() <= 1 {
        return match groups.pop() {
            Some((_, program)) => Ok(program),
            None => build_one(BTreeMap::new(), mismatch, matched),
        };
    }
    Ok(dispatch(groups))
}

const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JMP_JA: u16 = 0x05;
const BPF_JMP_JGE_K: u16 = 0x35;

fn stmt(code: u16, k: u32) -> seccompiler::sock_filter {
    seccompiler::sock_filter { code, jt: 0, jf: 0, k }
}

/// `groups` sorted by their lowest syscall number: number >= low(i) (highest i first) jumps to
/// group i, anything below low(1) to group 0.
fn dispatch(groups: Vec<(i64, BpfProgram)>) -> BpfProgram {
    let k = groups.len();
    let head = 1 + 2 * (k - 1) + 1;
    let mut starts = Vec::with_capacity(k);
    let mut at = head;
    for (_, program) in &groups {
        starts.push(at);
        at += program.len();
    }
    let mut out = Vec::with_capacity(at);
    // seccomp_data.nr is the first 32-bit word.
    out.push(stmt(BPF_LD_W_ABS, 0));
    for i in (1..k).rev() {
        let low = u32::try_from(groups[i].0).unwrap_or(u32::MAX);
        out.push(seccompiler::sock_filter { code: BPF_JMP_JGE_K, jt: 0, jf: 1, k: low });
        let from = out.len() + 1;
        out.push(stmt(BPF_JMP_JA, (starts[i] - from) as u32));
    }
    let from = out.len() + 1;
    out.push(stmt(BPF_JMP_JA, (starts[0] - from) as u32));
    for (_, program) in groups {
        out.extend(program);
    }
    out
}

fn build_one(
    rules: BTreeMap<i64, Vec<SeccompRule>>,
    mismatch: SeccompAction,
    matched: SeccompAction,
) -> Result<BpfProgram, CompileError> {
    #[cfg(target_arch = "x86_64")]
    {
        let filter = SeccompFilter::new(rules, mismatch, matched, ARCH).map_err(CompileError::Backend)?;
        filter.try_into().map_err(CompileError::Backend)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (rules, mismatch, matched);
        Err(CompileError::Architecture)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_name_only_known_and_allowed_syscalls() {
        for (name, why) in ACTOR.iter().chain(EXEC).chain(REAPER) {
            assert!(number(name).is_some(), "{name} is not a syscall here");
            assert!(!why.is_empty());
            assert!(!FORBIDDEN.iter().any(|(f, _)| f == name), "{name} is both allowed and forbidden");
        }
        for (name, _) in FORBIDDEN {
            assert!(number(name).is_some(), "{name} is not a syscall here");
        }
    }

    #[test]
    fn table_lookup_finds_numbers() {
        assert_eq!(number("read"), Some(libc::SYS_read));
        assert_eq!(number("io_uring_setup"), Some(libc::SYS_io_uring_setup));
        assert_eq!(number("no_such_call"), None);
    }

    /// A classic-BPF interpreter for the instructions seccompiler and the dispatcher emit.
    fn run(program: &[seccompiler::sock_filter], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let ins = &program[pc];
            pc += 1;
            match ins.code {
                0x20 => acc = u32::from_ne_bytes(data[ins.k as usize..ins.k as usize + 4].try_into().expect("word")),
                0x54 => acc &= ins.k,
                0x05 => pc += ins.k as usize,
                0x15 | 0x25 | 0x35 => {
                    let hit = match ins.code {
                        0x15 => acc == ins.k,
                        0x25 => acc > ins.k,
                        _ => acc >= ins.k,
                    };
                    pc += usize::from(if hit { ins.jt } else { ins.jf });
                }
                0x06 => return ins.k,
                other => panic!("instruction {other:#x} not interpreted"),
            }
        }
    }

    #[test]
    fn split_filter_gives_the_same_verdicts() {
        const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
        for preset in ["actor", "exec"] {
            let s = Seccomp { preset: preset.into(), ..Seccomp::default() };
            let names = allowed(&s);
            let split = compile_allow_list(names.iter().map(|(n, _)| n.as_str())).expect("split");
            let mut rules = BTreeMap::new();
            for (name, _) in &names {
                rules.insert(number(name).expect("known"), allow_rules(arg_check(name)).expect("rules"));
            }
            let single =
                build_one(rules, SeccompAction::Errno(libc::ENOSYS as u32), SeccompAction::Allow).expect("single");
            assert!(split.len() > single.len(), "{preset} was not split");
            let probes: [[u64; 6]; 5] = [
                [0; 6],
                [libc::AF_UNIX as u64, libc::TIOCSTI, 0, 0, 0, 0],
                [libc::AF_INET as u64, libc::FIONREAD, 0, 0, 0, 0],
                [libc::CLONE_NEWUSER as u64 | libc::SIGCHLD as u64, 0, 0, 0, 0, 0],
                [u64::MAX; 6],
            ];
            for nr in 0..1024u32 {
                for args in probes {
                    for arch in [AUDIT_ARCH_X86_64, 0x4000_0003] {
                        let a = run(&split, nr, arch, args);
                        let b = run(&single, nr, arch, args);
                        assert_eq!(a, b, "{preset}: nr {nr} arch {arch:#x} args {args:?}");
                    }
                }
            }
            // And the verdicts are the intended ones.
            let allow = 0x7fff_0000;
            let enosys = 0x0005_0000 | libc::ENOSYS as u32;
            assert_eq!(run(&split, libc::SYS_read as u32, AUDIT_ARCH_X86_64, [0; 6]), allow);
            assert_eq!(run(&split, libc::SYS_io_uring_setup as u32, AUDIT_ARCH_X86_64, [0; 6]), enosys);
            assert_eq!(
                run(&split, libc::SYS_socket as u32, AUDIT_ARCH_X86_64, [libc::AF_INET as u64, 0, 0, 0, 0, 0]),
                enosys
            );
            assert_eq!(
                run(&split, libc::SYS_socket as u32, AUDIT_ARCH_X86_64, [libc::AF_UNIX as u64, 0, 0, 0, 0, 0]),
                allow
            );
            assert_eq!(run(&split, libc::SYS_read as u32 | 0x4000_0000, AUDIT_ARCH_X86_64, [0; 6]), enosys);
        }
        let forbidden = compile_forbidden(ForbiddenAction::Kill).expect("forbidden");
        assert_eq!(run(&forbidden, libc::SYS_io_uring_setup as u32, AUDIT_ARCH_X86_64, [0; 6]), 0x8000_0000);
        assert_eq!(run(&forbidden, libc::SYS_read as u32, AUDIT_ARCH_X86_64, [0; 6]), 0x7fff_0000);
        let ioctl = libc::SYS_ioctl as u32;
        assert_eq!(run(&forbidden, ioctl, AUDIT_ARCH_X86_64, [0, libc::TIOCSTI, 0, 0, 0, 0]), 0x8000_0000);
        assert_eq!(run(&forbidden, ioctl, AUDIT_ARCH_X86_64, [0, libc::FIONREAD, 0, 0, 0, 0]), 0x7fff_0000);
    }

    #[test]
    fn every_preset_compiles() {
        for preset in ["actor", "exec"] {
            let s = Seccomp { preset: preset.into(), ..Seccomp::default() };
            let names = allowed(&s);
            assert!(compile_allow_list(names.iter().map(|(n, _)| n.as_str())).is_ok_and(|p| !p.is_empty()));
        }
        assert!(compile_forbidden(ForbiddenAction::Kill).is_ok());
        assert!(compile_forbidden(ForbiddenAction::Eperm).is_ok());
    }
}
