//! luacell-reaper: the pid 1 of a sandbox, as a program of its own.
//!
//! Trust zone: a sandbox's pid 1, after the lockdown (its namespaces, Landlock, rlimits and its
//! own seccomp list are inherited across the `execveat` that starts it).
//!
//! The sandbox layer (`src/sandbox/apply.rs`) forks the payload, then replaces itself with this
//! program, run from a sealed, execute-only memfd: pid 1 then holds a few pages of its own
//! instead of a copy of the spawner's memory. Its file being unreadable, the kernel makes it
//! non-dumpable from its first instruction (unless `fs.suid_dumpable` is 1), and its first
//! call makes sure of it. It does what the built-in reaper does: waits for a
//! forwarded signal or SIGCHLD (blocked by the sandbox layer before the fork, and kept blocked
//! across `execve`), forwards the signal to the payload, reaps every child, and when the
//! payload ends writes its status record to the report pipe and exits with the shell's code for
//! it (pid 1 cannot die of a signal it sends itself).
//!
//! `argv`: the payload's pid and the report descriptor, in decimal. Anything else is a setup
//! error: it exits 127, as the built-in reaper does when it cannot start.
//!
//! Built by `build.rs` with rustc alone: `no_std`, no libc, raw x86-64 Linux syscalls, static,
//! about a kilobyte. The record layout is `Record::PayloadStatus` of `src/sandbox/report.rs`
//! (16 bytes: kind 3, raw wait status, CPU milliseconds, 0, native-endian u32 each). Every
//! sandbox test that checks how a payload ended reads it; `exec_pid_1_is_luacell_reaper` in
//! `tests/sandbox_exec.rs` shows this program is the one running.
#![no_std]
#![no_main]

use core::arch::{asm, naked_asm};
use core::mem::MaybeUninit;

const SYS_WRITE: usize = 1;
const SYS_RT_SIGPROCMASK: usize = 14;
const SYS_KILL: usize = 62;
const SYS_WAIT4: usize = 61;
const SYS_RT_SIGTIMEDWAIT: usize = 128;
const SYS_PRCTL: usize = 157;
const SYS_EXIT_GROUP: usize = 231;

const PR_SET_DUMPABLE: usize = 4;
const SIGKILL: usize = 9;

const SIGCHLD: usize = 17;
const WNOHANG: usize = 1;
const SIG_BLOCK: usize = 0;
const EINTR: isize = 4;
const EAGAIN: isize = 11;
/// The size of the kernel's signal set.
const SIGSET_BYTES: usize = 8;

const PAYLOAD_RECORD: u32 = 3;

/// The kernel's `struct rusage`: two timevals, then fourteen longs.
#[repr(C)]
struct Rusage {
    utime: [i64; 2],
    stime: [i64; 2],
    _rest: [i64; 14],
}

/// The entry point: hands the initial stack (argc, argv, ...) to [`start`].
#[unsafe(naked)]
#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    naked_asm!("mov rdi, rsp", "and rsp, -16", "call {start}", "ud2", start = sym start)
}

/// A raw syscall with up to four arguments; returns the kernel's answer (negative errno).
fn syscall4(n: usize, a: usize, b: usize, c: usize, d: usize) -> isize {
    let ret: isize;
    // SAFETY: the `syscall` instruction clobbers only rax (the result), rcx and r11; every
    // pointer passed by the callers below is to a live local of the right size.
    unsafe {
        asm!(
            "syscall",
            inlateout("rax") n as isize => ret,
            in("rdi") a,
            in("rsi") b,
            in("rdx") c,
            in("r10") d,
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        )
    };
    ret
}

fn exit(code: i32) -> ! {
    loop {
        syscall4(SYS_EXIT_GROUP, code as usize, 0, 0, 0);
    }
}

/// A decimal argument; `None` for anything else.
///
/// # Safety
/// `p` is a NUL-terminated string from the kernel's argv.
unsafe fn decimal(p: *const u8) -> Option<usize> {
    if p.is_null() {
        return None;
    }
    let mut v: usize = 0;
    let mut i = 0;
    loop {
        // SAFETY: the string is NUL-terminated and read up to that NUL only.
        let c = unsafe { *p.add(i) };
        if c == 0 {
            return if i == 0 { None } else { Some(v) };
        }
        if !c.is_ascii_digit() || i >= 9 {
            return None;
        }
        v = v * 10 + usize::from(c - b'0');
        i += 1;
    }
}

fn millis(tv: [i64; 2]) -> u64 {
    (tv[0].max(0) as u64).saturating_mul(1000).saturating_add(tv[1].max(0) as u64 / 1000)
}

/// # Safety
/// `sp` is the initial stack pointer the kernel set up: argc, then argc argv pointers.
unsafe extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: the kernel puts argc at the top of the initial stack.
    let argc = unsafe { *sp };
    if argc != 3 {
        exit(127);
    }
    // SAFETY: argv[1] and argv[2] exist (argc is 3) and are NUL-terminated strings.
    let (payload, report) = unsafe { (decimal(*sp.add(2) as *const u8), decimal(*sp.add(3) as *const u8)) };
    let (Some(payload), Some(report)) = (payload, report) else { exit(127) };
    // execve made this process dumpable again unless the kernel's rule for an unreadable
    // program applied (it depends on fs.suid_dumpable): say so explicitly, or end the sandbox.
    if syscall4(SYS_PRCTL, PR_SET_DUMPABLE, 0, 0, 0) != 0 {
        syscall4(SYS_KILL, payload, SIGKILL, 0, 0);
        exit(127);
    }
    // The set to wait on is what the sandbox layer blocked: the forwarded signals and SIGCHLD.
    let mut set: u64 = 0;
    let r = syscall4(SYS_RT_SIGPROCMASK, SIG_BLOCK, 0, &mut set as *mut u64 as usize, SIGSET_BYTES);
    if r < 0 || set & (1 << (SIGCHLD - 1)) == 0 {
        exit(127);
    }
    loop {
        let sig = syscall4(SYS_RT_SIGTIMEDWAIT, &set as *const u64 as usize, 0, 0, SIGSET_BYTES);
        if sig == -EINTR || sig == -EAGAIN || sig < 0 {
            continue;
        }
        if sig as usize != SIGCHLD {
            syscall4(SYS_KILL, payload, sig as usize, 0, 0);
            continue;
        }
        loop {
            let mut status: i32 = 0;
            // Left for the kernel to fill (zeroing it would need a memset, which this program
            // does not link).
            let mut usage = MaybeUninit::<Rusage>::uninit();
            let pid = syscall4(
                SYS_WAIT4,
                usize::MAX, // -1: any child
                &mut status as *mut i32 as usize,
                WNOHANG,
                usage.as_mut_ptr() as usize,
            );
            if pid <= 0 {
                break;
            }
            if pid as usize == payload {
                // SAFETY: wait4 returned a child, so it filled `usage`.
                let usage = unsafe { usage.assume_init() };
                let cpu = millis(usage.utime).saturating_add(millis(usage.stime));
                let cpu = u32::try_from(cpu).unwrap_or(u32::MAX);
                // Native-endian u32 words: the bytes of `Record::PayloadStatus`.
                let record: [u32; 4] = [PAYLOAD_RECORD, status as u32, cpu, 0];
                syscall4(SYS_WRITE, report, record.as_ptr() as usize, 16, 0);
                let signaled = status & 0x7f != 0 && status & 0x7f != 0x7f;
                exit(if signaled { 128 + (status & 0x7f) } else { (status >> 8) & 0xff });
            }
        }
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    exit(127)
}
