//! Whether one profile only narrows another: what a sandboxed actor may ask for the actors it
//! starts.
//!
//! Trust zone: the supervisor. The child's profile comes from a sandboxed actor (untrusted); the
//! parent's is the profile that actor itself runs under. The check is field by field, and the
//! first field that would widen anything is named in the error.

use super::profile::{Fallback, ForbiddenAction, Limit, Mode, Profile, SeccompMode, Stream};

/// `Ok` when every field of `child` is at least as strict as in `parent`; otherwise the first
/// field that is not, and why.
pub fn check(child: &Profile, parent: &Profile) -> Result<(), String> {
    namespaces(child, parent)?;
    if parent.without_user_namespace == Fallback::Fail && child.without_user_namespace != Fallback::Fail {
        return Err(widens("without_user_namespace", "the parent fails without user namespaces"));
    }
    if child.identity != parent.identity {
        // Ids inside its own user namespace grant nothing once capabilities are dropped, but
        // root inside is a door nobody needs open: the same ids as the parent, or nothing.
        return Err(widens("identity", "a nested actor runs as its parent's ids"));
    }
    filesystem(child, parent)?;
    landlock(child, parent)?;
    seccomp(child, parent)?;
    limits(child, parent)?;
    let (c, p) = (&child.stdio, &parent.stdio);
    for (name, c, p) in
        [("stdio.stdin", c.stdin, p.stdin), ("stdio.stdout", c.stdout, p.stdout), ("stdio.stderr", c.stderr, p.stderr)]
    {
        if c == Stream::Inherit && p != Stream::Inherit {
            return Err(widens(name, "the parent's is /dev/null"));
        }
    }
    Ok(())
}

fn widens(field: &str, why: &str) -> String {
    format!("{field} would widen the parent's profile ({why})")
}

fn namespaces(child: &Profile, parent: &Profile) -> Result<(), String> {
    let (c, p) = (&child.namespaces, &parent.namespaces);
    for (name, c, p) in [
        ("namespaces.user", c.user, p.user),
        ("namespaces.pid", c.pid, p.pid),
        ("namespaces.mount", c.mount, p.mount),
        ("namespaces.net", c.net, p.net),
        ("namespaces.ipc", c.ipc, p.ipc),
        ("namespaces.uts", c.uts, p.uts),
        ("namespaces.cgroup", c.cgroup, p.cgroup),
    ] {
        if p && !c {
            return Err(widens(name, "the parent has its own"));
        }
    }
    Ok(())
}

fn filesystem(child: &Profile, parent: &Profile) -> Result<(), String> {
    let (c, p) = (&child.filesystem, &parent.filesystem);
    for bind in &c.bind {
        let target = bind.target.as_ref().unwrap_or(&bind.source);
        let same = p.bind.iter().find(|b| b.source == bind.source && b.target.as_ref().unwrap_or(&b.source) == target);
        let Some(theirs) = same else {
            return Err(widens("filesystem.bind", &format!("the parent has no bind of {}", bind.source.display())));
        };
        if bind.writable && !theirs.writable {
            return Err(widens("filesystem.bind", &format!("{} is read-only for the parent", bind.source.display())));
        }
        if bind.exec && !theirs.exec {
            return Err(widens(
                "filesystem.bind",
                &format!("{} is not executable for the parent", bind.source.display()),
            ));
        }
    }
    let total = |t: &[super::profile::Tmpfs]| t.iter().fold(0u64, |sum, t| sum.saturating_add(t.size_bytes));
    if total(&c.tmpfs) > total(&p.tmpfs) {
        return Err(widens("filesystem.tmpfs", "its sizes add up to more than the parent's"));
    }
    if c.dev && !p.dev {
        return Err(widens("filesystem.dev", "the parent has no /dev"));
    }
    if c.proc && !p.proc {
        return Err(widens("filesystem.proc", "the parent has no /proc"));
    }
    Ok(())
}

fn strictness(mode: Mode) -> u8 {
    match mode {
        Mode::Off => 0,
        Mode::BestEffort => 1,
        Mode::Required => 2,
    }
}

fn landlock(child: &Profile, parent: &Profile) -> Result<(), String> {
    let (c, p) = (&child.landlock, &parent.landlock);
    if strictness(c.mode) < strictness(p.mode) {
        return Err(widens("landlock.mode", "the parent's is stricter"));
    }
    if p.mode == Mode::Off {
        return Ok(());
    }
    if p.mode == Mode::Required && c.min_abi < p.min_abi {
        return Err(widens("landlock.min_abi", "the parent requires a newer ABI"));
    }
    if let Some(port) = c.connect_tcp.iter().find(|port| !p.connect_tcp.contains(port)) {
        return Err(widens("landlock.connect_tcp", &format!("the parent may not connect to port {port}")));
    }
    if let Some(port) = c.bind_tcp.iter().find(|port| !p.bind_tcp.contains(port)) {
        return Err(widens("landlock.bind_tcp", &format!("the parent may not bind port {port}")));
    }
    if p.scope_signals && !c.scope_signals {
        return Err(widens("landlock.scope_signals", "the parent's signals are scoped"));
    }
    if p.scope_abstract_unix && !c.scope_abstract_unix {
        return Err(widens("landlock.scope_abstract_unix", "the parent's abstract sockets are scoped"));
    }
    Ok(())
}

