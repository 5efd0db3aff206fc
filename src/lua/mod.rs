//! Lua VM construction and the `luacell run` entry point.
//!
//! Trust zone: the main process (the main VM is trusted and gets Lua's whole standard library).
//! A VM is one `mlua::Lua` state, one IO engine and one fiber scheduler (the prelude in `lua/`);
//! it runs on one thread. The prelude files are compiled into the binary.

pub mod api;
pub mod budget;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

use crate::runtime::Owner;
use crate::runtime::reactor::{Backend, ReactorError};

/// The prelude, in load order: (file, source, modules it provides). Each chunk is called with the
/// raw primitives and the shared internal table; together they define the globals and the
/// built-in modules. A chunk that only provides modules (`mutex`, `time`, ...) runs on the first
/// `require` of one of them, so a VM that never needs it pays neither its time nor its memory.
const PRELUDE: &[(&str, &str, &[&str])] = &[
    ("scheduler.lua", include_str!("../../lua/scheduler.lua"), &[]),
    ("sync.lua", include_str!("../../lua/sync.lua"), &["mutex", "recursive_mutex", "condition_variable", "future"]),
    ("time.lua", include_str!("../../lua/time.lua"), &["time"]),
    ("byte_span.lua", include_str!("../../lua/byte_span.lua"), &[]),
    ("io.lua", include_str!("../../lua/io.lua"), &["stream", "ip", "system", "json"]),
    ("actor.lua", include_str!("../../lua/actor.lua"), &[]),
];

/// What a sandboxed actor's VM runs after the prelude: the standard library narrowed.
const SANDBOXED: &str = include_str!("../../lua/sandboxed.lua");

/// The prelude's bytecode, made by the first VM of the process (or by [`precompile`]).
static PRELUDE_CODE: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
/// `lua/sandboxed.lua`'s bytecode, made by [`precompile`].
static SANDBOXED_CODE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();

/// Compiles luacell's own Lua (the prelude and the sandboxed narrowing) to bytecode once, in a
/// state that runs none of it. The supervisor calls this before its first spawn: every sandboxed
/// actor it forks then inherits the bytecode and starts without parsing.
pub fn precompile() -> Result<(), RunError> {
    if PRELUDE_CODE.get().is_some() && SANDBOXED_CODE.get().is_some() {
        return Ok(());
    }
    let lua = Lua::new_with(StdLib::NONE, LuaOptions::default()).map_err(setup_error)?;
    let compile = |name: &str, code: &str| -> Result<Vec<u8>, RunError> {
        let f = lua
            .load(code)
            .set_mode(mlua::chunk::ChunkMode::Text)
            .set_name(format!("=luacell/{name}"))
            .into_function()
            .map_err(setup_error)?;
        Ok(f.dump(true))
    };
    if PRELUDE_CODE.get().is_none() {
        let dumps = PRELUDE.iter().map(|(name, code, _)| compile(name, code)).collect::<Result<Vec<_>, _>>()?;
        let _ = PRELUDE_CODE.set(dumps);
    }
    if SANDBOXED_CODE.get().is_none() {
        let _ = SANDBOXED_CODE.set(compile("sandboxed.lua", SANDBOXED)?);
    }
    Ok(())
}

/// Set when a fiber died because the Lua heap cap refused an allocation: a sandboxed actor's
/// process then reports the `lua_heap_bytes` limit (see `crate::supervisor`).
pub static HEAP_EXHAUSTED: AtomicBool = AtomicBool::new(false);

/// Why a script could not be run (its own errors are reported by the scheduler, not here).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read script '{path}': {reason}")]
    ReadScript { path: PathBuf, reason: String },
    #[error("{message}")]
    Syntax { message: String },
    #[error(transparent)]
    Reactor(#[from] ReactorError),
    #[error("internal error while setting up the Lua VM: {0}")]
    Setup(String),
    #[error("internal error in the fiber scheduler: {0}")]
    Scheduler(String),
}

/// What `luacell run` needs.
pub struct RunOptions {
    pub script: PathBuf,
    pub args: Vec<String>,
    pub backend: Option<Backend>,
}

/// Runs a script to completion (its VM and every actor it spawns) and returns the process exit
/// status.
pub fn run_script(opts: &RunOptions) -> Result<i32, RunError> {
    let source = std::fs::read(&opts.script).map_err(|e| RunError::ReadScript {
        path: opts.script.clone(),
        reason: e.raw_os_error().map_or_else(|| e.to_string(), crate::sys::errno::describe),
    })?;
    let panicked = Arc::new(AtomicBool::new(false));
    let mut context = crate::actor::Context::new(opts.backend, opts.args.clone(), panicked.clone())?;
    context.start_main(&source, opts.script.clone())?;
    let global = context.global();
    let status = context.run();
    // Actors on contexts of their own run on after the main thread's context ended.
    crate::actor::Context::join_threads(&global);
    let status = status?;
    Ok(if status == 0 && panicked.load(Ordering::Relaxed) { 1 } else { status })
}

