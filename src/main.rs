//! The `luacell` binary: argv to a command, errors printed; everything else is in the library.

#[global_allocator]
static GLOBAL: luacell::Allocator = mimalloc::MiMalloc;

fn main() {
    // `luacell run` may start sandboxed actors: their supervisor is forked now, before any
    // thread exists and before the script, its arguments or the environment are read (only the
    // command word is looked at).
    if std::env::args_os().nth(1).is_some_and(|c| c == "run") {
        match luacell::supervisor::start() {
            Ok((ctl, pidfd)) => luacell::actor::child::set_supervisor(ctl, pidfd),
            Err(e) => eprintln!("luacell: cannot start the sandbox supervisor ({e}); sandboxed actors are unavailable"),
        }
    }
    let status = luacell::cli::main(std::env::args_os().collect());
    // Sandboxed actors still running die now, while this process still holds its ends of their
    // channels: none of them sees the host go and reacts (a panic printed after the host ended).
    luacell::actor::child::stop_supervisor();
    std::process::exit(status);
}
