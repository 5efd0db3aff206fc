//! The supervisor's zygote and stems: every sandboxed child is cloned by the zygote (forked
//! before the supervisor read any request) ahead of the request that will use it. These tests
//! look at the real processes from outside: what the zygote and a stem hold while they wait
//! (descriptors, namespaces, and none of another actor's request in their memory, with the
//! supervisor's memory as the control), that the spawn a stem serves works, and what losing a
//! stem or the zygote costs.

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

/// Starts an actor per line read from stdin, `PROFILE [MODULE]`: a profile name, or `nonet`
/// (the defaults without a net namespace: another shape); the module is `actor` unless given.
/// Prints `started PID` or `failed: ERROR`.
const MAIN: &str = r#"
local inbox = require 'inbox'
local NONET = { namespaces = { net = false } }
local actors = {}
while true do
  local line = io.read('l')
  if line == nil or line == 'end' then break end
  local what, module = line:match('^(%S+)%s*(%S*)$')
  local ok, ch = pcall(spawn_vm, { module = './' .. (module ~= '' and module or 'actor'),
                                   sandbox = what == 'nonet' and NONET or what })
  if ok then
    ch:send(inbox)
    assert(inbox:receive() == 'up')
    actors[#actors + 1] = ch
    print('started ' .. ch.child_pid)
  else
    print('failed: ' .. tostring(ch))
  end
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
        // The same actor with a marker only its request carries (see `memory_holds`).
        std::fs::write(dir.join("marked.lua"), format!("-- {}\n{ACTOR}", marker())).expect("write marked");
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

    /// Asks for an actor; the script's answer.
    fn ask(&mut self, what: &str) -> String {
        writeln!(self.stdin, "{what}").expect("ask for an actor");
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("read the script's answer");
        line.trim().to_owned()
    }

    /// Asks for an actor and returns its pid (the sandbox's pid 1, a child of the supervisor).
    fn actor(&mut self, what: &str) -> u32 {
        let line = self.ask(what);
        line.strip_prefix("started ")
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

/// SIGKILL to `pid`: a stem or the zygote, descendants of this test that cannot have been
/// reaped (their pids reused) while their parent, the supervisor, lives.
fn kill(pid: u32) {
    let killed = Command::new("kill").args(["-KILL", &pid.to_string()]).status().expect("run kill");
    assert!(killed.success(), "cannot kill {pid}");
}

fn comm(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).map(|s| s.trim().to_owned()).unwrap_or_default()
}

/// A string only the marked actor's module holds (built here, so not in any binary).
fn marker() -> String {
    format!("luacell-request-marker-{}-{}", std::process::id(), "x".repeat(16))
}

/// The supervisor's children that are not actors: its zygote and its stem, the stem waited for
/// (the zygote clones it after the reply to the spawn before, so it may not be there yet when
/// the actor answered).
fn zygote_and_stem(supervisor: u32, actors: &[u32]) -> (u32, u32) {
    let started = Instant::now();
    loop {
        let children = std::fs::read_to_string(format!("/proc/{supervisor}/task/{supervisor}/children"))
            .expect("list the supervisor's children");
        let others: Vec<(u32, String)> = children
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|p| !actors.contains(p))
            .map(|p| (p, comm(p)))
            .collect();
        let zygotes: Vec<u32> = others.iter().filter(|(_, c)| c == "luacell-zygote").map(|(p, _)| *p).collect();
        let stems: Vec<u32> = others.iter().filter(|(_, c)| c == "luacell-stem").map(|(p, _)| *p).collect();
        // A stem just cloned still has the zygote's name until its first instructions rename it,
        // and one being dropped is there until it is reaped: wait for one of each.
        if let (&[zygote], &[stem]) = (zygotes.as_slice(), stems.as_slice()) {
            return (zygote, stem);
        }
        assert!(started.elapsed() < HANG_GUARD, "no stem appeared beside actors {actors:?}: {others:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn stem_of(supervisor: u32, actors: &[u32]) -> u32 {
    zygote_and_stem(supervisor, actors).1
}

/// Whether `needle` is anywhere in the memory of process `pid`: every resident page of every
/// readable mapping (`/proc/PID/pagemap` says which are present), read through `/proc/PID/mem`.
fn memory_holds(pid: u32, needle: &[u8]) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const PAGE: u64 = 4096;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("read maps");
    let mut pagemap = std::fs::File::open(format!("/proc/{pid}/pagemap")).expect("open pagemap");
    let mut mem = std::fs::File::open(format!("/proc/{pid}/mem")).expect("open mem");
    let mut seen = 0;
    for line in maps.lines() {
        let mut words = line.split_whitespace();
        let (Some(range), Some(perms)) = (words.next(), words.next()) else { continue };
        let Some((lo, hi)) = range.split_once('-') else { continue };
        let (Ok(lo), Ok(hi)) = (u64::from_str_radix(lo, 16), u64::from_str_radix(hi, 16)) else { continue };
        if !perms.starts_with('r') || line.ends_with("[vsyscall]") {
            continue;
        }
        let pages = (hi - lo) / PAGE;
        let mut entries = vec![0u8; pages as usize * 8];
        pagemap.seek(SeekFrom::Start(lo / PAGE * 8)).expect("seek pagemap");
        pagemap.read_exact(&mut entries).expect("read pagemap");
        // Runs of present pages, read whole (with the page before and after a run's edges
        // covered by reading overlapping runs: a needle may straddle two pages).
        let mut page = 0;
        while page < pages {
            let present = |i: u64| {
                let e = u64::from_le_bytes(entries[i as usize * 8..i as usize * 8 + 8].try_into().unwrap_or_default());
                e >> 63 == 1 || (e >> 62) & 1 == 1
            };
            if !present(page) {
                page += 1;
                continue;
            }
            let start = page;
            while page < pages && present(page) {
                page += 1;
            }
            let mut buf = vec![0u8; ((page - start) * PAGE) as usize];
            if mem.seek(SeekFrom::Start(lo + start * PAGE)).is_ok() && mem.read_exact(&mut buf).is_ok() {
                seen += buf.len();
                if buf.windows(needle.len()).any(|w| w == needle) {
                    return true;
                }
            }
        }
    }
    assert!(seen > 0, "read none of process {pid}'s memory");
    false
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
fn the_zygote_and_a_stem_hold_their_namespaces_and_nothing_of_other_requests() {
    let mut script = Script::start("held");
    let first = script.actor("untrusted-plugin marked");
    let supervisor = parent_of(first);
    // The stem cloned after the marked request, for the next one.
    let (zygote, stem) = zygote_and_stem(supervisor, &[first]);

    // Memory. Control: the supervisor has just read the marked request (its receive buffer
    // still holds it), and the probe finds it there.
    let marker = marker();
    assert!(memory_holds(supervisor, marker.as_bytes()), "the marker is not in the supervisor's memory");
    assert!(!memory_holds(zygote, marker.as_bytes()), "the zygote's memory holds another actor's request");
    assert!(!memory_holds(stem, marker.as_bytes()), "a stem's memory holds another actor's request");

    let second = script.actor("untrusted-plugin");
    assert_eq!(parent_of(second), supervisor);
    let stem = stem_of(supervisor, &[first, second]);

    // Names, as `ps` shows them: a stem that took its request renames its VM's process, so
    // neither process of an actor reads as a stem or as the supervisor.
    let vm_of = |actor: u32| -> u32 {
        let children = std::fs::read_to_string(format!("/proc/{actor}/task/{actor}/children")).expect("children");
        children.split_whitespace().next().and_then(|p| p.parse().ok()).expect("the actor's VM process")
    };
    assert_eq!(comm(supervisor), "luacell-supvr");
    for actor in [first, second] {
        assert_eq!(comm(actor), "memfd:luacell-r", "pid 1 runs luacell-reaper");
        assert_eq!(comm(vm_of(actor)), "luacell-actor");
    }

    // Descriptors. Control: the supervisor holds the sockets of its children (their request
    // and report sockets, the control socket, the zygote's), so a stem or a zygote that kept
    // what it inherited would show them.
    let sup_sockets = descriptors(supervisor).iter().filter(|(_, k)| k == "socket:").count();
    assert!(sup_sockets >= 6, "the supervisor holds {sup_sockets} sockets: {:?}", descriptors(supervisor));
    // The zygote: its socket to the supervisor and luacell-reaper's memfd (made by the zygote),
    // once it is idle (while it clones a stem it also holds that stem's descriptors, until it
    // has sent them to the supervisor).
    let started = Instant::now();
    loop {
        let zygote_held: Vec<_> = descriptors(zygote).into_iter().filter(|(fd, _)| *fd > 2).collect();
        let kinds: Vec<&str> = zygote_held.iter().map(|(_, k)| k.as_str()).collect();
        if kinds.len() == 2 && kinds[0] == "socket:" && kinds[1].starts_with("/memfd:luacell-reaper") {
            break;
        }
        assert!(started.elapsed() < HANG_GUARD, "the zygote holds {zygote_held:?}");
        std::thread::sleep(Duration::from_millis(2));
    }
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

    // Namespaces: the stem's exist already, and are neither the supervisor's nor an actor's;
    // the zygote has the supervisor's.
    for ns in ["user", "pid", "net", "mnt", "ipc", "uts", "cgroup"] {
        let mine = namespace(stem, ns);
        assert_ne!(mine, namespace(supervisor, ns), "{ns}");
        assert_ne!(mine, namespace(first, ns), "{ns}");
        assert_ne!(mine, namespace(second, ns), "{ns}");
        assert_eq!(namespace(zygote, ns), namespace(supervisor, ns), "{ns}");
    }
    script.finish();
}

#[test]
fn a_lost_stem_costs_only_a_fresh_clone_and_a_new_shape_replaces_it() {
    let mut script = Script::start("lost");
    let first = script.actor("untrusted-plugin");
    let supervisor = parent_of(first);
    let stem = stem_of(supervisor, &[first]);
    kill(stem);

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

#[test]
fn without_its_zygote_the_supervisor_refuses_spawns_and_keeps_its_actors() {
    let mut script = Script::start("zygote");
    let first = script.actor("untrusted-plugin");
    let supervisor = parent_of(first);
    let (zygote, stem) = zygote_and_stem(supervisor, &[first]);
    kill(zygote);
    kill(stem);
    // The stem is gone too, so the supervisor must ask the zygote, and finds it gone.
    let answer = script.ask("untrusted-plugin");
    assert!(answer.starts_with("failed: ") && answer.contains("zygote is gone"), "{answer}");
    // The actor started before still runs and is stopped as usual by `finish`.
    let stat = std::fs::read_to_string(format!("/proc/{first}/stat")).expect("the first actor is still there");
    assert!(!stat.contains(") Z "), "the first actor ended: {stat}");
    script.finish();
}
