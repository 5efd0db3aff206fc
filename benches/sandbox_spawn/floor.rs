//! The kernel floor of a sandbox spawn: what `luacell exec --profile exec-readonly -- /bin/true`
//! asks of the kernel to build its sandbox, and nothing more.
//!
//! Same as luacell: clone with a new user, pid, mount, network, IPC, UTS and cgroup namespace;
//! the same uid/gid maps (as root the parent maps inside 1000 to host 65534 and the child takes
//! the inside ids; unprivileged the child maps its own ids to 1000); the mount tree built the same
//! way (bind sources captured as detached read-only trees with `open_tree`/`mount_setattr`, an
//! empty tmpfs root staged on /tmp, the binds moved in, the host's /bin, /sbin, /lib, /lib64
//! symlinks copied, a tmpfs /tmp, the minimal /dev, /proc with `subset=pid`, the root made
//! read-only, `pivot_root` and the old root detached); pid 1 forks the payload and reaps it; the
//! payload gets the profile's three environment variables and execs /bin/true.
//!
//! Left out, on purpose: the hostname, rlimits, closing descriptors, setsid, dropping
//! capabilities, no_new_privs, Landlock, seccomp, the setup report pipe, the pidfds and signal
//! forwarding, and everything luacell does before the clone (profile parsing, feature probing,
//! compiling the seccomp programs).
//!
//! Trust zone: a bench helper. It runs as the bench executable re-executed with
//! [`FLOOR_ENV`] set, so it is single-threaded when it clones.

// The floor talks to the kernel directly through libc; every unsafe block says why it is sound.
#![allow(unsafe_code)]

use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// Set in the environment of the re-executed bench binary that runs the floor.
pub const FLOOR_ENV: &str = "LUACELL_SANDBOX_SPAWN_FLOOR";

/// The ids inside the sandbox, and the host ids root maps them to (nobody), as luacell does.
const INSIDE_ID: u32 = 1000;
const NOBODY: u32 = 65534;

/// The binds of `sandbox-profiles/exec-readonly.json`: (host path, exec allowed), all read-only
/// and optional. /usr first: luacell sorts mounts by depth, parents before children.
const BINDS: [(&str, bool); 7] = [
    ("/usr", true),
    ("/bin", true),
    ("/sbin", true),
    ("/lib", true),
    ("/lib64", true),
    ("/etc/ld.so.cache", false),
    ("/etc/alternatives", false),
];
/// The profile's tmpfs /tmp (64 MiB).
const TMP_DATA: &CStr = c"mode=1777,size=67108864";
/// Where the new root is assembled, as in luacell.
const STAGING: &str = "/tmp";
const PAYLOAD: &CStr = c"/bin/true";

fn check(ret: libc::c_long) -> io::Result<libc::c_long> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

fn check_int(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 { Err(io::Error::last_os_error()) } else { Ok(ret) }
}

