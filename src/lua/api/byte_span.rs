//! `byte_span`: a mutable byte buffer whose slices share memory (Go-slice model, 1-based).
//!
//! A span is a window `[start, start + len)` on a shared storage of fixed size; `cap` is how far
//! the window may grow (`slice` up to the capacity, `append` in place). The storage never
//! changes size, so a slice stays valid whatever its siblings do. IO never lends the storage to
//! the kernel: reads land in an op-owned buffer and are copied in on completion (see
//! `runtime::engine`), so no byte here is written behind Rust's back.

use std::cell::RefCell;
use std::rc::Rc;

use mlua::{AnyUserData, Lua, MetaMethod, MultiValue, UserData, UserDataFields, UserDataMethods, Value};

use super::{as_integer, fail, fail3, ret1, type_name};

/// Spans larger than this are refused (`ENOMEM`-free, explicit): 1 GiB.
pub const MAX_CAPACITY: usize = 1 << 30;

pub type Storage = Rc<RefCell<Box<[u8]>>>;

pub struct ByteSpan {
    pub storage: Storage,
    pub start: usize,
    pub len: usize,
    /// Capacity from `start`.
    pub cap: usize,
}

impl ByteSpan {
    pub fn new(len: usize, cap: usize) -> Self {
        let storage = Rc::new(RefCell::new(vec![0u8; cap].into_boxed_slice()));
        Self { storage, start: 0, len, cap }
    }

    pub fn from_bytes(bytes: &[u8]) -> Self {
        let storage = Rc::new(RefCell::new(bytes.to_vec().into_boxed_slice()));
        Self { storage, start: 0, len: bytes.len(), cap: bytes.len() }
    }

    /// Runs `f` on the span's bytes.
    pub fn with<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        let s = self.storage.borrow();
        f(&s[self.start..self.start + self.len])
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.with(<[u8]>::to_vec)
    }
}

impl UserData for ByteSpan {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_method(MetaMethod::Len, |_, this, ()| Ok(this.len));
        methods.add_meta_method(MetaMethod::ToString, |lua, this, ()| this.with(|b| lua.create_string(b)));
        methods.add_meta_function(MetaMethod::Eq, |_, (a, b): (Value, Value)| {
            let (Value::UserData(a), Value::UserData(b)) = (a, b) else { return Ok(false) };
            let (Ok(a), Ok(b)) = (a.borrow::<ByteSpan>(), b.borrow::<ByteSpan>()) else { return Ok(false) };
            Ok(a.to_vec() == b.to_vec())
        });
    }

    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        fields
            .add_meta_field_with(MetaMethod::Index, |lua| lua.named_registry_value::<Value>("luacell.byte_span.index"));
        fields.add_meta_field_with(MetaMethod::NewIndex, |lua| {
            lua.named_registry_value::<Value>("luacell.byte_span.newindex")
        });
        fields.add_meta_field(MetaMethod::Type, "byte_span");
    }
}

fn bad_arg_text(n: usize, expected: &str, got: &Value) -> String {
    format!("bad argument #{n} ({expected} expected, got {})", type_name(got))
}

fn bad_arg(lua: &Lua, n: usize, expected: &str, got: &Value) -> mlua::Result<MultiValue> {
    fail(lua, "EINVAL", bad_arg_text(n, expected, got))
}

/// Reads the bytes of a `byte_span` or string argument.
pub fn bytes_of(v: &Value) -> Option<Vec<u8>> {
    match v {
        Value::String(s) => Some(s.as_bytes().to_vec()),
        Value::UserData(ud) => ud.borrow::<ByteSpan>().ok().map(|s| s.to_vec()),
        _ => None,
    }
}

fn usize_arg(v: &Value) -> Option<usize> {
    as_integer(v).and_then(|i| usize::try_from(i).ok())
}

