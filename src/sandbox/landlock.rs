//! Landlock: the plan's rules turned into a ruleset and enforced on the calling process.
//!
//! Trust zone: the child before lockdown (after pivot_root, so the rules name paths of the new
//! tree). The status the kernel returns is checked, never assumed: in `required` mode anything
//! short of full enforcement is an error; in best-effort mode the status goes back to the parent.

use landlock::{
    ABI, Access, AccessFs, AccessNet, BitFlags, CompatLevel, Compatible, NetPort, PathBeneath, PathFd, Ruleset,
    RulesetAttr, RulesetCreatedAttr, RulesetStatus, Scope,
};

use super::plan::{FsAccess, LandlockPlan};

/// What the kernel enforced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Enforced {
    Fully,
    Partially,
    Not,
}

/// What was being done when enforcing failed, by index (carried in the report record).
pub const PARTS: [&str; 9] = [
    "file-system rights",
    "network rights",
    "scopes",
    "creating the ruleset",
    "a path rule",
    "a tcp connect rule",
    "a tcp bind rule",
    "restricting the process",
    "full enforcement (the kernel enforced less than required)",
];

/// Why enforcing failed: which of [`PARTS`], and the errno.
#[derive(Debug)]
pub struct Failure {
    pub part: u32,
    pub errno: i32,
}

fn part(name: &str) -> u32 {
    PARTS.iter().position(|p| *p == name).unwrap_or(0) as u32
}

fn abi(v: u32) -> ABI {
    ABI::from(i32::try_from(v).unwrap_or(0))
}

fn rights(a: FsAccess, abi: ABI) -> BitFlags<AccessFs> {
    let read = AccessFs::from_read(abi) & !AccessFs::Execute;
    let write = AccessFs::from_write(abi);
    match a {
        FsAccess::List => BitFlags::from(AccessFs::ReadDir),
        FsAccess::Read => read,
        FsAccess::ReadExec => read | AccessFs::Execute,
        FsAccess::ReadWrite => read | write,
        FsAccess::ReadWriteExec => read | write | AccessFs::Execute,
    }
}

fn errno_of(e: &(dyn std::error::Error + 'static)) -> i32 {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return io.raw_os_error().unwrap_or(libc::EINVAL);
        }
        cur = err.source();
    }
    libc::EINVAL
}

/// Builds the ruleset and restricts this process (and its future children).
pub fn enforce(plan: &LandlockPlan) -> Result<Enforced, Failure> {
    let abi = abi(plan.abi);
    let level = if plan.required { CompatLevel::HardRequirement } else { CompatLevel::BestEffort };
    let fail = |what: &'static str| move |e: landlock::RulesetError| Failure { part: part(what), errno: errno_of(&e) };

    let mut ruleset = Ruleset::default().set_compatibility(level);
    ruleset = ruleset.handle_access(AccessFs::from_all(abi)).map_err(fail("file-system rights"))?;
    if plan.connect_tcp.is_some() {
        ruleset = ruleset.handle_access(AccessNet::from_all(abi)).map_err(fail("network rights"))?;
    }
    let mut scopes = BitFlags::<Scope>::empty();
    if plan.scope_signals {
        scopes |= Scope::Signal;
    }
    if plan.scope_abstract_unix {
        scopes |= Scope::AbstractUnixSocket;
    }
    if !scopes.is_empty() {
        ruleset = ruleset.scope(scopes).map_err(fail("scopes"))?;
    }
    let mut created = ruleset.create().map_err(fail("creating the ruleset"))?;
    for (path, access) in &plan.paths {
        let fd = match PathFd::new(path) {
            Ok(fd) => fd,
            // An optional bind that was skipped has no path inside: nothing to allow.
            Err(_) => continue,
        };
        let is_dir = std::fs::metadata(path).is_ok_and(|m| m.is_dir());
        let mut r = rights(*access, abi);
        if !is_dir {
            r &= AccessFs::from_file(abi);
        }
        created = created.add_rule(PathBeneath::new(fd, r)).map_err(fail("a path rule"))?;
    }
    for port in plan.connect_tcp.iter().flatten() {
        created = created.add_rule(NetPort::new(*port, AccessNet::ConnectTcp)).map_err(fail("a tcp connect rule"))?;
    }
    for port in plan.bind_tcp.iter().flatten() {
        created = created.add_rule(NetPort::new(*port, AccessNet::BindTcp)).map_err(fail("a tcp bind rule"))?;
    }
    // The sandbox sets no_new_privs itself, earlier and checked.
    let status = created.no_new_privs(false).restrict_self().map_err(fail("restricting the process"))?;
    let enforced = match status.ruleset {
        RulesetStatus::FullyEnforced => Enforced::Fully,
        RulesetStatus::PartiallyEnforced => Enforced::Partially,
        RulesetStatus::NotEnforced => Enforced::Not,
    };
    if plan.required && enforced != Enforced::Fully {
        return Err(Failure { part: part(PARTS[8]), errno: libc::EOPNOTSUPP });
    }
    Ok(enforced)
}