/// Registers `provides` in `package.preload` so that the first `require` of one of them loads and
/// runs the chunk (which then installs its own loaders for all of them).
fn lazy_chunk(
    lua: &Lua,
    bytes: &'static [u8],
    chunk_name: String,
    provides: &[&str],
    raw: &Table,
    shared: &Table,
) -> mlua::Result<()> {
    let preload: Table = lua.globals().get::<Table>("package")?.get("preload")?;
    let (raw, shared) = (raw.clone(), shared.clone());
    let ran = std::rc::Rc::new(std::cell::Cell::new(false));
    let stub = lua.create_function(move |lua, name: String| {
        if !ran.replace(true) {
            let f = lua
                .load(bytes)
                .set_mode(mlua::chunk::ChunkMode::Binary)
                .set_name(chunk_name.as_str())
                .into_function()?;
            f.call::<()>((raw.clone(), shared.clone()))?;
        }
        let preload: Table = lua.globals().get::<Table>("package")?.get("preload")?;
        let loader: Function = preload.get(name.as_str())?;
        loader.call::<Value>(name)
    })?;
    for module in provides {
        preload.set(*module, stub.clone())?;
    }
    Ok(())
}

fn setup_error(e: mlua::Error) -> RunError {
    RunError::Setup(e.to_string())
}

/// The VM's role: the first VM, or a spawned actor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmKind {
    Main,
    Worker,
    /// An actor in a sandbox: `_CONTEXT == 'worker'`, the safe subset of the standard library
    /// (`lua/sandboxed.lua`), and a capped heap.
    Sandboxed,
}

/// What a new VM is made with.
pub struct VmInit<'a> {
    pub kind: VmKind,
    pub engine: api::io::SharedEngine,
    /// The VM's owner id on the shared engine.
    pub owner: Owner,
    pub script: &'a str,
    pub args: &'a [String],
    pub panicked: Arc<AtomicBool>,
    /// The Lua heap cap in bytes (sandboxed actors: the profile's `lua_heap_bytes`).
    pub heap_limit: Option<usize>,
}

/// Makes a VM: the standard library, the raw primitives (plus what `extra` installs), the
/// prelude. Returns the VM and the scheduler's table (`start`, `step`, `exit_status`).
pub fn new_vm(init: &VmInit<'_>, extra: &dyn Fn(&Lua, &Table) -> mlua::Result<()>) -> Result<(Lua, Table), RunError> {
    let lua = new_main_lua();
    let s = setup(&lua, init, extra).map_err(setup_error)?;
    if init.kind == VmKind::Sandboxed {
        let chunk = match SANDBOXED_CODE.get() {
            Some(bytes) => lua.load(&bytes[..]).set_mode(mlua::chunk::ChunkMode::Binary),
            None => lua.load(SANDBOXED).set_mode(mlua::chunk::ChunkMode::Text),
        };
        chunk.set_name("=luacell/sandboxed.lua").exec().map_err(setup_error)?;
    }
    if let Some(limit) = init.heap_limit {
        // Past the cap an allocation fails and Lua raises "not enough memory" in the script.
        lua.set_memory_limit(limit.max(lua.used_memory() + 64 * 1024)).map_err(setup_error)?;
    }
    Ok((lua, s))
}

/// The main VM: trusted, with Lua's whole standard library including `debug`. Local actors run
/// the same user's code and get the same.
fn new_main_lua() -> Lua {
    #[allow(unsafe_code)]
    // SAFETY: `debug` (the one library `Lua::new_with` refuses) lets Lua code reach values mlua
    // assumes private; the main VM and local actors run the user's own trusted script (spec:
    // "The main VM is trusted and has Lua's whole standard library"), and no untrusted code ever
    // runs in them.
    let lua = unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::default()) };
    lua
}

