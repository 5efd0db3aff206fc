//! The escape suite: one attempt per probe run, from inside the real sandbox, against the real
//! kernel. Every attempt first runs as a control under the `none` profile (or, for calls the
//! kernel gates on privilege, under `unshare -Urm`, so that root and an unprivileged user get the
//! same answer) and must reach the kernel there; then the same attempt under `untrusted-plugin`
//! and `hostile-parser` (and `exec-readonly` where exec matters) must get exactly the expected
//! errno or signal.
//!
//! Runs as root and as an unprivileged user (`scripts/test.sh`). With
//! `LUACELL_SANDBOX_MUST_WORK=1` (set by CI) a kernel that cannot run the sandbox fails every test
//! instead of skipping it.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn probe_bin() -> PathBuf {
    std::env::var_os("LUACELL_PROBE_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell-probe")), PathBuf::from)
}

/// False (the test passes after saying so) when this kernel cannot run sandboxes and CI did not
/// demand it; panics when CI did.
fn sandbox_works() -> bool {
    static WORKS: OnceLock<Result<(), String>> = OnceLock::new();
    let works = WORKS.get_or_init(|| {
        let out =
            Command::new(probe_bin()).args(["untrusted-plugin", "list", "/"]).output().map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if text.lines().any(|l| l == "exit 0") {
            Ok(())
        } else {
            Err(format!("{text}{}", String::from_utf8_lossy(&out.stderr)))
        }
    });
    match works {
        Ok(()) => true,
        Err(why) if std::env::var_os("LUACELL_SANDBOX_MUST_WORK").is_some_and(|v| v == "1") => {
            panic!("LUACELL_SANDBOX_MUST_WORK=1 but the sandbox cannot run here: {why}")
        }
        Err(why) => {
            eprintln!("skipped: the sandbox cannot run on this kernel: {why}");
            false
        }
    }
}

/// Fixtures on the host, outside every sandbox's bound paths.
struct Fixtures {
    dir: PathBuf,
}

impl Fixtures {
    fn get() -> &'static Fixtures {
        static F: OnceLock<Fixtures> = OnceLock::new();
        F.get_or_init(|| {
            remove_stale_fixtures();
            let dir = std::env::temp_dir().join(format!("luacell-escape-{}", std::process::id()));
            std::fs::create_dir_all(dir.join("listme")).expect("fixture dir");
            std::fs::write(dir.join("secret"), "secret\n").expect("fixture");
            std::fs::write(dir.join("listme/a"), "a").expect("fixture");
            std::fs::write(dir.join("listme/b"), "b").expect("fixture");
            std::fs::copy("/usr/bin/true", dir.join("true")).expect("fixture");
            for p in [dir.clone(), dir.join("listme")] {
                std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o777)).expect("fixture mode");
            }
            Fixtures { dir }
        })
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }

    /// A fresh file (one per test, so parallel tests never share one).
    fn fresh(&self, name: &str, content: &str) -> String {
        let p = self.dir.join(name);
        std::fs::write(&p, content).expect("fixture");
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).expect("fixture mode");
        p.to_string_lossy().into_owned()
    }
}

/// Fixture directories of test processes that are gone.
fn remove_stale_fixtures() {
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("luacell-escape-")
            && !Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(e.path());
        }
    }
}

/// Runs the probe (optionally under `unshare -Urm`) and returns its stdout lines.
fn run(wrap_userns: bool, binds: &[String], profile: &str, args: &[&str]) -> Vec<String> {
    let mut cmd = if wrap_userns {
        let mut c = Command::new("unshare");
        c.args(["--user", "--map-root-user", "--mount"]).arg(probe_bin());
        c
    } else {
        Command::new(probe_bin())
    };
    for b in binds {
        cmd.args(["--bind", b]);
    }
    let out = cmd.arg(profile).args(args).output().expect("run the probe");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        !stdout.contains("spawn-error"),
        "probe could not spawn under {profile}: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout.lines().map(str::to_owned).collect()
}

fn control(args: &[&str]) -> Vec<String> {
    run(false, &[], "none", args)
}

fn control_userns(args: &[&str]) -> Vec<String> {
    run(true, &[], "none", args)
}

fn sandboxed(profile: &str, args: &[&str]) -> Vec<String> {
    run(false, &[], profile, args)
}

fn lines(expected: &[&str]) -> Vec<String> {
    expected.iter().map(|s| (*s).to_owned()).collect()
}

const KILLED: &[&str] = &["signal SIGSYS", "limit ForbiddenSyscall"];

