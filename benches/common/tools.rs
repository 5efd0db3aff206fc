//! What the benches share: finding (and, when allowed, installing) the peer programs, the bwrap
//! command line they are measured with, spawn-time statistics, and the figures a bench script
//! prints.
//!
//! Included with `#[path]` by `sandbox_spawn.rs`, `sandboxed.rs` and `actors.rs`; what one of
//! them leaves unused is not dead code in another.
#![allow(dead_code)]

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Median, mean and 90th percentile, in milliseconds.
pub struct Stats {
    pub median: f64,
    pub mean: f64,
    pub p90: f64,
}

/// Statistics of `times` (at least one).
pub fn stats(times: &[Duration]) -> Stats {
    let mut ms: Vec<f64> = times.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let n = ms.len();
    let median = if n % 2 == 1 { ms[n / 2] } else { (ms[n / 2 - 1] + ms[n / 2]) / 2.0 };
    Stats { median, mean: ms.iter().sum::<f64>() / n as f64, p90: ms[(n * 9 / 10).min(n - 1)] }
}

pub fn is_root() -> bool {
    // /proc/self belongs to the effective uid of the process reading it.
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

pub fn uid() -> u32 {
    std::fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(u32::MAX)
}

pub fn kernel() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_owned()).unwrap_or_default()
}

pub fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file())
}

/// Finds `program`, installing Debian package `package` with apt-get when `install` is set and
/// this runs as root; the error says why it is unavailable.
pub fn find_or_install(program: &str, package: &str, install: bool) -> Result<PathBuf, String> {
    if let Some(p) = on_path(program) {
        return Ok(p);
    }
    if !install {
        return Err(format!("{program} is not on PATH (the bench installs it only when run with --bench)"));
    }
    if !is_root() {
        return Err(format!("{program} is not on PATH, and installing it needs root (apt-get install {package})"));
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
    println!("{program} is not installed: installing {package}");
    // A fresh container often has no package lists: update once and retry.
    let installed = apt(&["install", "-y", package]) || (apt(&["update"]) && apt(&["install", "-y", package]));
    if !installed {
        return Err(format!("{program} is not on PATH and `apt-get install -y {package}` failed"));
    }
    on_path(program).ok_or_else(|| format!("{program} is still not on PATH after installing {package}"))
}

/// bwrap with the binds of exec-readonly: /usr, then /bin, /sbin, /lib, /lib64 as the host has
/// them (symlink or directory), the /etc files, tmpfs /tmp, /dev, /proc; then `argv`.
pub fn bwrap_command(bwrap: &Path, argv: &[&str]) -> Command {
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
    c.args(["--tmpfs", "/tmp", "--dev", "/dev", "--proc", "/proc"]);
    c.args(argv);
    c
}

/// The `name value` lines a bench script printed, in order (a name may repeat: one line per
/// sample); other lines are ignored.
pub fn figures(stdout: &str) -> Vec<(String, f64)> {
    let mut values = Vec::new();
    for line in stdout.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(v), None) = (words.next(), words.next(), words.next())
            && let Ok(v) = v.parse::<f64>()
        {
            values.push((name.to_owned(), v));
        }
    }
    values
}

/// The first figure `name`, which the script must have printed.
pub fn figure(values: &[(String, f64)], name: &str) -> Result<f64, String> {
    values.iter().find(|(n, _)| n == name).map(|(_, v)| *v).ok_or_else(|| format!("the script printed no `{name}`"))
}
