//! Lua VM construction and the `luacell run` entry point.
//!
//! Trust zone: the main process (the main VM is trusted and gets Lua's whole standard library).
//! A VM is one `mlua::Lua` state, one IO engine and one fiber scheduler (the prelude in `lua/`);
//! it runs on one thread. The prelude files are compiled into the binary.

pub mod api;

use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};

use crate::runtime::Engine;
use crate::runtime::reactor::{Backend, ReactorError};

/// The prelude, in load order. Each chunk is called with the raw primitives and the shared
/// internal table; together they define the globals and the built-in modules.
const PRELUDE: &[(&str, &str)] = &[
    ("scheduler.lua", include_str!("../../lua/scheduler.lua")),
    ("sync.lua", include_str!("../../lua/sync.lua")),
    ("time.lua", include_str!("../../lua/time.lua")),
    ("io.lua", include_str!("../../lua/io.lua")),
];

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

/// Runs a script to completion and returns the process exit status.
pub fn run_script(opts: &RunOptions) -> Result<i32, RunError> {
    let source = std::fs::read(&opts.script).map_err(|e| RunError::ReadScript {
        path: opts.script.clone(),
        reason: e.raw_os_error().map_or_else(|| e.to_string(), crate::sys::errno::describe),
    })?;
    let engine = Rc::new(std::cell::RefCell::new(Engine::new(opts.backend)?));
    let panicked = Rc::new(Cell::new(false));
    let status = {
        let lua = new_main_lua();
        let script_name = opts.script.to_string_lossy().into_owned();
        let run = setup(&lua, engine, &script_name, &opts.args, panicked.clone()).map_err(setup_error)?;
        let chunk = compile(&lua, &source, &opts.script)?;
        let status = match run.call::<Value>((chunk, script_name)) {
            Ok(Value::Integer(n)) => i32::try_from(n).unwrap_or(1),
            Ok(_) => 0,
            Err(e) => return Err(RunError::Scheduler(e.to_string())),
        };
        // Dropping the VM runs the finalizers, which print the panics of fibers that were
        // never joined nor detached.
        drop(lua);
        status
    };
    Ok(if status == 0 && panicked.get() { 1 } else { status })
}

fn setup_error(e: mlua::Error) -> RunError {
    RunError::Setup(e.to_string())
}

/// The main VM: trusted, with Lua's whole standard library including `debug`.
fn new_main_lua() -> Lua {
    #[allow(unsafe_code)]
    // SAFETY: `debug` (the one library `Lua::new_with` refuses) lets Lua code reach values mlua
    // assumes private; the main VM runs the user's own trusted script (spec: "The main VM is
    // trusted and has Lua's whole standard library"), and no untrusted code ever runs in it.
    let lua = unsafe { Lua::unsafe_new_with(StdLib::ALL, LuaOptions::default()) };
    lua
}

/// Installs the raw primitives and runs the prelude; returns the scheduler's `run` function.
fn setup(
    lua: &Lua,
    engine: api::io::SharedEngine,
    script: &str,
    args: &[String],
    panicked: Rc<Cell<bool>>,
) -> mlua::Result<Function> {
    let fail = api::install_fail(lua)?;
    let raw = lua.create_table()?;
    raw.set("FAIL", fail)?;
    raw.set("io", api::io::raw_table(lua, engine)?)?;
    raw.set("byte_span", api::byte_span::raw_table(lua)?)?;
    raw.set("json", api::json::raw_table(lua)?)?;
    raw.set("system", api::system::raw_table(lua, script, args)?)?;
    raw.set(
        "note_panic",
        lua.create_function(move |_, ()| {
            panicked.set(true);
            Ok(())
        })?,
    )?;
    raw.set("describe", lua.create_function(|_, code: String| Ok(describe_code(&code)))?)?;
    let shared = lua.create_table()?;
    for (name, code) in PRELUDE {
        let f = lua.load(*code).set_name(format!("=luacell/{name}")).into_function()?;
        f.call::<()>((raw.clone(), shared.clone()))?;
    }
    lua.globals().set("_CONTEXT", "main")?;
    let registry: Table = shared.get("byte_span_meta")?;
    lua.set_named_registry_value("luacell.byte_span.index", registry.get::<Value>("index")?)?;
    lua.set_named_registry_value("luacell.byte_span.newindex", registry.get::<Value>("newindex")?)?;
    shared.get("run")
}

fn compile(lua: &Lua, source: &[u8], path: &Path) -> Result<Function, RunError> {
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
