//! What the integration tests that run the `luacell` binary share.

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a case may run before it counts as hung. Not a speed check: every run finishes in
/// seconds; this only turns a hang into a named failure instead of a stalled CI.
pub const HANG_GUARD: Duration = Duration::from_secs(120);

/// Runs `cmd` to its end, or kills it (it is our own child) once it ran for [`HANG_GUARD`].
pub fn run_guarded(mut cmd: Command) -> Option<Output> {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("luacell runs");
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stdout.read_to_end(&mut b);
        b
    });
    let err_reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = stderr.read_to_end(&mut b);
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for luacell") {
            break Some(status);
        }
        if started.elapsed() > HANG_GUARD {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    // A killed case's own children (its supervisor) die with it and close the pipes.
    let stdout = out_reader.join().expect("stdout reader");
    let stderr = err_reader.join().expect("stderr reader");
    status.map(|status| Output { status, stdout, stderr })
}