/// Installs the raw primitives and runs the prelude; returns the scheduler's table.
fn setup(lua: &Lua, init: &VmInit<'_>, extra: &dyn Fn(&Lua, &Table) -> mlua::Result<()>) -> mlua::Result<Table> {
    // Setting up makes thousands of objects that all stay alive: collecting meanwhile is work
    // for nothing.
    lua.gc_stop();
    let fail = api::install_fail(lua)?;
    let raw = lua.create_table()?;
    raw.set("FAIL", fail)?;
    raw.set("io", api::io::raw_table(lua, init.engine.clone(), init.owner)?)?;
    raw.set("byte_span", api::byte_span::raw_table(lua)?)?;
    raw.set("json", api::json::raw_table(lua)?)?;
    raw.set("system", api::system::raw_table(lua, init.script, init.args)?)?;
    let panicked = init.panicked.clone();
    raw.set(
        "note_panic",
        lua.create_function(move |_, msg: Option<mlua::LuaString>| {
            panicked.store(true, Ordering::Relaxed);
            if msg.is_some_and(|m| m.as_bytes().as_ref() == b"not enough memory") {
                HEAP_EXHAUSTED.store(true, Ordering::Relaxed);
            }
            Ok(())
        })?,
    )?;
    raw.set("describe", lua.create_function(|_, code: String| Ok(describe_code(&code)))?)?;
    if budget::armed() {
        // The scheduler tells it which Lua thread runs (see `budget`); absent, it skips that.
        raw.set("note_running", budget::note_function(lua)?)?;
    }
    extra(lua, &raw)?;
    let shared = lua.create_table()?;
    // The prelude is compiled once per process; later VMs load its bytecode (a spawn then costs
    // no parsing). The bytecode is luacell's own, made in this process from the sources above.
    let cached = PRELUDE_CODE.get();
    let mut dumps = Vec::new();
    for (i, (name, code, provides)) in PRELUDE.iter().enumerate() {
        let chunk_name = format!("=luacell/{name}");
        match cached.and_then(|c| c.get(i)) {
            Some(bytes) if !provides.is_empty() => lazy_chunk(lua, bytes, chunk_name, provides, &raw, &shared)?,
            Some(bytes) => {
                let f = lua
                    .load(&bytes[..])
                    .set_mode(mlua::chunk::ChunkMode::Binary)
                    .set_name(chunk_name)
                    .into_function()?;
                f.call::<()>((raw.clone(), shared.clone()))?;
            }
            None => {
                // The first VM of the process compiles the sources and keeps their bytecode.
                let f = lua.load(*code).set_mode(mlua::chunk::ChunkMode::Text).set_name(chunk_name).into_function()?;
                dumps.push(f.dump(true));
                f.call::<()>((raw.clone(), shared.clone()))?;
            }
        }
    }
    if cached.is_none() {
        let _ = PRELUDE_CODE.set(dumps);
    }
    lua.globals().set("_CONTEXT", if init.kind == VmKind::Main { "main" } else { "worker" })?;
    let registry: Table = shared.get("byte_span_meta")?;
    lua.set_named_registry_value("luacell.byte_span.index", registry.get::<Value>("index")?)?;
    lua.set_named_registry_value("luacell.byte_span.newindex", registry.get::<Value>("newindex")?)?;
    lua.gc_restart();
    Ok(shared)
}

/// Bytecode of the modules actors were started from, by path, with the source it came from: an
/// actor spawned again from an unchanged file loads it instead of parsing (debug info kept, so
/// tracebacks still name the user's lines).
type ModuleCache = std::collections::HashMap<PathBuf, (Vec<u8>, Vec<u8>)>;
static MODULE_CODE: std::sync::Mutex<Option<ModuleCache>> = std::sync::Mutex::new(None);

/// Compiles an actor's module, through the per-process bytecode cache.
pub fn compile_cached(lua: &Lua, source: &[u8], path: &Path) -> Result<Function, RunError> {
    let mut cache = MODULE_CODE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = cache.get_or_insert_with(Default::default);
    if let Some((src, code)) = map.get(path)
        && src.as_slice() == source
    {
        return lua
            .load(&code[..])
            .set_name(format!("@{}", path.display()))
            .set_mode(mlua::chunk::ChunkMode::Binary)
            .into_function()
            .map_err(|e| RunError::Setup(e.to_string()));
    }
    let f = compile(lua, source, path)?;
    map.insert(path.to_path_buf(), (source.to_vec(), f.dump(false)));
    Ok(f)
}

/// Compiles a script or module (text only).
pub fn compile(lua: &Lua, source: &[u8], path: &Path) -> Result<Function, RunError> {
    lua.load(source)
        .set_name(format!("@{}", path.display()))
        .set_mode(mlua::chunk::ChunkMode::Text)
        .into_function()
        .map_err(|e| match e {
            mlua::Error::SyntaxError { message, .. } => {
                RunError::Syntax { message: format!("syntax error: {message}") }
            }
            other => RunError::Syntax { message: format!("cannot load '{}': {other}", path.display()) },
        })
}

/// The human text of an error code: strerror for errno names, a fixed text for luacell's own.
pub fn describe_code(code: &str) -> String {
    match code {
        "EOF" => "end of stream".to_owned(),
        "interrupted" => "fiber interrupted".to_owned(),
        _ => match errno_value(code) {
            Some(n) => crate::sys::errno::describe(n),
            None => code.to_owned(),
        },
    }
}

fn errno_value(code: &str) -> Option<i32> {
    (1..134).find(|&n| crate::sys::errno::name(n) == Some(code))
}
