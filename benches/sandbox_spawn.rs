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

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

struct Stats {
    median: f64,
    mean: f64,
    p90: f64,
}

fn stats(times: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
    Stats { median, mean: ms.iter().sum::<f64>() / n as f64, p90: ms[(n * 9 / 10).min(n - 1)] }
}

fn is_root() -> bool {
    // /proc/self belongs to the effective uid of the process reading it.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Finds bwrap, installing it with apt-get when allowed; the error says why it is unavailable.
fn bwrap_path(install: bool) -> Result<PathBuf, String> {
    if let Some(p) = on_path("bwrap") {
        return Ok(p);
    }
    if !install {
        return Err(String::from("not on PATH (the bench installs it only when run with --bench)"));
    }
    if !is_root() {
        return Err(String::from("not on PATH, and installing it needs root (apt-get install bubblewrap)"));
    }
    let apt = |args: &[&str]| {
        println!("running: apt-get {}", args.join(" "));
        Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    println!("bwrap is not installed: installing bubblewrap");
    // A fresh container often has no package lists: update once and retry.
    let installed =
        apt(&["install", "-y", "bubblewrap"]) || (apt(&["update"]) && apt(&["install", "-y", "bubblewrap"]));
    if !installed {
        return Err(String::from("not on PATH and `apt-get install -y bubblewrap` failed"));
    }
    on_path("bwrap").ok_or_else(|| String::from("still not on PATH after installing bubblewrap"))
}

/// bwrap with the binds of exec-readonly: /usr, then /bin, /sbin, /lib, /lib64 as the host has
/// them (symlink or directory), the /etc files, tmpfs /tmp, /dev, /proc.
fn bwrap_command(bwrap: &Path) -> Command {
    let mut c = Command::new(bwrap);
    c.args(["--unshare-all", "--die-with-parent", "--ro-bind", "/usr", "/usr"]);
    for top in ["/bin", "/sbin", "/lib", "/lib64"] {
        match std::fs::symlink_metadata(top) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(link) = std::fs::read_link(top) {
                    c.arg("--symlink").arg(link).arg(top);
                }
            }
            Ok(_) => {
                c.args(["--ro-bind", top, top]);
            }
            Err(_) => {}
        }
    }
    c.args(["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"]);
    c.args(["--ro-bind-try", "/etc/alternatives", "/etc/alternatives"]);
    c.args(["--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc", "/bin/true"]);
    c
}

fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_default()
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
    let bwrap = bwrap_path(bench_mode).and_then(|p| {
        let mut v = Variant::new("bwrap", bwrap_command(&p));
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
        std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX),
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
