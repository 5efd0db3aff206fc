//! Mailboxes of local actors, and the messages they carry.
//!
//! Trust zone: every VM of the process (any thread). A mailbox is shared (`Arc`) between its
//! receiving VM and every sender; its state sits behind one mutex, held only to push or pop.
//!
//! Invariants:
//! - a message is a deep copy ([`Msg`]): nothing of a VM's heap crosses to another VM;
//! - messages obey the wire format's [`Limits`] (depth, entries, encoded size, capabilities), with
//!   sizes counted as the wire encoder counts them, so a program behaves the same whether its
//!   actor is local or sandboxed;
//! - a mailbox holds at most `capacity` messages: a sender beyond that waits (its VM is told when
//!   room appears); a receive never spins;
//! - once the receiver closed its inbox, or the last sender is gone (a fresh inbox, whose address
//!   was never handed out, waits), a waiting receiver is woken and sees `Channel closed`; senders
//!   to a closed inbox get the same error.

use std::collections::VecDeque;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex, MutexGuard};

use mlua::{Lua, Value};

use super::Waker;
use crate::ipc::wire::Limits;
use crate::lua::api::byte_span::ByteSpan;
use crate::lua::api::io::FileDescriptor;

/// A message: the values the wire format carries, with channels as in-process capabilities.
#[derive(Debug)]
pub enum Msg {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Vec<u8>),
    /// A `byte_span`'s bytes (copied; the receiver gets a new span).
    Buffer(Vec<u8>),
    Table(Vec<(Msg, Msg)>),
    Channel(Sender),
    /// A channel to an actor in another process: the send end of its capability socket
    /// (shared by every copy; the actor sees its inbox close when the last copy closes).
    Address(Arc<OwnedFd>),
    /// A descriptor handed over (a socket, a file), moved with the message.
    Fd(OwnedFd),
}

/// Default mailbox capacity (messages); `spawn_vm{ mailbox = n }` changes it per actor.
pub const DEFAULT_CAPACITY: usize = 1024;

struct State {
    queue: VecDeque<Msg>,
    senders: usize,
    /// A sender has existed: only then does "no sender left" close the inbox (a fresh inbox
    /// waits for its owner to hand out its address).
    had_senders: bool,
    closed: bool,
    /// The receiving VM waits for a message (it is told when one arrives).
    receiver_waiting: bool,
    /// Senders waiting for room: their VM and the token of the waiting fiber.
    blocked: VecDeque<(Waker, u64)>,
}

/// An actor's mailbox.
pub struct Mailbox {
    state: Mutex<State>,
    capacity: usize,
    /// The receiving VM.
    receiver: Waker,
}

impl std::fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailbox").field("capacity", &self.capacity).finish_non_exhaustive()
    }
}

/// What a send did.
pub enum Sent {
    Delivered,
    /// The mailbox is full: the fiber waits for `token` to be woken, then tries again.
    Full,
    Closed,
}

/// What a receive found.
pub enum Received {
    Message(Msg),
    /// Nothing yet: the receiving VM is told when a message arrives.
    Empty,
    Closed,
}

