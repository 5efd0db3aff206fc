//! The wire format of actor messages: one message per datagram, a value tree, fds alongside.
//!
//! ```text
//! header (8 bytes)  'L' 'C' | version u8 | flags u8 (0) | fd count u16 LE | reserved u16 (0)
//! body              exactly one value, ending exactly at the end of the datagram
//! value             tag u8, then its payload (integers little-endian):
//!   0x00 nil        0x01 false      0x02 true
//!   0x03 integer    i64
//!   0x04 float      f64 (any bits, NaN included: it is a value, not a key)
//!   0x05 string     u32 length, bytes
//!   0x06 table      u32 entry count, then per entry: key value, value
//!                   keys: string, integer, boolean, or a float that is neither NaN nor integral
//!   0x07 fd         u16 index into the datagram's descriptors
//!   0x08 address    u16 index: the send end of a capability channel
//!   0x09 buffer     u32 length, bytes (a byte buffer carried inline)
//!   0x0A buffer     u16 index, u64 length: a byte buffer in a sealed memfd
//! ```
//!
//! Every descriptor index must be used exactly once and the header's count must equal the
//! number of descriptors that arrived. Limits bound the bytes, the nesting depth, the table
//! entries and the descriptors of one message; both sides enforce them.

use std::collections::HashSet;
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};

use crate::sys::memfd::{self, MemfdError};

pub const MAGIC: [u8; 2] = *b"LC";
pub const VERSION: u8 = 1;
pub const HEADER_LEN: usize = 8;

/// The most descriptors one `SCM_RIGHTS` message can carry on Linux (`SCM_MAX_FD`).
pub const SCM_MAX_FD: usize = 253;

/// The deepest nesting any limits may allow: the codec recurses per level, and this bound keeps
/// a hostile message far from the stack's end whatever a caller configures.
pub const MAX_DEPTH_CEILING: usize = 128;

const TAG_NIL: u8 = 0x00;
const TAG_FALSE: u8 = 0x01;
const TAG_TRUE: u8 = 0x02;
const TAG_INT: u8 = 0x03;
const TAG_FLOAT: u8 = 0x04;
const TAG_STRING: u8 = 0x05;
const TAG_TABLE: u8 = 0x06;
const TAG_FD: u8 = 0x07;
const TAG_ADDRESS: u8 = 0x08;
const TAG_BUFFER: u8 = 0x09;
const TAG_MEMFD: u8 = 0x0A;

/// Bounds on one message. Defaults live in [`Limits::DEFAULT`]; a channel (a profile) may only
/// lower them ([`Limits::narrowed`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of the whole datagram, header included.
    pub max_bytes: usize,
    /// Nesting depth of tables (the message itself is depth 0).
    pub max_depth: usize,
    /// Table entries in the whole message, all tables counted.
    pub max_members: usize,
    /// Descriptors (fds, addresses, memfd buffers) in one message; at most [`SCM_MAX_FD`].
    pub max_fds: usize,
    /// Byte buffers longer than this travel as sealed memfds instead of inline.
    pub inline_buffer_max: usize,
    /// The longest byte buffer a message may carry (in a memfd).
    pub max_buffer_bytes: usize,
}

impl Limits {
    /// 256 KiB fits a datagram in the default unix socket buffers; depth 32 is deeper than any
    /// data a script means to send and shallow enough for a recursive decoder; 65 536 entries
    /// bound the allocation a peer can force per message; 64 descriptors keep a message's fds
    /// far below the process limit.
    /// Buffers over 64 KiB go to memfds (a copy into the datagram costs more than a memfd
    /// beyond that), and 64 MiB bounds what one message can make the receiver read.
    pub const DEFAULT: Limits = Limits {
        max_bytes: 256 * 1024,
        max_depth: 32,
        max_members: 65_536,
        max_fds: 64,
        inline_buffer_max: 64 * 1024,
        max_buffer_bytes: 64 * 1024 * 1024,
    };

    /// The hard ceilings: any limits are narrowed to these before use.
    pub const CEILING: Limits = Limits {
        max_bytes: usize::MAX,
        max_depth: MAX_DEPTH_CEILING,
        max_members: usize::MAX,
        max_fds: SCM_MAX_FD,
        inline_buffer_max: usize::MAX,
        max_buffer_bytes: usize::MAX,
    };

