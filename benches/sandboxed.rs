//! Sandboxed actors, in one run, against peers and floors measured in the same run:
//! - spawn to first reply under the shipped `untrusted-plugin` profile (every namespace including
//!   net, Landlock, seccomp, rlimits): the main VM calls `spawn_vm{ module, sandbox }`, sends the
//!   actor its inbox and waits for the one reply; the time is taken around those three steps,
//!   inside the script. The actor is then killed and reaped, outside the timed part. Peers, each
//!   spawn to exit, started and waited for by this bench: `bwrap --unshare-all` (the binds of
//!   `sandbox_spawn.rs`) running `lua5.4 -e ''`, and the kernel floor of `sandbox_spawn.rs` (the
//!   same namespaces, id maps, pid 1 + fork and mount tree with raw syscalls, then exec of
//!   /bin/true). The three run in alternating batches so drift hits all alike. Target: median
//!   at most 1.5 ms.
//! - host to actor round trips per second (a 64-byte string each way) and one-way messages per
//!   second (64-byte strings, then one reply with the count), the actor under `untrusted-plugin`
//!   (a fresh one per round: the profile's CPU limit is 3 s), against the raw SOCK_SEQPACKET loop
//!   of `wire.rs` moving the same number of 64-byte datagrams between two forked processes,
//!   rounds alternating, the median round of each. Each raw loop runs in a fresh process
//!   started from this executable, the way luacell's loop runs in a fresh `luacell`: run by
//!   the bench process right after it had waited on `luacell`, the first loop was 10-30 %
//!   faster than in a settled process, whichever loop came first. Unpinned (how actors run;
//!   the targets apply there): round trips at least 0.8x raw, one-way at least 400 k
//!   messages/s; the spread of the unpinned rounds is printed too. Then everything
//!   pinned to CPU 0 (luacell with all its processes), where no wakeup crosses CPUs and the
//!   ratio shows the CPU cost per message. The round trips are also set against the same raw
//!   loop with both sides waiting as an event loop does (`epoll_wait`, `recvmsg` until
//!   `EAGAIN`), the floor of any epoll-based runtime.
//! - the PSS of an idle sandboxed actor: N actors are started, each answers once and then waits
//!   in `inbox:receive()`; the script sums `Pss` (and `Private_Clean` + `Private_Dirty`) of
//!   `/proc/PID/smaps_rollup` over every process of each actor (its pid 1, luacell-reaper, and
//!   the VM's process, found through `/proc/PID/task/PID/children`) and prints the mean. N = 1
//!   (a page the VM shares with the supervisor counts half, one it also shares with the host a
//!   third) and N = 20 (split between many).
//!   Peer: an idle `lua5.4` under the same bwrap (waiting in `io.read()`), summed over bwrap's
//!   processes and lua's. Target: at most 1 MiB. The supervisor's stem (the next child, cloned
//!   ahead of its request) is not an actor's process; its PSS is printed beside (it also shares
//!   the supervisor's pages, which lowers every sharer's PSS). The script waits for the stem
//!   before it measures, so every run counts the same sharers (without it, one actor's PSS
//!   measured about 70 KiB more).
//!
//! The spawn figure is taken with the stem in use: every spawn but the first of each run is
//! served by a stem whose namespaces already exist, so it no longer contains the clone the
//! kernel floor pays. The first spawns of the runs (no stem yet) are reported apart.
//!
//! Run: `cargo bench --bench sandboxed` (Cargo builds the `luacell` binary first and passes its
//! path as `CARGO_BIN_EXE_luacell`; `LUACELL_BIN` overrides it). About a minute. When bwrap or
//! lua5.4 is missing and the bench runs as root, it installs them with apt-get (bench mode
//! only); a peer that cannot run is reported as unavailable and its ratio left out. Without
//! `--bench` (run as a test) every count is small and only the plumbing is checked. Reading
//! another process's smaps needs the same user or root; the actors run as the sandbox's user,
//! so the memory part reports what it could not read.

