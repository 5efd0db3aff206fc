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

// The floor makes the same syscalls as luacell through the same thin wrappers of
// `luacell::sys::process` (one audited unsafe block each), and nothing else.

use std::convert::Infallible;
use std::ffi::{CStr, CString};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use luacell::sys::process::{self, ExitStatus, Forked, mount};

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

/// Names the step a kernel error came from.
fn step<T>(what: &str, r: io::Result<T>) -> io::Result<T> {
    r.map_err(|e| io::Error::new(e.kind(), format!("{what}: {e}")))
}

fn cpath(p: &Path) -> io::Result<CString> {
    CString::new(p.as_os_str().as_bytes()).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// Runs the floor: builds the sandbox, runs /bin/true in it, returns its exit status.
pub fn run() -> io::Result<i32> {
    let (uid, gid) = process::ids();
    let root = uid == 0;
    // As root the parent writes the maps; the child waits on this pipe until it has.
    let sync = if root { Some(step("pipe", io::pipe())?) } else { None };
    let flags = libc::CLONE_NEWUSER
        | libc::CLONE_NEWPID
        | libc::CLONE_NEWNS
        | libc::CLONE_NEWNET
        | libc::CLONE_NEWIPC
        | libc::CLONE_NEWUTS
        | libc::CLONE_NEWCGROUP;
    // This process is a fresh exec of the bench that started no thread.
    let (pid, pidfd) = match step("clone", process::clone_process(flags))? {
        Forked::Parent { pid, pidfd } => (pid, pidfd),
        Forked::Child => {
            let waited = sync.map(|(r, w)| {
                drop(w);
                r
            });
            let err = match child(root, uid, gid, waited) {
                Err(e) => e,
                Ok(never) => match never {},
            };
            let _ = writeln!(io::stderr(), "sandbox_spawn floor: {err}");
            process::exit_now(127);
        }
    };
    if let Some((r, mut w)) = sync {
        drop(r);
        let maps = format!("{INSIDE_ID} {NOBODY} 1\n");
        step("write uid_map", std::fs::write(format!("/proc/{pid}/uid_map"), &maps))?;
        step("write gid_map", std::fs::write(format!("/proc/{pid}/gid_map"), &maps))?;
        step("release the child", w.write_all(b"1"))?;
    }
    let status = step("wait for the sandbox", process::wait_pidfd(pidfd.as_fd(), false))?;
    Ok(status.map_or(127, ExitStatus::code))
}

/// The cloned child: ids, mount tree, pid-1 fork, exec. Returns only on failure.
fn child(root: bool, uid: u32, gid: u32, waited: Option<io::PipeReader>) -> io::Result<Infallible> {
    if let Some(mut r) = waited {
        let mut byte = [0u8; 1];
        if step("wait for the id maps", r.read(&mut byte))? != 1 {
            return Err(io::Error::other("the parent did not write the id maps"));
        }
        step("take the inside ids", process::become_ids(INSIDE_ID, INSIDE_ID))?;
    }
    if !root {
        step("write setgroups", std::fs::write("/proc/self/setgroups", b"deny"))?;
        step("write uid_map", std::fs::write("/proc/self/uid_map", format!("{INSIDE_ID} {uid} 1\n")))?;
        step("write gid_map", std::fs::write("/proc/self/gid_map", format!("{INSIDE_ID} {gid} 1\n")))?;
    }
    mount_tree()?;
    pid1()
}

/// `open_tree(path, OPEN_TREE_CLONE | AT_RECURSIVE)` made read-only, nosuid, nodev (and noexec
/// unless `exec`) in one `mount_setattr`.
fn capture(path: &CStr, exec: bool) -> io::Result<OwnedFd> {
    let tree = process::open_tree_clone(path)?;
    let mut attr_set = libc::MOUNT_ATTR_RDONLY | libc::MOUNT_ATTR_NOSUID | libc::MOUNT_ATTR_NODEV;
    if !exec {
        attr_set |= libc::MOUNT_ATTR_NOEXEC;
    }
    process::mount_setattr_tree(tree.as_fd(), attr_set)?;
    Ok(tree)
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
    step("pivot_root", process::pivot_root_here())?;
    step("detach the old root", process::umount2(c".", libc::MNT_DETACH))?;
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
            step(path, process::move_mount_to(tree.as_fd(), &cpath(at)?))
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
    let env = [c"PATH=/usr/local/bin:/usr/bin:/bin", c"HOME=/tmp", c"LANG=C.UTF-8"].map(CStr::to_owned);
    let argv = [PAYLOAD.to_owned()];
    // A clone of a single-threaded process: the fork copies no lock another thread held.
    let Some(payload) = step("fork", process::fork())? else {
        let err = process::execve(PAYLOAD, &argv, &env);
        let _ = writeln!(io::stderr(), "sandbox_spawn floor: execve /bin/true: {err}");
        process::exit_now(127);
    };
    loop {
        let (pid, status) = step("reap", process::wait_any())?;
        if pid == payload {
            process::exit_now(ExitStatus::from_wait_status(status).code());
        }
    }
}