    /// These limits, lowered wherever `other` is stricter (a profile can only narrow).
    pub fn narrowed(self, other: Limits) -> Limits {
        Limits {
            max_bytes: self.max_bytes.min(other.max_bytes),
            max_depth: self.max_depth.min(other.max_depth).min(MAX_DEPTH_CEILING),
            max_members: self.max_members.min(other.max_members),
            max_fds: self.max_fds.min(other.max_fds).min(SCM_MAX_FD),
            inline_buffer_max: self.inline_buffer_max.min(other.inline_buffer_max),
            max_buffer_bytes: self.max_buffer_bytes.min(other.max_buffer_bytes),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A table key: what Lua allows as a key that can cross a process boundary.
#[derive(Clone, Debug, PartialEq)]
pub enum Key {
    Bytes(Vec<u8>),
    Int(i64),
    Bool(bool),
    /// Neither NaN nor integral (Lua stores 1.0 as the integer key 1).
    Float(f64),
}

/// A message value. Descriptors are owned: sending moves them, receiving hands them over.
#[derive(Debug)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A Lua string.
    Bytes(Vec<u8>),
    /// Entries in the order they were encoded.
    Table(Vec<(Key, Value)>),
    Fd(OwnedFd),
    /// The send end of a capability channel.
    Address(OwnedFd),
    /// A byte buffer (`byte_span`).
    Buffer(Vec<u8>),
}

/// Why a message was refused. Offsets are byte positions in the datagram.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    #[error("message of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("message ends at byte {at} in the middle of {what}")]
    Truncated { at: usize, what: &'static str },
    #[error("not a luacell message (bad magic)")]
    BadMagic,
    #[error("unsupported wire version {version} (this side speaks {VERSION})")]
    BadVersion { version: u8 },
    #[error("reserved header field at byte {at} is not zero")]
    Reserved { at: usize },
    #[error("header announces {announced} descriptors but {received} arrived")]
    FdCountMismatch { announced: usize, received: usize },
    #[error("message carries {count} descriptors, over the limit of {max}")]
    TooManyFds { count: usize, max: usize },
    #[error("unknown value tag {tag:#04x} at byte {at}")]
    UnknownTag { tag: u8, at: usize },
    #[error("tables nested deeper than {max} at byte {at}")]
    TooDeep { max: usize, at: usize },
    #[error("more than {max} table entries in one message (at byte {at})")]
    TooManyMembers { max: usize, at: usize },
    #[error("a {what} cannot be a table key (at byte {at})")]
    BadKey { what: &'static str, at: usize },
    #[error("duplicate table key at byte {at}")]
    DuplicateKey { at: usize },
    #[error("descriptor index {index} at byte {at} is out of range ({count} descriptors)")]
    FdIndex { index: usize, count: usize, at: usize },
    #[error("descriptor {index} is used twice (at byte {at})")]
    FdReused { index: usize, at: usize },
    #[error("descriptor {index} is not used by the message")]
    FdUnused { index: usize },
    #[error("{extra} trailing bytes after the message at byte {at}")]
    Trailing { at: usize, extra: usize },
    #[error("a {what} of {len} bytes does not fit the wire format")]
    Unencodable { what: &'static str, len: usize },
    #[error("a buffer of {len} bytes exceeds the limit of {max} (at byte {at})")]
    BufferTooLarge { len: u64, max: usize, at: usize },
    #[error("buffer descriptor at byte {at} refused: {reason}")]
    BadBuffer { reason: MemfdError, at: usize },
    #[error("cannot make a sealed buffer (errno {errno})")]
    Memfd { errno: i32 },
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// A descriptor to attach to a message: one of the value's, or a sealed buffer the encoder made.
#[derive(Debug)]
pub enum Attached<'v> {
    Borrowed(BorrowedFd<'v>),
    Owned(OwnedFd),
}

impl AsFd for Attached<'_> {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Attached::Borrowed(fd) => *fd,
            Attached::Owned(fd) => fd.as_fd(),
        }
    }
}

/// An encoded message: the datagram's bytes and the descriptors to attach, in index order.
pub struct Encoded<'v> {
    pub bytes: Vec<u8>,
    pub fds: Vec<Attached<'v>>,
}

impl fmt::Debug for Encoded<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encoded").field("bytes", &self.bytes.len()).field("fds", &self.fds.len()).finish()
    }
}

