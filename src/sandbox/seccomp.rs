//! Seccomp: the presets (every allowed syscall with its reason), the forbidden list, and the
//! classic-BPF filters a plan installs, compiled here ([`compile`], [`compile_reaper`]).
//!
//! Trust zone: main process and supervisor (compiling is pure); the programs are installed in
//! the child, last.
//!
//! One filter per process. Allowed syscalls pass (with their argument checks), so libc works;
//! forbidden ones, terminal injection and namespace-creating clones get the profile's action
//! (SIGSYS or `EPERM`); anything else gets `ENOSYS`, so libc falls back (`clone3` -> `clone`) and
//! unknown calls fail softly. A foreign architecture is killed, and numbers are matched exactly,
//! so x32 aliases (bit 30 set) get `ENOSYS`. The unit tests check every verdict against the
//! stacked pair of seccompiler filters luacell installed before, through a BPF interpreter.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use super::profile::{ForbiddenAction, Seccomp};

#[cfg(target_arch = "x86_64")]
use super::syscalls_x86_64::SYSCALLS;

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
        if a.syscall == "clone3" {
            // Its flags are in memory, where a filter cannot see them: allowed, it would create
            // namespaces unchecked. libc falls back to `clone`, whose flags are checked.
            return Err((
                field,
                "clone3 cannot be allowed: its flags are out of the filter's reach (libc falls back to clone, which the exec preset allows without namespace flags)".into(),
            ));
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
    #[error("the seccomp filter would be too large for classic BPF")]
    TooLarge,
}

pub use crate::sys::process::BpfInsn as Insn;

/// A whole filter, ready for `seccomp(SECCOMP_SET_MODE_FILTER)`.
pub type Program = Vec<Insn>;

const LD_W_ABS: u16 = 0x20;
const ALU_AND_K: u16 = 0x54;
const JMP_JA: u16 = 0x05;
const JMP_JEQ_K: u16 = 0x15;
const JMP_JGE_K: u16 = 0x35;
const RET_K: u16 = 0x06;

const SECCOMP_RET_KILL_PROCESS: u32 = 0x8000_0000;
const SECCOMP_RET_ERRNO: u32 = 0x0005_0000;
const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;

/// Offsets in `struct seccomp_data`: the syscall number, the architecture, the arguments (each
/// 64 bits, low word first on x86_64).
const NR: u32 = 0;
const ARCH_WORD: u32 = 4;
const fn arg_low(i: u32) -> u32 {
    16 + 8 * i
}
const fn arg_high(i: u32) -> u32 {
    20 + 8 * i
}

/// What the filter answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    Allow,
    Errno(u16),
    Kill,
}

impl Verdict {
    const ENOSYS: Verdict = Verdict::Errno(libc::ENOSYS as u16);

    fn forbidden(action: ForbiddenAction) -> Verdict {
        match action {
            ForbiddenAction::Kill => Verdict::Kill,
            ForbiddenAction::Eperm => Verdict::Errno(libc::EPERM as u16),
        }
    }

    fn ret(self) -> Insn {
        let k = match self {
            Verdict::Allow => SECCOMP_RET_ALLOW,
            Verdict::Errno(e) => SECCOMP_RET_ERRNO | u32::from(e),
            Verdict::Kill => SECCOMP_RET_KILL_PROCESS,
        };
        stmt(RET_K, k)
    }
}

/// A test on one 32-bit word of `seccomp_data`: `word & mask == value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Cond {
    offset: u32,
    mask: u32,
    value: u32,
}

const fn word_is(offset: u32, value: u32) -> Cond {
    Cond { offset, mask: u32::MAX, value }
}

/// What one syscall number gets: the verdict of the first case whose conditions all hold, else
/// `otherwise`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Rule {
    cases: Vec<(Vec<Cond>, Verdict)>,
    otherwise: Verdict,
}

impl Rule {
    fn always(v: Verdict) -> Rule {
        Rule { cases: Vec::new(), otherwise: v }
    }
}

/// Every namespace flag, as `clone` sees them (all in the low word).
const NAMESPACE_MASK: u32 = (libc::CLONE_NEWNS
    | libc::CLONE_NEWCGROUP
    | libc::CLONE_NEWUTS
    | libc::CLONE_NEWIPC
    | libc::CLONE_NEWUSER
    | libc::CLONE_NEWPID
    | libc::CLONE_NEWNET) as u32;