/// Names the step a kernel error came from.
fn step<T>(what: &str, r: io::Result<T>) -> io::Result<T> {
    r.map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

fn exit_now(code: i32) -> ! {
    // SAFETY: _exit ends this process at once without running exit handlers, which is what a
    // cloned or forked child must do (it must not flush or unwind the parent's copied state).
    unsafe { libc::_exit(code) }
}

fn wait_status_code(status: libc::c_int) -> i32 {
    if libc::WIFSIGNALED(status) { 128 + libc::WTERMSIG(status) } else { libc::WEXITSTATUS(status) }
}

fn waitpid(pid: libc::pid_t) -> io::Result<(libc::pid_t, libc::c_int)> {
    let mut status: libc::c_int = 0;
    loop {
        // SAFETY: `status` is a live, exclusively borrowed out-pointer for the call.
        let got = unsafe { libc::waitpid(pid, &mut status, 0) };
        match check_int(got) {
            Ok(got) => return Ok((got, status)),
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Runs the floor: builds the sandbox, runs /bin/true in it, returns its exit status.
pub fn run() -> io::Result<i32> {
    // SAFETY: geteuid takes no arguments and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    // SAFETY: getegid takes no arguments and cannot fail.
    let gid = unsafe { libc::getegid() };
    // SAFETY: as above.
    let uid = unsafe { libc::geteuid() };
    // As root the parent writes the maps; the child waits on this pipe until it has.
    let sync = if root { Some(step("pipe", io::pipe())?) } else { None };
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWCGROUP;
    let all = flags as libc::c_ulong | libc::SIGCHLD as libc::c_ulong;
    // SAFETY: a raw clone without CLONE_VM and with a null stack duplicates the address space like
    // fork(2); no pointer is passed. This process is single-threaded (a fresh exec of the bench
    // that started no thread), so the child's copy holds no lock another thread owned.
    let pid = unsafe { libc::syscall(libc::SYS_clone, all, 0usize, 0usize, 0usize, 0usize) };
    let pid = step("clone", check(pid))? as libc::pid_t;
    if pid == 0 {
        let waited = sync.map(|(r, w)| {
            drop(w);
            r
        });
        let err = match child(root, uid, gid, waited) {
            Err(e) => e,
            Ok(never) => match never {},
        };
        let _ = writeln!(io::stderr(), "sandbox_spawn floor: {err}");
        exit_now(127);
    }
    if let Some((r, mut w)) = sync {
        drop(r);
        let maps = format!("{INSIDE_ID} {NOBODY} 1\n");
        step("write uid_map", std::fs::write(format!("/proc/{pid}/uid_map"), &maps))?;
        step("write gid_map", std::fs::write(format!("/proc/{pid}/gid_map"), &maps))?;
        step("release the child", w.write_all(b"1"))?;
    }
    let (_, status) = step("wait for the sandbox", waitpid(pid))?;
    Ok(wait_status_code(status))
}

/// The cloned child: ids, mount tree, pid-1 fork, exec. Returns only on failure.
fn child(root: bool, uid: u32, gid: u32, waited: Option<io::PipeReader>) -> io::Result<Infallible> {
    if let Some(mut r) = waited {
        let mut byte = [0u8; 1];
        if step("wait for the id maps", r.read(&mut byte))? != 1 {
            return Err(io::Error::other("the parent did not write the id maps"));
        }
        // SAFETY: a zero-length group list with a null pointer is valid for setgroups.
        step("setgroups", check_int(unsafe { libc::setgroups(0, std::ptr::null()) }))?;
        // SAFETY: setresgid takes integers only.
        step("setresgid", check_int(unsafe { libc::setresgid(INSIDE_ID, INSIDE_ID, INSIDE_ID) }))?;
        // SAFETY: setresuid takes integers only.
        step("setresuid", check_int(unsafe { libc::setresuid(INSIDE_ID, INSIDE_ID, INSIDE_ID) }))?;
    }
    if !root {
        step("write setgroups", std::fs::write("/proc/self/setgroups", b"deny"))?;
        step("write uid_map", std::fs::write("/proc/self/uid_map", format!("{INSIDE_ID} {uid} 1\n")))?;
        step("write gid_map", std::fs::write("/proc/self/gid_map", format!("{INSIDE_ID} {gid} 1\n")))?;
    }
    mount_tree()?;
    pid1()
}

fn mount(
    source: Option<&CStr>,
    target: &CStr,
    fstype: Option<&CStr>,
    flags: libc::c_ulong,
    data: Option<&CStr>,
) -> io::Result<()> {
    let ptr = |s: Option<&CStr>| s.map_or(std::ptr::null(), CStr::as_ptr);
    // SAFETY: every pointer is null or a NUL-terminated string borrowed for the whole call; the
    // data strings are text options, which is what these filesystems and flag sets expect.
    check_int(unsafe { libc::mount(ptr(source), target.as_ptr(), ptr(fstype), flags, ptr(data).cast()) })?;
    Ok(())
}

/// `open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE)` made read-only, nosuid, nodev (and noexec
/// unless `exec`) in one `mount_setattr`.
fn capture(path: &CStr, exec: bool) -> io::Result<OwnedFd> {
    let flags = libc::OPEN_TREE_CLONE | libc::OPEN_TREE_CLOEXEC | libc::AT_RECURSIVE as libc::c_uint;
    // SAFETY: `path` is a NUL-terminated string borrowed for the call.
    let fd = check(unsafe { libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), flags) })?;
    // SAFETY: the kernel returned a fresh descriptor owned by nothing else.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) };
    let mut attr_set = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
    if !exec {
        attr_set |= libc::MOUNT_ATTR_NOEXEC;
    }
    let attr = libc::mount_attr { attr_set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    let at = (libc::AT_EMPTY_PATH | libc::AT_RECURSIVE) as libc::c_uint;
    // SAFETY: the path is an empty NUL-terminated literal, `attr` is a live mount_attr whose size
    // is passed, and `tree` is open for the whole call.
    check(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            at,
            &attr as *const libc::mount_attr,
            std::mem::size_of::<libc::mount_attr>(),
        )
    })?;
    Ok(tree)
}

fn move_mount(tree: &OwnedFd, target: &CStr) -> io::Result<()> {
    // SAFETY: both paths are NUL-terminated strings borrowed for the call; `tree` is open.
    check(unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            target.as_ptr(),
            libc::MOVE_MOUNT_F_EMPTY_PATH,
        )
    })?;
    Ok(())
}