/// Encodes `value` under `limits`; refuses anything a receiver with the same limits would.
pub fn encode<'v>(value: &'v Value, limits: &Limits) -> Result<Encoded<'v>, WireError> {
    let mut bytes = Vec::new();
    let fds = encode_into(value, limits, &mut bytes)?;
    Ok(Encoded { bytes, fds })
}

/// Encodes into `out` (cleared first; its spare capacity is never sent: only `out.len()` bytes
/// are written, each of them explicitly).
pub fn encode_into<'v>(value: &'v Value, limits: &Limits, out: &mut Vec<u8>) -> Result<Vec<Attached<'v>>, WireError> {
    out.clear();
    out.extend_from_slice(&MAGIC);
    out.push(VERSION);
    out.push(0); // flags
    out.extend_from_slice(&[0, 0]); // fd count, patched below
    out.extend_from_slice(&[0, 0]); // reserved
    let limits = &limits.narrowed(Limits::CEILING);
    let mut enc = Encoder { out, fds: Vec::new(), limits, members: 0 };
    enc.value(value, 0)?;
    let Encoder { out, fds, .. } = enc;
    if fds.len() > limits.max_fds.min(SCM_MAX_FD) {
        return Err(WireError::TooManyFds { count: fds.len(), max: limits.max_fds.min(SCM_MAX_FD) });
    }
    if out.len() > limits.max_bytes {
        return Err(WireError::TooLarge { len: out.len(), max: limits.max_bytes });
    }
    let count = u16::try_from(fds.len()).map_err(|_| WireError::TooManyFds { count: fds.len(), max: SCM_MAX_FD })?;
    out[4..6].copy_from_slice(&count.to_le_bytes());
    Ok(fds)
}

struct Encoder<'o, 'v, 'l> {
    out: &'o mut Vec<u8>,
    fds: Vec<Attached<'v>>,
    limits: &'l Limits,
    members: usize,
}

impl<'v> Encoder<'_, 'v, '_> {
    fn check_size(&self) -> Result<(), WireError> {
        // Stop early: a huge value must not be copied whole before it is refused.
        if self.out.len() > self.limits.max_bytes {
            return Err(WireError::TooLarge { len: self.out.len(), max: self.limits.max_bytes });
        }
        Ok(())
    }

    fn len32(&mut self, what: &'static str, len: usize) -> Result<(), WireError> {
        let n = u32::try_from(len).map_err(|_| WireError::Unencodable { what, len })?;
        self.out.extend_from_slice(&n.to_le_bytes());
        Ok(())
    }

    fn fd(&mut self, tag: u8, fd: Attached<'v>) -> Result<(), WireError> {
        let index = self.fds.len();
        let max = self.limits.max_fds.min(SCM_MAX_FD);
        if index >= max {
            return Err(WireError::TooManyFds { count: index + 1, max });
        }
        self.fds.push(fd);
        self.out.push(tag);
        // `index < SCM_MAX_FD < 2^16`.
        self.out.extend_from_slice(&(index as u16).to_le_bytes());
        Ok(())
    }

    /// A buffer too long to travel inline: into a sealed memfd.
    fn sealed_buffer(&mut self, b: &[u8]) -> Result<(), WireError> {
        let at = self.out.len();
        if b.len() > self.limits.max_buffer_bytes {
            return Err(WireError::BufferTooLarge { len: b.len() as u64, max: self.limits.max_buffer_bytes, at });
        }
        if self.fds.len() >= self.limits.max_fds.min(SCM_MAX_FD) {
            return Err(WireError::TooManyFds { count: self.fds.len() + 1, max: self.limits.max_fds.min(SCM_MAX_FD) });
        }
        let fd = memfd::sealed(b).map_err(|e| WireError::Memfd { errno: e.raw_os_error().unwrap_or(0) })?;
        self.fd(TAG_MEMFD, Attached::Owned(fd))?;
        self.out.extend_from_slice(&(b.len() as u64).to_le_bytes());
        Ok(())
    }