fn seccomp(child: &Profile, parent: &Profile) -> Result<(), String> {
    let (c, p) = (&child.seccomp, &parent.seccomp);
    if p.mode == SeccompMode::Off {
        return Ok(());
    }
    if c.mode == SeccompMode::Off {
        return Err(widens("seccomp.mode", "the parent has a filter"));
    }
    if c.preset != p.preset {
        return Err(widens("seccomp.preset", &format!("the parent's is '{}'", p.preset)));
    }
    if let Some(extra) = c.allow.iter().find(|a| !p.allow.iter().any(|b| b.syscall == a.syscall)) {
        return Err(widens("seccomp.allow", &format!("the parent may not call {}", extra.syscall)));
    }
    if p.forbidden == ForbiddenAction::Kill && c.forbidden != ForbiddenAction::Kill {
        return Err(widens("seccomp.forbidden", "the parent is killed for a forbidden call"));
    }
    Ok(())
}

fn limits(child: &Profile, parent: &Profile) -> Result<(), String> {
    let (c, p) = (&child.limits, &parent.limits);
    for (name, c, p) in [
        ("limits.lua_heap_bytes", c.lua_heap_bytes, p.lua_heap_bytes),
        ("limits.address_space_bytes", c.address_space_bytes, p.address_space_bytes),
        ("limits.cpu_seconds", c.cpu_seconds, p.cpu_seconds),
        ("limits.wall_seconds", c.wall_seconds, p.wall_seconds),
        ("limits.open_files", c.open_files, p.open_files),
        ("limits.processes", c.processes, p.processes),
        ("limits.file_size_bytes", c.file_size_bytes, p.file_size_bytes),
        ("limits.message_bytes", c.message_bytes, p.message_bytes),
    ] {
        let wider = match (c, p) {
            (_, Limit::Unlimited) => false,
            (Limit::Unlimited, Limit::Value(_)) => true,
            (Limit::Value(c), Limit::Value(p)) => c > p,
        };
        if wider {
            return Err(widens(name, "it is above the parent's"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plugin() -> Profile {
        Profile::load("untrusted-plugin").expect("shipped profile")
    }

    #[test]
    fn a_profile_narrows_itself() {
        assert_eq!(check(&plugin(), &plugin()), Ok(()));
        let parser = Profile::load("hostile-parser").expect("shipped profile");
        assert_eq!(check(&parser, &parser), Ok(()));
    }

    #[test]
    fn stricter_fields_are_narrower() {
        let mut child = plugin();
        child.limits.cpu_seconds = Limit::Value(1);
        child.limits.lua_heap_bytes = Limit::Value(1 << 20);
        child.filesystem.tmpfs.clear();
        child.stdio.stdout = Stream::Null;
        assert_eq!(check(&child, &plugin()), Ok(()));
    }

    /// A field name and a change that widens it.
    type Widening = (&'static str, Box<dyn Fn(&mut Profile)>);

    #[test]
    fn every_widening_is_named() {
        let cases: Vec<Widening> = vec![
            ("namespaces.net", Box::new(|p| p.namespaces.net = false)),
            ("without_user_namespace", Box::new(|p| p.without_user_namespace = Fallback::LandlockSeccompRlimits)),
            ("filesystem.tmpfs", Box::new(|p| p.filesystem.tmpfs[0].size_bytes += 1)),
            ("filesystem.dev", Box::new(|p| p.filesystem.dev = true)),
            ("filesystem.proc", Box::new(|p| p.filesystem.proc = true)),
            ("landlock.mode", Box::new(|p| p.landlock.mode = Mode::BestEffort)),
            ("landlock.min_abi", Box::new(|p| p.landlock.min_abi = 1)),
            ("landlock.connect_tcp", Box::new(|p| p.landlock.connect_tcp.push(80))),
            ("landlock.scope_signals", Box::new(|p| p.landlock.scope_signals = false)),
            ("seccomp.mode", Box::new(|p| p.seccomp.mode = SeccompMode::Off)),
            ("seccomp.preset", Box::new(|p| p.seccomp.preset = "exec".into())),
            ("seccomp.forbidden", Box::new(|p| p.seccomp.forbidden = ForbiddenAction::Eperm)),
            ("limits.cpu_seconds", Box::new(|p| p.limits.cpu_seconds = Limit::Unlimited)),
            ("limits.processes", Box::new(|p| p.limits.processes = Limit::Value(1000))),
            ("stdio.stdin", Box::new(|p| p.stdio.stdin = Stream::Inherit)),
            ("identity", Box::new(|p| p.identity.uid = 0)),
        ];
        for (field, widen) in cases {
            let mut child = plugin();
            widen(&mut child);
            let err = check(&child, &plugin()).expect_err(field);
            assert!(err.starts_with(field), "{field}: {err}");
        }
    }

    #[test]
    fn binds_must_be_the_parents_and_no_wider() {
        let mut parent = plugin();
        parent.filesystem.bind.push(super::super::profile::Bind {
            source: "/usr".into(),
            target: None,
            writable: false,
            exec: false,
            optional: false,
        });
        let mut child = parent.clone();
        assert_eq!(check(&child, &parent), Ok(()));
        child.filesystem.bind[0].writable = true;
        assert!(check(&child, &parent).expect_err("writable").contains("read-only"));
        child.filesystem.bind[0].writable = false;
        child.filesystem.bind[0].source = "/etc".into();
        assert!(check(&child, &parent).expect_err("other bind").contains("no bind of /etc"));
    }
}
