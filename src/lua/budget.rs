//! The CPU budget of a sandboxed actor, enforced inside its VMs on top of `RLIMIT_CPU`.
//!
//! Trust zone: a sandboxed actor's process, after the lockdown. It has one thread: a sandboxed
//! actor cannot start threads (`actor/mod.rs` refuses), so the signal handler below always runs
//! on the thread whose Lua state it touches.
//!
//! The kernel keeps the count. The profile's `cpu_seconds` is the process's `RLIMIT_CPU` soft
//! limit, which sends SIGXCPU; the hard limit, a second later, sends SIGKILL. Armed, the process
//! handles SIGXCPU: the handler sets a count hook on the Lua thread running at that moment, and
//! that hook, at the next Lua instruction, says on stderr where the budget ran out and ends the
//! process by SIGXCPU, so the supervisor reports `limit cpu_seconds` exactly as for the
//! kernel's own signal. Until then the budget costs Lua code nothing: no hook is set before the
//! budget is spent (a count hook set from the start sends every instruction through Lua's hook
//! path; measured 2.4x slower on a plain loop). Code that runs no Lua instruction, such as one
//! long C call (a pathological `string.find`), is stopped by the hard limit.
//!
//! Which Lua thread runs: the prelude's scheduler calls [`note_function`]'s function with the
//! coroutine it is about to resume and with the resumer once control is back (fibers and user
//! coroutines alike), and the context loop clears the record between turns. The note function
//! keeps the coroutine it records in a table of its own, so the pointer the handler reads always
//! names a live Lua thread: one that is running, or one kept alive by that table.
//!
//! Invariants: [`RUNNING`] is null or a live `lua_State` of a VM in its turn (VMs are closed and
//! collected only inside [`outside_turns`], which keeps it null); the handler's only
//! Lua call is `lua_sethook`, which stores four fields and marks the thread's frames (the same
//! call Lua's own `lua.c` makes from its SIGINT handler).
//!
//! `unsafe` here: Lua's C API (a hook, a C function with an upvalue, `lua_sethook`) is the only
//! way to reach a running Lua thread from a signal handler; mlua has no safe form of it.
#![allow(unsafe_code)]

use std::ffi::{CStr, c_int};
use std::io::Write;
use std::ptr::null_mut;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

use mlua::{Function, Lua, ffi};

use crate::sys::process;

/// The budget this process enforces (set once, by [`arm`]).
struct Budget {
    seconds: u64,
    /// The actor's module, for the report.
    actor: String,
}

static BUDGET: OnceLock<Budget> = OnceLock::new();
/// The Lua thread running now, or null between turns.
static RUNNING: AtomicPtr<ffi::lua_State> = AtomicPtr::new(null_mut());
/// Set by the handler: the budget is spent, every thread noted from now on stops at once.
static SPENT: AtomicBool = AtomicBool::new(false);
/// Set while a VM is closed or collected outside a turn: its finalizers may call the note
/// function, which then records nothing (their threads may be freed before the next turn).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Enforces a budget of `seconds` of CPU time (the process's `RLIMIT_CPU` soft limit, set by the
/// sandbox) in this process's VMs. Called once, before the first VM is made.
pub fn arm(seconds: u64, actor: &str) -> std::io::Result<()> {
    if BUDGET.set(Budget { seconds, actor: actor.to_owned() }).is_err() {
        return Ok(());
    }
    process::on_signal(libc::SIGXCPU, on_sigxcpu)
}

/// Whether this process enforces a budget (its VMs then get the note function).
pub fn armed() -> bool {
    BUDGET.get().is_some()
}

/// No Lua thread runs until the next turn (the context loop calls this after each one). A no-op
/// in a process without a budget, whose threads then share no cache line for it.
pub fn between_turns() {
    if armed() {
        RUNNING.store(null_mut(), Ordering::SeqCst);
    }
}

/// Runs `f` (closing or collecting VMs outside a turn) with nothing recorded as running, so
/// that the handler never reaches a thread that `f` frees. A finalizer's loop there is left to
/// the hard limit, as Lua runs finalizers without hooks anyway.
pub fn outside_turns<R>(f: impl FnOnce() -> R) -> R {
    if !armed() {
        return f();
    }
    QUIET.store(true, Ordering::SeqCst);
    RUNNING.store(null_mut(), Ordering::SeqCst);
    let r = f();
    RUNNING.store(null_mut(), Ordering::SeqCst);
    QUIET.store(false, Ordering::SeqCst);
    r
}