/// Builds the raw functions table handed to the prelude (`lua/byte_span.lua` wraps them).
pub fn raw_table(lua: &Lua) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;

    t.set(
        "new",
        lua.create_function(|lua, (len, cap): (Value, Value)| {
            let Some(len) = usize_arg(&len) else { return bad_arg(lua, 1, "non-negative integer", &len) };
            let cap = match cap {
                Value::Nil => len,
                other => match usize_arg(&other) {
                    Some(c) => c,
                    None => return bad_arg(lua, 2, "non-negative integer", &other),
                },
            };
            if cap < len {
                return fail(lua, "EINVAL", format!("capacity {cap} is smaller than length {len}"));
            }
            if cap > MAX_CAPACITY {
                return fail(lua, "ENOMEM", format!("capacity {cap} exceeds the limit of {MAX_CAPACITY} bytes"));
            }
            lua.create_userdata(ByteSpan::new(len, cap)).map(|u| MultiValue::from_vec(vec![Value::UserData(u)]))
        })?,
    )?;

    t.set("is", lua.create_function(|_, v: Value| Ok(matches!(&v, Value::UserData(ud) if ud.is::<ByteSpan>())))?)?;

    t.set(
        "from",
        lua.create_function(|lua, s: mlua::LuaString| lua.create_userdata(ByteSpan::from_bytes(&s.as_bytes())))?,
    )?;

    t.set("capacity", lua.create_function(|_, ud: AnyUserData| Ok(ud.borrow::<ByteSpan>()?.cap))?)?;

    t.set(
        "get",
        lua.create_function(|lua, (ud, i): (AnyUserData, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            match as_integer(&i) {
                Some(i) if i >= 1 && (i as u64) <= this.len as u64 => {
                    let b = this.storage.borrow()[this.start + i as usize - 1];
                    Ok(MultiValue::from_vec(vec![Value::Integer(i64::from(b))]))
                }
                Some(i) => fail(lua, "EINVAL", format!("index {i} out of range [1, {}]", this.len)),
                None => bad_arg(lua, 1, "integer index", &i),
            }
        })?,
    )?;

    t.set(
        "set",
        lua.create_function(|lua, (ud, i, v): (AnyUserData, Value, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            let Some(i) = as_integer(&i) else { return bad_arg(lua, 1, "integer index", &i) };
            if i < 1 || i as u64 > this.len as u64 {
                return fail(lua, "EINVAL", format!("index {i} out of range [1, {}]", this.len));
            }
            let byte = match as_integer(&v).and_then(|b| u8::try_from(b).ok()) {
                Some(b) => b,
                None => return fail(lua, "EINVAL", "a byte must be an integer in [0, 255]"),
            };
            this.storage.borrow_mut()[this.start + i as usize - 1] = byte;
            Ok(MultiValue::new())
        })?,
    )?;

    t.set(
        "slice",
        lua.create_function(|lua, (ud, i, j): (AnyUserData, Value, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            let i = match &i {
                Value::Nil => 1,
                v => match as_integer(v) {
                    Some(i) => i,
                    None => return fail3(lua, "EINVAL", bad_arg_text(1, "integer", v)),
                },
            };
            let j = match &j {
                Value::Nil => this.len as i64,
                v => match as_integer(v) {
                    Some(j) => j,
                    None => return fail3(lua, "EINVAL", bad_arg_text(2, "integer", v)),
                },
            };
            // 1-based, inclusive end; the end may reach the capacity (Go-slice semantics).
            if i < 1 || j < i - 1 || j as u64 > this.cap as u64 {
                return fail3(
                    lua,
                    "EINVAL",
                    format!("slice [{i}, {j}] out of range (length {}, capacity {})", this.len, this.cap),
                );
            }
            let start = this.start + i as usize - 1;
            let span = ByteSpan {
                storage: this.storage.clone(),
                start,
                len: (j - i + 1) as usize,
                cap: this.cap - (i as usize - 1),
            };
            // Slicing is per message in IO loops: no MultiValue allocation on this path.
            lua.create_userdata(span).map(|u| ret1(Value::UserData(u)))
        })?,
    )?;

    t.set(
        "copy",
        lua.create_function(|lua, (ud, src): (AnyUserData, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            let Some(bytes) = bytes_of(&src) else { return bad_arg(lua, 1, "byte_span or string", &src) };
            let n = bytes.len().min(this.len);
            this.storage.borrow_mut()[this.start..this.start + n].copy_from_slice(&bytes[..n]);
            Ok(MultiValue::from_vec(vec![Value::Integer(n as i64)]))
        })?,
    )?;

    t.set(
        "append",
        lua.create_function(|lua, (ud, rest): (AnyUserData, MultiValue)| {
            let this = ud.borrow::<ByteSpan>()?;
            let mut extra = Vec::new();
            for (k, v) in rest.iter().enumerate() {
                match bytes_of(v) {
                    Some(b) => extra.extend_from_slice(&b),
                    None => return bad_arg(lua, k + 1, "byte_span or string", v),
                }
            }
            let new_len = this.len + extra.len();
            let span = if new_len <= this.cap {
                let at = this.start + this.len;
                this.storage.borrow_mut()[at..at + extra.len()].copy_from_slice(&extra);
                ByteSpan { storage: this.storage.clone(), start: this.start, len: new_len, cap: this.cap }
            } else {
                let cap = new_len.max(this.cap.saturating_mul(2));
                if new_len > MAX_CAPACITY {
                    return fail(lua, "ENOMEM", format!("length {new_len} exceeds the limit of {MAX_CAPACITY} bytes"));
                }
                let cap = cap.min(MAX_CAPACITY);
                let span = ByteSpan::new(new_len, cap);
                {
                    let mut dst = span.storage.borrow_mut();
                    this.with(|b| dst[..b.len()].copy_from_slice(b));
                    dst[this.len..new_len].copy_from_slice(&extra);
                }
                span
            };
            lua.create_userdata(span).map(|u| MultiValue::from_vec(vec![Value::UserData(u)]))
        })?,
    )?;

    // find(x[, start]) / rfind(x[, end]): substring search, 1-based.
    t.set(
        "find",
        lua.create_function(|lua, (ud, x, from): (AnyUserData, Value, Value)| {
            search(lua, &ud, &x, &from, Search::Find)
        })?,
    )?;
    t.set(
        "rfind",
        lua.create_function(|lua, (ud, x, to): (AnyUserData, Value, Value)| search(lua, &ud, &x, &to, Search::RFind))?,
    )?;
    t.set(
        "find_first_of",
        lua.create_function(|lua, (ud, x, from): (AnyUserData, Value, Value)| {
            search(lua, &ud, &x, &from, Search::FirstOf(true))
        })?,
    )?;
    t.set(
        "find_first_not_of",
        lua.create_function(|lua, (ud, x, from): (AnyUserData, Value, Value)| {
            search(lua, &ud, &x, &from, Search::FirstOf(false))
        })?,
    )?;
    t.set(
        "find_last_of",
        lua.create_function(|lua, (ud, x, to): (AnyUserData, Value, Value)| {
            search(lua, &ud, &x, &to, Search::LastOf(true))
        })?,
    )?;
    t.set(
        "find_last_not_of",
        lua.create_function(|lua, (ud, x, to): (AnyUserData, Value, Value)| {
            search(lua, &ud, &x, &to, Search::LastOf(false))
        })?,
    )?;

    t.set(
        "starts_with",
        lua.create_function(|lua, (ud, x): (AnyUserData, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            let Some(x) = bytes_of(&x) else { return bad_arg(lua, 1, "byte_span or string", &x) };
            let r = this.with(|b| b.starts_with(&x));
            Ok(MultiValue::from_vec(vec![Value::Boolean(r)]))
        })?,
    )?;
    t.set(
        "ends_with",
        lua.create_function(|lua, (ud, x): (AnyUserData, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            let Some(x) = bytes_of(&x) else { return bad_arg(lua, 1, "byte_span or string", &x) };
            let r = this.with(|b| b.ends_with(&x));
            Ok(MultiValue::from_vec(vec![Value::Boolean(r)]))
        })?,
    )?;

    t.set(
        "trimmed",
        lua.create_function(|lua, (ud, lws): (AnyUserData, Value)| {
            let this = ud.borrow::<ByteSpan>()?;
            let set = match &lws {
                Value::Nil => b" \x0c\n\r\t\x0b".to_vec(),
                v => match bytes_of(v) {
                    Some(s) => s,
                    None => return bad_arg(lua, 1, "byte_span or string", v),
                },
            };
            let (a, b) = this.with(|bytes| {
                let a = bytes.iter().position(|c| !set.contains(c)).unwrap_or(bytes.len());
                let b = bytes.iter().rposition(|c| !set.contains(c)).map_or(a, |p| p + 1);
                (a, b)
            });
            let span = ByteSpan { storage: this.storage.clone(), start: this.start + a, len: b - a, cap: this.cap - a };
            lua.create_userdata(span).map(|u| MultiValue::from_vec(vec![Value::UserData(u)]))
        })?,
    )?;

    Ok(t)
}

