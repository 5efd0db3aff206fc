//! The `luacell` binary: argv to a command, errors printed; everything else is in the library.

#[global_allocator]
static GLOBAL: luacell::Allocator = mimalloc::MiMalloc;

fn main() {
    let status = luacell::cli::main(std::env::args_os().collect());
    std::process::exit(status);
}
