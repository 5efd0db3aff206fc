//! The sandbox commands: `luacell exec`, `luacell profile check|show`, `luacell doctor`.
//!
//! Trust zone: the main process, single-threaded (these commands start no runtime), which is what
//! lets `exec` clone its sandbox directly.

use std::ffi::{CString, OsString};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStringExt;

use crate::cli::{USAGE, error_chain};
use crate::sandbox::profile::SHIPPED;
use crate::sandbox::{Features, Isolation, LandlockStatus, Payload, Plan, Profile, SpawnError, UserNamespaces, spawn};
use crate::sys::process::{self, SigSet};

/// Exit status when luacell cannot set the sandbox up (as `env` and container runners do).
const SETUP_FAILED: i32 = 125;
const CANNOT_EXECUTE: i32 = 126;
const NOT_FOUND: i32 = 127;

fn load_plan(spec: &str) -> Result<Plan, String> {
    let profile = Profile::load(spec).map_err(|e| error_chain(&e))?;
    let features = Features::probe();
    Plan::build(spec, &profile, &features, process::ids()).map_err(|e| error_chain(&e))
}

/// `luacell exec --profile P [--] CMD [ARGS...]`.
pub fn exec(args: Vec<OsString>) -> i32 {
    let mut args = args.into_iter().peekable();
    let mut profile = None;
    while let Some(a) = args.peek() {
        match a.to_str() {
            Some("--profile") => {
                args.next();
                match args.next().map(OsString::into_string) {
                    Some(Ok(p)) => profile = Some(p),
                    _ => {
                        eprintln!("luacell: exec: --profile needs a profile name or path\n{USAGE}");
                        return 2;
                    }
                }
            }
            Some(s) if s.starts_with("--profile=") => {
                profile = Some(s["--profile=".len()..].to_owned());
                args.next();
            }
            Some("--") => {
                args.next();
                break;
            }
            Some(s) if s.starts_with('-') => {
                eprintln!("luacell: exec: unknown option '{s}'\n{USAGE}");
                return 2;
            }
            _ => break,
        }
    }
    let Some(profile) = profile else {
        eprintln!("luacell: exec: --profile is required (e.g. --profile exec-readonly)\n{USAGE}");
        return 2;
    };
    let argv: Vec<OsString> = args.collect();
    if argv.is_empty() {
        eprintln!("luacell: exec: no command given\n{USAGE}");
        return 2;
    }
    let mut cargv = Vec::with_capacity(argv.len());
    for a in &argv {
        match CString::new(a.clone().into_vec()) {
            Ok(c) => cargv.push(c),
            Err(_) => {
                eprintln!("luacell: exec: argument {:?} contains a NUL byte", a.to_string_lossy());
                return 2;
            }
        }
    }
    let command = argv[0].to_string_lossy().into_owned();
    // This process only plans and waits: its few pages need no huge pages, and without them the
    // clone and the reaper's fork copy and fault small pages (the payload restores the default).
    let _ = process::prctl(libc::PR_SET_THP_DISABLE, 1);
    let plan = match load_plan(&profile) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("luacell: exec: {e}");
            return SETUP_FAILED;
        }
    };
    for n in &plan.not_enforced {
        eprintln!("luacell: warning: profile {profile}: not enforced on this kernel: {n}");
    }
    // Forwarded signals are taken as events here and passed on to the sandbox.
    let forwarded = SigSet::of(&process::FORWARDED_SIGNALS);
    let signals = match process::sigprocmask(libc::SIG_BLOCK, &forwarded).and_then(|_| process::signalfd(&forwarded)) {
        Ok(fd) => fd,
        Err(e) => {
            eprintln!("luacell: exec: cannot set up signal forwarding: {e}");
            return SETUP_FAILED;
        }
    };
    let payload = Payload::Exec { program: cargv[0].clone(), argv: cargv };
    let child = match spawn(&plan, payload, &[]) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("luacell: exec: {}", error_chain(&e));
            return SETUP_FAILED;
        }
    };
    if child.landlock == LandlockStatus::Partially || child.landlock == LandlockStatus::NotEnforced {
        eprintln!("luacell: warning: profile {profile}: Landlock was only partly enforced by this kernel");
    }
    match child.wait(&plan, Some(signals.as_fd())) {
        Ok(outcome) => {
            if let Some(limit) = outcome.limit {
                eprintln!("luacell: {command} was stopped by {} of profile {profile}", limit.describe());
            }
            outcome.status.code()
        }
        Err(SpawnError::Exec { errno }) => {
            let hint = if errno == libc::ENOSYS {
                " (the profile's seccomp list does not allow execve; profiles for commands use the 'exec' preset)"
            } else {
                ""
            };
            eprintln!("luacell: exec: cannot execute {command}: {}{hint}", crate::sys::errno::describe(errno));
            if errno == libc::ENOENT { NOT_FOUND } else { CANNOT_EXECUTE }
        }
        Err(e) => {
            eprintln!("luacell: exec: {}", error_chain(&e));
            SETUP_FAILED
        }
    }
}

