//! `luacell exec`, `luacell profile` and `luacell doctor` through the real binary: exit statuses,
//! signals, stdio, environment, limits, bad profiles, and the fallback without user namespaces
//! (made real by a parent user namespace whose user.max_user_namespaces is 0).

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn luacell() -> PathBuf {
    std::env::var_os("LUACELL_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")), PathBuf::from)
}

fn exec(profile: &str, cmd: &[&str]) -> Output {
    Command::new(luacell()).args(["exec", "--profile", profile, "--"]).args(cmd).output().expect("run luacell")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A profile file in a fresh directory every user can read.
fn profile_file(name: &str, json: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("luacell-exec-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).expect("mode");
    let p = dir.join(format!("{name}.json"));
    std::fs::write(&p, json).expect("profile");
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).expect("mode");
    p
}

#[test]
fn exec_exit_status_is_the_commands() {
    let out = exec("exec-readonly", &["sh", "-c", "echo inside; exit 7"]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "inside\n");
}

#[test]
fn exec_signal_death_is_128_plus_signal() {
    let out = exec("exec-readonly", &["sh", "-c", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(128 + libc::SIGTERM), "{}", text(&out.stderr));
}

/// pid 1 is luacell-reaper, run from its sealed memfd: a program of its own (its argv), holding
/// nothing of the spawner's memory (a few KiB resident, where a forked reaper has megabytes),
/// not dumpable (its exe link and environ are refused where the shell's own are readable), and
/// it still reports the command's exit status.
#[test]
fn exec_pid_1_is_luacell_reaper() {
    let script = "tr '\\0' ' ' < /proc/1/cmdline; echo; grep '^VmRSS:' /proc/1/status; \
                  readlink /proc/$$/exe > /dev/null && echo 'own exe: readable'; \
                  readlink /proc/1/exe > /dev/null 2>&1 || echo 'pid 1 exe: refused'; \
                  cat /proc/$$/environ > /dev/null && echo 'own environ: readable'; \
                  cat /proc/1/environ > /dev/null 2>&1 || echo 'pid 1 environ: refused'; exit 9";
    let out = exec("exec-readonly", &["sh", "-c", script]);
    assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(lines.first().is_some_and(|l| l.starts_with("luacell-reaper 2 ")), "{stdout}");
    let rss_kib: u64 = lines
        .get(1)
        .and_then(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(u64::MAX);
    assert!(rss_kib < 256, "pid 1 holds {rss_kib} KiB: {stdout}");
    assert_eq!(
        &lines[2.min(lines.len())..],
        ["own exe: readable", "pid 1 exe: refused", "own environ: readable", "pid 1 environ: refused"],
        "{stdout}"
    );
}

/// Where luacell-reaper cannot be made ready, pid 1 stays the forked built-in reaper and does
/// the same job. Made real by a soft file-size limit of 512 bytes on `luacell exec` (with
/// SIGXFSZ ignored), under which the kernel refuses to write the program into its memfd; the
/// sandbox sets its own limit from the profile. The control runs without that limit.
#[test]
fn exec_pid_1_falls_back_to_the_forked_reaper() {
    let run = |limited: bool| {
        let script = format!(
            "{}exec {} exec --profile exec-readonly -- sh -c \"tr '\\\\0' ' ' < /proc/1/cmdline; echo; exit 9\"",
            if limited { "trap '' XFSZ; ulimit -S -f 1; " } else { "" },
            luacell().display()
        );
        let out = Command::new("sh").args(["-c", &script]).output().expect("run sh");
        assert_eq!(out.status.code(), Some(9), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let control = run(false);
    assert!(control.starts_with("luacell-reaper 2 "), "{control}");
    let fallback = run(true);
    assert!(fallback.contains(" exec --profile exec-readonly -- sh -c "), "pid 1 is the forked luacell: {fallback}");
}

#[test]
fn exec_sandbox_sees_only_its_tree_and_identity() {
    let out = exec("exec-readonly", &["sh", "-c", "id -u; hostname; ls /; cat /proc/self/uid_map | wc -l; echo $PATH"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[0], "1000");
    assert_eq!(lines[1], "luacell");
    assert!(!stdout.contains("home") && !stdout.contains("root") && !stdout.contains("etc\nhome"), "{stdout}");
    assert_eq!(lines[lines.len() - 2], "1");
    assert_eq!(lines[lines.len() - 1], "/usr/local/bin:/usr/bin:/bin");
}

#[test]
fn exec_environment_is_cleared() {
    let out = Command::new(luacell())
        .args(["exec", "--profile", "exec-readonly", "--", "sh", "-c", "echo \"[$SECRET_TOKEN]\""])
        .env("SECRET_TOKEN", "hunter2")
        .output()
        .expect("run");
    assert_eq!(text(&out.stdout), "[]\n");
}

#[test]
fn exec_missing_command_exits_127() {
    let out = exec("exec-readonly", &["no-such-command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(
        text(&out.stderr).contains("cannot execute no-such-command: No such file or directory"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn exec_unknown_profile_key_names_key_and_file() {
    let p = profile_file("badkey", r#"{"namespaces": {"user": true}, "landlok": {}}"#);
    let out = exec(p.to_str().expect("utf8"), &["true"]);
    assert_eq!(out.status.code(), Some(125));
    let err = text(&out.stderr);
    assert!(err.contains("unknown field `landlok`") && err.contains(p.to_str().expect("utf8")), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn exec_forbidden_syscall_in_allow_list_is_refused() {
    let p = profile_file("uring", r#"{"seccomp": {"allow": [{"syscall": "io_uring_setup", "why": "speed"}]}}"#);
    let out = exec(p.to_str().expect("utf8"), &["true"]);
    assert_eq!(out.status.code(), Some(125));
    assert!(text(&out.stderr).contains("io_uring_setup is always forbidden"), "{}", text(&out.stderr));
}

#[test]
fn exec_usage_errors_exit_2() {
    for args in [&["exec"][..], &["exec", "--profile"], &["exec", "--profile", "none"], &["exec", "--bogus", "x"]] {
        let out = Command::new(luacell()).args(args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
}

#[test]
fn exec_stdin_null_profile_gives_dev_null() {
    // untrusted-plugin-like limits are for actors; tenant-script has stdin null and no exec, so
    // use a small profile that says stdin null and allows exec.
    let p = profile_file(
        "stdin",
        r#"{"seccomp": {"preset": "exec"}, "stdio": {"stdin": "null"},
            "filesystem": {"bind": [{"source": "/usr", "exec": true}, {"source": "/lib", "exec": true, "optional": true},
                                    {"source": "/lib64", "exec": true, "optional": true}, {"source": "/bin", "exec": true, "optional": true}]}}"#,
    );
    let mut child = Command::new(luacell())
        .args(["exec", "--profile", p.to_str().expect("utf8"), "--", "/bin/sh", "-c", "wc -c"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    // The caller's stdin stays open and full; the sandbox must not see it.
    let mut stdin = child.stdin.take().expect("stdin");
    std::io::Write::write_all(&mut stdin, b"host data").expect("write");
    let out = child.wait_with_output().expect("wait");
    drop(stdin);
    assert_eq!(text(&out.stdout).trim(), "0");
}

#[test]
fn exec_forwards_sigterm_to_the_command() {
    let mut child = Command::new(luacell())
        .args([
            "exec",
            "--profile",
            "exec-readonly",
            "--",
            "sh",
            "-c",
            "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.05; done",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    out.read_line(&mut line).expect("ready line");
    assert_eq!(line, "ready\n");
    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().expect("kill");
    let status = child.wait().expect("wait");
    line.clear();
    out.read_line(&mut line).expect("line");
    assert_eq!(line, "got-term\n");
    assert_eq!(status.code(), Some(42));
}

#[test]
fn exec_wall_time_limit_kills_and_says_so() {
    let p = profile_file(
        "wall",
        r#"{"seccomp": {"preset": "exec"}, "limits": {"wall_seconds": 1},
            "filesystem": {"bind": [{"source": "/usr", "exec": true}, {"source": "/lib", "exec": true, "optional": true},
                                    {"source": "/lib64", "exec": true, "optional": true}, {"source": "/bin", "exec": true, "optional": true}]}}"#,
    );
    let out = exec(p.to_str().expect("utf8"), &["sleep", "60"]);
    assert_eq!(out.status.code(), Some(128 + libc::SIGKILL));
    assert!(text(&out.stderr).contains("stopped by the wall-time limit"), "{}", text(&out.stderr));
}

#[test]
fn profile_check_prints_effective_policy() {
    let out = Command::new(luacell()).args(["profile", "check", "untrusted-plugin"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    for needle in [
        "namespaces: user, pid, mount, net, ipc, uts, cgroup",
        "landlock: ABI",
        "forbidden ones kill the process (SIGSYS)",
        "seccomp: allow recvmsg: actor messages with descriptors (SCM_RIGHTS)",
        "everything this profile asks for is enforced on this kernel",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{s}");
    }
}

#[test]
fn profile_show_prints_json_and_rejects_bad_files() {
    let out = Command::new(luacell()).args(["profile", "show", "hostile-parser"]).output().expect("run");
    assert_eq!(out.status.code(), Some(0));
    assert!(serde_json::from_slice::<serde_json::Value>(&out.stdout).is_ok());
    let bad = profile_file("bad", "{ not json");
    let out = Command::new(luacell()).args(["profile", "check", bad.to_str().expect("utf8")]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains(bad.to_str().expect("utf8")));
}

#[test]
fn every_shipped_profile_checks() {
    for name in ["none", "untrusted-plugin", "hostile-parser", "tenant-script", "exec-readonly"] {
        let out = Command::new(luacell()).args(["profile", "check", name]).output().expect("run");
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out.stderr));
    }
}

#[test]
fn doctor_reports_every_feature_and_self_test() {
    let out = Command::new(luacell()).arg("doctor").output().expect("run");
    let s = text(&out.stdout);
    for f in
        ["user namespaces", "landlock", "seccomp", "io_uring", "cgroup v2", "pidfd", "clone3", "self-test        yes"]
    {
        assert!(s.contains(f), "missing {f:?} in\n{s}");
    }
    assert_eq!(out.status.code(), Some(0), "{s}");
}

/// Runs `luacell exec` where user namespaces are blocked for real: inside a user namespace whose
/// `user.max_user_namespaces` is 0.
fn exec_without_userns(profile: &str, cmd: &str) -> Output {
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {} exec --profile {profile} -- {cmd}",
        luacell().display()
    );
    Command::new("unshare").args(["--user", "--map-root-user", "sh", "-c", &script]).output().expect("run unshare")
}

#[test]
fn exec_without_userns_fails_naming_the_feature() {
    let out = exec_without_userns("exec-readonly", "true");
    assert_eq!(out.status.code(), Some(125), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("no user namespaces") && err.contains("max_user_namespaces"), "{err}");
}

#[test]
fn exec_without_userns_falls_back_when_profile_allows() {
    let p = profile_file(
        "fallback",
        r#"{"without_user_namespace": "landlock_seccomp_rlimits", "seccomp": {"preset": "exec"},
            "filesystem": {"bind": [{"source": "/usr", "exec": true}, {"source": "/lib", "exec": true, "optional": true},
                                    {"source": "/lib64", "exec": true, "optional": true}, {"source": "/bin", "exec": true, "optional": true},
                                    {"source": "/etc/ld.so.cache", "optional": true}]}}"#,
    );
    let out = exec_without_userns(p.to_str().expect("utf8"), "/bin/sh -c 'cat /etc/passwd; echo status=$?'");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    // No mount namespace: Landlock alone refuses the host file.
    assert_eq!(text(&out.stdout), "status=1\n");
    let err = text(&out.stderr);
    assert!(err.contains("not enforced on this kernel: namespaces") && err.contains("Permission denied"), "{err}");
}

#[test]
fn exec_leaks_no_descriptor_and_holds_no_capability_or_terminal() {
    // fd 5 is open (not close-on-exec) in the process that runs luacell exec.
    let script = format!(
        "exec 5</etc/hostname; exec {} exec --profile exec-readonly -- sh -c 'ls /proc/self/fd; grep -E \"^Cap(Prm|Eff|Bnd|Amb)\" /proc/self/status; cut -d\" \" -f6,7 /proc/self/stat'",
        luacell().display()
    );
    let out = Command::new("sh").args(["-c", &script]).output().expect("run");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let s = text(&out.stdout);
    let lines: Vec<&str> = s.lines().collect();
    // ls itself holds 0-2 and the directory it lists (3): nothing else came in.
    assert_eq!(&lines[..4], &["0", "1", "2", "3"], "{s}");
    for cap in ["CapPrm", "CapEff", "CapBnd", "CapAmb"] {
        assert!(s.contains(&format!("{cap}:\t0000000000000000")), "{cap} in {s}");
    }
    // Session 1 (the reaper's, a new session) and no controlling terminal.
    assert_eq!(lines.last().copied(), Some("1 0"), "{s}");
}

#[test]
fn exec_reaper_reaps_orphans() {
    // The grandchild is orphaned at once and reparented to pid 1, which must reap it.
    let script = "sh -c 'true & exit 0'; i=0; while [ $i -lt 500 ]; do z=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$3==\"Z\"' | wc -l); [ \"$z\" = 0 ] && break; i=$((i+1)); sleep 0.01; done; echo zombies=$z";
    let out = exec("exec-readonly", &["sh", "-c", script]);
    assert_eq!(text(&out.stdout), "zombies=0\n", "{}", text(&out.stderr));
}

#[test]
fn exec_under_actor_profile_explains_missing_execve() {
    let out = exec("untrusted-plugin", &["/usr/bin/true"]);
    assert_eq!(out.status.code(), Some(126));
    let err = text(&out.stderr);
    assert!(
        err.contains("cannot execute /usr/bin/true: Function not implemented") && err.contains("'exec' preset"),
        "{err}"
    );
}
