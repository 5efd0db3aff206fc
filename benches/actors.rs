//! Local actors, in one run, against a peer or a floor measured in the same run:
//! - spawn to first reply: the main VM spawns an actor (`spawn_vm('.')`), sends it its inbox and
//!   waits for the one reply; the actor then ends. K times in a row, µs per spawn+reply (its end
//!   included: it runs on the same thread). Also, from the memory run, the same for actors that
//!   stay alive. Floor: creating and dropping a bare mlua state with every standard library (what
//!   each VM starts from), in this process. Target <= 50 µs.
//! - idle memory per VM: N actors reply once and are then asked for their Lua heap
//!   (`collectgarbage('count')` after a full collection); they then block in `inbox:receive()`.
//!   The main VM reads /proc/self/smaps_rollup (Rss, Pss) before the first spawn and after the
//!   last heap report. Floor: N bare mlua states in this process, their growth of Rss and Pss
//!   and their Lua heap. Target <= 40 KiB (Pss).
//! - one-way messages per second, actor on the main thread's context and on a thread of its own
//!   (`inherit_context = false`): the main VM sends M Lua integers, the actor sums them and
//!   replies once with the count. Targets >= 2 M/s on one thread, >= 1 M/s across threads.
//! - ping-pong round trips per second (an integer each way), same thread and across threads.
//! - the peer: a crossbeam channel carrying `i64`s, bounded at 1024 like a default mailbox: on one
//!   thread (batches of 1024 sent then received, which is how a full mailbox hands over to its
//!   actor on the same thread; ping-pong as send then receive on two channels) and across two
//!   threads (one-way then one ack; ping-pong on two channels). crossbeam spins before it parks,
//!   so its cross-thread ping-pong rarely sleeps; a luacell context with nothing to run sleeps in
//!   its engine. The cross-thread round trips are therefore also set against a floor where every
//!   hop sleeps in the kernel: two threads ping-ponging 8 bytes over blocking pipes.
//!
//! Every luacell figure comes from a small Lua script this bench writes to a temp dir and runs
//! through the luacell binary; the script times itself with `time.steady_clock` and prints
//! `name value` lines. Each figure is the best of several rounds (inside the script, or, for
//! memory, over separate processes); the peers and floors also keep their best round.
//!
//! Run: `cargo bench --bench actors` (Cargo builds the `luacell` binary first and passes its path
//! as `CARGO_BIN_EXE_luacell`; `LUACELL_BIN` overrides it). About 20 s. Without `--bench` (run as
//! a test) every count is small and only the plumbing is checked.

// The floor creates mlua states with the `debug` library, as luacell does (an unsafe constructor).
#![allow(unsafe_code)]
// The bench's output is its table on stdout.
#![allow(clippy::print_stdout)]

#[path = "common/tools.rs"]
mod tools;

use std::hint::black_box;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};
use mlua::{Lua, LuaOptions, StdLib};
use tools::{figure, figures};

#[global_allocator]
static GLOBAL: luacell::Allocator = mimalloc::MiMalloc;

const TARGET_SPAWN_US: f64 = 50.0;
const TARGET_VM_KIB: f64 = 40.0;
const TARGET_ONE_WAY_SAME: f64 = 2e6;
const TARGET_ONE_WAY_THREADS: f64 = 1e6;
/// The default mailbox capacity (`actor::mailbox::DEFAULT_CAPACITY`), the peer's bound.
const MAILBOX: usize = luacell::actor::mailbox::DEFAULT_CAPACITY;

struct Sizes {
    /// Spawns per round, rounds.
    spawns: usize,
    spawn_rounds: usize,
    /// Idle actors per memory run, runs (separate processes).
    idle_vms: usize,
    memory_runs: usize,
    /// One-way messages per round, ping-pong round trips per round (same thread; across threads
    /// a tenth of them: each one sleeps and wakes a thread), rounds.
    messages: usize,
    round_trips: usize,
    rounds: usize,
}

