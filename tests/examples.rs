//! The README's example runs to completion under both IO backends and says what it did.

use std::path::PathBuf;
use std::process::Command;

fn binary() -> PathBuf {
    std::env::var_os("LUACELL_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")), PathBuf::from)
}

fn run_tour(backend: &str) {
    let dir = std::env::var_os("LUACELL_EXAMPLES_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples"), PathBuf::from);
    let tour = dir.join("tour.lua");
    let out = Command::new(binary()).arg("run").arg(&tour).env("LUACELL_IO", backend).output().expect("luacell runs");
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