impl Mailbox {
    pub fn new(capacity: usize, receiver: Waker) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            state: Mutex::new(State {
                queue: VecDeque::new(),
                senders: 0,
                had_senders: false,
                closed: false,
                receiver_waiting: false,
                blocked: VecDeque::new(),
            }),
            capacity: capacity.max(1),
            receiver,
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the queue half-updated (push and pop are
        // single operations), so a poisoned lock is still consistent.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Delivers `msg`, or registers the sending fiber (`waker`, `token`) to be woken when there
    /// is room. The message comes back when it was not delivered.
    pub fn send(&self, msg: Msg, waker: &Waker, token: u64) -> (Sent, Option<Msg>) {
        let mut s = self.lock();
        if s.closed {
            return (Sent::Closed, Some(msg));
        }
        if s.queue.len() >= self.capacity {
            s.blocked.push_back((waker.clone(), token));
            return (Sent::Full, Some(msg));
        }
        s.queue.push_back(msg);
        let wake = std::mem::take(&mut s.receiver_waiting);
        drop(s);
        if wake {
            self.receiver.wake_vm();
        }
        (Sent::Delivered, None)
    }

    /// Takes the next message; when there is none, the receiving VM will be told of the next.
    pub fn receive(&self) -> Received {
        let mut s = self.lock();
        if let Some(msg) = s.queue.pop_front() {
            let next = s.blocked.pop_front();
            drop(s);
            if let Some((waker, token)) = next {
                waker.wake_sender(token);
            }
            return Received::Message(msg);
        }
        if s.closed || (s.senders == 0 && s.had_senders) {
            return Received::Closed;
        }
        s.receiver_waiting = true;
        Received::Empty
    }

    /// Whether a receive would return at once (a message, or `Channel closed`).
    pub fn ready(&self) -> bool {
        let s = self.lock();
        !s.queue.is_empty() || s.closed || (s.senders == 0 && s.had_senders)
    }

    /// The receiver closes its inbox: queued messages are dropped, waiting senders woken (they
    /// then see the closed inbox).
    pub fn close(&self) {
        let mut s = self.lock();
        s.closed = true;
        s.queue.clear();
        let blocked: Vec<_> = s.blocked.drain(..).collect();
        drop(s);
        for (waker, token) in blocked {
            waker.wake_sender(token);
        }
    }

    fn add_sender(&self) {
        let mut s = self.lock();
        s.senders += 1;
        s.had_senders = true;
    }

    fn remove_sender(&self) {
        let mut s = self.lock();
        s.senders = s.senders.saturating_sub(1);
        let wake = s.senders == 0 && std::mem::take(&mut s.receiver_waiting);
        drop(s);
        if wake {
            self.receiver.wake_vm();
        }
    }
}

/// A send capability: counted, so the receiver learns when no sender is left.
#[derive(Debug)]
pub struct Sender(Arc<Mailbox>);

impl Sender {
    pub fn new(mailbox: Arc<Mailbox>) -> Sender {
        mailbox.add_sender();
        Sender(mailbox)
    }

    pub fn mailbox(&self) -> &Arc<Mailbox> {
        &self.0
    }
}

impl Clone for Sender {
    fn clone(&self) -> Sender {
        Sender::new(self.0.clone())
    }
}

impl Drop for Sender {
    fn drop(&mut self) {
        self.0.remove_sender();
    }
}

/// Why a value cannot be sent: a stable text for the `EINVAL` error the script sees.
#[derive(Debug, PartialEq, Eq)]
pub struct Refused(pub String);

/// Wire sizes (see `src/ipc/wire.rs`): header 8 bytes; nil and booleans 1; integers and floats
/// 9; strings and inline buffers 5 + length; tables 5 + their entries; capabilities 3; buffers
/// past `inline_buffer_max` 11 (a memfd reference and its length) and one descriptor.
const HEADER: usize = 8;

struct Copier<'l> {
    limits: &'l Limits,
    size: usize,
    members: usize,
    caps: usize,
    /// Tables on the path from the root, to refuse cycles.
    path: Vec<*const std::ffi::c_void>,
}

/// Recognises the values that travel as capabilities (channels, the inbox, descriptors).
pub type Capabilities<'a> = dyn Fn(&Value) -> Result<Option<Msg>, Refused> + 'a;

