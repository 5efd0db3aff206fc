//! The plan: what a profile means on this kernel, resolved once, purely, before any process is
//! made. Applying it (`apply.rs`) does exactly what the plan says and decides nothing.
//!
//! Trust zone: main process. Pure: the inputs are the profile, the probed features and the
//! caller's ids; the output is data (clone flags, id maps, mount steps, limits, Landlock rules,
//! compiled seccomp programs) plus the list of what this kernel cannot enforce.

use std::ffi::CString;
use std::path::PathBuf;
use std::sync::Arc;

use super::features::{Features, UserNamespaces};
use super::profile::{Fallback, ForbiddenAction, Mode, Profile, SeccompMode, Stream};
use super::seccomp;

#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("this kernel cannot run profile '{profile}': no {feature} ({how})")]
    Unsupported { profile: String, feature: String, how: String },
    #[error("profile '{profile}': cannot build the seccomp filter")]
    Seccomp {
        profile: String,
        #[source]
        source: seccomp::CompileError,
    },
    #[error("profile '{profile}': environment variable {name} contains a NUL byte")]
    Environment { profile: String, name: String },
}

/// One step of the mount tree, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MountStep {
    Bind { source: PathBuf, target: PathBuf, writable: bool, exec: bool, optional: bool },
    Tmpfs { target: PathBuf, size_bytes: u64 },
    Dev,
    Proc,
}

/// How much isolation the plan has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Namespaces, a private mount tree, and the rest.
    Namespaces,
    /// No namespaces (the kernel refused them and the profile allows it): Landlock, seccomp,
    /// rlimits and the process-level steps only.
    Fallback,
    /// No sandbox at all (the `none` profile): only the environment, stdio and limits it names.
    Unconfined,
}

/// What a Landlock rule lets through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsAccess {
    /// Directories may be listed, nothing read: the root of the new tree, whose entries are only
    /// the profile's own mount points.
    List,
    Read,
    ReadExec,
    ReadWrite,
    ReadWriteExec,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LandlockPlan {
    /// Fail closed when anything cannot be enforced.
    pub required: bool,
    /// The ABI to ask for (the kernel's, capped at what the plan uses).
    pub abi: u32,
    pub paths: Vec<(PathBuf, FsAccess)>,
    /// `None` when the kernel's ABI has no network rules.
    pub connect_tcp: Option<Vec<u16>>,
    pub bind_tcp: Option<Vec<u16>>,
    pub scope_signals: bool,
    pub scope_abstract_unix: bool,
}

#[derive(Clone, Debug)]
pub struct SeccompPlan {
    /// The resolved allow-list and the payload's filter: the allow-list, the forbidden calls,
    /// everything else `ENOSYS`.
    pub compiled: seccomp::Compiled,
    /// The pid-1 reaper's own list.
    pub reaper: Arc<seccomp::Program>,
    pub action: ForbiddenAction,
}

/// Inside ids mapped to one host id each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdMap {
    pub inside_uid: u32,
    pub outside_uid: u32,
    pub inside_gid: u32,
    pub outside_gid: u32,
    /// The spawning process writes the maps (it is root and maps to `nobody`); otherwise the child
    /// maps its own ids, the one mapping an unprivileged process may write.
    pub by_parent: bool,
}

/// The host id a root caller's sandbox runs as: `nobody`, so that a sandboxed process never owns
/// the host's root-owned files.
pub const NOBODY: u32 = 65534;

/// A resource limit: (resource, soft, hard) with `u64::MAX` as infinity.
pub type Rlimit = (libc::__rlimit_resource_t, u64, u64);

