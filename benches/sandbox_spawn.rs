//! Sandbox spawn-to-exit time, in one run, for `/bin/true` in:
//! - luacell: `luacell exec --profile exec-readonly -- /bin/true` (the whole sandbox: namespaces,
//!   id maps, pid-1 reaper, private mount tree, rlimits, Landlock, seccomp);
//! - bwrap: `bwrap --unshare-all --die-with-parent` with the same binds (/usr read-only, the
//!   host's /bin, /sbin, /lib, /lib64 as the same symlinks or binds, /etc/ld.so.cache,
//!   /etc/alternatives, a tmpfs /tmp, --dev /dev, --proc /proc), the peer;
//! - floor: the same namespaces, id maps, pid-1 + fork and mount tree made with raw syscalls and
//!   nothing else (no Landlock, seccomp or rlimits; see `sandbox_spawn/floor.rs`), the floor;
//! - fork+exec: `/bin/true` started by `std::process::Command`, for reference.
//!
//! Every variant is a child process started and waited for by this bench; the wall time from
//! spawn to exit is taken for each. The variants alternate spawn by spawn (the order rotates each
//! round), so drift on the machine hits all of them alike. Per variant it prints the median, the
//! mean and the 90th percentile, then luacell's ratios to bwrap (target <= 0.6) and to the floor
//! (target <= 1.3), on the medians.
//!
//! Run: `cargo bench --bench sandbox_spawn` (Cargo builds the `luacell` binary first and passes
//! its path as `CARGO_BIN_EXE_luacell`; `LUACELL_BIN` overrides it). Knob: `LUACELL_BENCH_SPAWNS`
//! (spawns per variant, default 200; 10 when run as a test, without `--bench`). When `bwrap` is
//! not on PATH and the bench runs as root, it installs it with `apt-get install -y bubblewrap`
//! (bench mode only); if that fails, bwrap is reported unavailable and its ratio is left out.
//! luacell, the floor or fork+exec failing is fatal.
//!
//! The floor runs as this same executable re-executed with `LUACELL_SANDBOX_SPAWN_FLOOR=1`.

// The bench's output is its table on stdout.
#![allow(clippy::print_stdout)]

// The floor is a module of this bench: it runs as this executable re-executed (see above).
#[path = "sandbox_spawn/floor.rs"]
mod floor;
#[path = "common/tools.rs"]
mod tools;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tools::{bwrap_command, find_or_install, is_root, kernel, stats};

const DEFAULT_SPAWNS: usize = 200;
const TEST_SPAWNS: usize = 10;
/// Unmeasured spawns per variant first (page cache, dentry cache, CPU frequency).
const WARMUP: usize = 5;
const TARGET_VS_BWRAP: f64 = 0.6;
const TARGET_VS_FLOOR: f64 = 1.3;

fn main() {
    if std::env::var_os(floor::FLOOR_ENV).is_some() {
        match floor::run() {
            Ok(code) => std::process::exit(code),
            Err(e) => {
                eprintln!("sandbox_spawn floor: {e}");
                std::process::exit(125);
            }
        }
    }
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if let Err(e) = run() {
        eprintln!("sandbox_spawn bench: {e}");
        std::process::exit(1);
    }
}

struct Variant {
    name: &'static str,
    command: Command,
    times: Vec<Duration>,
}

impl Variant {
    fn new(name: &'static str, command: Command) -> Self {
        Variant { name, command, times: Vec::new() }
    }

    /// One spawn to exit, timed; a non-zero exit is an error carrying what the child printed.
    fn once(&mut self) -> Result<Duration, String> {
        let t0 = Instant::now();
        let status = self.command.status().map_err(|e| format!("{}: cannot spawn: {e}", self.name))?;
        let elapsed = t0.elapsed();
        if !status.success() {
            return Err(format!("{}: /bin/true ended with {status}", self.name));
        }
        Ok(elapsed)
    }

