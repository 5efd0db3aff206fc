//! What this kernel lets luacell enforce, probed once and passed down to the plan.
//!
//! Trust zone: main process. Probing never changes process state: it reads sysctls and makes
//! syscalls that the kernel answers without side effects (a version query, a call with a null
//! pointer).

use crate::sys::process;

/// Whether unprivileged user namespaces can be made, and if not, what blocks them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserNamespaces {
    Available,
    /// Blocked; the text says by what and how to enable them.
    Blocked(String),
}

/// The kernel features the sandbox layer uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Features {
    pub kernel: String,
    pub user_namespaces: UserNamespaces,
    /// The Landlock ABI version, 0 when Landlock is off or absent.
    pub landlock_abi: u32,
    pub seccomp: bool,
    /// io_uring can be set up by this user (the runtime uses it outside sandboxes).
    pub io_uring: bool,
    pub cgroup2: bool,
    pub pidfd: bool,
    pub clone3: bool,
    /// The id `nobody` (65534) exists in this user namespace (false in a namespace that maps only
    /// root, as `unshare -r` makes).
    pub nobody_mapped: bool,
}

fn sysctl(path: &str) -> Option<i64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

impl Features {
    /// Probes the running kernel.
    pub fn probe() -> Features {
        let (uid, _) = process::ids();
        Features {
            kernel: process::kernel_release(),
            user_namespaces: probe_userns(uid),
            landlock_abi: probe_landlock(),
            seccomp: process::prctl(libc::PR_GET_SECCOMP, 0).is_ok(),
            io_uring: probe_io_uring(),
            cgroup2: std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
            pidfd: process::pidfd_open(std::process::id() as libc::pid_t).is_ok(),
            clone3: matches!(
                process::probe_syscall(libc::SYS_clone3, [0, 0, 0]),
                Err(e) if e.raw_os_error() != Some(libc::ENOSYS)
            ),
            nobody_mapped: maps_id("/proc/self/uid_map", 65534) && maps_id("/proc/self/gid_map", 65534),
        }
    }

    /// Everything available, for plan unit tests.
    pub fn full() -> Features {
        Features {
            kernel: String::from("test"),
            user_namespaces: UserNamespaces::Available,
            landlock_abi: 7,
            seccomp: true,
            io_uring: true,
            cgroup2: true,
            pidfd: true,
            clone3: true,
            nobody_mapped: true,
        }
    }
}

/// Whether an id map (`inside outside count` lines) covers `id` inside.
fn maps_id(path: &str, id: u64) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else { return false };
    text.lines().any(|line| {
        let v: Vec<u64> = line.split_whitespace().filter_map(|f| f.parse().ok()).collect();
        matches!(v.as_slice(), [inside, _, count] if *inside <= id && id < inside.saturating_add(*count))
    })
}

fn probe_userns(uid: u32) -> UserNamespaces {
    if sysctl("/proc/sys/user/max_user_namespaces") == Some(0) {
        return UserNamespaces::Blocked(
            "user.max_user_namespaces is 0 (enable: sysctl -w user.max_user_namespaces=15000)".into(),
        );
    }
    if uid != 0 && sysctl("/proc/sys/kernel/unprivileged_userns_clone") == Some(0) {
        return UserNamespaces::Blocked(
            "kernel.unprivileged_userns_clone is 0 (enable: sysctl -w kernel.unprivileged_userns_clone=1)".into(),
        );
    }
    if uid != 0 && sysctl("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == Some(1) {
        return UserNamespaces::Blocked(
            "AppArmor restricts unprivileged user namespaces (allow luacell with an AppArmor profile granting 'userns', or sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)".into(),
        );
    }
    UserNamespaces::Available
}

fn probe_landlock() -> u32 {
    const LANDLOCK_CREATE_RULESET_VERSION: libc::c_long = 1;
    match process::probe_syscall(libc::SYS_landlock_create_ruleset, [0, 0, LANDLOCK_CREATE_RULESET_VERSION]) {
        Ok(v) => u32::try_from(v).unwrap_or(0),
        Err(_) => 0,
    }
}

fn probe_io_uring() -> bool {
    if sysctl("/proc/sys/kernel/io_uring_disabled").is_some_and(|v| v == 2) {
        return false;
    }
    // A null params pointer: EFAULT means the call exists and this user may make rings.
    matches!(
        process::probe_syscall(libc::SYS_io_uring_setup, [1, 0, 0]),
        Err(e) if e.raw_os_error() == Some(libc::EFAULT)
    )
}
