//! Sandbox profiles: the JSON format, parsed strictly, and the shipped profiles.
//!
//! Trust zone: main process (profiles are configuration written by the operator, but they are
//! still input: every field is checked and unknown keys are errors naming the key and the file).
//!
//! Defaults fail closed: a key left out means the strict choice (every namespace, Landlock
//! required, the `actor` seccomp preset, the default limits). `docs/profiles.md` documents every
//! key.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

/// Where shipped profiles live in the source tree; they are also compiled into the binary.
pub const SHIPPED: &[(&str, &str)] = &[
    ("none", include_str!("../../sandbox-profiles/none.json")),
    ("untrusted-plugin", include_str!("../../sandbox-profiles/untrusted-plugin.json")),
    ("hostile-parser", include_str!("../../sandbox-profiles/hostile-parser.json")),
    ("tenant-script", include_str!("../../sandbox-profiles/tenant-script.json")),
    ("exec-readonly", include_str!("../../sandbox-profiles/exec-readonly.json")),
];

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("cannot read profile {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("profile {origin}: {message}")]
    Syntax { origin: String, message: String },
    #[error("profile {origin}: {field}: {message}")]
    Invalid { origin: String, field: String, message: String },
    #[error(
        "no profile named '{0}' (shipped: none, untrusted-plugin, hostile-parser, tenant-script, exec-readonly; a path must contain '/' or end in .json)"
    )]
    UnknownName(String),
}

/// A parsed, validated profile.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// What the profile is for, in one sentence.
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub namespaces: Namespaces,
    /// What to do where the kernel refuses user namespaces.
    #[serde(default)]
    pub without_user_namespace: Fallback,
    /// The user and group ids inside the user namespace.
    #[serde(default)]
    pub identity: Identity,
    #[serde(default)]
    pub filesystem: Filesystem,
    #[serde(default)]
    pub landlock: Landlock,
    #[serde(default)]
    pub seccomp: Seccomp,
    #[serde(default)]
    pub limits: Limits,
    /// The whole environment of the sandboxed program (everything else is cleared).
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
    #[serde(default)]
    pub stdio: Stdio,
    /// The host name inside a UTS namespace.
    #[serde(default = "default_hostname")]
    pub hostname: String,
}

fn default_hostname() -> String {
    String::from("luacell")
}