/// Everything the child does, resolved.
#[derive(Clone, Debug)]
pub struct Plan {
    pub profile: String,
    pub isolation: Isolation,
    /// `CLONE_NEW*` flags.
    pub clone_flags: libc::c_int,
    /// The user namespace's one-id maps.
    pub id_map: Option<IdMap>,
    /// A pid-1 reaper runs the payload as its child.
    pub reaper: bool,
    pub mounts: Vec<MountStep>,
    pub hostname: Option<Vec<u8>>,
    pub rlimits: Vec<Rlimit>,
    pub wall_seconds: Option<u64>,
    pub stdin_null: bool,
    pub stdout_null: bool,
    pub stderr_null: bool,
    pub environment: Vec<CString>,
    /// PATH inside, for finding a command without a slash.
    pub path: String,
    /// setsid, capabilities dropped, no new privileges, not dumpable.
    pub lockdown: bool,
    /// Host ids to switch to without a user namespace (a root caller in fallback mode runs as
    /// `nobody`).
    pub drop_to: Option<(u32, u32)>,
    pub landlock: Option<LandlockPlan>,
    pub seccomp: Option<SeccompPlan>,
    /// Limits used by actors, carried for them.
    pub lua_heap_bytes: Option<u64>,
    pub message_bytes: Option<u64>,
    /// What this kernel cannot enforce of the profile (only ever non-empty where the profile
    /// allows best effort or fallback).
    pub not_enforced: Vec<String>,
}

const NAMESPACE_TABLE: [(libc::c_int, &str); 6] = [
    (libc::CLONE_NEWPID, "pid"),
    (libc::CLONE_NEWNS, "mount"),
    (libc::CLONE_NEWNET, "net"),
    (libc::CLONE_NEWIPC, "ipc"),
    (libc::CLONE_NEWUTS, "uts"),
    (libc::CLONE_NEWCGROUP, "cgroup"),
];

impl Plan {
    /// Builds the plan for `profile` (named `name` in errors) on a kernel with `features`, for a
    /// caller with real ids `host_ids`.
    pub fn build(name: &str, profile: &Profile, features: &Features, host_ids: (u32, u32)) -> Result<Plan, PlanError> {
        let unsupported = |feature: &str, how: &str| PlanError::Unsupported {
            profile: name.to_owned(),
            feature: feature.to_owned(),
            how: how.to_owned(),
        };
        let mut not_enforced = Vec::new();
        let ns = profile.namespaces;
        let confined = ns.any() || profile.landlock.mode != Mode::Off || profile.seccomp.mode == SeccompMode::On;
        let mut isolation = if ns.any() {
            Isolation::Namespaces
        } else if confined {
            Isolation::Fallback
        } else {
            Isolation::Unconfined
        };

        if let (Isolation::Namespaces, UserNamespaces::Blocked(why)) = (isolation, &features.user_namespaces) {
            match profile.without_user_namespace {
                Fallback::Fail => return Err(unsupported("user namespaces", why)),
                Fallback::LandlockSeccompRlimits => {
                    isolation = Isolation::Fallback;
                    not_enforced.push(format!(
                        "namespaces and the private mount tree (user namespaces are blocked: {why}); running with Landlock, seccomp and rlimits only"
                    ));
                }
            }
        }

        let mut clone_flags = 0;
        let mut id_map = None;
        let mut mounts = Vec::new();
        let mut hostname = None;
        if isolation == Isolation::Namespaces {
            clone_flags |= libc::CLONE_NEWUSER;
            let on = [ns.pid, ns.mount, ns.net, ns.ipc, ns.uts, ns.cgroup];
            for ((flag, _), wanted) in NAMESPACE_TABLE.iter().zip(on) {
                if wanted {
                    clone_flags |= flag;
                }
            }
            let root = host_ids.0 == 0;
            id_map = Some(IdMap {
                inside_uid: profile.identity.uid,
                outside_uid: if root { NOBODY } else { host_ids.0 },
                inside_gid: profile.identity.gid,
                outside_gid: if root { NOBODY } else { host_ids.1 },
                by_parent: root,
            });
            if ns.uts {
                hostname = Some(profile.hostname.as_bytes().to_vec());
            }
            if ns.mount {
                mounts = mount_steps(profile);
            }
        }
        let reaper = clone_flags & libc::CLONE_NEWPID != 0;

        let lim = &profile.limits;
        let mut rlimits: Vec<Rlimit> = Vec::new();
        if isolation != Isolation::Unconfined {
            rlimits.push((libc::RLIMIT_CORE, 0, 0));
        }
        if let Some(v) = lim.address_space_bytes.value() {
            rlimits.push((libc::RLIMIT_AS, v, v));
        }
        if let Some(v) = lim.cpu_seconds.value() {
            // SIGXCPU at the soft limit (catchable, reported as the CPU limit), SIGKILL a second
            // later if the program ignores it.
            rlimits.push((libc::RLIMIT_CPU, v, v.saturating_add(1)));
        }
        if let Some(v) = lim.open_files.value() {
            rlimits.push((libc::RLIMIT_NOFILE, v, v));
        }
        if let Some(v) = lim.processes.value() {
            rlimits.push((libc::RLIMIT_NPROC, v, v));
        }
        if let Some(v) = lim.file_size_bytes.value() {
            rlimits.push((libc::RLIMIT_FSIZE, v, v));
        }

        let landlock = landlock_plan(name, profile, features, isolation, &mounts, &mut not_enforced)?;

        let seccomp = if profile.seccomp.mode == SeccompMode::On {
            if !features.seccomp {
                return Err(unsupported("seccomp", "build the kernel with CONFIG_SECCOMP_FILTER"));
            }
            let err = |source| PlanError::Seccomp { profile: name.to_owned(), source };
            let compiled = seccomp::compile_policy(&profile.seccomp).map_err(err)?;
            let reaper = seccomp::compile_reaper().map_err(err)?;
            Some(SeccompPlan { compiled, reaper, action: profile.seccomp.forbidden })
        } else {
            None
        };

        let mut drop_to = None;
        if isolation == Isolation::Fallback && host_ids.0 == 0 {
            if features.nobody_mapped {
                drop_to = Some((NOBODY, NOBODY));
            } else {
                not_enforced.push(
                    "an unprivileged identity (no user namespace and no uid 65534 here): the program runs as uid 0 without capabilities".into(),
                );
            }
        }

        let mut environment = Vec::new();
        for (k, v) in &profile.environment {
            let entry = CString::new(format!("{k}={v}"))
                .map_err(|_| PlanError::Environment { profile: name.to_owned(), name: k.clone() })?;
            environment.push(entry);
        }
        let path = profile.environment.get("PATH").cloned().unwrap_or_else(|| String::from("/usr/bin:/bin"));

        Ok(Plan {
            profile: name.to_owned(),
            isolation,
            clone_flags,
            id_map,
            reaper,
            mounts,
            hostname,
            rlimits,
            wall_seconds: lim.wall_seconds.value(),
            stdin_null: profile.stdio.stdin == Stream::Null,
            stdout_null: profile.stdio.stdout == Stream::Null,
            stderr_null: profile.stdio.stderr == Stream::Null,
            environment,
            path,
            lockdown: isolation != Isolation::Unconfined,
            drop_to,
            landlock,
            seccomp,
            lua_heap_bytes: lim.lua_heap_bytes.value(),
            message_bytes: lim.message_bytes.value(),
            not_enforced,
        })
    }