/// The rule of an allowed syscall: its argument check, if it has one.
fn allowed_rule(check: Option<ArgCheck>, forbidden: Verdict) -> Rule {
    match check {
        None => Rule::always(Verdict::Allow),
        Some(ArgCheck::UnixOnly) => Rule {
            cases: vec![(vec![word_is(arg_low(0), libc::AF_UNIX as u32)], Verdict::Allow)],
            otherwise: Verdict::ENOSYS,
        },
        Some(ArgCheck::NotTerminalInjection) => ioctl_rule(Verdict::Allow, forbidden),
        Some(ArgCheck::NoNamespaceFlags) => clone_rule(Verdict::Allow, forbidden),
    }
}

/// `ioctl`: pushing input into a terminal (`TIOCSTI`, `TIOCLINUX`) is forbidden, the rest gets
/// `base`.
fn ioctl_rule(base: Verdict, forbidden: Verdict) -> Rule {
    Rule {
        cases: vec![
            (vec![word_is(arg_low(1), libc::TIOCSTI as u32)], forbidden),
            (vec![word_is(arg_low(1), libc::TIOCLINUX as u32)], forbidden),
        ],
        otherwise: base,
    }
}

/// `clone`: any namespace flag is forbidden, the rest gets `base`.
fn clone_rule(base: Verdict, forbidden: Verdict) -> Rule {
    Rule {
        cases: vec![(vec![Cond { offset: arg_low(0), mask: NAMESPACE_MASK, value: 0 }], base)],
        otherwise: forbidden,
    }
}

fn nr(name: &str) -> Result<u32, CompileError> {
    number(name).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| CompileError::Unknown(name.to_owned()))
}

/// The actor's (or a command's) filter: the allowed syscalls pass (with their argument checks),
/// the forbidden ones, terminal injection and namespace-creating clones get `action`, anything
/// else gets `ENOSYS`.
pub fn compile<'a>(
    allowed: impl IntoIterator<Item = &'a str>,
    action: ForbiddenAction,
) -> Result<Program, CompileError> {
    if cfg!(not(target_arch = "x86_64")) {
        return Err(CompileError::Architecture);
    }
    let forbidden = Verdict::forbidden(action);
    let mut rules = BTreeMap::new();
    for name in allowed {
        rules.insert(nr(name)?, allowed_rule(arg_check(name), forbidden));
    }
    for (name, _) in FORBIDDEN {
        rules.insert(nr(name)?, Rule::always(forbidden));
    }
    // Forbidden with these arguments even where the call itself is not allowed.
    let ioctl = nr("ioctl")?;
    rules.entry(ioctl).or_insert_with(|| ioctl_rule(Verdict::ENOSYS, forbidden));
    let clone = nr("clone")?;
    rules.entry(clone).or_insert_with(|| clone_rule(Verdict::ENOSYS, forbidden));
    assemble(&rules, Verdict::ENOSYS)
}

/// A policy's resolved allow-list (preset first, see [`allowed`]) and its compiled filter.
pub type Compiled = Arc<(Vec<(String, String)>, Program)>;

/// [`allowed`] and [`compile`] for a policy. One that only names a preset (the usual case)
/// depends on nothing else, so it is compiled once per process and shared: a spawn then spends
/// no time on it.
pub fn compile_policy(s: &Seccomp) -> Result<Compiled, CompileError> {
    let fresh = || {
        let allowed = allowed(s);
        let program = compile(allowed.iter().map(|(n, _)| n.as_str()), s.forbidden)?;
        Ok(Arc::new((allowed, program)))
    };
    let slot = match (s.preset.as_str(), s.forbidden) {
        _ if !s.allow.is_empty() => None,
        ("actor", ForbiddenAction::Kill) => Some(0),
        ("actor", ForbiddenAction::Eperm) => Some(1),
        ("exec", ForbiddenAction::Kill) => Some(2),
        ("exec", ForbiddenAction::Eperm) => Some(3),
        _ => None,
    };
    let Some(slot) = slot else { return fresh() };
    static PRESETS: [OnceLock<Compiled>; 4] = [const { OnceLock::new() }; 4];
    if let Some(c) = PRESETS[slot].get() {
        return Ok(c.clone());
    }
    let c = fresh()?;
    Ok(PRESETS[slot].get_or_init(|| c).clone())
}

