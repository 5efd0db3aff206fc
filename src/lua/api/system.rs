//! `system`: arguments, environment, exit. The stdio streams are built in the prelude on
//! `io::stdio` handles.

use std::io::Write;

use mlua::{Lua, Table, Value};

use super::{as_integer, fail, type_name};

pub fn raw_table(lua: &Lua, script: &str, args: &[String]) -> mlua::Result<Table> {
    let t = lua.create_table()?;

    let arguments = lua.create_table()?;
    arguments.raw_set(1, script)?;
    for (i, a) in args.iter().enumerate() {
        arguments.raw_set(i + 2, a.as_str())?;
    }
    t.set("arguments", arguments)?;

    let environment = lua.create_table()?;
    for (k, v) in std::env::vars_os() {
        environment.raw_set(lua.create_string(k.as_encoded_bytes())?, lua.create_string(v.as_encoded_bytes())?)?;
    }
    t.set("environment", environment)?;

    t.set(
        "exit",
        lua.create_function(|lua, code: Value| {
            let code = match &code {
                Value::Nil => 0,
                v => match as_integer(v).and_then(|c| u8::try_from(c).ok()) {
                    Some(c) => i32::from(c),
                    None => {
                        return fail(
                            lua,
                            "EINVAL",
                            format!(
                                "exit status must be an integer in [0, 255], got {}",
                                match v {
                                    Value::Integer(i) => i.to_string(),
                                    Value::Number(n) => n.to_string(),
                                    other => type_name(other).to_owned(),
                                }
                            ),
                        );
                    }
                },
            };
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().flush();
            // libc's exit flushes the C stdio buffers Lua's `io` library writes through.
            std::process::exit(code);
        })?,
    )?;

    Ok(t)
}