/// A forbidden syscall: the control gets `control_answer` from the kernel; both shipped actor
/// profiles kill the prober with SIGSYS.
fn forbidden(userns_control: bool, args: &[&str], control_answer: &str) {
    if !sandbox_works() {
        return;
    }
    let c = if userns_control { control_userns(args) } else { control(args) };
    assert_eq!(c, lines(&[control_answer, "exit 0"]), "control {args:?}");
    assert_eq!(sandboxed("untrusted-plugin", args), lines(KILLED), "untrusted-plugin {args:?}");
    assert_eq!(sandboxed("hostile-parser", args), lines(KILLED), "hostile-parser {args:?}");
}

/// An attempt that the control completes (`ok ...`) and both actor profiles refuse with `errno`.
fn refused(args: &[&str], control_answer: &str, errno: &str) {
    if !sandbox_works() {
        return;
    }
    assert_eq!(control(args), lines(&[control_answer, "exit 0"]), "control {args:?}");
    let expected = lines(&[errno, "exit 0"]);
    assert_eq!(sandboxed("untrusted-plugin", args), expected, "untrusted-plugin {args:?}");
    assert_eq!(sandboxed("hostile-parser", args), expected, "hostile-parser {args:?}");
}

// Files outside the bound paths.

#[test]
fn read_host_file_fails_enoent() {
    let f = Fixtures::get();
    refused(&["read", &f.path("secret")], "ok 7 bytes", "err ENOENT");
}

#[test]
fn write_host_file_fails_enoent() {
    let f = Fixtures::get();
    let p = f.fresh("write-me", "x");
    refused(&["write", &p], "ok written", "err ENOENT");
}

#[test]
fn create_host_file_fails_enoent() {
    let f = Fixtures::get();
    // The sandboxes run first: the control creates the file.
    let p = f.path("created");
    if !sandbox_works() {
        return;
    }
    assert_eq!(sandboxed("untrusted-plugin", &["create", &p]), lines(&["err ENOENT", "exit 0"]));
    assert_eq!(sandboxed("hostile-parser", &["create", &p]), lines(&["err ENOENT", "exit 0"]));
    assert_eq!(control(&["create", &p]), lines(&["ok created", "exit 0"]));
}

#[test]
fn unlink_host_file_fails_enoent() {
    let f = Fixtures::get();
    let p = f.fresh("victim", "x");
    if !sandbox_works() {
        return;
    }
    assert_eq!(sandboxed("untrusted-plugin", &["unlink", &p]), lines(&["err ENOENT", "exit 0"]));
    assert_eq!(sandboxed("hostile-parser", &["unlink", &p]), lines(&["err ENOENT", "exit 0"]));
    assert!(Path::new(&p).exists(), "the sandboxes must not have removed it");
    assert_eq!(control(&["unlink", &p]), lines(&["ok removed", "exit 0"]));
}

#[test]
fn list_host_dir_fails_enoent() {
    let f = Fixtures::get();
    refused(&["list", &f.path("listme")], "ok 2 entries", "err ENOENT");
}

#[test]
fn read_etc_passwd_fails_enoent() {
    if !sandbox_works() {
        return;
    }
    let c = control(&["read", "/etc/passwd"]);
    assert!(c.len() == 2 && c[0].starts_with("ok ") && c[1] == "exit 0", "control: {c:?}");
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["read", "/etc/passwd"]), lines(&["err ENOENT", "exit 0"]), "{p}");
    }
}

#[test]
fn read_proc_environ_fails_enoent() {
    if !sandbox_works() {
        return;
    }
    // The control reads the environment of a process of the same user (the launcher); pid 1's
    // would differ between root and an unprivileged user.
    let c = control(&["read", "/proc/@launcher/environ"]);
    assert!(c.len() == 2 && c[0].starts_with("ok ") && c[1] == "exit 0", "control: {c:?}");
    for p in ["untrusted-plugin", "hostile-parser"] {
        for path in ["/proc/1/environ", "/proc/@launcher/environ"] {
            assert_eq!(sandboxed(p, &["read", path]), lines(&["err ENOENT", "exit 0"]), "{p} {path}");
        }
    }
}

#[test]
fn exec_host_binary_fails_enosys() {
    let f = Fixtures::get();
    if !sandbox_works() {
        return;
    }
    // The control's exec replaces the probe: no `err` line, the program's status.
    assert_eq!(control(&["exec", &f.path("true")]), lines(&["exit 0"]));
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["exec", &f.path("true")]), lines(&["err ENOSYS", "exit 0"]), "{p}");
        assert_eq!(sandboxed(p, &["exec", "/usr/bin/true"]), lines(&["err ENOSYS", "exit 0"]), "{p}");
    }
}

