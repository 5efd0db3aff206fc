//! The escape-suite probe: starts itself in a sandbox made by the luacell sandbox layer (the same
//! spawn path sandboxed actors take: a function payload in a forked child, no exec) and tries ONE
//! thing from inside, then reports what the kernel answered.
//!
//! Usage: `luacell-probe [--bind SRC[:exec]]... PROFILE ATTEMPT [ARGS...]`, or
//! `luacell-probe --whoami` (prints `ok euid N`; used through a setuid copy).
//!
//! Output (stdout), one line each:
//! - from inside: `ok DETAIL` or `err ERRNO_NAME` (or nothing, when the process dies first);
//! - from the launcher: `exit N` or `signal NAME`, plus `limit NAME` when a profile limit ended it.
//!
//! `--bind` adds a read-only bind (for fixtures such as a setuid binary) to the profile before
//! planning. The string `@launcher` in an argument becomes the launcher's pid.
//!
//! This is test code that attacks the kernel on purpose: the raw calls go through one helper.
#![allow(unsafe_code)]
#![allow(clippy::print_stdout)]

use std::io::Write;
use std::path::PathBuf;

use luacell::sandbox::profile::Bind;
use luacell::sandbox::{Features, Payload, Plan, Profile, spawn};
use luacell::sys::process::{self, ExitStatus};

#[global_allocator]
static ALLOC: luacell::Allocator = luacell::Allocator {};

use luacell::sandbox::probe::{Attempt, attempt};

fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGSYS => "SIGSYS".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGXCPU => "SIGXCPU".into(),
        libc::SIGXFSZ => "SIGXFSZ".into(),
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        other => format!("signal {other}"),
    }
}

fn report(r: Attempt) {
    let line = match r {
        Ok(detail) => format!("ok {detail}"),
        Err(e) => format!("err {}", luacell::sys::errno::name(e).map_or_else(|| format!("errno {e}"), str::to_owned)),
    };
    println!("{line}");
    let _ = std::io::stdout().flush();
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    // A setuid copy of the probe is run as `PROBE --whoami` to show which euid exec gave it.
    if args.first().is_some_and(|a| a == "--whoami") {
        report(attempt("whoami", &[]));
        return;
    }
    let mut binds = Vec::new();
    while args.first().is_some_and(|a| a == "--bind") && args.len() > 1 {
        let spec = args.remove(1);
        args.remove(0);
        let (src, exec) = match spec.strip_suffix(":exec") {
            Some(s) => (s.to_owned(), true),
            None => (spec, false),
        };
        binds.push(Bind { source: PathBuf::from(src), target: None, writable: false, exec, optional: false });
    }
    if args.len() < 2 {
        eprintln!("usage: luacell-probe [--bind SRC[:exec]]... PROFILE ATTEMPT [ARGS...]");
        std::process::exit(2);
    }
    let launcher = std::process::id().to_string();
    let name = args.remove(0);
    let what = args.remove(0);
    let rest: Vec<String> = args.into_iter().map(|a| a.replace("@launcher", &launcher)).collect();

    let mut profile = match Profile::load(&name) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("probe: {e}");
            std::process::exit(2);
        }
    };
    profile.filesystem.bind.extend(binds);
    let plan = match Plan::build(&name, &profile, &Features::probe(), process::ids()) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("probe: {e}");
            std::process::exit(2);
        }
    };
    let payload = Payload::Function(Box::new(move || {
        report(attempt(&what, &rest));
        0
    }));
    let outcome = spawn(&plan, payload, &[]).and_then(|child| child.wait(&plan, None));
    match outcome {
        Ok(o) => {
            match o.status {
                ExitStatus::Exited(c) => println!("exit {c}"),
                ExitStatus::Signaled(s) => println!("signal {}", signal_name(s)),
            }
            if let Some(limit) = o.limit {
                println!("limit {limit:?}");
            }
        }
        Err(e) => {
            println!("spawn-error {e}");
            std::process::exit(1);
        }
    }
}