enum Source {
    Tree(OwnedFd),
    Link(PathBuf),
}

fn mount_tree() -> io::Result<()> {
    step("make / private", mount(None, c"/", None, libc::MS_REC | libc::MS_PRIVATE, None))?;
    let mut sources = Vec::with_capacity(BINDS.len());
    for (path, exec) in BINDS {
        let meta = match std::fs::symlink_metadata(path) {
            Ok(m) => m,
            Err(_) => continue,
        };
        let source = if meta.file_type().is_symlink() {
            Source::Link(step(path, std::fs::read_link(path))?)
        } else {
            Source::Tree(step(path, capture(&cpath(Path::new(path))?, exec))?)
        };
        sources.push((path, source));
    }

    let staging = Path::new(STAGING);
    let root = cpath(staging)?;
    let inside = |p: &str| staging.join(p.trim_start_matches('/'));
    step(
        "tmpfs root",
        mount(
            Some(c"tmpfs"),
            &root,
            Some(c"tmpfs"),
            libc::MS_NOSUID | libc::MS_NODEV,
            Some(c"mode=0755,size=1m,nr_inodes=4096"),
        ),
    )?;
    // luacell's order: the one-component binds, then /tmp, then the /etc files, /dev, /proc.
    let (top, etc): (Vec<_>, Vec<_>) = sources.into_iter().partition(|(p, _)| !p.starts_with("/etc/"));
    for (path, source) in top {
        attach(path, &inside(path), source)?;
    }
    let tmp = inside("/tmp");
    step("mkdir /tmp", std::fs::create_dir_all(&tmp))?;
    step(
        "tmpfs /tmp",
        mount(Some(c"tmpfs"), &cpath(&tmp)?, Some(c"tmpfs"), libc::MS_NOSUID | libc::MS_NODEV, Some(TMP_DATA)),
    )?;
    for (path, source) in etc {
        attach(path, &inside(path), source)?;
    }
    step("/dev", dev(&inside("/dev")))?;
    let proc_at = inside("/proc");
    step("mkdir /proc", std::fs::create_dir_all(&proc_at))?;
    step(
        "/proc",
        mount(
            Some(c"proc"),
            &cpath(&proc_at)?,
            Some(c"proc"),
            libc::MS_NOSUID | libc::MS_NODEV | libc::MS_NOEXEC,
            Some(c"subset=pid"),
        ),
    )?;
    step(
        "root read-only",
        mount(
            None,
            &root,
            None,
            libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NODEV,
            None,
        ),
    )?;
    step("chdir to the new root", std::env::set_current_dir(staging))?;
    // SAFETY: both arguments are the NUL-terminated literal ".".
    step("pivot_root", check(unsafe { libc::syscall(libc::SYS_pivot_root, c".".as_ptr(), c".".as_ptr()) }))?;
    // SAFETY: the target is the NUL-terminated literal ".".
    step("detach the old root", check_int(unsafe { libc::umount2(c".".as_ptr(), libc::MNT_DETACH) }))?;
    step("chdir /", std::env::set_current_dir("/"))?;
    Ok(())
}