    fn key(&mut self, key: &Key) -> Result<(), WireError> {
        match key {
            Key::Bytes(b) => {
                self.out.push(TAG_STRING);
                self.len32("string key", b.len())?;
                self.out.extend_from_slice(b);
            }
            Key::Int(i) => {
                self.out.push(TAG_INT);
                self.out.extend_from_slice(&i.to_le_bytes());
            }
            Key::Bool(b) => self.out.push(if *b { TAG_TRUE } else { TAG_FALSE }),
            Key::Float(f) => {
                let at = self.out.len();
                if f.is_nan() {
                    return Err(WireError::BadKey { what: "NaN", at });
                }
                if f.fract() == 0.0 {
                    return Err(WireError::BadKey { what: "integral float", at });
                }
                self.out.push(TAG_FLOAT);
                self.out.extend_from_slice(&f.to_le_bytes());
            }
        }
        self.check_size()
    }

    fn value(&mut self, v: &'v Value, depth: usize) -> Result<(), WireError> {
        match v {
            Value::Nil => self.out.push(TAG_NIL),
            Value::Bool(b) => self.out.push(if *b { TAG_TRUE } else { TAG_FALSE }),
            Value::Int(i) => {
                self.out.push(TAG_INT);
                self.out.extend_from_slice(&i.to_le_bytes());
            }
            Value::Float(f) => {
                self.out.push(TAG_FLOAT);
                self.out.extend_from_slice(&f.to_le_bytes());
            }
            Value::Buffer(b) if b.len() > self.limits.inline_buffer_max => self.sealed_buffer(b)?,
            Value::Bytes(b) | Value::Buffer(b) => {
                if b.len() > self.limits.max_bytes {
                    return Err(WireError::TooLarge { len: b.len(), max: self.limits.max_bytes });
                }
                self.out.push(if matches!(v, Value::Bytes(_)) { TAG_STRING } else { TAG_BUFFER });
                self.len32("string", b.len())?;
                self.out.extend_from_slice(b);
            }
            Value::Table(entries) => {
                let at = self.out.len();
                if depth >= self.limits.max_depth {
                    return Err(WireError::TooDeep { max: self.limits.max_depth, at });
                }
                self.members += entries.len();
                if self.members > self.limits.max_members {
                    return Err(WireError::TooManyMembers { max: self.limits.max_members, at });
                }
                self.out.push(TAG_TABLE);
                self.len32("table", entries.len())?;
                let mut seen = KeySet::default();
                for (i, (k, val)) in entries.iter().enumerate() {
                    let duplicate = if entries.len() <= LINEAR_KEYS {
                        key_in(entries[..i].iter().map(|(k, _)| k), k)
                    } else {
                        !seen.insert(k)
                    };
                    if duplicate {
                        return Err(WireError::DuplicateKey { at: self.out.len() });
                    }
                    self.key(k)?;
                    self.value(val, depth + 1)?;
                }
            }
            Value::Fd(fd) => self.fd(TAG_FD, Attached::Borrowed(fd.as_fd()))?,
            Value::Address(fd) => self.fd(TAG_ADDRESS, Attached::Borrowed(fd.as_fd()))?,
        }
        self.check_size()
    }
}

/// Tables up to this many entries find duplicate keys by a linear scan (no allocation); larger
/// ones use a hash set.
const LINEAR_KEYS: usize = 16;

/// Whether `key` equals one of `keys`, as Lua compares keys (floats by bits: they are never NaN
/// nor integral here).
fn key_in<'k>(mut keys: impl Iterator<Item = &'k Key>, key: &Key) -> bool {
    keys.any(|k| match (k, key) {
        (Key::Float(a), Key::Float(b)) => a.to_bits() == b.to_bits(),
        _ => k == key,
    })
}

/// Keys already seen in one large table, compared as Lua compares them.
#[derive(Default)]
struct KeySet {
    seen: HashSet<KeyId>,
}