/// `luacell profile check|show P`.
#[allow(clippy::print_stdout)]
pub fn profile(args: Vec<OsString>) -> i32 {
    let args: Vec<String> = args.into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let (verb, spec) = match args.as_slice() {
        [v, p] if v == "check" || v == "show" => (v.as_str(), p.as_str()),
        _ => {
            eprintln!("luacell: profile: expected 'check PROFILE' or 'show PROFILE'\n{USAGE}");
            return 2;
        }
    };
    if verb == "show" {
        let text = match SHIPPED.iter().find(|(n, _)| *n == spec) {
            Some((_, t)) => (*t).to_owned(),
            None => match std::fs::read_to_string(spec) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("luacell: profile show: cannot read {spec}: {e}");
                    return 1;
                }
            },
        };
        if let Err(e) = Profile::parse(&text, spec) {
            eprintln!("luacell: {}", error_chain(&e));
            return 1;
        }
        print!("{text}");
        return 0;
    }
    match load_plan(spec) {
        Ok(plan) => {
            println!("profile {spec}: valid");
            for line in plan.describe() {
                println!("  {line}");
            }
            if plan.not_enforced.is_empty() {
                println!("everything this profile asks for is enforced on this kernel");
            }
            0
        }
        Err(e) => {
            eprintln!("luacell: {e}");
            1
        }
    }
}

/// `luacell doctor`: what this kernel lets luacell enforce, in plain words, and a real sandbox
/// spawn under `untrusted-plugin` to prove it.
#[allow(clippy::print_stdout)]
pub fn doctor() -> i32 {
    let f = Features::probe();
    let yes_no = |b: bool| if b { "yes" } else { "no " };
    println!("luacell doctor (kernel {})", f.kernel);
    let mut ok = true;
    match &f.user_namespaces {
        UserNamespaces::Available => println!(
            "  user namespaces  yes  sandboxes get their own pid, mount, network and IPC namespaces and a private file tree"
        ),
        UserNamespaces::Blocked(why) => {
            ok = false;
            println!(
                "  user namespaces  no   profiles that need them cannot run; those that allow it fall back to Landlock + seccomp + rlimits. Blocked by: {why}"
            );
        }
    }
    let ll = f.landlock_abi;
    println!(
        "  landlock         {}  {}",
        yes_no(ll > 0),
        match ll {
            0 =>
                "no file-system or network rules from Landlock; profiles with landlock 'required' cannot run".to_owned(),
            1..=3 => format!("ABI {ll}: file rules only; no TCP rules or scopes (shipped profiles need ABI 6)"),
            4 | 5 => format!(
                "ABI {ll}: file and TCP rules; no signal or abstract-socket scopes (shipped profiles need ABI 6)"
            ),
            _ => format!(
                "ABI {ll}: file rules, TCP rules, signal and abstract-socket scopes: everything the profiles use"
            ),
        }
    );
    ok &= ll >= 6;
    println!(
        "  seccomp          {}  {}",
        yes_no(f.seccomp),
        if f.seccomp {
            "system calls are filtered (io_uring is always denied inside sandboxes)"
        } else {
            "no system-call filtering: sandboxes cannot run"
        }
    );
    ok &= f.seccomp;
    println!(
        "  io_uring         {}  {}",
        yes_no(f.io_uring),
        if f.io_uring {
            "luacell run uses io_uring for IO outside sandboxes"
        } else {
            "luacell run uses epoll (io_uring is disabled or absent); nothing is lost but some speed"
        }
    );
    println!(
        "  cgroup v2        {}  {}",
        yes_no(f.cgroup2),
        if f.cgroup2 {
            "available (luacell limits use rlimits and its own budgets, not cgroups)"
        } else {
            "absent (luacell does not need it)"
        }
    );
    println!(
        "  pidfd            {}  {}",
        yes_no(f.pidfd),
        if f.pidfd {
            "children are signalled and waited for through pidfds, with no pid-reuse race"
        } else {
            "missing: sandboxes cannot be spawned (Linux >= 5.3 needed)"
        }
    );
    ok &= f.pidfd;
    println!(
        "  clone3           {}  {}",
        yes_no(f.clone3),
        if f.clone3 {
            "available (inside sandboxes it gets ENOSYS on purpose so libc falls back to clone)"
        } else {
            "absent (luacell uses clone)"
        }
    );
    let test = Profile::load("untrusted-plugin")
        .map_err(|e| error_chain(&e))
        .and_then(|p| Plan::build("untrusted-plugin", &p, &f, process::ids()).map_err(|e| error_chain(&e)))
        .and_then(|plan| {
            let child = spawn(&plan, Payload::Function(Box::new(|| 0)), &[]).map_err(|e| error_chain(&e))?;
            let outcome = child.wait(&plan, None).map_err(|e| error_chain(&e))?;
            if outcome.status.code() == 0 && plan.isolation == Isolation::Namespaces {
                Ok(())
            } else {
                Err(format!("the test sandbox ended with status {}", outcome.status.code()))
            }
        });
    match test {
        Ok(()) => println!("  self-test        yes  a sandbox under untrusted-plugin was set up and ran"),
        Err(e) => {
            ok = false;
            println!("  self-test        no   {e}");
        }
    }
    if ok {
        println!("every shipped profile can be enforced here");
        0
    } else {
        println!("some protections are missing here; see above");
        1
    }
}