#[test]
fn exec_outside_bound_paths_under_exec_profile_fails_enoent() {
    let f = Fixtures::get();
    if !sandbox_works() {
        return;
    }
    assert_eq!(control(&["exec", &f.path("true")]), lines(&["exit 0"]));
    // Bound /usr programs run; the host copy outside the binds does not exist inside.
    assert_eq!(sandboxed("exec-readonly", &["exec", "/usr/bin/true"]), lines(&["exit 0"]));
    assert_eq!(sandboxed("exec-readonly", &["exec", &f.path("true")]), lines(&["err ENOENT", "exit 0"]));
}

#[test]
fn write_proc_self_exe_fails() {
    if !sandbox_works() {
        return;
    }
    // Writing a running program is refused by the kernel itself in the control (the probe binary
    // is owned by the user running it).
    assert_eq!(control(&["write-exe"]), lines(&["err ETXTBSY", "exit 0"]));
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["write-exe"]), lines(&["err ENOENT", "exit 0"]), "{p}");
    }
}

#[test]
fn read_proc_self_exe_with_proc_mounted_fails_eacces() {
    if !sandbox_works() {
        return;
    }
    assert_eq!(control(&["read-exe"]), lines(&["ok read \"ELF\"", "exit 0"]));
    // With /proc mounted the magic link leads to the host binary (readable by everyone, so the
    // refusal is Landlock's: it is outside every rule).
    assert_eq!(sandboxed("exec-readonly", &["read-exe"]), lines(&["err EACCES", "exit 0"]));
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["read-exe"]), lines(&["err ENOENT", "exit 0"]), "{p}");
    }
}

// Network.

#[test]
fn tcp_connect_to_host_listener_fails_enosys() {
    if !sandbox_works() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let addr = listener.local_addr().expect("addr").to_string();
    refused(&["tcp-connect", &addr], "ok connected", "err ENOSYS");
}

#[test]
fn abstract_unix_connect_to_host_fails_econnrefused() {
    use std::os::linux::net::SocketAddrExt;
    if !sandbox_works() {
        return;
    }
    let name = format!("luacell-escape-{}", std::process::id());
    let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).expect("name");
    let _listener = std::os::unix::net::UnixListener::bind_addr(&addr).expect("abstract listener");
    refused(&["unix-abstract", &name], "ok connected", "err ECONNREFUSED");
}

#[test]
fn socket_inet_fails_enosys() {
    refused(&["socket", "inet"], "ok socket 3", "err ENOSYS");
}

#[test]
fn socket_netlink_fails_enosys() {
    refused(&["socket", "netlink"], "ok socket 3", "err ENOSYS");
}

#[test]
fn socket_packet_fails_enosys() {
    if !sandbox_works() {
        return;
    }
    // AF_PACKET needs CAP_NET_RAW: the control runs in a user namespace so both users get EPERM.
    assert_eq!(control_userns(&["socket", "packet"]), lines(&["err EPERM", "exit 0"]));
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["socket", "packet"]), lines(&["err ENOSYS", "exit 0"]), "{p}");
    }
}

// Other processes.

#[test]
fn ptrace_parent_is_killed_by_seccomp() {
    forbidden(false, &["ptrace", "@launcher"], "ok attached");
}

#[test]
fn kill_parent_fails_esrch() {
    refused(&["kill", "@launcher"], "ok signalled", "err ESRCH");
}

#[test]
fn pidfd_open_parent_fails_enosys() {
    refused(&["pidfd-open", "@launcher"], "ok opened", "err ENOSYS");
}

#[test]
fn tiocsti_is_killed_by_seccomp() {
    forbidden(false, &["tiocsti"], "ok injected");
}

// Kernel surface.

#[test]
fn mount_is_killed_by_seccomp() {
    forbidden(false, &["mount"], "err EFAULT");
}

#[test]
fn umount_is_killed_by_seccomp() {
    forbidden(false, &["umount"], "err EINVAL");
}

#[test]
fn unshare_is_killed_by_seccomp() {
    forbidden(false, &["unshare"], "ok unshared");
}

