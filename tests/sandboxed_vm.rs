//! The VM a sandboxed actor runs: the safe subset of the standard library and a capped heap.
//! (The process-level lockdown around it is proved by the escape suite.)

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use luacell::lua::{VmInit, VmKind, new_vm};
use luacell::runtime::Engine;
use luacell::runtime::reactor::Backend;
use mlua::{Lua, Value};

fn vm(kind: VmKind, heap_limit: Option<usize>) -> Lua {
    let engine = Rc::new(RefCell::new(Engine::new(Some(Backend::Epoll)).expect("engine")));
    let init = VmInit {
        kind,
        engine,
        owner: 0,
        script: "test.lua",
        args: &[],
        panicked: Arc::new(AtomicBool::new(false)),
        heap_limit,
    };
    let (lua, _) = new_vm(&init, &|_, _| Ok(())).expect("vm");
    lua
}

fn eval(lua: &Lua, code: &str) -> String {
    match lua.load(code).eval::<Value>() {
        Ok(v) => v.to_string().unwrap_or_else(|e| format!("(unprintable: {e})")),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn sandboxed_vm_has_no_unsafe_library_parts() {
    let lua = vm(VmKind::Sandboxed, None);
    for name in ["io", "debug", "dofile", "loadfile"] {
        assert_eq!(eval(&lua, &format!("return type({name})")), "nil", "{name}");
    }
    for name in ["execute", "exit", "getenv", "remove", "rename", "tmpname"] {
        assert_eq!(eval(&lua, &format!("return type(os.{name})")), "nil", "os.{name}");
    }
    assert_eq!(eval(&lua, "return type(package.loadlib)"), "nil");
    assert_eq!(eval(&lua, "return #package.searchers"), "1");
    assert_eq!(eval(&lua, "return _CONTEXT"), "worker");
    // What stays works.
    assert_eq!(eval(&lua, "return type(os.clock())"), "number");
    assert_eq!(eval(&lua, "return load('return 1 + 1')()"), "2");
    assert_eq!(eval(&lua, "return type(require('time').sleep)"), "function");
    assert_eq!(eval(&lua, "return type(spawn)"), "function");
    // Modules reach a sandboxed actor as code, not from files.
    assert!(eval(&lua, "return require('./x')").contains("a sandboxed actor has no file system"));
    assert!(eval(&lua, "return require('socket')").contains("module 'socket' not found"));
}

#[test]
fn sandboxed_vm_refuses_binary_chunks() {
    let lua = vm(VmKind::Sandboxed, None);
    let out = eval(&lua, "local bc = string.dump(function() return 42 end) return load(bc, 'x', 'b')");
    assert!(out.contains("can only load text chunks"), "{out}");
    // Even without a mode, a binary chunk is refused by the text-only load.
    let out = eval(&lua, "local bc = string.dump(function() return 42 end) return select(2, load(bc))");
    assert!(out.contains("attempt to load a binary chunk"), "{out}");
}

#[test]
fn worker_vm_keeps_the_whole_library_control() {
    // The control: the same checks on a local actor's VM find everything there.
    let lua = vm(VmKind::Worker, None);
    for name in ["io", "debug", "dofile", "loadfile"] {
        assert_ne!(eval(&lua, &format!("return type({name})")), "nil", "{name}");
    }
    assert_eq!(eval(&lua, "return type(os.execute)"), "function");
}

#[test]
fn sandboxed_vm_heap_is_capped() {
    let lua = vm(VmKind::Sandboxed, Some(4 << 20));
    let out = eval(&lua, "local t = {} for i = 1, 1e8 do t[i] = string.rep('x', 1024) .. i end return #t");
    assert!(out.contains("not enough memory"), "{out}");
    // The VM survives its failed allocation: the garbage goes, and small work goes on.
    assert_eq!(eval(&lua, "collectgarbage() return 1 + 1"), "2");
    // The control: without a cap the same VM kind allocates well past 4 MiB.
    let free = vm(VmKind::Sandboxed, None);
    assert_eq!(eval(&free, "local t = {} for i = 1, 8192 do t[i] = string.rep('x', 1024) .. i end return #t"), "8192");
}