    /// The effective policy in plain lines (for `luacell profile check` and `show`).
    pub fn describe(&self) -> Vec<String> {
        let mut out = Vec::new();
        out.push(format!(
            "isolation: {}",
            match self.isolation {
                Isolation::Namespaces => "namespaces",
                Isolation::Fallback => "fallback (no namespaces: Landlock, seccomp, rlimits)",
                Isolation::Unconfined => "none (the program runs unconfined)",
            }
        ));
        if self.isolation == Isolation::Namespaces {
            let mut names = vec!["user"];
            names.extend(NAMESPACE_TABLE.iter().filter(|(f, _)| self.clone_flags & f != 0).map(|(_, n)| *n));
            out.push(format!("namespaces: {}", names.join(", ")));
            if let Some(m) = self.id_map {
                out.push(format!(
                    "identity: uid {} (host {}), gid {} (host {})",
                    m.inside_uid, m.outside_uid, m.inside_gid, m.outside_gid
                ));
            }
            out.push(format!("pid-1 reaper: {}", if self.reaper { "yes" } else { "no" }));
        }
        for m in &self.mounts {
            out.push(match m {
                MountStep::Bind { source, target, writable, exec, optional } => format!(
                    "mount: bind {} -> {} ({}{}{})",
                    source.display(),
                    target.display(),
                    if *writable { "read-write" } else { "read-only" },
                    if *exec { ", exec" } else { ", noexec" },
                    if *optional { ", optional" } else { "" }
                ),
                MountStep::Tmpfs { target, size_bytes } => {
                    format!("mount: tmpfs {} ({size_bytes} bytes)", target.display())
                }
                MountStep::Dev => String::from("mount: /dev with null, zero, urandom"),
                MountStep::Proc => String::from("mount: /proc of the sandbox's pid namespace"),
            });
        }
        for (res, soft, _) in &self.rlimits {
            let name = match *res {
                libc::RLIMIT_CORE => "core",
                libc::RLIMIT_AS => "address space bytes",
                libc::RLIMIT_CPU => "cpu seconds",
                libc::RLIMIT_NOFILE => "open files",
                libc::RLIMIT_NPROC => "processes",
                libc::RLIMIT_FSIZE => "file size bytes",
                _ => "other",
            };
            out.push(format!("limit: {name} {soft}"));
        }
        if let Some(w) = self.wall_seconds {
            out.push(format!("limit: wall seconds {w}"));
        }
        match &self.landlock {
            None => out.push(String::from("landlock: off")),
            Some(l) => {
                out.push(format!("landlock: ABI {} ({})", l.abi, if l.required { "required" } else { "best effort" }));
                for (p, a) in &l.paths {
                    out.push(format!("landlock: {} {:?}", p.display(), a));
                }
                match (&l.connect_tcp, &l.bind_tcp) {
                    (Some(c), Some(b)) => {
                        out.push(format!("landlock: tcp connect {c:?}, tcp bind {b:?}, all else denied"))
                    }
                    _ => out.push(String::from("landlock: no tcp rules on this kernel")),
                }
                out.push(format!(
                    "landlock: scopes: signals {}, abstract unix sockets {}",
                    if l.scope_signals { "scoped" } else { "open" },
                    if l.scope_abstract_unix { "scoped" } else { "open" }
                ));
            }
        }
        match &self.seccomp {
            None => out.push(String::from("seccomp: off")),
            Some(s) => {
                out.push(format!(
                    "seccomp: {} syscalls allowed, unknown ones get ENOSYS, forbidden ones {}",
                    s.compiled.0.len(),
                    match s.action {
                        ForbiddenAction::Kill => "kill the process (SIGSYS)",
                        ForbiddenAction::Eperm => "get EPERM",
                    }
                ));
                for (n, why) in &s.compiled.0 {
                    out.push(format!("seccomp: allow {n}: {why}"));
                }
            }
        }
        if self.lockdown {
            out.push(String::from("process: new session, every capability dropped, no new privileges, fds closed"));
        }
        out.push(format!("environment: {} variables", self.environment.len()));
        for n in &self.not_enforced {
            out.push(format!("NOT ENFORCED: {n}"));
        }
        out
    }
}

