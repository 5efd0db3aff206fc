//! `json`: encode and decode through serde_json.
//!
//! Mapping: objects <-> tables with string keys; arrays <-> sequences (tables with keys 1..n), and
//! decoded arrays carry a marker metatable so that an empty array encodes back as `[]`; `null`
//! <-> `json.null`; integers stay integers. Cycles and nesting deeper than [`MAX_DEPTH`] are
//! refused, as are NaN and infinities (JSON has no spelling for them).

use mlua::{Lua, MultiValue, Table, Value};
use serde_json::{Map, Number};

use super::{fail, type_name};

pub const MAX_DEPTH: usize = 128;

const ARRAY_MT: &str = "luacell.json.array";

fn to_json(lua: &Lua, v: &Value, depth: usize) -> Result<serde_json::Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("nesting deeper than {MAX_DEPTH} levels (or a cycle)"));
    }
    Ok(match v {
        Value::Nil => serde_json::Value::Null,
        Value::LightUserData(p) if p.0.is_null() => serde_json::Value::Null,
        Value::Boolean(b) => serde_json::Value::Bool(*b),
        Value::Integer(i) => serde_json::Value::Number((*i).into()),
        Value::Number(n) => match Number::from_f64(*n) {
            Some(n) => serde_json::Value::Number(n),
            None => return Err(format!("{n} has no JSON representation")),
        },
        Value::String(s) => match s.to_str() {
            Ok(s) => serde_json::Value::String(s.to_owned()),
            Err(_) => return Err("a string is not valid UTF-8".to_owned()),
        },
        Value::Table(t) => table_to_json(lua, t, depth)?,
        other => return Err(format!("a {} cannot be encoded as JSON", type_name(other))),
    })
}

fn table_to_json(lua: &Lua, t: &Table, depth: usize) -> Result<serde_json::Value, String> {
    let marked = match (t.metatable(), lua.named_registry_value::<Table>(ARRAY_MT)) {
        (Some(mt), Ok(arr)) => mt == arr,
        _ => false,
    };
    let len = t.raw_len();
    let mut count = 0usize;
    let mut all_string_keys = true;
    for pair in t.pairs::<Value, Value>() {
        let (k, _) = pair.map_err(|e| e.to_string())?;
        count += 1;
        if !matches!(k, Value::String(_)) {
            all_string_keys = false;
        }
    }
    if marked || (len > 0 && count == len) {
        let mut out = Vec::with_capacity(len);
        for i in 1..=len {
            let v: Value = t.raw_get(i).map_err(|e| e.to_string())?;
            out.push(to_json(lua, &v, depth + 1)?);
        }
        return Ok(serde_json::Value::Array(out));
    }
    if !all_string_keys {
        return Err("a table must have only string keys (an object) or exactly the keys 1..n (an array)".to_owned());
    }
    let mut map = Map::new();
    for pair in t.pairs::<mlua::LuaString, Value>() {
        let (k, v) = pair.map_err(|e| e.to_string())?;
        let key = k.to_str().map_err(|_| "an object key is not valid UTF-8".to_owned())?.to_owned();
        map.insert(key, to_json(lua, &v, depth + 1)?);
    }
    Ok(serde_json::Value::Object(map))
}

fn from_json(lua: &Lua, v: serde_json::Value) -> mlua::Result<Value> {
    Ok(match v {
        serde_json::Value::Null => Value::NULL,
        serde_json::Value::Bool(b) => Value::Boolean(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Value::Integer(i),
            None => Value::Number(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => Value::String(lua.create_string(s)?),
        serde_json::Value::Array(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.into_iter().enumerate() {
                t.raw_set(i + 1, from_json(lua, item)?)?;
            }
            t.set_metatable(Some(lua.named_registry_value::<Table>(ARRAY_MT)?))?;
            Value::Table(t)
        }
        serde_json::Value::Object(map) => {
            let t = lua.create_table_with_capacity(0, map.len())?;
            for (k, v) in map {
                t.raw_set(k, from_json(lua, v)?)?;
            }
            Value::Table(t)
        }
    })
}

pub fn raw_table(lua: &Lua) -> mlua::Result<Table> {
    let array_mt = lua.create_table()?;
    array_mt.set("__name", "json.array")?;
    lua.set_named_registry_value(ARRAY_MT, &array_mt)?;

    let t = lua.create_table()?;
    t.set("null", Value::NULL)?;
    t.set("array_mt", array_mt)?;
    t.set(
        "encode",
        lua.create_function(|lua, v: Value| match to_json(lua, &v, 0) {
            Ok(j) => match serde_json::to_string(&j) {
                Ok(s) => Ok(MultiValue::from_vec(vec![Value::String(lua.create_string(s)?)])),
                Err(e) => fail(lua, "EINVAL", e.to_string()),
            },
            Err(why) => fail(lua, "EINVAL", why),
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(|lua, v: Value| {
            let Value::String(s) = &v else {
                return fail(lua, "EINVAL", format!("bad argument #1 (string expected, got {})", type_name(&v)));
            };
            match serde_json::from_slice::<serde_json::Value>(&s.as_bytes()) {
                Ok(j) => Ok(MultiValue::from_vec(vec![from_json(lua, j)?])),
                Err(e) => fail(lua, "EINVAL", format!("invalid JSON: {e}")),
            }
        })?,
    )?;
    Ok(t)
}
