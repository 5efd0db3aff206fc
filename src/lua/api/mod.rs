//! The Rust half of the Lua API: raw primitives handed to the Lua prelude.
//!
//! Trust zone: the VM's thread. Raw primitives never raise a Lua error for user input: they
//! return their values, or `FAIL, code, detail` (the private [`Fail`] sentinel, a stable code
//! such as `EINVAL` or `ECONNREFUSED`, and an optional detail). The prelude turns that into the
//! error value users see (`lua/errors.lua`), so what crosses into a script is always a stable
//! code and one clear line, never a Rust `Debug` dump.

pub mod byte_span;
pub mod io;
pub mod json;
pub mod system;

use mlua::{IntoLuaMulti, Lua, MultiValue, Table, Value};

/// The registry key of the private failure sentinel.
pub(crate) const FAIL_KEY: &str = "luacell.fail";

/// Creates the failure sentinel (once per VM).
pub fn install_fail(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    lua.set_named_registry_value(FAIL_KEY, &t)?;
    Ok(t)
}

/// The `FAIL, code, detail` triple a raw primitive returns for a user error.
pub fn fail(lua: &Lua, code: &str, detail: impl Into<String>) -> mlua::Result<MultiValue> {
    let sentinel: Value = lua.named_registry_value(FAIL_KEY)?;
    (sentinel, code, detail.into()).into_lua_multi(lua)
}

/// What a hot raw primitive returns: three values pushed straight onto the Lua stack (a
/// `MultiValue` would allocate on every call). Unused places are nil.
pub type Ret3 = (Value, Value, Value);

/// The `FAIL, code, detail` triple as a [`Ret3`].
pub fn fail3(lua: &Lua, code: &str, detail: impl Into<String>) -> mlua::Result<Ret3> {
    let sentinel: Value = lua.named_registry_value(FAIL_KEY)?;
    Ok((sentinel, Value::String(lua.create_string(code)?), Value::String(lua.create_string(detail.into())?)))
}

/// One value as a [`Ret3`].
pub fn ret1(v: Value) -> Ret3 {
    (v, Value::Nil, Value::Nil)
}

/// The `FAIL, code` pair for an IO error.
pub fn fail_io(lua: &Lua, err: &std::io::Error) -> mlua::Result<MultiValue> {
    let sentinel: Value = lua.named_registry_value(FAIL_KEY)?;
    (sentinel, crate::sys::errno::code_of(err)).into_lua_multi(lua)
}

/// Lua's name for the type of a value, as `type()` says it (for "x expected, got y").
pub fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        Value::UserData(_) | Value::LightUserData(_) => "userdata",
        _ => "value",
    }
}

/// An integer argument: an integer, or a float with an exact integer value.
pub fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        Value::Number(n) if n.fract() == 0.0 && n.is_finite() && n.abs() < 9.0e15 => Some(*n as i64),
        _ => None,
    }
}
