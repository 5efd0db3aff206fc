//! Runs every `tests/lua/*.lua` case through the real `luacell` binary, once per IO backend,
//! and compares stdout, stderr and the exit status with what the case expects.
//!
//! A case `name.lua` may have:
//! - `name.stdout`: the exact expected stdout (absent: stdout must be empty);
//! - `name.stderr`: the expected stderr after normalisation (absent: stderr must be empty);
//! - a first line `-- exit: N`: the expected exit status (absent: 0);
//! - a line `-- args: a b c`: arguments passed after the script.
//!
//! `LUACELL_BIN` and `LUACELL_CASES_DIR` override the binary and the cases folder (the
//! unprivileged pass of `scripts/test.sh` runs a staged, world-readable copy).
//!
//! Normalisation of stderr: hexadecimal addresses become `0x?`, and traceback entries (lines
//! starting with a tab) are dropped; the `stack traceback:` header itself is kept, so a case
//! still proves that a traceback was printed.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{HANG_GUARD, run_guarded};

fn cases_dir() -> PathBuf {
    std::env::var_os("LUACELL_CASES_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lua"), PathBuf::from)
}

fn binary() -> PathBuf {
    std::env::var_os("LUACELL_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_luacell")), PathBuf::from)
}

fn cases() -> Vec<PathBuf> {
    let dir = cases_dir();
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/lua exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "lua") && !p.to_string_lossy().contains("/lib_"))
        .collect();
    cases.sort();
    cases
}

fn normalise_stderr(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        if line.starts_with('\t') {
            continue;
        }
        let mut norm = String::new();
        let mut rest = line;
        while let Some(at) = rest.find("0x") {
            norm.push_str(&rest[..at]);
            let hex = rest[at + 2..].chars().take_while(char::is_ascii_hexdigit).count();
            norm.push_str("0x?");
            rest = &rest[at + 2 + hex..];
        }
        norm.push_str(rest);
        out.push_str(&norm);
        out.push('\n');
    }
    out
}

fn expected(case: &Path, ext: &str) -> String {
    std::fs::read_to_string(case.with_extension(ext)).unwrap_or_default()
}

fn header(source: &str, key: &str) -> Option<String> {
    source.lines().take(5).find_map(|l| l.strip_prefix(&format!("-- {key}: ")).map(str::to_owned))
}

fn run_all(backend: &str) {
    let bin = binary();
    let dir = cases_dir();
    let mut failures = Vec::new();
    let cases = cases();
    assert!(!cases.is_empty(), "no Lua cases found");
    for case in &cases {
        let source = std::fs::read_to_string(case).expect("case is readable");
        let status: i32 = header(&source, "exit").map_or(0, |s| s.trim().parse().expect("exit header is a number"));
        let args: Vec<String> =
            header(&source, "args").map(|a| a.split_whitespace().map(str::to_owned).collect()).unwrap_or_default();
        let name = case.file_name().expect("case has a name").to_string_lossy().into_owned();
        let mut cmd = Command::new(&bin);
        cmd.arg("run")
            .arg(&name)
            .args(&args)
            .current_dir(&dir)
            .env("LUACELL_IO", backend)
            .env("LUACELL_TEST_HOOKS", "1");
        let Some(out) = run_guarded(cmd) else {
            failures.push(format!("case {name} under {backend}: still running after {HANG_GUARD:?}; killed (a hang)"));
            continue;
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = normalise_stderr(&String::from_utf8_lossy(&out.stderr));
        let want_out = expected(case, "stdout");
        let want_err = expected(case, "stderr");
        let got_status = out.status.code().unwrap_or(-1);
        if stdout != want_out || stderr != want_err || got_status != status {
            failures.push(format!(
                "case {name} under {backend}:\n  exit: want {status}, got {got_status}\n  stdout want:\n{want_out}\n  stdout got:\n{stdout}\n  stderr want:\n{want_err}\n  stderr got:\n{stderr}"
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn lua_cases_under_io_uring_match_expected() {
    run_all("io_uring");
}

#[test]
fn lua_cases_under_epoll_match_expected() {
    run_all("epoll");
}