/// The pid-1 reaper's filter: [`REAPER`], where `execveat` passes only with `AT_EMPTY_PATH` (it
/// runs the descriptor it is given, the memfd holding luacell-reaper) and `prctl` only as
/// `PR_SET_DUMPABLE 0`; anything else gets `ENOSYS`.
pub fn compile_reaper() -> Result<Arc<Program>, CompileError> {
    if cfg!(not(target_arch = "x86_64")) {
        return Err(CompileError::Architecture);
    }
    // The same for every plan: compiled once per process.
    static REAPER_FILTER: OnceLock<Arc<Program>> = OnceLock::new();
    if let Some(p) = REAPER_FILTER.get() {
        return Ok(p.clone());
    }
    let mut rules = BTreeMap::new();
    for (name, _) in REAPER {
        let rule = match *name {
            "execveat" => Rule {
                cases: vec![(vec![word_is(arg_low(4), libc::AT_EMPTY_PATH as u32)], Verdict::Allow)],
                otherwise: Verdict::ENOSYS,
            },
            "prctl" => Rule {
                cases: vec![(
                    vec![
                        word_is(arg_low(0), libc::PR_SET_DUMPABLE as u32),
                        word_is(arg_low(1), 0),
                        word_is(arg_high(1), 0),
                    ],
                    Verdict::Allow,
                )],
                otherwise: Verdict::ENOSYS,
            },
            _ => allowed_rule(arg_check(name), Verdict::ENOSYS),
        };
        rules.insert(nr(name)?, rule);
    }
    let program = Arc::new(assemble(&rules, Verdict::ENOSYS)?);
    Ok(REAPER_FILTER.get_or_init(|| program).clone())
}

fn stmt(code: u16, k: u32) -> Insn {
    Insn { code, jt: 0, jf: 0, k }
}

/// One filter for per-number `rules`; every unlisted number gets `unlisted`.
///
/// A foreign architecture (32-bit `int 0x80` calls on x86_64) is killed first. Then the number
/// is looked up by binary search over the ranges of numbers that share a rule (adjacent plain
/// numbers with the same verdict are one range), about eight comparisons for the actor preset.
/// Only `ld` of the number or architecture, `jeq`/`jge`/`ja` and `ret` are on the way to a
/// plain verdict, so the kernel's attach-time emulation proves those numbers always allowed
/// and skips the filter for them; argument checks load the argument and are run per call.
/// seccompiler, which the first version used, emits one comparison chain per rule: the same
/// verdicts at about three times the length, which the kernel converts and JIT-compiles on
/// every spawn (`every_verdict_matches_the_stacked_seccompiler_filters_and_the_rules` checks
/// the verdicts against it and against a plain statement of the rules).
fn assemble(rules: &BTreeMap<u32, Rule>, unlisted: Verdict) -> Result<Program, CompileError> {
    let mut ranges: Vec<(u32, Rule)> = Vec::new();
    let mut push = |start: u32, rule: Rule| {
        if let Some((_, last)) = ranges.last()
            && last.cases.is_empty()
            && rule.cases.is_empty()
            && last.otherwise == rule.otherwise
        {
            return;
        }
        ranges.push((start, rule));
    };
    let mut next = Some(0u32);
    for (&n, rule) in rules {
        if let Some(from) = next
            && n > from
        {
            push(from, Rule::always(unlisted));
        }
        push(n, rule.clone());
        next = n.checked_add(1);
    }
    if let Some(from) = next {
        push(from, Rule::always(unlisted));
    }
    let mut out = vec![
        stmt(LD_W_ABS, ARCH_WORD),
        Insn { code: JMP_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 },
        Verdict::Kill.ret(),
        stmt(LD_W_ABS, NR),
    ];
    out.extend(search(&ranges, unlisted)?);
    // The kernel takes at most BPF_MAXINSNS instructions.
    if out.len() > 4096 {
        return Err(CompileError::TooLarge);
    }
    Ok(out)
}