const BENCH: Sizes = Sizes {
    spawns: 2000,
    spawn_rounds: 3,
    idle_vms: 500,
    memory_runs: 3,
    messages: 500_000,
    round_trips: 200_000,
    rounds: 5,
};
const TEST: Sizes =
    Sizes { spawns: 20, spawn_rounds: 1, idle_vms: 20, memory_runs: 1, messages: 2000, round_trips: 200, rounds: 1 };

/// K spawns, each to its first reply; the actor ends after replying. Prints `spawn_us`.
const SPAWN_LUA: &str = r#"
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local args = require('system').arguments
  local K, ROUNDS = tonumber(args[2]), tonumber(args[3])
  local now = require('time').steady_clock.now
  local best = math.huge
  for _ = 1, ROUNDS do
    local t0 = now()
    for _ = 1, K do
      spawn_vm('.'):send(inbox)
      inbox:receive()
    end
    local dt = now() - t0
    if dt < best then best = dt end
  end
  print(string.format('spawn_us %.3f', best / K * 1e6))
else
  inbox:receive():send(true)
end
"#;

/// N actors spawned, each replying once to its first message (timed: spawn to first reply of
/// actors that stay alive), then asked for their Lua heap after a full collection; then they wait
/// in `inbox:receive()`. Prints the growth of Rss and Pss per VM, measured from before the first
/// spawn to after the last heap report, and the actors' mean Lua heap.
const MEMORY_LUA: &str = r#"
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local N = tonumber(require('system').arguments[2])
  local now = require('time').steady_clock.now
  local function mem()
    local f = assert(io.open('/proc/self/smaps_rollup'))
    local s = f:read('a')
    f:close()
    local rss, pss = s:match('\nRss:%s+(%d+) kB'), s:match('\nPss:%s+(%d+) kB')
    return assert(tonumber(rss), 'no Rss line'), assert(tonumber(pss), 'no Pss line')
  end
  -- One actor first, spawned and ended: first-use allocations (the prelude's cached bytecode,
  -- the allocator's pages for VMs) are not counted against the N.
  local w = spawn_vm('.')
  w:send(inbox)
  inbox:receive()
  w:send('stop')
  local chans = {}
  for i = 1, N do chans[i] = false end
  collectgarbage()
  collectgarbage()
  local rss0, pss0 = mem()
  local t0 = now()
  for i = 1, N do
    local ch = spawn_vm('.')
    ch:send(inbox)
    inbox:receive()
    chans[i] = ch
  end
  local dt = now() - t0
  local heap = 0
  for i = 1, N do
    chans[i]:send('heap')
    heap = heap + inbox:receive()
  end
  collectgarbage()
  collectgarbage()
  local rss1, pss1 = mem()
  print(string.format('rss_kib %.3f', (rss1 - rss0) / N))
  print(string.format('pss_kib %.3f', (pss1 - pss0) / N))
  print(string.format('heap_kib %.3f', heap / N))
  print(string.format('spawn_alive_us %.3f', dt / N * 1e6))
  for i = 1, N do chans[i]:send('stop') end
else
  local main = inbox:receive()
  main:send(true)
  while inbox:receive() == 'heap' do
    collectgarbage()
    collectgarbage()
    main:send(collectgarbage('count'))
  end
end
"#;

/// One-way and ping-pong with one actor, on the main context (`same`) or its own (`thread`).
/// Prints `one_way_per_s` and `round_trips_per_s`.
const MESSAGES_LUA: &str = r#"
local inbox = require 'inbox'
if _CONTEXT == 'main' then
  local args = require('system').arguments
  local where, M, P, ROUNDS = args[2], tonumber(args[3]), tonumber(args[4]), tonumber(args[5])
  local now = require('time').steady_clock.now
  local w = spawn_vm{ module = '.', inherit_context = where ~= 'thread' }
  w:send(inbox)
  assert(inbox:receive() == true)
  local one, pp = math.huge, math.huge
  for _ = 1, ROUNDS do
    w:send({ mode = 'one_way', n = M })
    local t0 = now()
    for i = 1, M do w:send(i) end
    local n = inbox:receive()
    local dt = now() - t0
    assert(n == M, 'the actor counted ' .. tostring(n))
    if dt < one then one = dt end
  end
  for _ = 1, ROUNDS do
    w:send({ mode = 'ping_pong', n = P })
    local t0 = now()
    for i = 1, P do
      w:send(i)
      assert(inbox:receive() == i)
    end
    local dt = now() - t0
    if dt < pp then pp = dt end
  end
  w:send({ mode = 'stop' })
  print(string.format('one_way_per_s %.0f', M / one))
  print(string.format('round_trips_per_s %.0f', P / pp))
else
  local main = inbox:receive()
  main:send(true)
  while true do
    local cmd = inbox:receive()
    local mode, n = cmd.mode, cmd.n
    if mode == 'stop' then break end
    if mode == 'one_way' then
      local sum = 0
      for _ = 1, n do sum = sum + inbox:receive() end
      assert(sum == n * (n + 1) // 2)
      main:send(n)
    else
      for _ = 1, n do main:send(inbox:receive()) end
    end
  end
end
"#;

/// The luacell binary and the directory holding the scripts.
struct Runner {
    luacell: PathBuf,
    dir: PathBuf,
}

impl Runner {
    /// Runs `script` with `args`; returns the `name value` lines it printed.
    fn run(&self, script: &str, args: &[String]) -> Result<Vec<(String, f64)>, String> {
        let path = self.dir.join(script);
        let out = Command::new(&self.luacell)
            .arg("run")
            .arg(&path)
            .args(args)
            .output()
            .map_err(|e| format!("cannot start {}: {e}", self.luacell.display()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "{script} {} ended with {}: {}{}",
                args.join(" "),
                out.status,
                stdout.trim(),
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(figures(&stdout))
    }
}

/// `a / b` with `digits` decimals, or `n/a` when `b` is not a positive figure (a floor too small
/// to see, as with the few states of a test run).
fn ratio(a: f64, b: f64, digits: usize) -> String {
    if b > 0.0 && b.is_finite() { format!("{:.digits$}x", a / b) } else { String::from("n/a") }
}

/// One line of the table: what, luacell's figure, the peer's or floor's, their ratio, the target.
fn row(name: &str, luacell: &str, reference: &str, ratio: &str, target: &str) {
    let line = format!("{name:<35} {luacell:>12}  {reference:<26} {ratio:>7}  {target}");
    println!("{}", line.trim_end());
}

/// A bare mlua state with every standard library, as luacell's VMs start.
fn bare_state() -> Lua {
    // SAFETY: `debug` is what the safe constructor refuses; this state runs no code at all.
    unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::default()) }
}

/// Rss and Pss of this process, in KiB.
fn own_memory() -> Result<(f64, f64), String> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup")
        .map_err(|e| format!("cannot read /proc/self/smaps_rollup: {e}"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<f64>().ok())
            .ok_or_else(|| format!("no {name} line in /proc/self/smaps_rollup"))
    };
    Ok((field("Rss:")?, field("Pss:")?))
}

struct BareFloor {
    create_drop_us: f64,
    rss_kib: f64,
    pss_kib: f64,
    heap_kib: f64,
}

fn bare_floor(sizes: &Sizes) -> Result<BareFloor, String> {
    // Warm-up: the allocator's first pages, mlua's first-use tables.
    drop(bare_state());
    let mut best = Duration::MAX;
    for _ in 0..sizes.spawn_rounds {
        let t0 = Instant::now();
        for _ in 0..sizes.spawns {
            drop(black_box(bare_state()));
        }
        best = best.min(t0.elapsed());
    }
    let (rss0, pss0) = own_memory()?;
    let states: Vec<Lua> = (0..sizes.idle_vms)
        .map(|_| {
            let l = bare_state();
            l.gc_collect().map(|()| l)
        })
        .collect::<Result<_, _>>()
        .map_err(|e| format!("a bare state cannot collect: {e}"))?;
    let (rss1, pss1) = own_memory()?;
    let heap = states.iter().map(Lua::used_memory).sum::<usize>() as f64 / 1024.0;
    let n = sizes.idle_vms as f64;
    drop(states);
    Ok(BareFloor {
        create_drop_us: best.as_secs_f64() * 1e6 / sizes.spawns as f64,
        rss_kib: (rss1 - rss0) / n,
        pss_kib: (pss1 - pss0) / n,
        heap_kib: heap / n,
    })
}

/// Rates of the crossbeam peer (per second): one-way and ping-pong, one thread and two.
struct Peer {
    one_way_same: f64,
    one_way_threads: f64,
    round_trips_same: f64,
    round_trips_threads: f64,
}

fn best_of<F: FnMut() -> Duration>(rounds: usize, mut f: F) -> Duration {
    (0..rounds).map(|_| f()).min().unwrap_or(Duration::MAX)
}

fn rate(n: usize, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64()
}

/// `n` values sent and received on one thread, in batches of the channel's bound.
fn one_way_same(n: usize) -> Duration {
    let (tx, rx) = bounded::<i64>(MAILBOX);
    let t0 = Instant::now();
    let mut sent = 0;
    let mut sum = 0i64;
    while sent < n {
        let batch = (n - sent).min(MAILBOX);
        for i in sent..sent + batch {
            tx.send(black_box(i as i64 + 1)).expect("the receiver lives");
        }
        for _ in 0..batch {
            sum += rx.recv().expect("the sender lives");
        }
        sent += batch;
    }
    let elapsed = t0.elapsed();
    assert_eq!(sum, (n * (n + 1) / 2) as i64);
    elapsed
}

fn round_trips_same(n: usize) -> Duration {
    let (to, from_main) = bounded::<i64>(1);
    let (back, from_actor) = bounded::<i64>(1);
    let t0 = Instant::now();
    for i in 0..n as i64 {
        to.send(black_box(i)).expect("the receiver lives");
        let v = from_main.recv().expect("the sender lives");
        back.send(v).expect("the receiver lives");
        assert_eq!(from_actor.recv().expect("the sender lives"), i);
    }
    t0.elapsed()
}

/// A consumer thread; the time runs from the first send to the ack.
fn one_way_threads(n: usize) -> Duration {
    let (tx, rx) = bounded::<i64>(MAILBOX);
    let (ack_tx, ack_rx) = bounded::<usize>(1);
    let consumer = std::thread::spawn(move || {
        ack_tx.send(0).expect("the main thread lives");
        let mut sum = 0i64;
        for _ in 0..n {
            sum += rx.recv().expect("the sender lives");
        }
        assert_eq!(sum, (n * (n + 1) / 2) as i64);
        ack_tx.send(n).expect("the main thread lives");
    });
    ack_rx.recv().expect("the consumer starts");
    let t0 = Instant::now();
    for i in 0..n {
        tx.send(black_box(i as i64 + 1)).expect("the consumer lives");
    }
    let count = ack_rx.recv().expect("the consumer acks");
    let elapsed = t0.elapsed();
    assert_eq!(count, n);
    consumer.join().expect("the consumer does not panic");
    elapsed
}

fn echo(rx: &Receiver<i64>, tx: &Sender<i64>, n: usize) {
    for _ in 0..n {
        let v = rx.recv().expect("the main thread lives");
        tx.send(v).expect("the main thread lives");
    }
}

fn round_trips_threads(n: usize) -> Duration {
    let (to, from_main) = bounded::<i64>(1);
    let (back, from_actor) = bounded::<i64>(1);
    // One round trip before the clock starts: the echo thread is running.
    let actor = std::thread::spawn(move || echo(&from_main, &back, n + 1));
    to.send(-1).expect("the echo thread lives");
    from_actor.recv().expect("the echo thread answers");
    let t0 = Instant::now();
    for i in 0..n as i64 {
        to.send(black_box(i)).expect("the echo thread lives");
        assert_eq!(from_actor.recv().expect("the echo thread answers"), i);
    }
    let elapsed = t0.elapsed();
    actor.join().expect("the echo thread does not panic");
    elapsed
}

/// The floor of a round trip whose every hop sleeps in the kernel (as a luacell context that
/// waits for its engine does): a blocking pipe each way between two threads.
fn round_trips_pipes(n: usize) -> Result<Duration, String> {
    let pipe = || std::io::pipe().map_err(|e| format!("cannot make a pipe: {e}"));
    let ((mut to_echo, mut to_echo_w), (mut back, mut back_w)) = (pipe()?, pipe()?);
    // One round trip before the clock starts: the echo thread is running.
    let echo = std::thread::spawn(move || -> std::io::Result<()> {
        let mut b = [0u8; 8];
        for _ in 0..=n {
            to_echo.read_exact(&mut b)?;
            back_w.write_all(&b)?;
        }
        Ok(())
    });
    let mut b = [0u8; 8];
    let mut hop = |i: u64| -> std::io::Result<()> {
        to_echo_w.write_all(&i.to_le_bytes())?;
        back.read_exact(&mut b)?;
        assert_eq!(u64::from_le_bytes(b), i);
        Ok(())
    };
    let io = |e: std::io::Error| format!("the pipe ping-pong failed: {e}");
    hop(u64::MAX).map_err(io)?;
    let t0 = Instant::now();
    for i in 0..n as u64 {
        hop(i).map_err(io)?;
    }
    let elapsed = t0.elapsed();
    echo.join().map_err(|_| "the pipe echo thread panicked".to_owned())?.map_err(io)?;
    Ok(elapsed)
}

fn peer(sizes: &Sizes) -> Peer {
    let cross = sizes.round_trips / 10;
    Peer {
        one_way_same: rate(sizes.messages, best_of(sizes.rounds, || one_way_same(sizes.messages))),
        one_way_threads: rate(sizes.messages, best_of(sizes.rounds, || one_way_threads(sizes.messages))),
        round_trips_same: rate(sizes.round_trips, best_of(sizes.rounds, || round_trips_same(sizes.round_trips))),
        round_trips_threads: rate(cross, best_of(sizes.rounds, || round_trips_threads(cross))),
    }
}

fn luacell_path() -> PathBuf {
    std::env::var_os("LUACELL_BIN").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")))
}

fn write_scripts(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot make {}: {e}", dir.display()))?;
    for (name, text) in [("spawn.lua", SPAWN_LUA), ("memory.lua", MEMORY_LUA), ("messages.lua", MESSAGES_LUA)] {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let dir = std::env::temp_dir().join(format!("luacell-bench-actors-{}", std::process::id()));
    let result = write_scripts(&dir).and_then(|()| run(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = result {
        eprintln!("actors bench: {e}");
        std::process::exit(1);
    }
}

fn run(dir: &Path) -> Result<(), String> {
    let sizes = if std::env::args().any(|a| a == "--bench") { &BENCH } else { &TEST };
    let luacell = luacell_path();
    if !luacell.is_file() {
        return Err(format!(
            "the luacell binary {} does not exist: run `cargo build --release` or set LUACELL_BIN",
            luacell.display()
        ));
    }
    let r = Runner { luacell, dir: dir.to_owned() };
    let started = Instant::now();
    println!("local actors, luacell binary {}", r.luacell.display());
    println!(
        "payload: a Lua integer (peer: i64); {} spawns x {} rounds, {} idle VMs x {} runs, {} one-way messages, \
         {} round trips on one thread and {} across threads, best of {} rounds",
        sizes.spawns,
        sizes.spawn_rounds,
        sizes.idle_vms,
        sizes.memory_runs,
        sizes.messages,
        sizes.round_trips,
        sizes.round_trips / 10,
        sizes.rounds
    );

    // Spawn and memory.
    let s = r.run("spawn.lua", &[sizes.spawns.to_string(), sizes.spawn_rounds.to_string()])?;
    let spawn_us = figure(&s, "spawn_us")?;
    let (mut rss, mut pss, mut heap, mut spawn_alive_us) = (f64::MAX, f64::MAX, f64::MAX, f64::MAX);
    for _ in 0..sizes.memory_runs {
        let m = r.run("memory.lua", &[sizes.idle_vms.to_string()])?;
        rss = rss.min(figure(&m, "rss_kib")?);
        pss = pss.min(figure(&m, "pss_kib")?);
        heap = heap.min(figure(&m, "heap_kib")?);
        spawn_alive_us = spawn_alive_us.min(figure(&m, "spawn_alive_us")?);
    }
    let floor = bare_floor(sizes)?;

    // Messages.
    let msg_args = |where_: &str, round_trips: usize| {
        [where_.to_owned(), sizes.messages.to_string(), round_trips.to_string(), sizes.rounds.to_string()]
    };
    let same = r.run("messages.lua", &msg_args("same", sizes.round_trips))?;
    let threads = r.run("messages.lua", &msg_args("thread", sizes.round_trips / 10))?;
    let p = peer(sizes);
    let cross = sizes.round_trips / 10;
    let mut pipes = Duration::MAX;
    for _ in 0..sizes.rounds {
        pipes = pipes.min(round_trips_pipes(cross)?);
    }
    let pipes = rate(cross, pipes);

    let cmp = |met: bool, goal: String| format!("{goal}: {}", if met { "met" } else { "MISSED" });
    println!();
    row("", "luacell", "reference", "ratio", "target");
    let floor_us = floor.create_drop_us;
    row(
        "spawn to first reply (actor ends)",
        &format!("{spawn_us:.1} us"),
        &format!("bare state {floor_us:.1} us"),
        &ratio(spawn_us, floor_us, 1),
        &cmp(spawn_us <= TARGET_SPAWN_US, format!("<= {TARGET_SPAWN_US:.0} us")),
    );
    row(
        "spawn to first reply (actor lives)",
        &format!("{spawn_alive_us:.1} us"),
        &format!("bare state {floor_us:.1} us"),
        &ratio(spawn_alive_us, floor_us, 1),
        &cmp(spawn_alive_us <= TARGET_SPAWN_US, format!("<= {TARGET_SPAWN_US:.0} us")),
    );
    row(
        "idle memory per VM (Pss)",
        &format!("{pss:.1} KiB"),
        &format!("bare state {:.1} KiB", floor.pss_kib),
        &ratio(pss, floor.pss_kib, 1),
        &cmp(pss <= TARGET_VM_KIB, format!("<= {TARGET_VM_KIB:.0} KiB")),
    );
    row(
        "idle memory per VM (Rss)",
        &format!("{rss:.1} KiB"),
        &format!("bare state {:.1} KiB", floor.rss_kib),
        &ratio(rss, floor.rss_kib, 1),
        "",
    );
    row(
        "idle Lua heap per VM (gc count)",
        &format!("{heap:.1} KiB"),
        &format!("bare state {:.1} KiB", floor.heap_kib),
        &ratio(heap, floor.heap_kib, 1),
        "",
    );
    let rates = [
        ("one-way msgs/s, same thread", figure(&same, "one_way_per_s")?, p.one_way_same, Some(TARGET_ONE_WAY_SAME)),
        (
            "one-way msgs/s, across threads",
            figure(&threads, "one_way_per_s")?,
            p.one_way_threads,
            Some(TARGET_ONE_WAY_THREADS),
        ),
        ("round trips/s, same thread", figure(&same, "round_trips_per_s")?, p.round_trips_same, None),
        ("round trips/s, across threads", figure(&threads, "round_trips_per_s")?, p.round_trips_threads, None),
    ];
    for (name, lc, peer, target) in rates {
        let goal = target.map_or(String::new(), |t| cmp(lc >= t, format!(">= {:.0} M/s", t / 1e6)));
        row(
            name,
            &format!("{:.3} M/s", lc / 1e6),
            &format!("crossbeam {:.3} M/s", peer / 1e6),
            &ratio(lc, peer, 3),
            &goal,
        );
    }
    let lc = figure(&threads, "round_trips_per_s")?;
    row(
        "round trips/s, across threads",
        &format!("{:.3} M/s", lc / 1e6),
        &format!("blocking pipes {:.3} M/s", pipes / 1e6),
        &ratio(lc, pipes, 3),
        "(floor: every hop sleeps)",
    );
    println!("(whole bench {:.1} s)", started.elapsed().as_secs_f64());
    Ok(())
}
