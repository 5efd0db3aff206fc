//! Escape probes: the attempts the escape suite makes from inside a sandbox, one per name (read
//! a file, connect, ptrace, fork bomb, ...). `luacell-probe` (tests/probe) runs one in a sandbox
//! made by the sandbox layer; sandboxed actors can run them through the test hook
//! `luacell_test.probe` (only when the main process ran with `LUACELL_TEST_HOOKS=1`).
//!
//! Trust zone: code that attacks the kernel on purpose, from inside the sandbox that is being
//! tested. It grants nothing: every attempt is a syscall the sandboxed process could make anyway.
#![allow(unsafe_code)]
#![allow(clippy::print_stdout)]

use std::ffi::CString;
use std::io::{Read, Write};

use crate::sys::process;

pub type Attempt = Result<String, i32>;

/// A raw syscall with integer arguments (pointers are passed as integers: null, deliberately bad,
/// or the address of a buffer that outlives the call).
fn raw(nr: libc::c_long, a: [libc::c_long; 6]) -> Result<libc::c_long, i32> {
    // SAFETY: every caller passes either plain integers, null or deliberately invalid pointers
    // (which the kernel rejects with EFAULT without touching memory), or pointers to locals that
    // live across the call. The effects on this process are the point of the probe, which exits
    // right after.
    let r = unsafe { libc::syscall(nr, a[0], a[1], a[2], a[3], a[4], a[5]) };
    if r < 0 { Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(libc::EIO)) } else { Ok(r) }
}

fn io(e: std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(libc::EIO)
}

/// A pointer the kernel cannot read: the first page is never mapped.
const BAD_PTR: libc::c_long = 8;