// The bench's output is its table on stdout.
#![allow(clippy::print_stdout)]

#[path = "sandbox_spawn/floor.rs"]
mod floor;
#[path = "common/seqpacket.rs"]
mod seqpacket;
#[path = "common/tools.rs"]
mod tools;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use seqpacket::Pattern;
use tools::{Stats, bwrap_command, figure, figures, find_or_install, stats};

const TARGET_SPAWN_MS: f64 = 1.5;
const TARGET_ROUND_TRIP_RATIO: f64 = 0.8;
const TARGET_ONE_WAY: f64 = 400_000.0;
const TARGET_PSS_KIB: f64 = 1024.0;

struct Sizes {
    /// Spawns per variant per batch, batches.
    spawns: usize,
    batches: usize,
    /// Round trips and one-way messages per round, rounds.
    round_trips: usize,
    one_way: usize,
    rounds: usize,
    /// Idle actors in the larger memory run.
    idle: usize,
}

const BENCH: Sizes = Sizes { spawns: 50, batches: 6, round_trips: 20_000, one_way: 200_000, rounds: 11, idle: 20 };
const TEST: Sizes = Sizes { spawns: 3, batches: 1, round_trips: 200, one_way: 2000, rounds: 1, idle: 3 };

/// The actor: answers its first message (an inbox) with `true`, then serves `echo` (answer each
/// message until 'end') and `count` (count messages until 'end', answer the count).
const ACTOR_LUA: &str = r#"
local inbox = require 'inbox'
local host = inbox:receive()
host:send(true)
while true do
  local what = inbox:receive()
  if what == 'echo' then
    while true do
      local m = inbox:receive()
      if m == 'end' then break end
      host:send(m)
    end
  elseif what == 'count' then
    local n = 0
    while inbox:receive() ~= 'end' do n = n + 1 end
    host:send(n)
  end
end
"#;

/// `spawn K`: K spawns to first reply, one `spawn_ms` line each.
/// `messages N M R`: R rounds of N round trips and M one-way messages, each round with a fresh
/// actor; prints the best `round_trips_per_s` and `one_way_per_s`.
/// `memory N`: N idle actors; prints `pss_kib`, `private_kib` (means per actor) and `unread`
/// (processes whose smaps could not be read).
const MAIN_LUA: &str = r#"
local inbox = require 'inbox'
local args = require('system').arguments
local now = require('time').steady_clock.now
local PROFILE = 'untrusted-plugin'

local function start()
  local ch = spawn_vm{ module = './actor', sandbox = PROFILE }
  ch:send(inbox)
  assert(inbox:receive() == true)
  return ch
end

local function stop(ch)
  ch:kill()
  ch:wait()
  ch:close()
end

local what = args[2]
if what == 'spawn' then
  for _ = 1, tonumber(args[3]) do
    local t0 = now()
    local ch = start()
    local dt = now() - t0
    print(string.format('spawn_ms %.4f', dt * 1e3))
    stop(ch)
  end
elseif what == 'messages' then
  local N, M, R = tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  local payload = string.rep('x', 64)
  local best_rt, best_ow = 0, 0
  for _ = 1, R do
    local ch = start()
    ch:send('echo')
    local t0 = now()
    for _ = 1, N do
      ch:send(payload)
      assert(inbox:receive() == payload)
    end
    local rt = N / (now() - t0)
    ch:send('end')
    ch:send('count')
    t0 = now()
    for _ = 1, M do ch:send(payload) end
    ch:send('end')
    assert(inbox:receive() == M)
    local ow = M / (now() - t0)
    if rt > best_rt then best_rt = rt end
    if ow > best_ow then best_ow = ow end
    stop(ch)
  end
  print(string.format('round_trips_per_s %.1f', best_rt))
  print(string.format('one_way_per_s %.1f', best_ow))