#[test]
fn clone_with_namespace_flags_is_refused_by_its_argument_filter() {
    if !sandbox_works() {
        return;
    }
    assert_eq!(control(&["clone-newuser"]), lines(&["ok cloned", "exit 0"]));
    // The actor preset has no clone at all, yet the forbidden filter (not ENOSYS) answers.
    assert_eq!(sandboxed("untrusted-plugin", &["clone-newuser"]), lines(KILLED));
    // The exec preset allows clone (its fork bomb forks 62 children) but not with a namespace
    // flag: the argument check sends it to the profile's forbidden action, EPERM.
    assert_eq!(sandboxed("exec-readonly", &["clone-newuser"]), lines(&["err EPERM", "exit 0"]));
}

#[test]
fn setns_is_killed_by_seccomp() {
    forbidden(false, &["setns"], "err EBADF");
}

#[test]
fn pivot_root_is_killed_by_seccomp() {
    // pivot_root checks privilege first: the control runs with its own user and mount namespace.
    forbidden(true, &["pivot_root"], "err EFAULT");
}

#[test]
fn chroot_is_killed_by_seccomp() {
    forbidden(false, &["chroot"], "err EFAULT");
}

#[test]
fn io_uring_setup_is_killed_by_seccomp() {
    forbidden(false, &["io_uring_setup"], "err EFAULT");
}

#[test]
fn bpf_is_killed_by_seccomp() {
    forbidden(false, &["bpf"], "err EFAULT");
}

#[test]
fn perf_event_open_is_killed_by_seccomp() {
    forbidden(false, &["perf_event_open"], "err EFAULT");
}

#[test]
fn keyctl_is_killed_by_seccomp() {
    forbidden(false, &["keyctl"], "err EOPNOTSUPP");
}

#[test]
fn add_key_is_killed_by_seccomp() {
    forbidden(false, &["add_key"], "err EFAULT");
}

#[test]
fn userfaultfd_is_killed_by_seccomp() {
    forbidden(false, &["userfaultfd"], "ok uffd");
}

#[test]
fn personality_is_killed_by_seccomp() {
    forbidden(false, &["personality"], "ok persona 0");
}

#[test]
fn init_module_is_killed_by_seccomp() {
    // This kernel has no module support: the control's ENOSYS comes from the kernel itself, and
    // the sandboxes' SIGSYS can only come from the filter.
    forbidden(true, &["init_module"], "err ENOSYS");
}

// Privilege.

fn setuid_fixture() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LUACELL_SETUID_FIXTURE") {
        return Some(PathBuf::from(p));
    }
    // Root can make the fixture itself (the owner of /proc/self is the effective user).
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if !root {
        return None;
    }
    let dir = Fixtures::get().dir.join("suid");
    std::fs::create_dir_all(&dir).expect("suid dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("mode");
    let bin = dir.join("probe-suid");
    std::fs::copy(probe_bin(), &bin).expect("copy the probe");
    let status = Command::new("chown").arg("65534:65534").arg(&bin).status().expect("chown");
    assert!(status.success());
    std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o4755)).expect("setuid mode");
    Some(bin)
}

#[test]
fn setuid_binary_gains_nothing_inside() {
    if !sandbox_works() {
        return;
    }
    let bin = setuid_fixture().expect(
        "a setuid fixture: run as root, or set LUACELL_SETUID_FIXTURE to a copy of luacell-probe owned by 65534 with mode 4755 (scripts/test.sh does)",
    );
    let bin_s = bin.to_string_lossy().into_owned();
    let dir = bin.parent().expect("fixture dir").to_string_lossy().into_owned();
    // Control: the kernel honours the setuid bit (the probe runs as 65534, not as the caller).
    assert_eq!(control(&["exec", &bin_s, "--whoami"]), lines(&["ok euid 65534", "exit 0"]));
    // Inside: no_new_privs and nosuid binds: the program keeps the sandbox's own uid.
    let inside = run(false, &[format!("{dir}:exec")], "exec-readonly", &["exec", &bin_s, "--whoami"]);
    assert_eq!(inside, lines(&["ok euid 1000", "exit 0"]));
    assert_eq!(sandboxed("exec-readonly", &["no-new-privs"]), lines(&["ok no_new_privs 1", "exit 0"]));
    assert_eq!(control(&["no-new-privs"]), lines(&["ok no_new_privs 0", "exit 0"]));
}

// Bombs.