impl Copier<'_> {
    fn capability(&mut self, m: Msg) -> Result<Msg, Refused> {
        self.caps += 1;
        if self.caps > self.limits.max_fds {
            return Err(Refused(format!("a message with more than {} channels or descriptors", self.limits.max_fds)));
        }
        self.grow(3)?;
        Ok(m)
    }

    fn grow(&mut self, n: usize) -> Result<(), Refused> {
        self.size += n;
        if self.size > self.limits.max_bytes {
            return Err(Refused(format!("a message larger than {} bytes", self.limits.max_bytes)));
        }
        Ok(())
    }

    fn value(&mut self, v: &Value, depth: usize, capability_of: &Capabilities<'_>) -> Result<Msg, Refused> {
        Ok(match v {
            Value::Nil => {
                self.grow(1)?;
                Msg::Nil
            }
            Value::Boolean(b) => {
                self.grow(1)?;
                Msg::Bool(*b)
            }
            Value::Integer(i) => {
                self.grow(9)?;
                Msg::Int(*i)
            }
            Value::Number(n) => {
                self.grow(9)?;
                Msg::Float(*n)
            }
            Value::String(s) => {
                let b = s.as_bytes().to_vec();
                self.grow(5 + b.len())?;
                Msg::Str(b)
            }
            Value::Table(t) => {
                if depth >= self.limits.max_depth {
                    return Err(Refused(format!("tables nested deeper than {}", self.limits.max_depth)));
                }
                let ptr = t.to_pointer();
                if self.path.contains(&ptr) {
                    return Err(Refused("a table that contains itself".into()));
                }
                if t.metatable().is_some() {
                    // An IO object (its descriptor moves), or refused.
                    return match capability_of(v)? {
                        Some(m) => self.capability(m),
                        None => Err(Refused("a table with a metatable".into())),
                    };
                }
                self.grow(5)?;
                self.path.push(ptr);
                let mut entries = Vec::new();
                for pair in t.pairs::<Value, Value>() {
                    let (k, val) = pair.map_err(|e| Refused(format!("cannot read the table: {e}")))?;
                    self.members += 1;
                    if self.members > self.limits.max_members {
                        return Err(Refused(format!(
                            "a message with more than {} table entries",
                            self.limits.max_members
                        )));
                    }
                    let key = match &k {
                        Value::Number(f) if f.is_nan() => return Err(Refused("a NaN table key".into())),
                        Value::Thread(_) => return Err(Refused("a coroutine as a table key".into())),
                        Value::Table(_) | Value::Function(_) | Value::UserData(_) => {
                            return Err(Refused(format!("a {} as a table key", super::kind(&k))));
                        }
                        _ => self.value(&k, depth + 1, capability_of)?,
                    };
                    entries.push((key, self.value(&val, depth + 1, capability_of)?));
                }
                self.path.pop();
                Msg::Table(entries)
            }
            Value::UserData(ud) if ud.is::<ByteSpan>() => {
                let bytes =
                    ud.borrow::<ByteSpan>().map_err(|e| Refused(format!("an unreadable byte_span: {e}")))?.to_vec();
                if bytes.len() > self.limits.inline_buffer_max {
                    // Across processes it would travel as a sealed memfd: counted as one.
                    if bytes.len() > self.limits.max_buffer_bytes {
                        return Err(Refused(format!("a byte_span longer than {} bytes", self.limits.max_buffer_bytes)));
                    }
                    self.caps += 1;
                    if self.caps > self.limits.max_fds {
                        return Err(Refused(format!("a message with more than {} descriptors", self.limits.max_fds)));
                    }
                    self.grow(11)?;
                } else {
                    self.grow(5 + bytes.len())?;
                }
                Msg::Buffer(bytes)
            }
            Value::UserData(_) => match capability_of(v)? {
                Some(m) => self.capability(m)?,
                None => return Err(Refused("a userdata".into())),
            },
            Value::Thread(_) => return Err(Refused("a coroutine".into())),
            other => return Err(Refused(format!("a {}", super::kind(other)))),
        })
    }
}

/// Copies a Lua value into a message, within `limits`. `channel_of` recognises channel userdata.
pub fn from_lua(v: &Value, limits: &Limits, capability_of: &Capabilities<'_>) -> Result<Msg, Refused> {
    let mut c = Copier { limits, size: HEADER, members: 0, caps: 0, path: Vec::new() };
    c.value(v, 0, capability_of)
}

/// What a channel in a received message is: a local mailbox or a remote address.
pub enum Cap {
    Local(Sender),
    Remote(Arc<OwnedFd>),
}

/// Builds the Lua value of a message in the receiving VM; `channel` makes channel userdata.
pub fn to_lua(lua: &Lua, msg: Msg, channel: &dyn Fn(&Lua, Cap) -> mlua::Result<Value>) -> mlua::Result<Value> {
    Ok(match msg {
        Msg::Nil => Value::Nil,
        Msg::Bool(b) => Value::Boolean(b),
        Msg::Int(i) => Value::Integer(i),
        Msg::Float(f) => Value::Number(f),
        Msg::Str(b) => Value::String(lua.create_string(&b)?),
        Msg::Buffer(b) => Value::UserData(lua.create_userdata(ByteSpan::from_bytes(&b))?),
        Msg::Table(entries) => {
            let t = lua.create_table_with_capacity(0, entries.len())?;
            for (k, v) in entries {
                let k = to_lua(lua, k, channel)?;
                let v = to_lua(lua, v, channel)?;
                t.raw_set(k, v)?;
            }
            Value::Table(t)
        }
        Msg::Channel(sender) => channel(lua, Cap::Local(sender))?,
        Msg::Address(fd) => channel(lua, Cap::Remote(fd))?,
        Msg::Fd(fd) => Value::UserData(lua.create_userdata(FileDescriptor(std::cell::RefCell::new(Some(fd))))?),
    })
}