fn attach(path: &str, at: &Path, source: Source) -> io::Result<()> {
    match source {
        Source::Tree(tree) => {
            let is_dir = step(path, tree.try_clone().and_then(|fd| std::fs::File::from(fd).metadata()))?.is_dir();
            if is_dir {
                step(path, std::fs::create_dir_all(at))?;
            } else {
                if let Some(parent) = at.parent() {
                    step(path, std::fs::create_dir_all(parent))?;
                }
                step(path, std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(at))?;
            }
            step(path, move_mount(&tree, &cpath(at)?))
        }
        Source::Link(link) => step(path, std::os::unix::fs::symlink(link, at)),
    }
}

/// The minimal /dev of luacell: a small tmpfs with null, zero and urandom bound from the host and
/// the fd/stdin/stdout/stderr links into /proc, then made read-only.
fn dev(at: &Path) -> io::Result<()> {
    std::fs::create_dir_all(at)?;
    let dev = cpath(at)?;
    mount(
        Some(c"tmpfs"),
        &dev,
        Some(c"tmpfs"),
        libc::MS_NOSUID | libc::MS_NOEXEC,
        Some(c"mode=0755,size=64k,nr_inodes=64"),
    )?;
    for node in ["null", "zero", "urandom"] {
        let target = at.join(node);
        std::fs::OpenOptions::new().write(true).create(true).truncate(false).open(&target)?;
        let host = Path::new("/dev").join(node);
        mount(Some(&cpath(&host)?), &cpath(&target)?, None, libc::MS_BIND, None)?;
    }
    for (name, to) in [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(to, at.join(name))?;
    }
    mount(
        None,
        &dev,
        None,
        libc::MS_REMOUNT | libc::MS_BIND | libc::MS_RDONLY | libc::MS_NOSUID | libc::MS_NOEXEC,
        None,
    )
}

/// Pid 1 of the new pid namespace: forks the payload, reaps every child, exits with the payload's
/// status.
fn pid1() -> io::Result<Infallible> {
    let env = [c"PATH=/usr/local/bin:/usr/bin:/bin", c"HOME=/tmp", c"LANG=C.UTF-8"];
    let envp: Vec<*const libc::c_char> = env.iter().map(|e| e.as_ptr()).chain([std::ptr::null()]).collect();
    let argv: [*const libc::c_char; 2] = [PAYLOAD.as_ptr(), std::ptr::null()];
    // SAFETY: this process is single-threaded (a clone of a single-threaded process), so the
    // forked child holds no lock another thread owned.
    let payload = step("fork", check_int(unsafe { libc::fork() }))?;
    if payload == 0 {
        // SAFETY: `argv` and `envp` are null-terminated arrays of pointers to NUL-terminated
        // strings that live (in `PAYLOAD` and `env`, both static) for the whole call.
        unsafe { libc::execve(PAYLOAD.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
        let _ = writeln!(io::stderr(), "sandbox_spawn floor: execve /bin/true: {}", io::Error::last_os_error());
        exit_now(127);
    }
    loop {
        let (pid, status) = step("reap", waitpid(-1))?;
        if pid == payload {
            exit_now(wait_status_code(status));
        }
    }
}
