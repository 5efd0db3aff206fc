//! The `luacell` command line: argv -> command; one clear line per error.
//!
//! Trust zone: the main process. Exit statuses: the script's own (0, or 1 after a panic, or what
//! it passed to `system.exit`), 1 when it cannot run, 2 for a usage error. The sandbox commands
//! are in `cli_sandbox.rs`.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::lua::{RunOptions, run_script};
use crate::runtime::reactor::forced_backend;

pub(crate) const USAGE: &str = "usage: luacell run SCRIPT [ARGS...]
       luacell exec --profile PROFILE [--] COMMAND [ARGS...]
       luacell profile check|show PROFILE
       luacell doctor
       luacell --help";

/// Runs the command line and returns the exit status.
pub fn main(args: Vec<OsString>) -> i32 {
    crate::sys::ignore_sigpipe();
    let mut args = args.into_iter().skip(1);
    let Some(cmd) = args.next() else {
        eprintln!("luacell: no command given\n{USAGE}");
        return 2;
    };
    match cmd.to_str() {
        Some("run") => run(args.collect()),
        Some("exec") => crate::cli_sandbox::exec(args.collect()),
        Some("profile") => crate::cli_sandbox::profile(args.collect()),
        Some("doctor") => crate::cli_sandbox::doctor(),
        Some("-h" | "--help" | "help") => {
            print_help();
            0
        }
        _ => {
            eprintln!("luacell: unknown command '{}'\n{USAGE}", cmd.to_string_lossy());
            2
        }
    }
}

/// The CLI is the one place that talks to the user on stdout.
#[allow(clippy::print_stdout)]
fn print_help() {
    println!(
        "luacell: a Lua 5.4 runtime with fibers, io_uring/epoll IO and sandboxed actors\n\n{USAGE}\n\nPROFILE is a shipped profile name (none, untrusted-plugin, hostile-parser, tenant-script,\nexec-readonly) or a path to a JSON profile (see docs/profiles.md).\n\nexec exits with the command's status (128+N after signal N), 125 when the sandbox cannot be\nset up, 126 when the command cannot be executed, 127 when it is not found.\n\nEnvironment: LUACELL_IO=io_uring|epoll forces an IO backend."
    );
}

fn run(args: Vec<OsString>) -> i32 {
    let mut args = args.into_iter();
    let script = match args.next() {
        Some(s) if s == "--" => args.next(),
        other => other,
    };
    let Some(script) = script else {
        eprintln!("luacell: run needs a script\n{USAGE}");
        return 2;
    };
    let mut rest = Vec::new();
    for a in args {
        match a.into_string() {
            Ok(s) => rest.push(s),
            Err(a) => {
                eprintln!("luacell: argument {:?} is not valid UTF-8", a.to_string_lossy());
                return 2;
            }
        }
    }
    let forced = std::env::var("LUACELL_IO").ok();
    let backend = match forced_backend(forced.as_deref()) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("luacell: {e}");
            return 2;
        }
    };
    let opts = RunOptions { script: PathBuf::from(script), args: rest, backend };
    match run_script(&opts) {
        Ok(status) => status,
        Err(e) => {
            eprintln!("luacell: {}", error_chain(&e));
            1
        }
    }
}

/// An error and its causes on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut line = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        source = s.source();
    }
    line
}
