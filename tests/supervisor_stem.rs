//! The supervisor's stem: the next sandboxed child, cloned with its namespaces before the
//! request that will use it. These tests look at the real process from outside: what it holds
//! while it waits, that the spawn it serves works, and that losing it costs only speed.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a stem may take to appear before the test counts as hung (not a speed check: it
/// appears within milliseconds).
const HANG_GUARD: Duration = Duration::from_secs(60);

const ACTOR: &str = r#"
local inbox = require 'inbox'
local host = inbox:receive()
host:send('up')
inbox:receive()
"#;

/// Starts an actor per line read from stdin: `plugin` (the `untrusted-plugin` profile) or
/// `nonet` (the same without a net namespace: another shape), and prints its pid.
const MAIN: &str = r#"
local inbox = require 'inbox'
local NONET = { namespaces = { net = false } }
local actors = {}
while true do
  local what = io.read('l')
  if what == nil or what == 'end' then break end
  local ch = spawn_vm{ module = './actor', sandbox = what == 'nonet' and NONET or what }
  ch:send(inbox)
  assert(inbox:receive() == 'up')
  actors[#actors + 1] = ch
  print('started ' .. ch.child_pid)
  io.stdout:flush()
end
for _, ch in ipairs(actors) do ch:kill() ch:wait() end
print('done')
"#;

struct Script {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    dir: std::path::PathBuf,
}

impl Script {
    fn start(name: &str) -> Script {
        let dir = std::env::temp_dir().join(format!("luacell-stem-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("make the script's directory");
        std::fs::write(dir.join("actor.lua"), ACTOR).expect("write actor");
        std::fs::write(dir.join("main.lua"), MAIN).expect("write main");
        let mut child = Command::new(env!("CARGO_BIN_EXE_luacell"))
            .arg("run")
            .arg("main.lua")
            .current_dir(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("luacell runs");
        let stdin = child.stdin.take().expect("stdin is piped");
        let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        Script { child, stdin, stdout, dir }
    }

    /// Asks for an actor and returns its pid (the sandbox's pid 1, a child of the supervisor).
    fn actor(&mut self, what: &str) -> u32 {
        writeln!(self.stdin, "{what}").expect("ask for an actor");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read the script's answer");
        line.trim()
            .strip_prefix("started ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the script answered {line:?} to {what}"))
    }

    fn finish(mut self) {
        writeln!(self.stdin, "end").expect("end the script");
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut self.stdout, &mut rest);
        let status = self.child.wait().expect("wait for luacell");
        assert!(status.success(), "luacell ended with {status}; its last output: {rest}");
        assert_eq!(rest.trim(), "done");
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        // A failed assertion must not leave the script (our own child) running.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read stat");
    // The name may hold spaces: the fields after it follow the last ')'.
    let after = &stat[stat.rfind(')').expect("stat has a name") + 2..];
    after.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("stat has a parent pid")
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// The supervisor's child that is no actor: its stem, waited for (it is cloned just after the
/// reply to the spawn before, so it may not be there yet when the actor answered).
fn stem_of(supervisor: u32, actors: &[u32]) -> u32 {
    let started = Instant::now();
    loop {
        let children = std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
            .expect("list the supervisor's children");
        let others: Vec<u32> =
            children.split_whitespace().filter_map(|p| p.parse().ok()).filter(|p| !actors.contains(p)).collect();
        assert!(others.len() <= 1, "the supervisor has more than one stem: {others:?}");
        if let Some(&stem) = others.first()
            && comm(stem) == "luacell-stem"
        {
            return stem;
        }
        assert!(started.elapsed() < HANG_GUARD, "no stem appeared beside actors {actors:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// What each of a process's descriptors is (`/proc/PID/fd` link targets, without inode numbers).
fn descriptors(pid: u32) -> Vec<(u32, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd")).expect("list descriptors") {
        let entry = entry.expect("descriptor entry");
        let fd: u32 = entry.file_name().to_string_lossy().parse().expect("a descriptor number");
        let target = std::fs::read_link(entry.path()).map(|t| t.display().to_string()).unwrap_or_default();
        let kind = target.split('[').next().unwrap_or_default().to_owned();
        out.push((fd, kind));
    }
    out.sort();
    out
}

fn namespace(pid: u32, ns: &str) -> String {
    std::fs::read_link(Path::new("/proc").join(pid.to_string()).join("ns").join(ns))
        .expect("read a namespace link")
        .display()
        .to_string()
}

#[test]
fn a_stem_holds_its_namespaces_and_nothing_of_other_children() {
    let mut script = Script::start("held");
    let first = script.actor("untrusted-plugin");
    let second = script.actor("untrusted-plugin");
    let supervisor = parent_of(first);
    assert_eq!(parent_of(second), supervisor);
    let stem = stem_of(supervisor, &[first, second]);

    // Control: the supervisor holds the sockets of its children (their request and report
    // sockets, the control socket), so a stem that kept what it inherited would show them.
    let sup_sockets = descriptors(supervisor).iter().filter(|(_, k)| k == "socket:").count();
    assert!(sup_sockets >= 5, "the supervisor holds {sup_sockets} sockets: {:?}", descriptors(supervisor));
    let held = descriptors(stem);
    let count = |kind: &str| held.iter().filter(|(fd, k)| *fd > 2 && k == kind).count();
    // Its assignment socket, its report pipe (and the id-map pipe when the parent writes the
    // maps), a pidfd of the supervisor, and luacell-reaper's memfd: nothing else.
    assert_eq!(count("socket:"), 1, "{held:?}");
    assert_eq!(count("anon_inode:"), 1, "{held:?}");
    assert!((1..=2).contains(&count("pipe:")), "{held:?}");
    let other = held.iter().filter(|(fd, k)| *fd > 2 && !["socket:", "anon_inode:", "pipe:"].contains(&k.as_str()));
    for (fd, kind) in other {
        assert!(kind.starts_with("/memfd:luacell-reaper"), "the stem holds {fd} -> {kind}: {held:?}");
    }

    // Its namespaces exist already, and are neither the supervisor's nor an actor's.
    for ns in ["user", "pid", "net", "mnt", "ipc", "uts", "cgroup"] {
        let mine = namespace(stem, ns);
        assert_ne!(mine, namespace(supervisor, ns), "{ns}");
        assert_ne!(mine, namespace(first, ns), "{ns}");
        assert_ne!(mine, namespace(second, ns), "{ns}");
    }
    script.finish();
}

#[test]
fn a_lost_stem_costs_only_a_fresh_clone_and_a_new_shape_replaces_it() {
    let mut script = Script::start("lost");
    let first = script.actor("untrusted-plugin");
    let supervisor = parent_of(first);
    let stem = stem_of(supervisor, &[first]);
    // The stem is a descendant of this test, and cannot have been reaped (its pid reused) while
    // its parent, the supervisor, lives.
    let killed = Command::new("kill").args(["-KILL", &stem.to_string()]).status().expect("run kill");
    assert!(killed.success(), "cannot kill the stem {stem}");

    // The supervisor finds it gone when it hands it the request, and clones afresh.
    let second = script.actor("untrusted-plugin");
    let stem2 = stem_of(supervisor, &[first, second]);
    assert_ne!(stem2, stem);
    assert_ne!(namespace(second, "net"), namespace(first, "net"));

    // Another shape: the stem does not fit, a fresh clone serves it, and the next stem has the
    // new shape (it shares the supervisor's net namespace, as the profile asks).
    let third = script.actor("nonet");
    assert_eq!(namespace(third, "net"), namespace(supervisor, "net"));
    let stem3 = stem_of(supervisor, &[first, second, third]);
    assert_ne!(stem3, stem2);
    assert_eq!(namespace(stem3, "net"), namespace(supervisor, "net"));
    assert_ne!(namespace(stem3, "user"), namespace(supervisor, "user"));
    let fourth = script.actor("nonet");
    assert_eq!(namespace(fourth, "net"), namespace(supervisor, "net"));
    script.finish();
}