elseif what == 'memory' then
  local N = tonumber(args[3])
  local chans = {}
  for i = 1, N do chans[i] = start() end
  local function rollup(pid)
    local f = io.open('/proc/' .. pid .. '/smaps_rollup')
    if not f then return nil end
    local s = f:read('a')
    f:close()
    local function kib(name) return tonumber(s:match('\n' .. name .. ':%s+(%d+) kB')) end
    local pss, pc, pd = kib('Pss'), kib('Private_Clean'), kib('Private_Dirty')
    if not (pss and pc and pd) then return nil end
    return pss, pc + pd
  end
  local function tree(pid, acc)
    acc[#acc + 1] = pid
    local f = io.open('/proc/' .. pid .. '/task/' .. pid .. '/children')
    if f then
      for c in f:read('a'):gmatch('%d+') do tree(c, acc) end
      f:close()
    end
    return acc
  end
  -- The supervisor's stem (the next child, cloned ahead of its request): not an actor's
  -- process, but it shares the supervisor's pages with them, which lowers their PSS. It is
  -- cloned after the last spawn; the figures are taken once it is there (a steady state: after
  -- any spawn there is one), and its own PSS is shown beside.
  local function parent(pid)
    local f = io.open('/proc/' .. pid .. '/stat')
    if not f then return nil end
    local s = f:read('a')
    f:close()
    return s:match('%) %S+ (%d+)')
  end
  local sup = parent(chans[1].child_pid)
  local actors = {}
  for _, ch in ipairs(chans) do actors[tostring(ch.child_pid)] = true end
  local function find_stem()
    local f = sup and io.open('/proc/' .. sup .. '/task/' .. sup .. '/children')
    if not f then return nil end
    local found
    for c in f:read('a'):gmatch('%d+') do
      local comm = io.open('/proc/' .. c .. '/comm')
      local name = comm and comm:read('l')
      if comm then comm:close() end
      if not actors[c] and name == 'luacell-stem' then found = c end
    end
    f:close()
    return found
  end
  local stem
  for _ = 1, 400 do
    stem = find_stem()
    if stem then break end
    require('time').sleep(0.005)
  end
  local pss, private, unread, processes = 0, 0, 0, 0
  for _, ch in ipairs(chans) do
    for _, pid in ipairs(tree(ch.child_pid, {})) do
      processes = processes + 1
      local p, v = rollup(pid)
      if p then pss, private = pss + p, private + v else unread = unread + 1 end
    end
  end
  local stem_pss = stem and rollup(stem) or -1
  print(string.format('pss_kib %.1f', pss / N))
  print(string.format('stem_pss_kib %.1f', stem_pss))
  print(string.format('private_kib %.1f', private / N))
  print(string.format('processes %d', processes / N))
  print(string.format('unread %d', unread))
  for _, ch in ipairs(chans) do stop(ch) end
end
"#;

struct Runner {
    luacell: PathBuf,
    dir: PathBuf,
}

impl Runner {
    /// Runs the main script with `args`; returns its `name value` lines, in order.
    fn run(&self, args: &[String]) -> Result<Vec<(String, f64)>, String> {
        let out = Command::new(&self.luacell)
            .arg("run")
            .arg(self.dir.join("main.lua"))
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", self.luacell.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || !out.stderr.is_empty() {
            return Err(format!(
                "main.lua {} ended with {}: {}{}",
                args.join(" "),
                out.status,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(figures(&stdout))
    }
}

/// A peer started and waited for by this bench, spawn to exit.
struct Peer {
    name: &'static str,
    command: Command,
    times: Vec<Duration>,
}

impl Peer {
    fn once(&mut self) -> Result<Duration, String> {
        let t0 = Instant::now();
        let status = self.command.status().map_err(|e| format!("{}: cannot spawn: {e}", self.name))?;
        let elapsed = t0.elapsed();
        if !status.success() {
            return Err(format!("{}: ended with {status}", self.name));
        }
        Ok(elapsed)
    }

    /// One run with output captured, to say why a peer does not work.
    fn preflight(mut self) -> Result<Self, String> {
        let out = self
            .command
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| format!("{}: cannot spawn: {e}", self.name))?;
        self.command.stdout(Stdio::null()).stderr(Stdio::inherit());
        if out.status.success() {
            return Ok(self);
        }
        Err(format!("{}: ended with {}: {}", self.name, out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

/// The PSS (and private memory) of `pid` and its descendants, in KiB.
fn tree_memory(pid: u32) -> Result<(f64, f64, usize), String> {
    let mut pids = vec![pid];
    let mut i = 0;
    while i < pids.len() {
        let p = pids[i];
        if let Ok(children) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            pids.extend(children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
        i += 1;
    }
    let (mut pss, mut private) = (0.0, 0.0);
    for p in &pids {
        let text = std::fs::read_to_string(format!("/proc/{p}/smaps_rollup"))
            .map_err(|e| format!("cannot read /proc/{p}/smaps_rollup: {e}"))?;
        let kib = |name: &str| {
            text.lines()
                .find_map(|l| {
                    l.strip_prefix(name)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse::<f64>().ok()
                })
                .unwrap_or(0.0)
        };
        pss += kib("Pss");
        private += kib("Private_Clean") + kib("Private_Dirty");
    }
    Ok((pss, private, pids.len()))
}

/// An idle lua5.4 under bwrap: started, waited for until it says it is ready, measured, ended.
fn bwrap_lua_idle(bwrap: &Path, lua: &Path) -> Result<(f64, f64, usize), String> {
    let lua = lua.to_string_lossy();
    let mut child = bwrap_command(bwrap, &[&lua, "-e", "io.write('ready\\n') io.flush() io.read()"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start bwrap: {e}"))?;
    let mut line = String::new();
    let stdout = child.stdout.take().ok_or("bwrap has no stdout")?;
    BufReader::new(stdout).read_line(&mut line).map_err(|e| format!("bwrap + lua5.4: {e}"))?;
    if line.trim() != "ready" {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!("bwrap + lua5.4 did not start (it printed {line:?})"));
    }
    let measured = tree_memory(child.id());
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"\n");
    }
    let _ = child.wait();
    measured
}

/// Set (to `what,pinned,n`) when this executable is started to run one raw loop.
const RAW_LOOP_ENV: &str = "LUACELL_SANDBOXED_RAW_LOOP";

/// One raw loop (`raw_rt`, `epoll_rt` or `raw_ow`, `n` messages) in a fresh process started
/// from this executable, as luacell's loop runs in a fresh `luacell` process: a loop run by the
/// bench process itself right after it waited on `luacell` was measured 10-30 % faster than
/// the same loop in a settled process (whichever loop came first after the wait got it), which
/// would have inflated the reference.
fn raw_loop_process(me: &Path, what: &str, pinned: bool, n: usize) -> Result<f64, String> {
    let out = Command::new(me)
        .env(RAW_LOOP_ENV, format!("{what},{},{n}", u8::from(pinned)))
        .output()
        .map_err(|e| format!("cannot start the raw loop {what}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "the raw loop {what} ended with {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ));
    }
    figure(&figures(&String::from_utf8_lossy(&out.stdout)), "rate")
}

/// The child's side of [`raw_loop_process`]: runs the loop, returns messages per second.
fn raw_loop_here(spec: &str) -> Result<f64, String> {
    let bad = || format!("{RAW_LOOP_ENV}={spec:?} is not `what,pinned,n`");
    let mut parts = spec.split(',');
    let (Some(what), Some(pinned), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(bad());
    };
    let pinned = pinned == "1";
    let n: usize = n.parse().map_err(|_| bad())?;
    let datagram = luacell::ipc::wire::encode(
        &luacell::ipc::wire::Value::Bytes(vec![b'x'; 64]),
        &luacell::ipc::wire::Limits::DEFAULT,
    )
    .map_err(|e| format!("cannot encode the datagram: {e}"))?
    .bytes;
    let took = match what {
        "raw_rt" => seqpacket::raw_loop(Pattern::PingPong, pinned, n, &datagram),
        "epoll_rt" => seqpacket::epoll_ping_pong(pinned, n, &datagram),
        "raw_ow" => seqpacket::raw_loop(Pattern::OneWay, pinned, n, &datagram),
        _ => return Err(bad()),
    };
    Ok(n as f64 / took.as_secs_f64())
}

fn luacell_path() -> PathBuf {
    std::env::var_os("LUACELL_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")))
}

fn row(name: &str, luacell: &str, reference: &str, ratio: &str, target: &str) {
    let line = format!("{name:<36} {luacell:>13}  {reference:<30} {ratio:>7}  {target}");
    println!("{}", line.trim_end());
}

fn verdict(met: bool, goal: String) -> String {
    format!("{goal}: {}", if met { "met" } else { "MISSED" })
}

fn main() {
    if std::env::var_os(floor::FLOOR_ENV).is_some() {
        match floor::run() {
            Ok(code) => std::process::exit(code),
            Err(e) => {
                eprintln!("sandboxed floor: {e}");
                std::process::exit(125);
            }
        }
    }
    if let Some(spec) = std::env::var_os(RAW_LOOP_ENV) {
        match raw_loop_here(&spec.to_string_lossy()) {
            Ok(rate) => {
                println!("rate {rate:.1}");
                std::process::exit(0);
            }
            Err(e) => {
                eprintln!("sandboxed raw loop: {e}");
                std::process::exit(125);
            }
        }
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("luacell-bench-sandboxed-{}", std::process::id()));
    let result = run(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        eprintln!("sandboxed bench: {e}");
        std::process::exit(1);
    }
}

fn run(dir: &Path) -> Result<(), String> {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let sizes = if bench_mode { &BENCH } else { &TEST };
    let luacell = luacell_path();
    if !luacell.is_file() {
        return Err(format!(
            "the luacell binary {} does not exist: run `cargo build --release` or set LUACELL_BIN",
            luacell.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    for (name, text) in [("main.lua", MAIN_LUA), ("actor.lua", ACTOR_LUA)] {
        std::fs::write(dir.join(name), text).map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    let r = Runner { luacell, dir: dir.to_owned() };
    let started = Instant::now();
    println!(
        "sandboxed actors under untrusted-plugin, kernel {}, {} (uid {}), luacell binary {}",
        tools::kernel(),
        if tools::is_root() { "as root" } else { "unprivileged" },
        tools::uid(),
        r.luacell.display()
    );

    // The peers.
    let bwrap = find_or_install("bwrap", "bubblewrap", bench_mode);
    let lua = find_or_install("lua5.4", "lua5.4", bench_mode);
    let mut peers = Vec::new();
    match (&bwrap, &lua) {
        (Ok(b), Ok(l)) => {
            match (Peer {
                name: "bwrap + lua5.4",
                command: bwrap_command(b, &[&l.to_string_lossy(), "-e", ""]),
                times: Vec::new(),
            })
            .preflight()
            {
                Ok(p) => peers.push(p),
                Err(e) => println!("bwrap + lua5.4 unavailable: {e}"),
            }
        }
        (Err(e), _) | (_, Err(e)) => println!("bwrap + lua5.4 unavailable: {e}"),
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find the bench's own executable: {e}"))?;
    let mut floor_cmd = Command::new(&me);
    floor_cmd.env(floor::FLOOR_ENV, "1");
    peers.push(Peer { name: "kernel floor", command: floor_cmd, times: Vec::new() }.preflight()?);

    // Spawn: alternating batches.
    println!(
        "spawn: {} batches of {} per variant; messages: {} round trips and {} one-way, median of {} rounds",
        sizes.batches, sizes.spawns, sizes.round_trips, sizes.one_way, sizes.rounds
    );
    let mut spawn_times = Vec::new();
    // The first spawn of each run finds no stem yet (the supervisor clones it after a spawn).
    let mut cold_times = Vec::new();
    for _ in 0..sizes.batches {
        let got = r.run(&["spawn".into(), sizes.spawns.to_string()])?;
        let times: Vec<Duration> =
            got.iter().filter(|(n, _)| n == "spawn_ms").map(|(_, ms)| Duration::from_secs_f64(ms / 1e3)).collect();
        cold_times.extend(times.first().copied());
        spawn_times.extend(times);
        for p in &mut peers {
            for _ in 0..sizes.spawns {
                let t = p.once()?;
                p.times.push(t);
            }
        }
    }
    if spawn_times.len() != sizes.spawns * sizes.batches {
        return Err(format!("expected {} spawn times, got {}", sizes.spawns * sizes.batches, spawn_times.len()));
    }

    // Messages: luacell and the raw loop, rounds alternating.
    // Unpinned is how actors run; pinned (the bench, and the luacell it starts with all its
    // processes, on CPU 0) shows the CPU cost per message without cross-CPU wakeups.
    let mut rates: HashMap<(bool, &str), Vec<f64>> = HashMap::new();
    for pinned in [false, true] {
        for _ in 0..sizes.rounds {
            if pinned {
                seqpacket::pin(0);
            }
            let got = r.run(&["messages".into(), sizes.round_trips.to_string(), sizes.one_way.to_string(), "1".into()]);
            if pinned {
                seqpacket::unpin();
            }
            let got = got?;
            rates.entry((pinned, "lc_rt")).or_default().push(figure(&got, "round_trips_per_s")?);
            rates.entry((pinned, "lc_ow")).or_default().push(figure(&got, "one_way_per_s")?);
            for (what, n) in [("raw_rt", sizes.round_trips), ("epoll_rt", sizes.round_trips), ("raw_ow", sizes.one_way)]
            {
                rates.entry((pinned, what)).or_default().push(raw_loop_process(&me, what, pinned, n)?);
            }
        }
    }
    // The median round of each: unpinned runs vary with where the scheduler puts the two
    // processes, and a best-of would reward the luckier placement.
    let median = |pinned: bool, what: &str| {
        let mut v = rates.get(&(pinned, what)).cloned().unwrap_or_default();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(0.0)
    };

    // Memory.
    let mut memory = HashMap::new();
    for n in [1, sizes.idle] {
        memory.insert(n, r.run(&["memory".into(), n.to_string()])?);
    }
    let peer_memory = match (&bwrap, &lua) {
        (Ok(b), Ok(l)) => bwrap_lua_idle(b, l),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };

    // The table.
    println!();
    row("", "luacell", "reference", "ratio", "target");
    let lc: Stats = stats(&spawn_times);
    for p in &peers {
        let s = stats(&p.times);
        row(
            "spawn to first reply, median",
            &format!("{:.3} ms", lc.median),
            &format!("{} {:.3} ms", p.name, s.median),
            &format!("{:.2}x", lc.median / s.median),
            &verdict(lc.median <= TARGET_SPAWN_MS, format!("<= {TARGET_SPAWN_MS} ms")),
        );
    }
    println!(
        "  (luacell mean {:.3} ms, p90 {:.3} ms; {})",
        lc.mean,
        lc.p90,
        peers
            .iter()
            .map(|p| {
                let s = stats(&p.times);
                format!("{} mean {:.3} ms, p90 {:.3} ms", p.name, s.mean, s.p90)
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    let cold = stats(&cold_times);
    let floor_median = peers.iter().find(|p| p.name == "kernel floor").map(|p| stats(&p.times).median);
    row(
        "  first spawn of each run (no stem yet)",
        &format!("{:.3} ms", cold.median),
        &floor_median.map_or(String::new(), |m| format!("kernel floor {m:.3} ms")),
        &floor_median.map_or(String::new(), |m| format!("{:.2}x", cold.median / m)),
        &format!("(median of {})", cold_times.len()),
    );
    for pinned in [false, true] {
        let how = if pinned { "pinned" } else { "unpinned" };
        let (lc_rt, raw_rt) = (median(pinned, "lc_rt"), median(pinned, "raw_rt"));
        let (lc_ow, raw_ow) = (median(pinned, "lc_ow"), median(pinned, "raw_ow"));
        row(
            &format!("host<->actor round trips/s, {how}"),
            &format!("{lc_rt:.0}"),
            &format!("raw seqpacket {raw_rt:.0}"),
            &format!("{:.2}x", lc_rt / raw_rt),
            &if pinned {
                String::from("(CPU cost per message)")
            } else {
                verdict(lc_rt / raw_rt >= TARGET_ROUND_TRIP_RATIO, format!(">= {TARGET_ROUND_TRIP_RATIO}x raw"))
            },
        );
        let epoll_rt = median(pinned, "epoll_rt");
        row(
            &format!("  same, against an epoll loop, {how}"),
            &format!("{lc_rt:.0}"),
            &format!("epoll seqpacket {epoll_rt:.0}"),
            &format!("{:.2}x", lc_rt / epoll_rt),
            "(raw sides that wait in epoll_wait)",
        );
        if !pinned {
            // The spread of the rounds: the unpinned figures move with where the scheduler
            // puts the two processes.
            let range = |what: &str| {
                let v = rates.get(&(pinned, what)).cloned().unwrap_or_default();
                let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = v.iter().copied().fold(0.0, f64::max);
                format!("{lo:.0}-{hi:.0}")
            };
            println!(
                "  (round trips per round, unpinned: luacell {}, raw {}, epoll {})",
                range("lc_rt"),
                range("raw_rt"),
                range("epoll_rt")
            );
        }
        row(
            &format!("host->actor one-way msgs/s, {how}"),
            &format!("{lc_ow:.0}"),
            &format!("raw seqpacket {raw_ow:.0}"),
            &format!("{:.2}x", lc_ow / raw_ow),
            &if pinned {
                String::new()
            } else {
                verdict(lc_ow >= TARGET_ONE_WAY, format!(">= {:.0} k/s", TARGET_ONE_WAY / 1e3))
            },
        );
    }
    let peer_mem = peer_memory.as_ref().map(|(pss, _, n)| format!("bwrap + lua5.4 {pss:.0} KiB ({n} procs)"));
    for (n, values) in {
        let mut m: Vec<_> = memory.iter().collect();
        m.sort_by_key(|(n, _)| **n);
        m
    } {
        let pss = figure(values, "pss_kib")?;
        let unread = figure(values, "unread")?;
        if unread > 0.0 {
            println!("  ({unread} actor processes could not be read: their figures are left out)");
        }
        row(
            &format!("idle actor PSS, {n} running"),
            &format!("{pss:.0} KiB"),
            peer_mem.as_deref().unwrap_or("bwrap + lua5.4 unavailable"),
            &peer_memory.as_ref().map_or("n/a".into(), |(p, _, _)| format!("{:.2}x", pss / p)),
            &verdict(pss <= TARGET_PSS_KIB, format!("<= {TARGET_PSS_KIB:.0} KiB")),
        );
        row(
            &format!("  of which private, {n} running"),
            &format!("{:.0} KiB", figure(values, "private_kib")?),
            &peer_memory.as_ref().map_or(String::new(), |(_, p, _)| format!("bwrap + lua5.4 {p:.0} KiB")),
            "",
            &format!("({} processes per actor)", figure(values, "processes")?),
        );
        let stem = figure(values, "stem_pss_kib")?;
        row(
            &format!("  the supervisor's stem, {n} running"),
            &if stem < 0.0 { String::from("not found") } else { format!("{stem:.0} KiB") },
            "",
            "",
            "(one per supervisor, not per actor)",
        );
    }
    if let Err(e) = &peer_memory {
        println!("  (bwrap + lua5.4 idle memory not measured: {e})");
    }
    println!("(whole bench {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}