enum Search {
    Find,
    RFind,
    /// `true`: first byte in the set; `false`: first byte not in it.
    FirstOf(bool),
    LastOf(bool),
}

fn search(lua: &Lua, ud: &AnyUserData, x: &Value, pos: &Value, how: Search) -> mlua::Result<MultiValue> {
    let this = ud.borrow::<ByteSpan>()?;
    let Some(needle) = bytes_of(x) else { return bad_arg(lua, 1, "byte_span or string", x) };
    let len = this.len;
    let forward = matches!(how, Search::Find | Search::FirstOf(_));
    // `pos` is where a forward search starts, or where a backward search ends (1-based).
    let pos_arg = pos;
    let pos = match pos {
        Value::Nil => {
            if forward {
                1
            } else {
                len as i64
            }
        }
        v => match as_integer(v) {
            Some(p) => p,
            None => return bad_arg(lua, 2, "integer", v),
        },
    };
    // A backward search of an empty span has nothing to look at (its default end is 0).
    if !forward && len == 0 && matches!(pos_arg, Value::Nil) {
        return Ok(MultiValue::from_vec(vec![Value::Nil]));
    }
    if pos < 1 || pos as u64 > (len as u64).max(1) + u64::from(forward) {
        return fail(lua, "EINVAL", format!("position {pos} out of range for length {len}"));
    }
    let p = pos as usize - 1;
    let found = this.with(|hay| match how {
        Search::Find => {
            if needle.is_empty() {
                return (p <= hay.len()).then_some(p);
            }
            hay.get(p..)?.windows(needle.len()).position(|w| w == needle.as_slice()).map(|i| i + p)
        }
        Search::RFind => {
            // The match must start at or before `pos`.
            if needle.is_empty() {
                return Some(p.min(hay.len()));
            }
            let last_start = p.min(hay.len().checked_sub(needle.len())?);
            (0..=last_start).rev().find(|&i| hay[i..i + needle.len()] == needle[..])
        }
        Search::FirstOf(member) => hay.get(p..)?.iter().position(|c| needle.contains(c) == member).map(|i| i + p),
        Search::LastOf(member) => {
            let end = (p + 1).min(hay.len());
            hay[..end].iter().rposition(|c| needle.contains(c) == member)
        }
    });
    Ok(match found {
        Some(i) => MultiValue::from_vec(vec![Value::Integer(i as i64 + 1)]),
        None => MultiValue::from_vec(vec![Value::Nil]),
    })
}