    /// One spawn with stderr captured, to say why a variant does not work.
    fn preflight(&mut self) -> Result<(), String> {
        let out =
            self.command.stderr(Stdio::piped()).output().map_err(|e| format!("{}: cannot spawn: {e}", self.name))?;
        self.command.stderr(Stdio::inherit());
        if out.status.success() {
            return Ok(());
        }
        Err(format!("{}: ended with {}: {}", self.name, out.status, String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn run() -> Result<(), String> {
    let bench_mode = std::env::args().any(|a| a == "--bench");
    let spawns = match std::env::var("LUACELL_BENCH_SPAWNS") {
        Err(_) if bench_mode => DEFAULT_SPAWNS,
        Err(_) => TEST_SPAWNS,
        Ok(text) => text
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .ok_or_else(|| format!("LUACELL_BENCH_SPAWNS={text:?} is not a count in [1, 100000]"))?,
    };
    let luacell = std::env::var_os("LUACELL_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")));
    if !luacell.is_file() {
        return Err(format!(
            "the luacell binary {} does not exist: run `cargo build --release` or set LUACELL_BIN",
            luacell.display()
        ));
    }
    let me = std::env::current_exe().map_err(|e| format!("cannot find the bench's own executable: {e}"))?;

    let mut lua = Command::new(&luacell);
    lua.args(["exec", "--profile", "exec-readonly", "--", "/bin/true"]);
    let mut fl = Command::new(&me);
    fl.env(floor::FLOOR_ENV, "1");
    let mut variants = vec![
        Variant::new("luacell", lua),
        Variant::new("floor", fl),
        Variant::new("fork+exec", Command::new("/bin/true")),
    ];
    let bwrap = find_or_install("bwrap", "bubblewrap", bench_mode).and_then(|p| {
        let mut v = Variant::new("bwrap", bwrap_command(&p, &["/bin/true"]));
        v.preflight().map(|()| v)
    });
    match bwrap {
        Ok(v) => variants.insert(1, v),
        Err(e) => println!("bwrap unavailable: {e}"),
    }
    for v in &mut variants {
        v.preflight()?;
    }

    println!(
        "sandbox spawn-to-exit of /bin/true, kernel {}, {} (uid {}), {spawns} spawns per variant, alternating",
        kernel(),
        if is_root() { "as root" } else { "unprivileged" },
        tools::uid(),
    );
    println!("luacell binary: {}", luacell.display());
    for _ in 0..WARMUP {
        for v in &mut variants {
            v.once()?;
        }
    }
    let k = variants.len();
    for round in 0..spawns {
        for i in 0..k {
            let v = &mut variants[(round + i) % k];
            let t = v.once()?;
            v.times.push(t);
        }
    }

    let of = |name: &str| variants.iter().find(|v| v.name == name).map(|v| stats(&v.times));
    let reference = of("fork+exec").map_or(0.0, |s| s.median);
    for v in &variants {
        let s = stats(&v.times);
        println!(
            "{:<10} median {:>7.3} ms  mean {:>7.3} ms  p90 {:>7.3} ms  (+{:.3} ms over fork+exec)",
            v.name,
            s.median,
            s.mean,
            s.p90,
            s.median - reference
        );
    }
    let luacell_stats = of("luacell").ok_or("luacell was not measured")?;
    for (peer, target) in [("bwrap", TARGET_VS_BWRAP), ("floor", TARGET_VS_FLOOR)] {
        match of(peer) {
            Some(p) => {
                let ratio = luacell_stats.median / p.median;
                println!(
                    "luacell / {peer:<5} median {ratio:.2}x (mean {:.2}x), target <= {target:.2}x: {}",
                    luacell_stats.mean / p.mean,
                    if ratio <= target { "met" } else { "missed" }
                );
            }
            None => println!("luacell / {peer:<5} not measured ({peer} unavailable), target <= {target:.2}x: unknown"),
        }
    }
    Ok(())
}