fn yes() -> bool {
    true
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Namespaces {
    #[serde(default = "yes")]
    pub user: bool,
    #[serde(default = "yes")]
    pub pid: bool,
    #[serde(default = "yes")]
    pub mount: bool,
    #[serde(default = "yes")]
    pub net: bool,
    #[serde(default = "yes")]
    pub ipc: bool,
    #[serde(default = "yes")]
    pub uts: bool,
    #[serde(default = "yes")]
    pub cgroup: bool,
}

impl Default for Namespaces {
    fn default() -> Self {
        Namespaces { user: true, pid: true, mount: true, net: true, ipc: true, uts: true, cgroup: true }
    }
}

impl Namespaces {
    pub fn any(&self) -> bool {
        self.user || self.pid || self.mount || self.net || self.ipc || self.uts || self.cgroup
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Fallback {
    /// Refuse to spawn, naming the missing feature.
    #[default]
    Fail,
    /// Run with Landlock, seccomp and rlimits only (no namespaces, no private mount tree).
    LandlockSeccompRlimits,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub uid: u32,
    pub gid: u32,
}

impl Default for Identity {
    fn default() -> Self {
        Identity { uid: 1000, gid: 1000 }
    }
}

#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Filesystem {
    /// Host paths bound into the sandbox.
    #[serde(default, deserialize_with = "list")]
    pub bind: Vec<Bind>,
    /// Size-capped tmpfs mounts.
    #[serde(default, deserialize_with = "list")]
    pub tmpfs: Vec<Tmpfs>,
    /// A minimal `/dev` (null, zero, urandom).
    #[serde(default)]
    pub dev: bool,
    /// A `/proc` of the sandbox's own pid namespace (needs the pid namespace).
    #[serde(default)]
    pub proc: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Bind {
    pub source: PathBuf,
    /// Where it appears inside; the same path when left out.
    #[serde(default)]
    pub target: Option<PathBuf>,
    #[serde(default)]
    pub writable: bool,
    /// Whether files under it may be executed (Landlock `execute`, no `noexec`).
    #[serde(default)]
    pub exec: bool,
    /// Skip it when the source does not exist (e.g. `/lib64` on some distributions).
    #[serde(default)]
    pub optional: bool,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Tmpfs {
    pub path: PathBuf,
    /// Size cap in bytes.
    pub size_bytes: u64,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Fail closed when the kernel cannot enforce everything the profile asks.
    #[default]
    Required,
    /// Enforce what the kernel can and report what it could not.
    BestEffort,
    /// Not applied at all.
    Off,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Landlock {
    #[serde(default)]
    pub mode: Mode,
    /// The lowest Landlock ABI the profile accepts in `required` mode.
    #[serde(default = "default_min_abi")]
    pub min_abi: u32,
    /// TCP ports the sandbox may connect to (Landlock ABI 4); every other port is denied.
    #[serde(default, deserialize_with = "list")]
    pub connect_tcp: Vec<u16>,
    /// TCP ports the sandbox may bind (Landlock ABI 4); every other port is denied.
    #[serde(default, deserialize_with = "list")]
    pub bind_tcp: Vec<u16>,
    /// Deny signals to processes outside the sandbox (Landlock ABI 6).
    #[serde(default = "yes")]
    pub scope_signals: bool,
    /// Deny connecting to abstract unix sockets made outside the sandbox (Landlock ABI 6).
    #[serde(default = "yes")]
    pub scope_abstract_unix: bool,
}

/// A list field: a JSON array, or `{}`. An empty Lua table (a profile given to `spawn_vm` as a
/// table) encodes as `{}`, since it cannot say whether it is a list or an object; any other
/// object is still an error.
fn list<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    struct List<T>(std::marker::PhantomData<T>);
    impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for List<T> {
        type Value = Vec<T>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list")
        }

        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            let mut out = Vec::new();
            while let Some(item) = seq.next_element()? {
                out.push(item);
            }
            Ok(out)
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Vec<T>, A::Error> {
            match map.next_key::<serde::de::IgnoredAny>()? {
                None => Ok(Vec::new()),
                Some(_) => Err(serde::de::Error::invalid_type(serde::de::Unexpected::Map, &self)),
            }
        }
    }
    d.deserialize_any(List(std::marker::PhantomData))
}

fn default_min_abi() -> u32 {
    6
}

impl Default for Landlock {
    fn default() -> Self {
        Landlock {
            mode: Mode::Required,
            min_abi: default_min_abi(),
            connect_tcp: Vec::new(),
            bind_tcp: Vec::new(),
            scope_signals: true,
            scope_abstract_unix: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Seccomp {
    #[serde(default)]
    pub mode: SeccompMode,
    /// A named allow-list (`actor`, `exec`), extended by `allow`.
    #[serde(default = "default_preset")]
    pub preset: String,
    /// Extra syscalls to allow, each with the reason.
    #[serde(default, deserialize_with = "list")]
    pub allow: Vec<AllowedSyscall>,
    /// What a forbidden syscall (ptrace, mount, io_uring_setup, ...) gets.
    #[serde(default)]
    pub forbidden: ForbiddenAction,
}

fn default_preset() -> String {
    String::from("actor")
}

impl Default for Seccomp {
    fn default() -> Self {
        Seccomp { mode: SeccompMode::On, preset: default_preset(), allow: Vec::new(), forbidden: ForbiddenAction::Kill }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SeccompMode {
    #[default]
    On,
    Off,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ForbiddenAction {
    /// The process is killed with SIGSYS.
    #[default]
    Kill,
    /// The call fails with EPERM.
    Eperm,
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AllowedSyscall {
    pub syscall: String,
    pub why: String,
}

/// A limit: a number, or the string `"unlimited"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    Value(u64),
    Unlimited,
}

impl<'de> Deserialize<'de> for Limit {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Limit::Value(n)),
            Raw::S(s) if s == "unlimited" => Ok(Limit::Unlimited),
            Raw::S(s) => Err(serde::de::Error::custom(format!("expected a number or \"unlimited\", found \"{s}\""))),
        }
    }
}

impl Limit {
    pub fn value(self) -> Option<u64> {
        match self {
            Limit::Value(v) => Some(v),
            Limit::Unlimited => None,
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Lua heap of a sandboxed actor (used by actors; `luacell exec` ignores it).
    #[serde(default = "d_heap")]
    pub lua_heap_bytes: Limit,
    /// RLIMIT_AS.
    #[serde(default = "d_as")]
    pub address_space_bytes: Limit,
    /// RLIMIT_CPU: SIGXCPU at this many CPU seconds, SIGKILL one second later. A sandboxed
    /// actor's VM also stops its Lua code at the SIGXCPU (`lua::budget`).
    #[serde(default = "d_cpu")]
    pub cpu_seconds: Limit,
    /// Killed (SIGKILL to the whole sandbox) after this many seconds of wall time.
    #[serde(default = "d_wall")]
    pub wall_seconds: Limit,
    /// RLIMIT_NOFILE.
    #[serde(default = "d_files")]
    pub open_files: Limit,
    /// RLIMIT_NPROC, counted in the sandbox's user namespace (the pid-1 reaper is one).
    #[serde(default = "d_procs")]
    pub processes: Limit,
    /// RLIMIT_FSIZE: SIGXFSZ past this size.
    #[serde(default = "d_fsize")]
    pub file_size_bytes: Limit,
    /// Largest actor message (used by actors).
    #[serde(default = "d_msg")]
    pub message_bytes: Limit,
}

fn d_heap() -> Limit {
    Limit::Value(64 << 20)
}
fn d_as() -> Limit {
    Limit::Value(1 << 30)
}
fn d_cpu() -> Limit {
    Limit::Value(60)
}
fn d_wall() -> Limit {
    Limit::Unlimited
}
fn d_files() -> Limit {
    Limit::Value(256)
}
fn d_procs() -> Limit {
    Limit::Value(16)
}
fn d_fsize() -> Limit {
    Limit::Value(64 << 20)
}
fn d_msg() -> Limit {
    Limit::Value(1 << 20)
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            lua_heap_bytes: d_heap(),
            address_space_bytes: d_as(),
            cpu_seconds: d_cpu(),
            wall_seconds: d_wall(),
            open_files: d_files(),
            processes: d_procs(),
            file_size_bytes: d_fsize(),
            message_bytes: d_msg(),
        }
    }
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Stdio {
    #[serde(default = "null_stream")]
    pub stdin: Stream,
    #[serde(default)]
    pub stdout: Stream,
    #[serde(default)]
    pub stderr: Stream,
}

fn null_stream() -> Stream {
    Stream::Null
}

impl Default for Stdio {
    fn default() -> Self {
        Stdio { stdin: Stream::Null, stdout: Stream::Inherit, stderr: Stream::Inherit }
    }
}

#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    /// The caller's descriptor.
    #[default]
    Inherit,
    /// `/dev/null`.
    Null,
}

impl Profile {
    /// Parses and validates a profile; `origin` names it in errors (a file path or a name).
    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let profile: Profile = serde_json::from_str(text)
            .map_err(|e| ProfileError::Syntax { origin: origin.to_owned(), message: e.to_string() })?;
        profile.validate(origin)?;
        Ok(profile)
    }

    /// Loads a profile by shipped name, or from a file when `spec` contains '/' or ends in `.json`.
    pub fn load(spec: &str) -> Result<Profile, ProfileError> {
        Profile::parse(&Profile::text_of(spec)?, spec)
    }

    /// The JSON text of a profile named as [`Profile::load`] takes it (not yet validated).
    pub fn text_of(spec: &str) -> Result<String, ProfileError> {
        if spec.contains('/') || spec.ends_with(".json") {
            let path = PathBuf::from(spec);
            return std::fs::read_to_string(&path).map_err(|source| ProfileError::Read { path: path.clone(), source });
        }
        let (_, text) =
            SHIPPED.iter().find(|(name, _)| *name == spec).ok_or_else(|| ProfileError::UnknownName(spec.to_owned()))?;
        Ok((*text).to_owned())
    }

    fn validate(&self, origin: &str) -> Result<(), ProfileError> {
        let invalid = |field: &str, message: String| ProfileError::Invalid {
            origin: origin.to_owned(),
            field: field.to_owned(),
            message,
        };
        let ns = &self.namespaces;
        if !ns.user && (ns.pid || ns.mount || ns.net || ns.ipc || ns.uts || ns.cgroup) {
            return Err(invalid(
                "namespaces.user",
                "the other namespaces are made inside a user namespace, so it cannot be off while they are on".into(),
            ));
        }
        if !ns.mount
            && (!self.filesystem.bind.is_empty()
                || !self.filesystem.tmpfs.is_empty()
                || self.filesystem.dev
                || self.filesystem.proc)
        {
            return Err(invalid("filesystem", "bind mounts, tmpfs, dev and proc need the mount namespace".into()));
        }
        if self.filesystem.proc && !ns.pid {
            return Err(invalid(
                "filesystem.proc",
                "a /proc without a pid namespace would show the host's processes".into(),
            ));
        }
        for (i, b) in self.filesystem.bind.iter().enumerate() {
            check_path(&b.source).map_err(|m| invalid(&format!("filesystem.bind[{i}].source"), m))?;
            if let Some(t) = &b.target {
                check_path(t).map_err(|m| invalid(&format!("filesystem.bind[{i}].target"), m))?;
            }
            if b.target.as_deref().unwrap_or(&b.source) == Path::new("/") {
                return Err(invalid(&format!("filesystem.bind[{i}]"), "cannot bind over the sandbox root".into()));
            }
        }
        let mut targets: Vec<&Path> =
            self.filesystem.bind.iter().map(|b| b.target.as_deref().unwrap_or(&b.source)).collect();
        targets.extend(self.filesystem.tmpfs.iter().map(|t| t.path.as_path()));
        if self.filesystem.dev {
            targets.push(Path::new("/dev"));
        }
        if self.filesystem.proc {
            targets.push(Path::new("/proc"));
        }
        targets.sort();
        if let Some(w) = targets.windows(2).find(|w| w[0] == w[1]) {
            return Err(invalid("filesystem", format!("two mounts at {}", w[0].display())));
        }
        for (i, t) in self.filesystem.tmpfs.iter().enumerate() {
            check_path(&t.path).map_err(|m| invalid(&format!("filesystem.tmpfs[{i}].path"), m))?;
            if t.path == Path::new("/") {
                return Err(invalid(
                    &format!("filesystem.tmpfs[{i}].path"),
                    "the root is always an empty tmpfs".into(),
                ));
            }
            if t.size_bytes < 4096 {
                return Err(invalid(&format!("filesystem.tmpfs[{i}].size_bytes"), "must be at least 4096".into()));
            }
        }
        if self.landlock.mode != Mode::Off && !(1..=7).contains(&self.landlock.min_abi) {
            return Err(invalid("landlock.min_abi", format!("must be 1 to 7, not {}", self.landlock.min_abi)));
        }
        for (i, a) in self.seccomp.allow.iter().enumerate() {
            if a.why.trim().is_empty() {
                return Err(invalid(&format!("seccomp.allow[{i}].why"), format!("say why {} is allowed", a.syscall)));
            }
        }
        if self.seccomp.mode == SeccompMode::On {
            super::seccomp::check_policy(&self.seccomp).map_err(|(field, m)| invalid(&field, m))?;
        }
        for key in self.environment.keys() {
            if key.is_empty() || key.contains('=') || key.contains('\0') {
                return Err(invalid("environment", format!("'{key}' is not a valid variable name")));
            }
        }
        if self.environment.values().any(|v| v.contains('\0')) {
            return Err(invalid("environment", "values cannot contain NUL".into()));
        }
        if self.identity.uid == u32::MAX || self.identity.gid == u32::MAX {
            return Err(invalid("identity", "4294967295 is not a valid id".into()));
        }
        if self.hostname.is_empty() || self.hostname.len() > 64 {
            return Err(invalid("hostname", "must be 1 to 64 bytes".into()));
        }
        if self.limits.processes == Limit::Value(0) || self.limits.open_files == Limit::Value(0) {
            return Err(invalid("limits", "processes and open_files must be at least 1".into()));
        }
        Ok(())
    }
}

/// A path in a profile: absolute, UTF-8, no `..`, no NUL.
fn check_path(p: &Path) -> Result<(), String> {
    let Some(s) = p.to_str() else { return Err("not UTF-8".into()) };
    if !p.is_absolute() {
        return Err(format!("'{s}' is not absolute"));
    }
    if s.contains('\0') {
        return Err("contains NUL".into());
    }
    if p.components().any(|c| matches!(c, Component::ParentDir)) {
        return Err(format!("'{s}' contains '..'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(json: &str) -> String {
        Profile::parse(json, "test.json").expect_err("must be refused").to_string()
    }

    #[test]
    fn every_shipped_profile_parses() {
        for (name, _) in SHIPPED {
            assert!(Profile::load(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn an_empty_object_is_an_empty_list_but_no_other_object_is() {
        let p = Profile::parse(r#"{"filesystem": {"bind": {}, "tmpfs": {}}, "seccomp": {"allow": {}}}"#, "t")
            .expect("empty objects as empty lists");
        assert!(p.filesystem.bind.is_empty() && p.filesystem.tmpfs.is_empty() && p.seccomp.allow.is_empty());
        let e = err(r#"{"landlock": {"connect_tcp": {"x": 1}}}"#);
        assert!(e.contains("expected a list") && e.contains("test.json"), "{e}");
    }

    #[test]
    fn empty_profile_takes_strict_defaults() {
        let p = Profile::parse("{}", "t").expect("profile");
        assert_eq!(p.namespaces, Namespaces::default());
        assert!(p.namespaces.net && p.namespaces.user);
        assert_eq!(p.landlock.mode, Mode::Required);
        assert_eq!(p.seccomp.mode, SeccompMode::On);
        assert_eq!(p.seccomp.forbidden, ForbiddenAction::Kill);
        assert_eq!(p.limits, Limits::default());
        assert!(p.environment.is_empty());
        assert_eq!(p.stdio.stdin, Stream::Null);
    }

    #[test]
    fn unknown_key_is_named_with_the_file() {
        let e = err(r#"{"namespaces": {"usr": true}}"#);
        assert!(e.contains("test.json") && e.contains("unknown field `usr`"), "{e}");
        let e = err(r#"{"limits": {"cpu": 1}}"#);
        assert!(e.contains("unknown field `cpu`"), "{e}");
    }

    #[test]
    fn limits_take_numbers_or_unlimited_only() {
        let p = Profile::parse(r#"{"limits": {"cpu_seconds": "unlimited", "open_files": 9}}"#, "t").expect("profile");
        assert_eq!((p.limits.cpu_seconds, p.limits.open_files), (Limit::Unlimited, Limit::Value(9)));
        assert!(err(r#"{"limits": {"cpu_seconds": "lots"}}"#).contains("\"unlimited\""));
        assert!(err(r#"{"limits": {"processes": 0}}"#).contains("at least 1"));
    }

    #[test]
    fn inconsistent_filesystems_are_refused() {
        assert!(err(r#"{"filesystem": {"bind": [{"source": "usr"}]}}"#).contains("not absolute"));
        assert!(err(r#"{"filesystem": {"bind": [{"source": "/usr/../etc"}]}}"#).contains("'..'"));
        assert!(err(r#"{"filesystem": {"bind": [{"source": "/usr", "target": "/"}]}}"#).contains("root"));
        assert!(
            err(r#"{"filesystem": {"bind": [{"source": "/usr"}, {"source": "/usr"}]}}"#).contains("two mounts at /usr")
        );
        assert!(err(r#"{"filesystem": {"tmpfs": [{"path": "/tmp", "size_bytes": 10}]}}"#).contains("4096"));
        assert!(err(r#"{"namespaces": {"pid": false}, "filesystem": {"proc": true}}"#).contains("host's processes"));
        assert!(err(r#"{"namespaces": {"mount": false}, "filesystem": {"dev": true}}"#).contains("mount namespace"));
        assert!(err(r#"{"namespaces": {"user": false}}"#).contains("namespaces.user"));
    }

    #[test]
    fn seccomp_allow_list_needs_reasons_and_cannot_reopen_forbidden_calls() {
        assert!(
            err(r#"{"seccomp": {"allow": [{"syscall": "ptrace", "why": "debugging"}]}}"#).contains("always forbidden")
        );
        assert!(err(r#"{"seccomp": {"allow": [{"syscall": "flock", "why": " "}]}}"#).contains("say why flock"));
        assert!(err(r#"{"seccomp": {"allow": [{"syscall": "no_such", "why": "x"}]}}"#).contains("unknown syscall"));
        assert!(err(r#"{"seccomp": {"preset": "everything"}}"#).contains("unknown preset"));
        let clone3 = err(r#"{"seccomp": {"preset": "exec", "allow": [{"syscall": "clone3", "why": "threads"}]}}"#);
        assert!(clone3.contains("seccomp.allow[0].syscall") && clone3.contains("clone3 cannot be allowed"), "{clone3}");
        assert!(Profile::parse(r#"{"seccomp": {"allow": [{"syscall": "flock", "why": "locks"}]}}"#, "t").is_ok());
    }

    #[test]
    fn environment_and_hostname_are_checked() {
        assert!(err(r#"{"environment": {"A=B": "x"}}"#).contains("not a valid variable name"));
        assert!(err(r#"{"hostname": ""}"#).contains("hostname"));
        assert!(err(r#"{"landlock": {"min_abi": 9}}"#).contains("min_abi"));
    }
}