#[derive(Hash, PartialEq, Eq)]
enum KeyId {
    Bytes(Vec<u8>),
    Int(i64),
    Bool(bool),
    Float(u64),
}

impl KeySet {
    /// False when the key was already present.
    fn insert(&mut self, k: &Key) -> bool {
        self.seen.insert(match k {
            Key::Bytes(b) => KeyId::Bytes(b.clone()),
            Key::Int(i) => KeyId::Int(*i),
            Key::Bool(b) => KeyId::Bool(*b),
            Key::Float(f) => KeyId::Float(f.to_bits()),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Decodes one datagram with the descriptors that arrived with it. On any error every
/// descriptor is closed (dropped), including those already placed in the partial value.
pub fn decode(bytes: &[u8], fds: Vec<OwnedFd>, limits: &Limits) -> Result<Value, WireError> {
    if bytes.len() > limits.max_bytes {
        return Err(WireError::TooLarge { len: bytes.len(), max: limits.max_bytes });
    }
    let max_fds = limits.max_fds.min(SCM_MAX_FD);
    if fds.len() > max_fds {
        return Err(WireError::TooManyFds { count: fds.len(), max: max_fds });
    }
    let mut r = Reader { bytes, at: 0 };
    let magic = r.take(2, "the header")?;
    if magic != MAGIC {
        return Err(WireError::BadMagic);
    }
    let version = r.u8("the header")?;
    if version != VERSION {
        return Err(WireError::BadVersion { version });
    }
    if r.u8("the header")? != 0 {
        return Err(WireError::Reserved { at: 3 });
    }
    let announced = usize::from(r.u16("the header")?);
    if r.u16("the header")? != 0 {
        return Err(WireError::Reserved { at: 6 });
    }
    if announced != fds.len() {
        return Err(WireError::FdCountMismatch { announced, received: fds.len() });
    }
    let limits = &limits.narrowed(Limits::CEILING);
    let mut dec = Decoder { r, fds: fds.into_iter().map(Some).collect(), limits, members: 0 };
    let value = dec.value(0)?;
    if dec.r.at != bytes.len() {
        return Err(WireError::Trailing { at: dec.r.at, extra: bytes.len() - dec.r.at });
    }
    if let Some(index) = dec.fds.iter().position(Option::is_some) {
        return Err(WireError::FdUnused { index });
    }
    Ok(value)
}

struct Reader<'b> {
    bytes: &'b [u8],
    at: usize,
}

impl<'b> Reader<'b> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'b [u8], WireError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        match end {
            Some(end) => {
                let s = &self.bytes[self.at..end];
                self.at = end;
                Ok(s)
            }
            None => Err(WireError::Truncated { at: self.bytes.len(), what }),
        }
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], WireError> {
        let s = self.take(N, what)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, WireError> {
        Ok(self.array::<1>(what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, WireError> {
        Ok(u16::from_le_bytes(self.array(what)?))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, WireError> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn remaining(&self) -> usize {
        self.bytes.len() - self.at
    }
}

struct Decoder<'b, 'l> {
    r: Reader<'b>,
    fds: Vec<Option<OwnedFd>>,
    limits: &'l Limits,
    members: usize,
}

impl Decoder<'_, '_> {
    fn fd(&mut self) -> Result<OwnedFd, WireError> {
        let at = self.r.at;
        let index = usize::from(self.r.u16("a descriptor index")?);
        let count = self.fds.len();
        match self.fds.get_mut(index) {
            None => Err(WireError::FdIndex { index, count, at }),
            Some(slot) => slot.take().ok_or(WireError::FdReused { index, at }),
        }
    }

    fn bytes(&mut self, what: &'static str) -> Result<Vec<u8>, WireError> {
        let len = self.r.u32(what)? as usize;
        Ok(self.r.take(len, what)?.to_vec())
    }

    fn key(&mut self) -> Result<Key, WireError> {
        let at = self.r.at;
        let tag = self.r.u8("a table key")?;
        Ok(match tag {
            TAG_STRING => Key::Bytes(self.bytes("a string key")?),
            TAG_INT => Key::Int(i64::from_le_bytes(self.r.array("an integer key")?)),
            TAG_FALSE => Key::Bool(false),
            TAG_TRUE => Key::Bool(true),
            TAG_FLOAT => {
                let f = f64::from_le_bytes(self.r.array("a float key")?);
                if f.is_nan() {
                    return Err(WireError::BadKey { what: "NaN", at });
                }
                if f.fract() == 0.0 {
                    return Err(WireError::BadKey { what: "integral float", at });
                }
                Key::Float(f)
            }
            TAG_NIL => return Err(WireError::BadKey { what: "nil", at }),
            TAG_TABLE => return Err(WireError::BadKey { what: "table", at }),
            TAG_FD | TAG_ADDRESS => return Err(WireError::BadKey { what: "descriptor", at }),
            TAG_BUFFER | TAG_MEMFD => return Err(WireError::BadKey { what: "buffer", at }),
            tag => return Err(WireError::UnknownTag { tag, at }),
        })
    }

    fn value(&mut self, depth: usize) -> Result<Value, WireError> {
        let at = self.r.at;
        let tag = self.r.u8("a value")?;
        Ok(match tag {
            TAG_NIL => Value::Nil,
            TAG_FALSE => Value::Bool(false),
            TAG_TRUE => Value::Bool(true),
            TAG_INT => Value::Int(i64::from_le_bytes(self.r.array("an integer")?)),
            TAG_FLOAT => Value::Float(f64::from_le_bytes(self.r.array("a float")?)),
            TAG_STRING => Value::Bytes(self.bytes("a string")?),
            TAG_BUFFER => Value::Buffer(self.bytes("a buffer")?),
            TAG_FD => Value::Fd(self.fd()?),
            TAG_MEMFD => {
                let fd = self.fd()?;
                let len = u64::from_le_bytes(self.r.array("a buffer length")?);
                if len > self.limits.max_buffer_bytes as u64 {
                    return Err(WireError::BufferTooLarge { len, max: self.limits.max_buffer_bytes, at });
                }
                // The sender can no longer change it: checked before anything is read.
                let bytes =
                    memfd::read_sealed(fd.as_fd(), len).map_err(|reason| WireError::BadBuffer { reason, at })?;
                Value::Buffer(bytes)
            }
            TAG_ADDRESS => Value::Address(self.fd()?),
            TAG_TABLE => {
                if depth >= self.limits.max_depth {
                    return Err(WireError::TooDeep { max: self.limits.max_depth, at });
                }
                let count = self.r.u32("a table")? as usize;
                self.members = self.members.saturating_add(count);
                if self.members > self.limits.max_members {
                    return Err(WireError::TooManyMembers { max: self.limits.max_members, at });
                }
                // Each entry takes at least two bytes (a key tag and a value tag): a count the
                // rest of the message cannot hold is refused before anything is allocated.
                if count > self.r.remaining() / 2 {
                    return Err(WireError::Truncated { at: self.r.bytes.len(), what: "a table" });
                }
                let mut entries: Vec<(Key, Value)> = Vec::with_capacity(count);
                let mut seen = KeySet::default();
                for _ in 0..count {
                    let key_at = self.r.at;
                    let key = self.key()?;
                    let duplicate = if count <= LINEAR_KEYS {
                        key_in(entries.iter().map(|(k, _)| k), &key)
                    } else {
                        !seen.insert(&key)
                    };
                    if duplicate {
                        return Err(WireError::DuplicateKey { at: key_at });
                    }
                    let v = self.value(depth + 1)?;
                    entries.push((key, v));
                }
                Value::Table(entries)
            }
            tag => return Err(WireError::UnknownTag { tag, at }),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Comparison (tests and fuzzing): descriptors compare by number, floats by bits.

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Value::Nil, Value::Nil) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a.to_bits() == b.to_bits(),
            (Value::Bytes(a), Value::Bytes(b)) | (Value::Buffer(a), Value::Buffer(b)) => a == b,
            (Value::Table(a), Value::Table(b)) => a == b,
            (Value::Fd(a), Value::Fd(b)) | (Value::Address(a), Value::Address(b)) => a.as_raw_fd() == b.as_raw_fd(),
            _ => false,
        }
    }
}