/// Tries `name` with `args` from inside this process; `Ok(detail)` when the kernel allowed it,
/// `Err(errno)` when it refused.
pub fn attempt(name: &str, args: &[String]) -> Attempt {
    let arg = |i: usize| args.get(i).cloned().unwrap_or_default();
    let cpath = |i: usize| CString::new(arg(i)).unwrap_or_default();
    match name {
        "read" => {
            let mut s = String::new();
            std::fs::File::open(arg(0)).map_err(io)?.read_to_string(&mut s).map_err(io)?;
            Ok(format!("{} bytes", s.len()))
        }
        "write" => {
            std::fs::OpenOptions::new().write(true).open(arg(0)).map_err(io)?.write_all(b"escaped\n").map_err(io)?;
            Ok("written".into())
        }
        "create" => {
            std::fs::OpenOptions::new().write(true).create_new(true).open(arg(0)).map_err(io)?;
            Ok("created".into())
        }
        "unlink" => std::fs::remove_file(arg(0)).map(|_| "removed".into()).map_err(io),
        "list" => Ok(format!("{} entries", std::fs::read_dir(arg(0)).map_err(io)?.count())),
        "exec" => {
            let path = cpath(0);
            let argv: Vec<CString> = args.iter().map(|a| CString::new(a.as_str()).unwrap_or_default()).collect();
            Err(io(process::execve(&path, &argv, &[])))
        }
        "whoami" => {
            // SAFETY: geteuid takes no arguments and cannot fail.
            let euid = unsafe { libc::geteuid() };
            Ok(format!("euid {euid}"))
        }
        "tcp-connect" => std::net::TcpStream::connect(arg(0)).map(|_| "connected".into()).map_err(io),
        "unix-abstract" => {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(arg(0).as_bytes()).map_err(io)?;
            std::os::unix::net::UnixStream::connect_addr(&addr).map(|_| "connected".into()).map_err(io)
        }
        "socket" => {
            let domain = match arg(0).as_str() {
                "inet" => libc::AF_INET,
                "netlink" => libc::AF_NETLINK,
                "packet" => libc::AF_PACKET,
                _ => return Err(libc::EINVAL),
            };
            let kind = if domain == libc::AF_INET { libc::SOCK_STREAM } else { libc::SOCK_RAW };
            let fd = raw(libc::SYS_socket, [domain as _, kind as _, 0, 0, 0, 0])?;
            Ok(format!("socket {fd}"))
        }
        "ptrace" => {
            let pid: libc::c_long = arg(0).parse().unwrap_or(0);
            raw(libc::SYS_ptrace, [libc::PTRACE_SEIZE as _, pid, 0, 0, 0, 0]).map(|_| "attached".into())
        }
        "kill" => {
            let pid: libc::c_long = arg(0).parse().unwrap_or(0);
            raw(libc::SYS_kill, [pid, 0, 0, 0, 0, 0]).map(|_| "signalled".into())
        }
        "pidfd-open" => {
            let pid: libc::c_long = arg(0).parse().unwrap_or(0);
            raw(libc::SYS_pidfd_open, [pid, 0, 0, 0, 0, 0]).map(|_| "opened".into())
        }
        "tiocsti" => {
            // Best terminal available: a fresh pty made our controlling terminal, else stdin.
            let fd = own_pty().unwrap_or(0);
            let c: u8 = b'x';
            raw(libc::SYS_ioctl, [fd as _, libc::TIOCSTI as _, &c as *const u8 as _, 0, 0, 0])
                .map(|_| "injected".into())
        }
        "mount" => raw(libc::SYS_mount, [c"none".as_ptr() as _, c"/".as_ptr() as _, BAD_PTR, 0, 0, 0])
            .map(|_| "mounted".into()),
        "umount" => raw(libc::SYS_umount2, [c"/".as_ptr() as _, 0x8000_0000, 0, 0, 0, 0]).map(|_| "unmounted".into()),
        "unshare" => raw(libc::SYS_unshare, [(libc::CLONE_NEWUSER | libc::CLONE_NEWNS) as _, 0, 0, 0, 0, 0])
            .map(|_| "unshared".into()),
        "clone-newuser" => {
            // fork semantics (null stack) with a namespace flag: the child leaves at once.
            let flags = (libc::CLONE_NEWUSER | libc::SIGCHLD) as libc::c_long;
            match raw(libc::SYS_clone, [flags, 0, 0, 0, 0, 0])? {
                0 => process::exit_now(0),
                pid => {
                    let mut status = 0;
                    // SAFETY: `status` is a live int the kernel writes; `pid` is our child.
                    unsafe { libc::waitpid(pid as libc::pid_t, &mut status, 0) };
                    Ok("cloned".into())
                }
            }
        }
        "setns" => raw(libc::SYS_setns, [-1, libc::CLONE_NEWNS as _, 0, 0, 0, 0]).map(|_| "entered".into()),
        "pivot_root" => raw(libc::SYS_pivot_root, [BAD_PTR, BAD_PTR, 0, 0, 0, 0]).map(|_| "pivoted".into()),
        "chroot" => raw(libc::SYS_chroot, [BAD_PTR, 0, 0, 0, 0, 0]).map(|_| "chrooted".into()),
        "io_uring_setup" => raw(libc::SYS_io_uring_setup, [1, 0, 0, 0, 0, 0]).map(|_| "ring".into()),
        "bpf" => raw(libc::SYS_bpf, [0, BAD_PTR, 64, 0, 0, 0]).map(|_| "bpf".into()),
        "perf_event_open" => raw(libc::SYS_perf_event_open, [BAD_PTR, 0, -1, -1, 0, 0]).map(|_| "perf".into()),
        "keyctl" => raw(libc::SYS_keyctl, [0x7fff, 0, 0, 0, 0, 0]).map(|_| "keyctl".into()),
        "add_key" => raw(libc::SYS_add_key, [BAD_PTR, BAD_PTR, 0, 0, 0, 0]).map(|_| "key".into()),
        "userfaultfd" => {
            const UFFD_USER_MODE_ONLY: libc::c_long = 1;
            raw(libc::SYS_userfaultfd, [UFFD_USER_MODE_ONLY | libc::O_CLOEXEC as libc::c_long, 0, 0, 0, 0, 0])
                .map(|_| "uffd".into())
        }
        "personality" => raw(libc::SYS_personality, [0xffff_ffff, 0, 0, 0, 0, 0]).map(|p| format!("persona {p}")),
        "init_module" => raw(libc::SYS_init_module, [BAD_PTR, 0, c"".as_ptr() as _, 0, 0, 0]).map(|_| "loaded".into()),
        "proc-status" => {
            let status = std::fs::read_to_string("/proc/self/status").map_err(io)?;
            let line = status.lines().find(|l| l.starts_with(&arg(0))).unwrap_or("missing");
            Ok(line.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        "read-exe" => {
            let mut head = [0u8; 4];
            std::fs::File::open("/proc/self/exe").map_err(io)?.read_exact(&mut head).map_err(io)?;
            Ok(format!("read {:?}", String::from_utf8_lossy(&head[1..])))
        }
        "write-exe" => {
            std::fs::OpenOptions::new().write(true).open("/proc/self/exe").map_err(io)?;
            Ok("opened for writing".into())
        }
        "no-new-privs" => Ok(format!("no_new_privs {}", process::prctl(libc::PR_GET_NO_NEW_PRIVS, 0).map_err(io)?)),
        "fork-bomb" => fork_bomb(arg(0).parse().unwrap_or(100)),
        "memory-bomb" => memory_bomb(arg(0).parse().unwrap_or(1024)),
        "cpu-loop" => cpu_loop(arg(0).parse().unwrap_or(1)),
        "cpu-loop-ignoring-sigxcpu" => {
            // SAFETY: SIG_IGN is a valid disposition for SIGXCPU; the probe wants the hard limit.
            unsafe { libc::signal(libc::SIGXCPU, libc::SIG_IGN) };
            cpu_loop(arg(0).parse().unwrap_or(1))
        }
        "fd-flood" => {
            let cap: usize = arg(0).parse().unwrap_or(100);
            let mut fds = Vec::new();
            for _ in 0..cap {
                fds.push(std::io::stderr().as_fd_dup().map_err(io)?);
            }
            Ok(format!("{} descriptors", fds.len()))
        }
        "big-file" => {
            let mb: usize = arg(1).parse().unwrap_or(8);
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).open(arg(0)).map_err(io)?;
            let chunk = vec![0u8; 1 << 20];
            for _ in 0..mb {
                f.write_all(&chunk).map_err(io)?;
            }
            Ok(format!("{mb} MiB written"))
        }
        _ => Err(libc::EINVAL),
    }
}

trait DupFd {
    fn as_fd_dup(&self) -> std::io::Result<std::os::fd::OwnedFd>;
}

impl DupFd for std::io::Stderr {
    fn as_fd_dup(&self) -> std::io::Result<std::os::fd::OwnedFd> {
        use std::os::fd::AsFd;
        self.as_fd().try_clone_to_owned()
    }
}

/// Opens a pty pair and makes the slave our controlling terminal; `None` when there is no
/// /dev/ptmx (inside a sandbox).
fn own_pty() -> Option<i32> {
    let master =
        raw(libc::SYS_openat, [libc::AT_FDCWD as _, c"/dev/ptmx".as_ptr() as _, libc::O_RDWR as _, 0, 0, 0]).ok()?;
    let unlock: libc::c_int = 0;
    raw(libc::SYS_ioctl, [master, libc::TIOCSPTLCK as _, &unlock as *const libc::c_int as _, 0, 0, 0]).ok()?;
    let mut n: libc::c_uint = 0;
    raw(libc::SYS_ioctl, [master, libc::TIOCGPTN as _, &mut n as *mut libc::c_uint as _, 0, 0, 0]).ok()?;
    let path = CString::new(format!("/dev/pts/{n}")).ok()?;
    let slave = raw(libc::SYS_openat, [libc::AT_FDCWD as _, path.as_ptr() as _, libc::O_RDWR as _, 0, 0, 0]).ok()?;
    let _ = raw(libc::SYS_setsid, [0; 6]);
    raw(libc::SYS_ioctl, [slave, libc::TIOCSCTTY as _, 0, 0, 0, 0]).ok()?;
    Some(slave as i32)
}

fn fork_bomb(cap: usize) -> Attempt {
    // Children wait on a pipe and exit when this process (the only writer) is gone.
    let (r, w) = process::pipe().map_err(io)?;
    let mut n = 0;
    for _ in 0..cap {
        match process::fork() {
            Ok(None) => {
                drop(w);
                let mut byte = [0u8; 1];
                let _ = std::fs::File::from(r).read(&mut byte);
                process::exit_now(0);
            }
            Ok(Some(_)) => n += 1,
            Err(e) => {
                println!("forked {n}");
                return Err(io(e));
            }
        }
    }
    drop(w);
    Ok(format!("forked {n}"))
}

fn memory_bomb(cap_mib: usize) -> Attempt {
    const CHUNK: usize = 16 << 20;
    let mut total = 0usize;
    while total < cap_mib << 20 {
        let p = raw(
            libc::SYS_mmap,
            [
                0,
                CHUNK as _,
                (libc::PROT_READ | libc::PROT_WRITE) as _,
                (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS) as _,
                -1,
                0,
            ],
        );
        match p {
            Ok(_) => total += CHUNK,
            Err(e) => {
                println!("mapped {} MiB", total >> 20);
                return Err(e);
            }
        }
    }
    Ok(format!("mapped {} MiB", total >> 20))
}

fn cpu_loop(seconds: u64) -> Attempt {
    let start = std::time::Instant::now();
    let mut x: u64 = 1;
    while start.elapsed().as_secs() < seconds {
        for _ in 0..1_000_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        }
    }
    Ok(format!("looped {x:x}"))
}
