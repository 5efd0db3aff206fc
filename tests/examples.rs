//! The README's example runs to completion under both IO backends and says what it did.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{HANG_GUARD, run_guarded};

fn binary() -> PathBuf {
    std::env::var_os("LUACELL_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")), PathBuf::from)
}

fn run_tour(backend: &str) {
    let dir = std::env::var_os("LUACELL_EXAMPLES_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples"), PathBuf::from);
    let tour = dir.join("tour.lua");
    let mut cmd = Command::new(binary());
    cmd.arg("run").arg(&tour).env("LUACELL_IO", backend);
    let out = run_guarded(cmd).unwrap_or_else(|| panic!("the tour under {backend} still ran after {HANG_GUARD:?}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "tour under {backend} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for line in [
        "2. the consumer received a,b,c",
        "3. cleanup ran in the interrupted fiber",
        "3. interruption_caught = true",
        "4. echoed over TCP: {\"op\":\"echo\",\"values\":[1,2,3]}",
        "done",
    ] {
        assert!(stdout.lines().any(|l| l == line), "tour under {backend} did not print {line:?}:\n{stdout}");
    }
}

#[test]
fn tour_example_under_io_uring_completes() {
    run_tour("io_uring");
}

#[test]
fn tour_example_under_epoll_completes() {
    run_tour("epoll");
}

/// Runs `examples/REL` and checks the lines it must print.
fn run_example(rel: &str, lines: &[&str]) {
    let dir = std::env::var_os("LUACELL_EXAMPLES_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples"), PathBuf::from);
    let mut cmd = Command::new(binary());
    cmd.arg("run").arg(dir.join(rel));
    let out = run_guarded(cmd).unwrap_or_else(|| panic!("example {rel} still ran after {HANG_GUARD:?}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{rel} failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for line in lines {
        assert!(stdout.lines().any(|l| l.trim_end() == *line), "{rel} did not print {line:?}:\n{stdout}");
    }
}

#[test]
fn plugin_host_kills_and_restarts_misbehaving_plugins() {
    run_example(
        "plugin-host/host.lua",
        &[
            "escaper  failed: Function not implemented (ENOSYS); it was killed by SIGKILL; restarting it",
            "hog      failed: not enough memory; it was killed by SIGKILL; restarting it",
            "looper   did not answer in time; it was killed by SIGKILL; restarting it",
            "reverse  -> 2 dnuor",
            "upper    -> ROUND 2",
            "served 5 plugins for 2 rounds",
        ],
    );
}

#[test]
fn hostile_parser_reads_sockets_handed_to_sandboxes() {
    run_example(
        "hostile-parser/server.lua",
        &["client 1 got: parsed 17 bytes", "connection 2 parser ended with code 0", "client 3 got: parsed 109 bytes"],
    );
}

#[test]
fn tenants_are_held_to_their_quotas() {
    run_example(
        "tenants/host.lua",
        &[
            "alice    finished: primes below 20000: 2262",
            "bob      finished: the: 400, fox: 200",
            "mallory  stopped: over its lua_heap_bytes quota",
            "trudy    stopped: over its cpu_seconds quota",
        ],
    );
}
