//! Builds `reaper/reaper.rs`, the sandbox's pid 1 as a program of its own, into
//! `$OUT_DIR/luacell-reaper`; `src/sandbox/reaper.rs` embeds it.
//!
//! It is a `no_std` static executable made with rustc alone (no libc, no crates). It is written
//! for x86-64 Linux; on any other target the file is left empty and the sandbox keeps pid 1 as
//! a fork of the spawner (the built-in reaper), which is also what happens when the kernel
//! refuses to run it or when it cannot be built (a warning then says why).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo::rerun-if-changed=reaper/reaper.rs");
    println!("cargo::rerun-if-changed=build.rs");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let exe = out.join("luacell-reaper");
    let target = std::env::var("TARGET").unwrap_or_default();
    if target != "x86_64-unknown-linux-gnu" && target != "x86_64-unknown-linux-musl" {
        std::fs::write(&exe, b"").expect("OUT_DIR is writable");
        return;
    }
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let status = Command::new(rustc)
        .args(["--edition", "2024", "--crate-type", "bin", "--crate-name", "luacell_reaper"])
        .args(["--target", &target])
        .args(["-C", "opt-level=s", "-C", "panic=abort", "-C", "debuginfo=0", "-C", "strip=symbols"])
        .args(["-C", "relocation-model=static", "-C", "target-feature=+crt-static"])
        .args(["-C", "link-arg=-nostartfiles", "-C", "link-arg=-nostdlib", "-C", "link-arg=-static"])
        .args(["-D", "warnings", "-o"])
        .arg(&exe)
        .arg("reaper/reaper.rs")
        // The package's flags (a fuzzing build's sanitizers, coverage) are for the library; the
        // reaper links against nothing that could take them.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUSTFLAGS")
        .status();
    // Without it luacell still works (pid 1 stays the forked reaper), so a failure is a
    // warning; `tests/sandbox_exec.rs` fails where it should have been built.
    let failed = match status {
        Ok(s) if s.success() => None,
        Ok(s) => Some(format!("rustc failed ({s})")),
        Err(e) => Some(format!("cannot run rustc: {e}")),
    };
    if let Some(why) = failed {
        println!("cargo::warning=luacell-reaper not built ({why}); pid 1 of a sandbox will be the forked reaper");
        std::fs::write(&exe, b"").expect("OUT_DIR is writable");
    }
}