#[test]
fn fork_bomb_is_contained() {
    if !sandbox_works() {
        return;
    }
    assert_eq!(control(&["fork-bomb", "20"]), lines(&["ok forked 20", "exit 0"]));
    // The actor profiles allow no process creation at all.
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["fork-bomb", "500"]), lines(&["forked 0", "err ENOSYS", "exit 0"]), "{p}");
    }
    // A profile that allows fork stops at its process limit (64, the reaper and the probe count).
    assert_eq!(sandboxed("exec-readonly", &["fork-bomb", "500"]), lines(&["forked 62", "err EAGAIN", "exit 0"]));
}

#[test]
fn memory_bomb_is_contained() {
    if !sandbox_works() {
        return;
    }
    assert_eq!(control(&["memory-bomb", "64"]), lines(&["ok mapped 64 MiB", "exit 0"]));
    // The limit counts on top of what the forked payload inherits: it maps up to the profile's
    // address_space_bytes (in 16 MiB steps), then ENOMEM.
    for (p, limit_mib) in [("untrusted-plugin", 512), ("hostile-parser", 256), ("exec-readonly", 4096)] {
        let out = sandboxed(p, &["memory-bomb", "65536"]);
        assert_eq!(out.get(1..).map(<[String]>::to_vec), Some(lines(&["err ENOMEM", "exit 0"])), "{p}: {out:?}");
        let mapped: u64 = out[0].trim_start_matches("mapped ").trim_end_matches(" MiB").parse().expect("mapped MiB");
        assert!(mapped <= limit_mib && mapped + 32 > limit_mib, "{p}: {out:?}");
    }
}

#[test]
fn cpu_loop_is_stopped_by_cpu_limit() {
    if !sandbox_works() {
        return;
    }
    let c = control(&["cpu-loop", "0"]);
    assert!(c.len() == 2 && c[0].starts_with("ok looped") && c[1] == "exit 0", "control: {c:?}");
    for p in ["untrusted-plugin", "hostile-parser"] {
        assert_eq!(sandboxed(p, &["cpu-loop", "600"]), lines(&["signal SIGXCPU", "limit CpuSeconds"]), "{p}");
    }
    // A loop that ignores SIGXCPU dies at the hard limit, a second later, and is still reported
    // as the CPU limit (the reaper reports the CPU time it used).
    assert_eq!(
        sandboxed("hostile-parser", &["cpu-loop-ignoring-sigxcpu", "600"]),
        lines(&["signal SIGKILL", "limit CpuSeconds"])
    );
}

#[test]
fn fd_flood_is_stopped_by_open_files_limit() {
    refused(&["fd-flood", "100"], "ok 100 descriptors", "err EMFILE");
    if sandbox_works() {
        let out = sandboxed("untrusted-plugin", &["fd-flood", "100000"]);
        assert_eq!(out, lines(&["err EMFILE", "exit 0"]));
    }
}

#[test]
fn huge_file_is_stopped_by_file_size_limit() {
    let f = Fixtures::get();
    if !sandbox_works() {
        return;
    }
    let host = f.path("big");
    assert_eq!(control(&["big-file", &host, "16"]), lines(&["ok 16 MiB written", "exit 0"]));
    let _ = std::fs::remove_file(&host);
    // untrusted-plugin has an 8 MiB /tmp and a 4 MiB file-size limit.
    assert_eq!(
        sandboxed("untrusted-plugin", &["big-file", "/tmp/big", "16"]),
        lines(&["signal SIGXFSZ", "limit FileSize"])
    );
    // hostile-parser has nowhere to write at all.
    assert_eq!(sandboxed("hostile-parser", &["big-file", "/tmp/big", "16"]), lines(&["err ENOENT", "exit 0"]));
}

#[test]
fn reaper_memory_and_descriptors_are_out_of_reach_with_proc_mounted() {
    if !sandbox_works() {
        return;
    }
    // Controls: a process of the same user is readable and its descriptors writable through /proc.
    let c = control(&["read", "/proc/@launcher/environ"]);
    assert!(c.len() == 2 && c[0].starts_with("ok ") && c[1] == "exit 0", "control: {c:?}");
    assert_eq!(control(&["write", "/proc/@launcher/fd/2"]), lines(&["ok written", "exit 0"]));
    // Inside, pid 1 (the reaper, a fork of the spawner) is not dumpable: its environment, memory
    // and report pipe stay private even though it runs as the same user.
    for path in ["/proc/1/environ", "/proc/1/mem"] {
        assert_eq!(sandboxed("exec-readonly", &["read", path]), lines(&["err EACCES", "exit 0"]), "{path}");
    }
    assert_eq!(sandboxed("exec-readonly", &["write", "/proc/1/fd/3"]), lines(&["err EACCES", "exit 0"]));
}