extern "C" fn on_sigxcpu(_: c_int) {
    SPENT.store(true, Ordering::SeqCst);
    let l = RUNNING.load(Ordering::SeqCst);
    if !l.is_null() {
        // SAFETY: `l` is a live Lua thread of the VM in its turn on this, the only, thread (the
        // module's invariant); lua_sethook only stores the hook fields and marks the thread's
        // frames, which Lua allows from a signal handler. Between turns RUNNING is null and
        // the next note sets the hook instead.
        unsafe { ffi::lua_sethook(l, Some(stop), ffi::LUA_MASKCOUNT, 1) };
    }
}

/// The hook set once the budget is spent: says where, and ends the process.
unsafe extern "C-unwind" fn stop(l: *mut ffi::lua_State, ar: *mut ffi::lua_Debug) {
    // SAFETY: Lua calls a hook with its running thread and the activation record it made for
    // this call; "Sl" fills the source and current-line fields of that record, allocating
    // nothing, so nothing can raise a Lua error here.
    let found = unsafe { ffi::lua_getinfo(l, c"Sl".as_ptr(), ar) } != 0;
    let at = if found {
        // SAFETY: after a successful lua_getinfo with 'S', `short_src` holds a NUL-terminated
        // string inside the record `ar` points to.
        let src = unsafe { CStr::from_ptr((*ar).short_src.as_ptr()) };
        // SAFETY: as above, `ar` is the live record lua_getinfo filled ('l': currentline).
        let line = unsafe { (*ar).currentline };
        if line > 0 {
            format!(" at {}:{line}", src.to_string_lossy())
        } else {
            format!(" in {}", src.to_string_lossy())
        }
    } else {
        String::new()
    };
    if let Some(b) = BUDGET.get() {
        // Not eprintln: a stderr that cannot be written to must not turn the stop into a panic.
        let _ = writeln!(
            std::io::stderr(),
            "luacell: sandboxed actor {}: CPU budget used up (limits.cpu_seconds = {}){at}; stopping it",
            b.actor,
            b.seconds
        );
    }
    process::die_of(libc::SIGXCPU)
}

/// `note(co)`: records the Lua thread `co` as the one running (and keeps it alive); once the
/// budget is spent, sets the stopping hook on it. Anything but a thread is ignored.
unsafe extern "C-unwind" fn note(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls a C function with a valid state; lua_tothread accepts any index in the
    // frame and answers null for a non-thread or a missing argument.
    let co = unsafe { ffi::lua_tothread(l, 1) };
    if co.is_null() || QUIET.load(Ordering::SeqCst) {
        return 0;
    }
    // SAFETY: index 1 exists (it holds `co`); settop only drops extra arguments.
    unsafe { ffi::lua_settop(l, 1) };
    // SAFETY: upvalue 1 is the pin table made by `note_function` with slot 1 in its array part,
    // so the raw store replaces a value in place: it allocates nothing and cannot raise. It pops
    // `co`, now kept alive by the table.
    unsafe { ffi::lua_rawseti(l, ffi::lua_upvalueindex(1), 1) };
    RUNNING.store(co, Ordering::SeqCst);
    if SPENT.load(Ordering::SeqCst) {
        // SAFETY: `co` is a live thread (pinned just above) of the VM running on this thread.
        unsafe { ffi::lua_sethook(co, Some(stop), ffi::LUA_MASKCOUNT, 1) };
    }
    0
}

/// The note function for one VM, with its own pin table.
pub fn note_function(lua: &Lua) -> mlua::Result<Function> {
    let pin = lua.create_table_with_capacity(1, 0)?;
    pin.raw_set(1, false)?;
    // SAFETY: exec_raw runs the closure in a protected call with `pin` as the only value on the
    // stack; lua_pushcclosure pops it as the upvalue of `note` and pushes the closure, which is
    // the one result taken.
    unsafe { lua.exec_raw::<Function>(pin, |state| ffi::lua_pushcclosure(state, note, 1)) }
}