/// Code that, with the syscall number in the accumulator, reaches the rule of its range. Every
/// path ends in a `ret`, so no code falls through into the next.
fn search(ranges: &[(u32, Rule)], unlisted: Verdict) -> Result<Program, CompileError> {
    let Some(((_, first), rest)) = ranges.split_first() else { return Ok(vec![unlisted.ret()]) };
    if rest.is_empty() {
        return leaf(first);
    }
    let mid = ranges.len() / 2;
    let below = search(&ranges[..mid], unlisted)?;
    let above = search(&ranges[mid..], unlisted)?;
    let from = ranges[mid].0;
    let mut out = Vec::with_capacity(below.len() + above.len() + 2);
    match u8::try_from(below.len()) {
        Ok(skip) => out.push(Insn { code: JMP_JGE_K, jt: skip, jf: 0, k: from }),
        // A conditional jump reaches 255 instructions at most: true lands on a long jump over
        // the lower half, false skips it.
        Err(_) => {
            out.push(Insn { code: JMP_JGE_K, jt: 0, jf: 1, k: from });
            out.push(stmt(JMP_JA, u32::try_from(below.len()).map_err(|_| CompileError::TooLarge)?));
        }
    }
    out.extend(below);
    out.extend(above);
    Ok(out)
}

/// A rule's code: each case's conditions in turn (a failed one skips to the next case), then
/// `otherwise`.
fn leaf(rule: &Rule) -> Result<Program, CompileError> {
    let mut out = Vec::new();
    for (conds, verdict) in &rule.cases {
        let len: usize = conds.iter().map(|c| if c.mask == u32::MAX { 2 } else { 3 }).sum::<usize>() + 1;
        let mut done = 0;
        for c in conds {
            out.push(stmt(LD_W_ABS, c.offset));
            done += 1;
            if c.mask != u32::MAX {
                out.push(stmt(ALU_AND_K, c.mask));
                done += 1;
            }
            done += 1;
            // Past this case's remaining instructions: the next case (a few at most).
            let skip = u8::try_from(len - done).map_err(|_| CompileError::TooLarge)?;
            out.push(Insn { code: JMP_JEQ_K, jt: 0, jf: skip, k: c.value });
        }
        out.push(verdict.ret());
    }
    out.push(rule.otherwise.ret());
    Ok(out)
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

    /// A classic-BPF interpreter for the instructions seccompiler and [`assemble`] emit, with
    /// the kernel's checks on them: jumps stay inside, loads are aligned words of
    /// `seccomp_data`, the last instruction returns.
    fn run(program: &[(u16, u8, u8, u32)], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        assert!(program.len() <= 4096 && program.last().is_some_and(|i| i.0 == RET_K), "not a filter");
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&nr.to_ne_bytes());
        data[4..8].copy_from_slice(&arch.to_ne_bytes());
        for (i, a) in args.iter().enumerate() {
            data[16 + 8 * i..24 + 8 * i].copy_from_slice(&a.to_ne_bytes());
        }
        let (mut acc, mut pc) = (0u32, 0usize);
        loop {
            let (code, jt, jf, k) = program[pc];
            pc += 1;
            match code {
                LD_W_ABS => {
                    assert!(k % 4 == 0 && k < 64, "load at {k}");
                    acc = u32::from_ne_bytes(data[k as usize..k as usize + 4].try_into().expect("word"));
                }
                ALU_AND_K => acc &= k,
                JMP_JA => pc += k as usize,
                JMP_JEQ_K | 0x25 | JMP_JGE_K => {
                    let hit = match code {
                        JMP_JEQ_K => acc == k,
                        0x25 => acc > k,
                        _ => acc >= k,
                    };
                    pc += usize::from(if hit { jt } else { jf });
                }
                RET_K => return k,
                other => panic!("instruction {other:#x} not interpreted"),
            }
            assert!(pc < program.len(), "jump past the end");
        }
    }

    fn ours(p: &Program) -> Vec<(u16, u8, u8, u32)> {
        p.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
    }

    /// The filters luacell installed before [`assemble`]: seccompiler's allow-list and, stacked
    /// on it, its forbidden-call filter; and the reaper's list.
    mod reference {
        use std::collections::BTreeMap;

        use seccompiler::{
            SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter, SeccompRule,
        };

        use super::super::{ArgCheck, FORBIDDEN, REAPER, arg_check, number};
        use crate::sandbox::profile::ForbiddenAction;

        pub type Raw = Vec<(u16, u8, u8, u32)>;

        fn cond(arg: u8, len: SeccompCmpArgLen, op: SeccompCmpOp, value: u64) -> SeccompCondition {
            SeccompCondition::new(arg, len, op, value).expect("condition")
        }

        pub const NAMESPACE_FLAGS: [u64; 7] = [
            libc::CLONE_NEWNS as u64,
            libc::CLONE_NEWCGROUP as u64,
            libc::CLONE_NEWUTS as u64,
            libc::CLONE_NEWIPC as u64,
            libc::CLONE_NEWUSER as u64,
            libc::CLONE_NEWPID as u64,
            libc::CLONE_NEWNET as u64,
        ];

        fn allow_rules(check: Option<ArgCheck>) -> Vec<SeccompRule> {
            use SeccompCmpArgLen::{Dword, Qword};
            let rule = |c| SeccompRule::new(c).expect("rule");
            match check {
                None => Vec::new(),
                Some(ArgCheck::UnixOnly) => vec![rule(vec![cond(0, Dword, SeccompCmpOp::Eq, libc::AF_UNIX as u64)])],
                Some(ArgCheck::NotTerminalInjection) => vec![rule(vec![
                    cond(1, Dword, SeccompCmpOp::Ne, libc::TIOCSTI),
                    cond(1, Dword, SeccompCmpOp::Ne, libc::TIOCLINUX),
                ])],
                Some(ArgCheck::NoNamespaceFlags) => {
                    let mask = NAMESPACE_FLAGS.iter().fold(0, |m, f| m | f);
                    vec![rule(vec![cond(0, Qword, SeccompCmpOp::MaskedEq(mask), 0)])]
                }
            }
        }

        fn build(rules: BTreeMap<i64, Vec<SeccompRule>>, mismatch: SeccompAction, matched: SeccompAction) -> Raw {
            let filter = SeccompFilter::new(rules, mismatch, matched, seccompiler::TargetArch::x86_64).expect("filter");
            let program: seccompiler::BpfProgram = filter.try_into().expect("program");
            program.iter().map(|i| (i.code, i.jt, i.jf, i.k)).collect()
        }

        pub fn allow_list(names: &[(String, String)]) -> Raw {
            let rules = names.iter().map(|(n, _)| (number(n).expect("known"), allow_rules(arg_check(n)))).collect();
            build(rules, SeccompAction::Errno(libc::ENOSYS as u32), SeccompAction::Allow)
        }

        pub fn forbidden(action: ForbiddenAction) -> Raw {
            use SeccompCmpArgLen::{Dword, Qword};
            let rule = |c| SeccompRule::new(c).expect("rule");
            let mut rules: BTreeMap<i64, Vec<SeccompRule>> =
                FORBIDDEN.iter().map(|(n, _)| (number(n).expect("known"), Vec::new())).collect();
            rules.insert(
                libc::SYS_ioctl,
                vec![
                    rule(vec![cond(1, Dword, SeccompCmpOp::Eq, libc::TIOCSTI)]),
                    rule(vec![cond(1, Dword, SeccompCmpOp::Eq, libc::TIOCLINUX)]),
                ],
            );
            rules.insert(
                libc::SYS_clone,
                NAMESPACE_FLAGS.iter().map(|&f| rule(vec![cond(0, Qword, SeccompCmpOp::MaskedEq(f), f)])).collect(),
            );
            let action = match action {
                ForbiddenAction::Kill => SeccompAction::KillProcess,
                ForbiddenAction::Eperm => SeccompAction::Errno(libc::EPERM as u32),
            };
            build(rules, SeccompAction::Allow, action)
        }

        pub fn reaper() -> Raw {
            let rule = |c| SeccompRule::new(c).expect("rule");
            let mut rules = BTreeMap::new();
            for (name, _) in REAPER {
                let r = match *name {
                    "execveat" => {
                        vec![rule(vec![cond(4, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, libc::AT_EMPTY_PATH as u64)])]
                    }
                    "prctl" => vec![rule(vec![
                        cond(0, SeccompCmpArgLen::Dword, SeccompCmpOp::Eq, libc::PR_SET_DUMPABLE as u64),
                        cond(1, SeccompCmpArgLen::Qword, SeccompCmpOp::Eq, 0),
                    ])],
                    _ => allow_rules(arg_check(name)),
                };
                rules.insert(number(name).expect("known"), r);
            }
            build(rules, SeccompAction::Errno(libc::ENOSYS as u32), SeccompAction::Allow)
        }
    }

    /// The kernel's answer for stacked filters: the most severe action wins; between two errno
    /// answers, the newer filter's (`second`).
    fn stacked(first: u32, second: u32) -> u32 {
        let rank = |v: u32| match v & 0xffff_0000 {
            SECCOMP_RET_KILL_PROCESS => 0,
            SECCOMP_RET_ERRNO => 1,
            SECCOMP_RET_ALLOW => 2,
            other => panic!("unexpected action {other:#x}"),
        };
        if rank(second) <= rank(first) { second } else { first }
    }

    /// Argument words that reach every check: each argument alone set to each value a rule
    /// compares (each namespace flag on its own among them), with and without its high word;
    /// every pair of those values in the first two arguments (`prctl` and `ioctl` look at two);
    /// all zeros and all ones.
    fn probes() -> Vec<[u64; 6]> {
        let mut values = vec![
            0,
            1,
            2,
            libc::AF_UNIX as u64,
            libc::AF_INET as u64,
            libc::TIOCSTI,
            libc::TIOCLINUX,
            libc::FIONREAD,
            libc::AT_EMPTY_PATH as u64,
            libc::PR_SET_DUMPABLE as u64,
            libc::SIGCHLD as u64,
            libc::CLONE_VM as u64,
            u64::MAX,
        ];
        values.extend(reference::NAMESPACE_FLAGS.iter().map(|f| f | libc::SIGCHLD as u64));
        let mut out = vec![[0; 6], [u64::MAX; 6]];
        for i in 0..6 {
            for &v in &values {
                for high in [0, 1u64 << 32] {
                    let mut a = [0; 6];
                    a[i] = v | high;
                    out.push(a);
                }
            }
        }
        for &a in &values {
            for &b in &values {
                out.push([a, b, 0, 0, 0, 0]);
            }
        }
        out
    }

    /// Syscall numbers to try: every one the table knows and more, the x32 aliases, the top of
    /// the range.
    fn numbers() -> impl Iterator<Item = u32> {
        (0..1100u32).chain([0x4000_0000, 0x4000_0001, 0x4000_0000 | 16, 0x7fff_ffff, 0x8000_0000, u32::MAX])
    }

    /// What the rules say, written out plainly: the third opinion next to seccompiler's.
    fn intended(allowed: &[(String, String)], action: ForbiddenAction, nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        let forbidden = match action {
            ForbiddenAction::Kill => SECCOMP_RET_KILL_PROCESS,
            ForbiddenAction::Eperm => SECCOMP_RET_ERRNO | libc::EPERM as u32,
        };
        if arch != AUDIT_ARCH_X86_64 {
            return SECCOMP_RET_KILL_PROCESS;
        }
        let Some(name) = SYSCALLS.iter().find(|(_, n)| *n == i64::from(nr)).map(|(name, _)| *name) else {
            return enosys;
        };
        let allow = allowed.iter().any(|(n, _)| n == name);
        let low = |i: usize| args[i] as u32;
        let base = if allow { SECCOMP_RET_ALLOW } else { enosys };
        match name {
            _ if FORBIDDEN.iter().any(|(n, _)| *n == name) => forbidden,
            "ioctl" if [libc::TIOCSTI as u32, libc::TIOCLINUX as u32].contains(&low(1)) => forbidden,
            "clone" if reference::NAMESPACE_FLAGS.iter().any(|&f| low(0) & f as u32 != 0) => forbidden,
            "socket" | "socketpair" if allow && low(0) != libc::AF_UNIX as u32 => enosys,
            _ => base,
        }
    }

    fn intended_for_reaper(nr: u32, arch: u32, args: [u64; 6]) -> u32 {
        let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        if arch != AUDIT_ARCH_X86_64 {
            return SECCOMP_RET_KILL_PROCESS;
        }
        let Some(name) = SYSCALLS.iter().find(|(_, n)| *n == i64::from(nr)).map(|(name, _)| *name) else {
            return enosys;
        };
        let ok = match name {
            "execveat" => args[4] as u32 == libc::AT_EMPTY_PATH as u32,
            "prctl" => args[0] as u32 == libc::PR_SET_DUMPABLE as u32 && args[1] == 0,
            _ => REAPER.iter().any(|(n, _)| *n == name),
        };
        if ok { SECCOMP_RET_ALLOW } else { enosys }
    }

    /// What the kernel's classic-BPF checker requires of every instruction, taken or not: jumps
    /// land inside the program, loads are aligned words of `seccomp_data`, the last one returns.
    fn assert_well_formed(p: &[(u16, u8, u8, u32)]) {
        assert!(!p.is_empty() && p.len() <= 4096);
        assert_eq!(p.last().map(|i| i.0), Some(RET_K), "the last instruction must return");
        for (i, &(code, jt, jf, k)) in p.iter().enumerate() {
            let next = i + 1;
            match code {
                JMP_JA => assert!(next + (k as usize) < p.len(), "ja at {i} leaves the program"),
                JMP_JEQ_K | JMP_JGE_K | 0x25 => {
                    assert!(next + usize::from(jt.max(jf)) < p.len(), "jump at {i} leaves the program")
                }
                LD_W_ABS => assert!(k % 4 == 0 && k < 64, "load at {i}"),
                ALU_AND_K | RET_K => {}
                other => panic!("instruction {other:#x} at {i}"),
            }
        }
    }

    #[test]
    fn every_verdict_matches_the_stacked_seccompiler_filters_and_the_rules() {
        let probes = probes();
        for preset in ["actor", "exec"] {
            for action in [ForbiddenAction::Kill, ForbiddenAction::Eperm] {
                let s = Seccomp { preset: preset.into(), ..Seccomp::default() };
                let names = allowed(&s);
                let merged = ours(&compile(names.iter().map(|(n, _)| n.as_str()), action).expect("compile"));
                assert_well_formed(&merged);
                let (allow, forbidden) = (reference::allow_list(&names), reference::forbidden(action));
                assert!(merged.len() * 2 < allow.len() + forbidden.len(), "{preset}: {} instructions", merged.len());
                for nr in numbers() {
                    for &args in &probes {
                        for arch in [AUDIT_ARCH_X86_64, 0x4000_0003] {
                            let got = run(&merged, nr, arch, args);
                            let want = stacked(run(&allow, nr, arch, args), run(&forbidden, nr, arch, args));
                            assert_eq!(got, want, "{preset}: nr {nr} arch {arch:#x} {args:?}");
                            assert_eq!(got, intended(&names, action, nr, arch, args), "{preset}: nr {nr} {args:?}");
                        }
                    }
                }
            }
        }
        let reaper = ours(&compile_reaper().expect("reaper"));
        assert_well_formed(&reaper);
        let reference = reference::reaper();
        for nr in numbers() {
            for &args in &probes {
                for arch in [AUDIT_ARCH_X86_64, 0x4000_0003] {
                    let got = run(&reaper, nr, arch, args);
                    assert_eq!(got, run(&reference, nr, arch, args), "reaper: nr {nr} {args:?}");
                    assert_eq!(got, intended_for_reaper(nr, arch, args), "reaper: nr {nr} {args:?}");
                }
            }
        }
    }

    #[test]
    fn long_jumps_reach_the_upper_half() {
        // Every number its own verdict, cycling through three: far more than 255 instructions
        // below the first comparisons, so the search needs its long jumps.
        let verdicts = [Verdict::Allow, Verdict::ENOSYS, Verdict::Kill];
        let rules: BTreeMap<u32, Rule> = (0..600u32).map(|n| (n, Rule::always(verdicts[n as usize % 3]))).collect();
        let p = ours(&assemble(&rules, Verdict::Errno(libc::EPERM as u16)).expect("assemble"));
        assert_well_formed(&p);
        assert!(p.iter().any(|i| i.0 == JMP_JA), "no long jump was needed");
        for nr in (0..700u32).chain([u32::MAX]) {
            let want = match verdicts.get(nr as usize % 3).filter(|_| nr < 600) {
                Some(Verdict::Allow) => SECCOMP_RET_ALLOW,
                Some(Verdict::Kill) => SECCOMP_RET_KILL_PROCESS,
                Some(_) => SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
                None => SECCOMP_RET_ERRNO | libc::EPERM as u32,
            };
            assert_eq!(run(&p, nr, AUDIT_ARCH_X86_64, [0; 6]), want, "nr {nr}");
        }
    }

    #[test]
    fn verdicts_are_the_intended_ones() {
        let s = Seccomp::default();
        let names = allowed(&s);
        let p = ours(&compile(names.iter().map(|(n, _)| n.as_str()), ForbiddenAction::Kill).expect("compile"));
        let x86 = AUDIT_ARCH_X86_64;
        let call = |nr: i64, args: [u64; 6]| run(&p, nr as u32, x86, args);
        let enosys = SECCOMP_RET_ERRNO | libc::ENOSYS as u32;
        assert_eq!(call(libc::SYS_read, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(call(libc::SYS_io_uring_setup, [0; 6]), SECCOMP_RET_KILL_PROCESS);
        assert_eq!(call(libc::SYS_socket, [libc::AF_INET as u64, 0, 0, 0, 0, 0]), enosys);
        assert_eq!(call(libc::SYS_socket, [libc::AF_UNIX as u64, 0, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
        assert_eq!(call(libc::SYS_ioctl, [0, libc::TIOCSTI, 0, 0, 0, 0]), SECCOMP_RET_KILL_PROCESS);
        assert_eq!(call(libc::SYS_ioctl, [0, libc::FIONREAD, 0, 0, 0, 0]), SECCOMP_RET_ALLOW);
        assert_eq!(call(libc::SYS_clone, [libc::SIGCHLD as u64, 0, 0, 0, 0, 0]), enosys);
        assert_eq!(call(libc::SYS_clone, [libc::CLONE_NEWUSER as u64, 0, 0, 0, 0, 0]), SECCOMP_RET_KILL_PROCESS);
        assert_eq!(call(libc::SYS_read | 0x4000_0000, [0; 6]), enosys);
        assert_eq!(run(&p, libc::SYS_read as u32, 0x4000_0003, [0; 6]), SECCOMP_RET_KILL_PROCESS);
        let eperm = ours(&compile(names.iter().map(|(n, _)| n.as_str()), ForbiddenAction::Eperm).expect("eperm"));
        let forbidden = run(&eperm, libc::SYS_mount as u32, x86, [0; 6]);
        assert_eq!(forbidden, SECCOMP_RET_ERRNO | libc::EPERM as u32);
    }

    #[test]
    fn a_preset_is_compiled_once_and_extra_syscalls_are_not_shared() {
        let plain = Seccomp::default();
        let (a, b) = (compile_policy(&plain).expect("first"), compile_policy(&plain).expect("second"));
        assert!(Arc::ptr_eq(&a, &b));
        let names = allowed(&plain);
        assert_eq!(a.1, compile(names.iter().map(|(n, _)| n.as_str()), plain.forbidden).expect("compile"));
        let mut extra = Seccomp::default();
        extra
            .allow
            .push(super::super::profile::AllowedSyscall { syscall: "sysinfo".into(), why: "memory queries".into() });
        let c = compile_policy(&extra).expect("extra");
        assert!(!Arc::ptr_eq(&a, &c) && c.0.iter().any(|(n, _)| n == "sysinfo"));
        let sysinfo = libc::SYS_sysinfo as u32;
        assert_eq!(run(&ours(&c.1), sysinfo, AUDIT_ARCH_X86_64, [0; 6]), SECCOMP_RET_ALLOW);
        assert_eq!(run(&ours(&a.1), sysinfo, AUDIT_ARCH_X86_64, [0; 6]), SECCOMP_RET_ERRNO | libc::ENOSYS as u32);
        assert!(Arc::ptr_eq(&compile_policy(&plain).expect("third"), &a));
    }

    #[test]
    fn every_preset_compiles() {
        for preset in ["actor", "exec"] {
            let s = Seccomp { preset: preset.into(), ..Seccomp::default() };
            let names = allowed(&s);
            for action in [ForbiddenAction::Kill, ForbiddenAction::Eperm] {
                assert!(compile(names.iter().map(|(n, _)| n.as_str()), action).is_ok_and(|p| p.len() < 1024));
            }
        }
        assert!(compile_reaper().is_ok_and(|p| !p.is_empty()));
    }
}
