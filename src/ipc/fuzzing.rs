//! Entry points of the fuzz targets in `fuzz/` (each target is one line calling one of these).
//!
//! `decode`: arbitrary bytes with an arbitrary number of attached descriptors; whatever
//! decodes must encode again under the same limits and decode to the same value.
//! `roundtrip`: arbitrary structured values must survive encode + decode (the `fuzzing`
//! feature derives `Arbitrary` for [`ValueSpec`]).
//!
//! These are the library's only deliberately panicking paths: a panic here is the fuzzer's
//! report that an invariant of the codec broke.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

use super::wire::{self, Key, Limits, Value};

fn null_fd() -> Option<OwnedFd> {
    File::open("/dev/null").ok().map(OwnedFd::from)
}

/// Equality up to descriptor numbers (a passed descriptor gets a new number).
pub fn same_shape(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Fd(_), Value::Fd(_)) | (Value::Address(_), Value::Address(_)) => true,
        (Value::Table(x), Value::Table(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| same_key(ka, kb) && same_shape(va, vb))
        }
        _ => a == b,
    }
}

/// Key equality as Lua sees it (floats by bits: they are never NaN nor integral as keys).
pub fn same_key(a: &Key, b: &Key) -> bool {
    match (a, b) {
        (Key::Float(x), Key::Float(y)) => x.to_bits() == y.to_bits(),
        _ => a == b,
    }
}

/// Encodes `value`, hands its descriptors over as the kernel would (duplicates), decodes.
fn pass(value: &Value, limits: &Limits) -> Result<Value, wire::WireError> {
    let enc = wire::encode(value, limits)?;
    let fds = enc.fds.iter().filter_map(|fd| fd.as_fd().try_clone_to_owned().ok()).collect();
    wire::decode(&enc.bytes, fds, limits)
}

/// The first byte chooses the descriptors (low 2 bits: 0-3) and tight limits (high bit); the
/// rest is the datagram.
pub fn decode(data: &[u8]) {
    let Some((&ctl, bytes)) = data.split_first() else { return };
    let fds: Vec<OwnedFd> = (0..ctl & 3).filter_map(|_| null_fd()).collect();
    let limits = if ctl & 0x80 != 0 {
        Limits {
            max_bytes: 512,
            max_depth: 3,
            max_members: 16,
            max_fds: 2,
            inline_buffer_max: 64,
            max_buffer_bytes: 4096,
        }
    } else {
        Limits::DEFAULT
    };
    if let Ok(v) = wire::decode(bytes, fds, &limits) {
        let again = pass(&v, &limits).expect("a decoded value encodes and decodes again under the same limits");
        assert!(same_shape(&v, &again), "{v:?} re-decoded as {again:?}");
    }
}

/// A value tree whose descriptors are placeholders, made real by [`build`]: what both the
/// `wire_roundtrip` fuzz target (via `arbitrary`) and the property tests (via proptest)
/// generate.
#[derive(Clone, Debug)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum ValueSpec {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Bytes(Vec<u8>),
    Buffer(Vec<u8>),
    Fd,
    Address,
    Table(Vec<(KeySpec, ValueSpec)>),
}

#[derive(Clone, Debug)]
#[cfg_attr(feature = "fuzzing", derive(arbitrary::Arbitrary))]
pub enum KeySpec {
    Bytes(Vec<u8>),
    Int(i64),
    Bool(bool),
    Float(f64),
}

fn key(k: &KeySpec) -> Key {
    match k {
        KeySpec::Bytes(b) => Key::Bytes(b.clone()),
        KeySpec::Int(i) => Key::Int(*i),
        KeySpec::Bool(b) => Key::Bool(*b),
        KeySpec::Float(f) => Key::Float(*f),
    }
}

/// Builds the value (descriptors are `/dev/null`). A key repeated in one table is kept once,
/// as a Lua table would have it.
pub fn build(s: &ValueSpec) -> Value {
    match s {
        ValueSpec::Nil => Value::Nil,
        ValueSpec::Bool(b) => Value::Bool(*b),
        ValueSpec::Int(i) => Value::Int(*i),
        ValueSpec::Float(f) => Value::Float(*f),
        ValueSpec::Bytes(b) => Value::Bytes(b.clone()),
        ValueSpec::Buffer(b) => Value::Buffer(b.clone()),
        ValueSpec::Fd => null_fd().map_or(Value::Nil, Value::Fd),
        ValueSpec::Address => null_fd().map_or(Value::Nil, Value::Address),
        ValueSpec::Table(entries) => {
            let mut out: Vec<(Key, Value)> = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let k = key(k);
                if !out.iter().any(|(seen, _)| same_key(seen, &k)) {
                    out.push((k, build(v)));
                }
            }
            Value::Table(out)
        }
    }
}

/// Whatever the encoder accepts decodes to the same value; what it refuses (bad keys, limits)
/// the `decode` target and the unit tests cover from the receiving side.
pub fn roundtrip(spec: &ValueSpec) {
    let v = build(spec);
    if let Ok(back) = pass(&v, &Limits::DEFAULT) {
        assert!(same_shape(&v, &back), "{v:?} came back as {back:?}");
    }
}