fn mount_steps(profile: &Profile) -> Vec<MountStep> {
    let fs = &profile.filesystem;
    let mut steps: Vec<MountStep> = Vec::new();
    for b in &fs.bind {
        steps.push(MountStep::Bind {
            source: b.source.clone(),
            target: b.target.clone().unwrap_or_else(|| b.source.clone()),
            writable: b.writable,
            exec: b.exec,
            optional: b.optional,
        });
    }
    for t in &fs.tmpfs {
        steps.push(MountStep::Tmpfs { target: t.path.clone(), size_bytes: t.size_bytes });
    }
    // Parents before children: a bind at /usr must exist before a tmpfs at /usr/tmp.
    steps.sort_by_key(|s| match s {
        MountStep::Bind { target, .. } | MountStep::Tmpfs { target, .. } => target.components().count(),
        MountStep::Dev | MountStep::Proc => 2,
    });
    if fs.dev {
        steps.push(MountStep::Dev);
    }
    if fs.proc {
        steps.push(MountStep::Proc);
    }
    steps
}

fn landlock_plan(
    name: &str,
    profile: &Profile,
    features: &Features,
    isolation: Isolation,
    mounts: &[MountStep],
    not_enforced: &mut Vec<String>,
) -> Result<Option<LandlockPlan>, PlanError> {
    let ll = &profile.landlock;
    if ll.mode == Mode::Off {
        return Ok(None);
    }
    let required = ll.mode == Mode::Required;
    let kernel = features.landlock_abi;
    let wants_net = true;
    let wants_scopes = ll.scope_signals || ll.scope_abstract_unix;
    let needed = ll.min_abi.max(if wants_scopes {
        6
    } else if wants_net {
        4
    } else {
        1
    });
    if kernel < needed {
        if required {
            return Err(PlanError::Unsupported {
                profile: name.to_owned(),
                feature: format!("Landlock ABI {needed}"),
                how: if kernel == 0 {
                    "Landlock is off: boot with lsm=...,landlock or use a kernel >= 6.12".into()
                } else {
                    format!("this kernel has ABI {kernel}; use a kernel >= 6.12 or set landlock.mode to best_effort")
                },
            });
        }
        if kernel == 0 {
            not_enforced
                .push("Landlock (not available on this kernel): file access is limited only by the mount tree".into());
            return Ok(None);
        }
        if kernel < 4 {
            not_enforced.push(format!("Landlock TCP rules (ABI 4; kernel has {kernel})"));
        }
        if kernel < 6 && wants_scopes {
            not_enforced.push(format!("Landlock signal and abstract-socket scopes (ABI 6; kernel has {kernel})"));
        }
    }
    let abi = kernel.min(7);
    let mut paths = Vec::new();
    let access = |writable: bool, exec: bool| match (writable, exec) {
        (false, false) => FsAccess::Read,
        (false, true) => FsAccess::ReadExec,
        (true, false) => FsAccess::ReadWrite,
        (true, true) => FsAccess::ReadWriteExec,
    };
    if isolation == Isolation::Namespaces {
        paths.push((PathBuf::from("/"), FsAccess::List));
        for m in mounts {
            match m {
                MountStep::Bind { target, writable, exec, .. } => {
                    paths.push((target.clone(), access(*writable, *exec)))
                }
                MountStep::Tmpfs { target, .. } => paths.push((target.clone(), FsAccess::ReadWrite)),
                MountStep::Dev => {
                    paths.push((PathBuf::from("/dev/null"), FsAccess::ReadWrite));
                    paths.push((PathBuf::from("/dev/zero"), FsAccess::Read));
                    paths.push((PathBuf::from("/dev/urandom"), FsAccess::Read));
                }
                MountStep::Proc => paths.push((PathBuf::from("/proc"), FsAccess::Read)),
            }
        }
    } else {
        // Without a mount namespace Landlock is the only file-system boundary: the rules name the
        // host paths themselves.
        for b in &profile.filesystem.bind {
            if b.target.as_ref().is_some_and(|t| *t != b.source) {
                not_enforced.push(format!(
                    "bind target {} (without a mount namespace {} is visible at its own path)",
                    b.target.as_deref().unwrap_or(&b.source).display(),
                    b.source.display()
                ));
            }
            paths.push((b.source.clone(), access(b.writable, b.exec)));
        }
        if profile.filesystem.dev {
            paths.push((PathBuf::from("/dev/null"), FsAccess::ReadWrite));
            paths.push((PathBuf::from("/dev/zero"), FsAccess::Read));
            paths.push((PathBuf::from("/dev/urandom"), FsAccess::Read));
        }
        if !profile.filesystem.tmpfs.is_empty() {
            not_enforced.push("tmpfs mounts (no mount namespace): those paths are not writable".into());
        }
    }
    let net = abi >= 4;
    Ok(Some(LandlockPlan {
        required,
        abi,
        paths,
        connect_tcp: net.then(|| ll.connect_tcp.clone()),
        bind_tcp: net.then(|| ll.bind_tcp.clone()),
        scope_signals: ll.scope_signals && abi >= 6,
        scope_abstract_unix: ll.scope_abstract_unix && abi >= 6,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped(name: &str) -> Profile {
        Profile::load(name).expect("invariant: shipped profiles parse")
    }

    #[test]
    fn untrusted_plugin_on_full_kernel_uses_every_layer() {
        let plan = Plan::build("untrusted-plugin", &shipped("untrusted-plugin"), &Features::full(), (1000, 1000))
            .expect("plan");
        assert_eq!(plan.isolation, Isolation::Namespaces);
        for flag in [libc::CLONE_NEWUSER, libc::CLONE_NEWPID, libc::CLONE_NEWNS, libc::CLONE_NEWNET] {
            assert_ne!(plan.clone_flags & flag, 0);
        }
        assert!(plan.reaper);
        assert!(plan.landlock.as_ref().is_some_and(|l| l.required && l.scope_signals && l.connect_tcp == Some(vec![])));
        assert!(plan.seccomp.is_some());
        assert!(plan.rlimits.contains(&(libc::RLIMIT_CORE, 0, 0)));
        assert!(plan.not_enforced.is_empty());
        assert!(plan.environment.is_empty());
    }

    #[test]
    fn blocked_userns_with_fail_profile_names_feature() {
        let f = Features { user_namespaces: UserNamespaces::Blocked("sysctl says no".into()), ..Features::full() };
        let err = Plan::build("hostile-parser", &shipped("hostile-parser"), &f, (1000, 1000)).expect_err("must fail");
        let text = err.to_string();
        assert!(text.contains("user namespaces") && text.contains("sysctl says no"), "{text}");
    }

    #[test]
    fn blocked_userns_with_fallback_profile_degrades_and_reports() {
        let mut p = shipped("tenant-script");
        p.without_user_namespace = Fallback::LandlockSeccompRlimits;
        let f = Features { user_namespaces: UserNamespaces::Blocked("blocked".into()), ..Features::full() };
        let plan = Plan::build("t", &p, &f, (1000, 1000)).expect("plan");
        assert_eq!(plan.isolation, Isolation::Fallback);
        assert_eq!(plan.clone_flags, 0);
        assert!(plan.mounts.is_empty());
        assert!(plan.landlock.is_some() && plan.seccomp.is_some());
        assert!(plan.not_enforced.iter().any(|n| n.contains("namespaces")));
        assert_eq!(plan.drop_to, None);
        let as_root = Plan::build("t", &p, &f, (0, 0)).expect("plan");
        assert_eq!(as_root.drop_to, Some((NOBODY, NOBODY)));
        let lone_root = Features { nobody_mapped: false, ..f };
        let as_lone_root = Plan::build("t", &p, &lone_root, (0, 0)).expect("plan");
        assert_eq!(as_lone_root.drop_to, None);
        assert!(as_lone_root.not_enforced.iter().any(|n| n.contains("runs as uid 0")));
    }

    #[test]
    fn old_landlock_required_fails_best_effort_reports() {
        let f = Features { landlock_abi: 3, ..Features::full() };
        let p = shipped("untrusted-plugin");
        assert!(Plan::build("u", &p, &f, (0, 0)).is_err_and(|e| e.to_string().contains("Landlock ABI 6")));
        let mut p = p;
        p.landlock.mode = Mode::BestEffort;
        let plan = Plan::build("u", &p, &f, (0, 0)).expect("plan");
        assert_eq!(
            plan.landlock.as_ref().map(|l| (l.abi, l.connect_tcp.is_none(), l.scope_signals)),
            Some((3, true, false))
        );
        assert_eq!(plan.not_enforced.len(), 2);
    }

    #[test]
    fn none_profile_is_unconfined() {
        let plan = Plan::build("none", &shipped("none"), &Features::full(), (0, 0)).expect("plan");
        assert_eq!(plan.isolation, Isolation::Unconfined);
        assert!(!plan.lockdown && plan.landlock.is_none() && plan.seccomp.is_none() && plan.rlimits.is_empty());
    }

    #[test]
    fn mounts_are_ordered_parents_first() {
        let p = Profile::parse(
            r#"{"filesystem": {"tmpfs": [{"path": "/usr/tmp", "size_bytes": 65536}], "bind": [{"source": "/usr"}], "dev": true}}"#,
            "t",
        )
        .expect("profile");
        let plan = Plan::build("t", &p, &Features::full(), (1, 1)).expect("plan");
        assert!(matches!(&plan.mounts[0], MountStep::Bind { target, .. } if target.as_os_str() == "/usr"));
        assert!(matches!(&plan.mounts[1], MountStep::Tmpfs { .. }));
        assert_eq!(plan.mounts[2], MountStep::Dev);
    }

    #[test]
    fn id_map_maps_inside_ids_to_caller_or_nobody_for_root() {
        let p = shipped("untrusted-plugin");
        let plan = Plan::build("u", &p, &Features::full(), (4242, 4343)).expect("plan");
        let m = plan.id_map.expect("user namespace");
        assert_eq!(
            (m.inside_uid, m.outside_uid, m.inside_gid, m.outside_gid, m.by_parent),
            (1000, 4242, 1000, 4343, false)
        );
        let plan = Plan::build("u", &p, &Features::full(), (0, 0)).expect("plan");
        let m = plan.id_map.expect("user namespace");
        assert_eq!((m.outside_uid, m.outside_gid, m.by_parent), (NOBODY, NOBODY, true));
    }
}
