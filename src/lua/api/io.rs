//! Raw IO primitives for the prelude: sockets, timers, the engine's `wait`.
//!
//! Op-starting primitives return `id` when the op is in flight (the prelude parks the fiber
//! until `wait` reports that id), `false, value` when it finished at once, or `FAIL, code`.

use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use mlua::{AnyUserData, IntoLuaMulti, Lua, MultiValue, Table, UserData, Value};
use socket2::{Domain, Protocol, SockAddr, SockRef, Socket, Type};

use super::byte_span::{ByteSpan, Storage, bytes_of};
use super::{FAIL_KEY, Ret3, as_integer, fail, fail_io, fail3, ret1, type_name};
use crate::runtime::engine::FinishedOutput;
use crate::runtime::reactor::Op;
use crate::runtime::{Engine, Finished, Owner, Started};
use crate::sys::{FdKind, IoFd, errno};

/// Where the bytes of a finished read go: a window of a span's storage.
pub struct ReadSink {
    storage: Storage,
    start: usize,
    len: usize,
}

pub type SharedEngine = Rc<RefCell<Engine<ReadSink>>>;

/// An IO object as Lua holds it. `io` is `None` once closed.
pub struct Handle {
    io: Option<Rc<IoFd>>,
}

/// `read` and `write` are methods of the handle: mlua borrows a method's `self` straight from
/// the Lua stack, which makes the two calls of every message cheaper than free functions.
impl UserData for Handle {
    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("read", |lua, this, span: Value| {
            let Some(fd) = this.live().cloned() else { return fail3(lua, "EBADF", "the object is closed") };
            let engine = vm_engine(lua)?;
            let sink = match &span {
                Value::UserData(s) if s.is::<ByteSpan>() => {
                    let s = s.borrow::<ByteSpan>()?;
                    ReadSink { storage: s.storage.clone(), start: s.start, len: s.len }
                }
                v => {
                    return fail3(lua, "EINVAL", format!("bad argument #1 (byte_span expected, got {})", type_name(v)));
                }
            };
            let buf = engine.borrow_mut().buffer(sink.len);
            let started = engine.borrow_mut().start_io(Op::Read { fd, buf }, Some(sink));
            report3(lua, &engine, started)
        });
        methods.add_method("write", |lua, this, data: Value| {
            let Some(fd) = this.live().cloned() else { return fail3(lua, "EBADF", "the object is closed") };
            let engine = vm_engine(lua)?;
            let mut buf = engine.borrow_mut().buffer(0);
            match &data {
                Value::String(s) => buf.extend_from_slice(&s.as_bytes()),
                Value::UserData(u) if u.is::<ByteSpan>() => u.borrow::<ByteSpan>()?.with(|b| buf.extend_from_slice(b)),
                v => {
                    engine.borrow_mut().recycle(buf);
                    let why = format!("bad argument #1 (byte_span or string expected, got {})", type_name(v));
                    return fail3(lua, "EINVAL", why);
                }
            }
            let started = engine.borrow_mut().start_io(Op::Write { fd, buf }, None);
            report3(lua, &engine, started)
        });
    }
}

/// The engine of the VM `lua` belongs to (installed by [`raw_table`]).
fn vm_engine(lua: &Lua) -> mlua::Result<SharedEngine> {
    lua.app_data_ref::<SharedEngine>()
        .map(|e| e.clone())
        .ok_or_else(|| mlua::Error::RuntimeError("invariant: the VM has an IO engine".to_owned()))
}

impl Handle {
    fn live(&self) -> Option<&Rc<IoFd>> {
        self.io.as_ref()
    }

    /// A duplicate of the object's descriptor (to send it in a message).
    pub fn duplicate(&self) -> Option<std::io::Result<OwnedFd>> {
        self.io.as_ref().map(|io| io.as_fd().try_clone_to_owned())
    }
}

/// A descriptor that arrived in a message and was not yet made into an IO object
/// (`ip.tcp.socket.new(fd)` adopts it). Sending it again moves it on.
pub struct FileDescriptor(pub RefCell<Option<OwnedFd>>);

impl UserData for FileDescriptor {
    fn add_methods<M: mlua::UserDataMethods<Self>>(methods: &mut M) {
        methods.add_method("close", |_, this, ()| {
            this.0.borrow_mut().take();
            Ok(())
        });
        methods.add_meta_method(mlua::MetaMethod::ToString, |_, this, ()| {
            Ok(if this.0.borrow().is_some() { "file_descriptor" } else { "file_descriptor (closed)" })
        });
    }
}

fn closed(lua: &Lua) -> mlua::Result<MultiValue> {
    fail(lua, "EBADF", "the object is closed")
}

fn one(v: Value) -> MultiValue {
    MultiValue::from_vec(vec![v])
}

fn handle_of(ud: &AnyUserData) -> mlua::Result<Option<Rc<IoFd>>> {
    Ok(ud.borrow::<Handle>()?.live().cloned())
}

fn make_handle(lua: &Lua, engine: &SharedEngine, fd: OwnedFd, kind: FdKind) -> mlua::Result<Value> {
    let io = engine.borrow_mut().adopt(fd, kind);
    lua.create_userdata(Handle { io: Some(io) }).map(Value::UserData)
}

/// Turns a finished op into (value, code) as the prelude expects them.
fn outcome(lua: &Lua, engine: &SharedEngine, f: Finished<ReadSink>) -> mlua::Result<(Value, Value)> {
    let code = |c: &str| lua.create_string(c).map(Value::String);
    match f.result {
        Err(e) => Ok((Value::Nil, code(errno::code_of(&e))?)),
        Ok(FinishedOutput::Read { data, n }) => {
            let requested = f.sink.as_ref().map_or(0, |s| s.len);
            if let Some(sink) = &f.sink {
                let n = n.min(sink.len);
                sink.storage.borrow_mut()[sink.start..sink.start + n].copy_from_slice(&data[..n]);
            }
            engine.borrow_mut().recycle(data);
            if n == 0 && requested > 0 {
                Ok((Value::Nil, code("EOF")?))
            } else {
                Ok((Value::Integer(n as i64), Value::Nil))
            }
        }
        Ok(FinishedOutput::Wrote(n)) => Ok((Value::Integer(n as i64), Value::Nil)),
        Ok(FinishedOutput::Accepted(fd)) => Ok((make_handle(lua, engine, fd, FdKind::Socket)?, Value::Nil)),
        Ok(FinishedOutput::Connected | FinishedOutput::TimerFired) => Ok((Value::Boolean(true), Value::Nil)),
    }
}

/// Reports a started op to Lua: `id`, or `false, value`, or `FAIL, code`.
fn report(lua: &Lua, engine: &SharedEngine, started: Started<ReadSink>) -> mlua::Result<MultiValue> {
    let (a, b, c) = report3(lua, engine, started)?;
    match (&a, &c) {
        (_, Value::Nil) => (a, b).into_lua_multi(lua),
        _ => (a, b, c).into_lua_multi(lua),
    }
}

/// [`report`] for the per-message methods, without a `MultiValue` allocation.
fn report3(lua: &Lua, engine: &SharedEngine, started: Started<ReadSink>) -> mlua::Result<Ret3> {
    match started {
        Started::Pending(id) => Ok(ret1(Value::Integer(i64::from(id)))),
        Started::Done(f) => match outcome(lua, engine, f)? {
            (_, Value::String(code)) => {
                let sentinel: Value = lua.named_registry_value(FAIL_KEY)?;
                Ok((sentinel, Value::String(code), Value::Nil))
            }
            (v, _) => Ok((Value::Boolean(false), v, Value::Nil)),
        },
    }
}

fn parse_ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn port_arg(lua: &Lua, v: &Value, n: usize) -> Result<u16, mlua::Result<MultiValue>> {
    match as_integer(v).and_then(|p| u16::try_from(p).ok()) {
        Some(p) => Ok(p),
        None if as_integer(v).is_some() => {
            Err(fail(lua, "EINVAL", format!("port out of range [0, 65535] in argument #{n}")))
        }
        None => Err(fail(lua, "EINVAL", format!("bad argument #{n} (port number expected, got {})", type_name(v)))),
    }
}

fn endpoint(lua: &Lua, addr: std::io::Result<SockAddr>) -> mlua::Result<MultiValue> {
    match addr.map(|a| a.as_socket()) {
        Ok(Some(sa)) => (sa.ip().to_string(), sa.port()).into_lua_multi(lua),
        Ok(None) => fail(lua, "EAFNOSUPPORT", "not an IP endpoint"),
        Err(e) => fail_io(lua, &e),
    }
}

/// Builds the raw IO table handed to the prelude.
pub fn raw_table(lua: &Lua, engine: SharedEngine, owner: Owner) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    lua.set_app_data(engine.clone());

    t.set("backend", engine.borrow().backend().name())?;

    let e = engine.clone();
    t.set("pending", lua.create_function(move |_, ()| Ok(e.borrow().pending()))?)?;

    // wait(block, out) -> n: fills out with (id, value, code) triples.
    let e = engine.clone();
    let mut finished = Vec::new();
    t.set(
        "wait",
        // The context waits on the kernel between turns; here the VM collects what finished
        // for it (`block` is kept for the prelude's call shape).
        lua.create_function_mut(move |lua, (_block, out): (bool, Table)| {
            finished.clear();
            e.borrow_mut().take_for(owner, &mut finished);
            let mut k = 0;
            for f in finished.drain(..) {
                let id = f.id;
                let (v, code) = outcome(lua, &e, f)?;
                out.raw_set(k + 1, id)?;
                out.raw_set(k + 2, v)?;
                out.raw_set(k + 3, code)?;
                k += 3;
            }
            Ok(one(Value::Integer(k / 3)))
        })?,
    )?;

    let e = engine.clone();
    t.set(
        "sleep",
        lua.create_function(move |lua, secs: Value| {
            let secs = match secs {
                Value::Integer(i) => i as f64,
                Value::Number(n) => n,
                v => {
                    return fail(
                        lua,
                        "EINVAL",
                        format!("bad argument #1 (number of seconds expected, got {})", type_name(&v)),
                    );
                }
            };
            if secs.is_nan() || secs < 0.0 {
                return fail(lua, "EINVAL", "the duration must be a non-negative number of seconds");
            }
            let d = Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX);
            Ok(one(Value::Integer(i64::from(e.borrow_mut().start_timer(d)))))
        })?,
    )?;

    let e = engine.clone();
    t.set(
        "cancel",
        lua.create_function(move |_, id: u32| {
            e.borrow_mut().cancel(id);
            Ok(())
        })?,
    )?;

    t.set("now_steady", lua.create_function(|_, ()| Ok(steady_seconds()))?)?;
    t.set(
        "now_system",
        lua.create_function(|_, ()| Ok(SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())))?,
    )?;

    // parse_address(s) -> canonical text, is_v6
    t.set(
        "parse_address",
        lua.create_function(|lua, s: Value| {
            let Value::String(s) = &s else {
                return fail(
                    lua,
                    "EINVAL",
                    format!("bad argument #1 (address string expected, got {})", type_name(&s)),
                );
            };
            let text = s.to_string_lossy();
            match parse_ip(&text) {
                Some(ip) => (ip.to_string(), ip.is_ipv6()).into_lua_multi(lua),
                None => fail(lua, "EINVAL", format!("{text:?} is not an IPv4 or IPv6 address")),
            }
        })?,
    )?;

    let e = engine.clone();
    t.set(
        "tcp_open",
        lua.create_function(move |lua, family: String| {
            let domain = match family.as_str() {
                "v4" => Domain::IPV4,
                "v6" => Domain::IPV6,
                other => {
                    return fail(lua, "EINVAL", format!("unknown address family {other:?} (expected 'v4' or 'v6')"));
                }
            };
            let sock = match Socket::new(domain, Type::STREAM, Some(Protocol::TCP))
                .and_then(|s| s.set_nonblocking(true).map(|()| s))
            {
                Ok(s) => s,
                Err(err) => return fail_io(lua, &err),
            };
            Ok(one(make_handle(lua, &e, sock.into(), FdKind::Socket)?))
        })?,
    )?;

    // adopt_tcp(file_descriptor) -> handle: takes a received descriptor, which must be a TCP
    // socket.
    let e = engine.clone();
    t.set(
        "adopt_tcp",
        lua.create_function(move |lua, fd: Value| {
            let Value::UserData(ud) = &fd else {
                return fail(lua, "EINVAL", format!("bad argument #1 (file_descriptor expected, got {})", type_name(&fd)));
            };
            let Ok(holder) = ud.borrow::<FileDescriptor>() else {
                return fail(lua, "EINVAL", "bad argument #1 (file_descriptor expected, got userdata)");
            };
            let Some(owned) = holder.0.borrow_mut().take() else {
                return fail(lua, "EBADF", "the file_descriptor was already used or closed");
            };
            let sock = Socket::from(owned);
            let is_tcp = matches!(sock.r#type(), Ok(t) if t == Type::STREAM)
                && matches!(sock.local_addr().map(|a| a.family()), Ok(f) if f == libc::AF_INET as libc::sa_family_t || f == libc::AF_INET6 as libc::sa_family_t);
            if !is_tcp {
                // Not taken: the holder gets its descriptor back.
                *holder.0.borrow_mut() = Some(sock.into());
                return fail(lua, "EINVAL", "the file_descriptor is not a TCP socket");
            }
            if let Err(err) = sock.set_nonblocking(true) {
                return fail_io(lua, &err);
            }
            Ok(one(make_handle(lua, &e, sock.into(), FdKind::Socket)?))
        })?,
    )?;

    t.set(
        "bind",
        lua.create_function(|lua, (ud, addr, port): (AnyUserData, String, Value)| {
            let Some(io) = handle_of(&ud)? else { return closed(lua) };
            let Some(ip) = parse_ip(&addr) else {
                return fail(lua, "EINVAL", format!("{addr:?} is not an IP address"));
            };
            let port = match port_arg(lua, &port, 2) {
                Ok(p) => p,
                Err(r) => return r,
            };
            match SockRef::from(&*io).bind(&SocketAddr::new(ip, port).into()) {
                Ok(()) => Ok(one(Value::Boolean(true))),
                Err(err) => fail_io(lua, &err),
            }
        })?,
    )?;

    t.set(
        "listen",
        lua.create_function(|lua, (ud, backlog): (AnyUserData, Value)| {
            let Some(io) = handle_of(&ud)? else { return closed(lua) };
            let backlog = match &backlog {
                Value::Nil => libc::SOMAXCONN,
                v => match as_integer(v).and_then(|b| i32::try_from(b).ok()) {
                    Some(b) if b >= 0 => b,
                    _ => return fail(lua, "EINVAL", "the backlog must be a non-negative integer"),
                },
            };
            match SockRef::from(&*io).listen(backlog) {
                Ok(()) => Ok(one(Value::Boolean(true))),
                Err(err) => fail_io(lua, &err),
            }
        })?,
    )?;

    t.set(
        "set_option",
        lua.create_function(|lua, (ud, name, value): (AnyUserData, String, Value)| {
            let Some(io) = handle_of(&ud)? else { return closed(lua) };
            let Value::Boolean(on) = value else {
                return fail(lua, "EINVAL", format!("option {name:?} takes a boolean, got {}", type_name(&value)));
            };
            let sock = SockRef::from(&*io);
            let r = match name.as_str() {
                "reuse_address" => sock.set_reuse_address(on),
                "tcp_no_delay" => sock.set_tcp_nodelay(on),
                "keep_alive" => sock.set_keepalive(on),
                other => return fail(lua, "EINVAL", format!("unknown socket option {other:?}")),
            };
            match r {
                Ok(()) => Ok(one(Value::Boolean(true))),
                Err(err) => fail_io(lua, &err),
            }
        })?,
    )?;

    t.set(
        "local_endpoint",
        lua.create_function(|lua, ud: AnyUserData| {
            let Some(io) = handle_of(&ud)? else { return closed(lua) };
            endpoint(lua, SockRef::from(&*io).local_addr())
        })?,
    )?;

    t.set(
        "remote_endpoint",
        lua.create_function(|lua, ud: AnyUserData| {
            let Some(io) = handle_of(&ud)? else { return closed(lua) };
            endpoint(lua, SockRef::from(&*io).peer_addr())
        })?,
    )?;

    let e = engine.clone();
    t.set(
        "accept",
        lua.create_function(move |lua, ud: AnyUserData| {
            let Some(fd) = handle_of(&ud)? else { return closed(lua) };
            let started = e.borrow_mut().start_io(Op::Accept { fd }, None);
            report(lua, &e, started)
        })?,
    )?;

    let e = engine.clone();
    t.set(
        "connect",
        lua.create_function(move |lua, (ud, addr, port): (AnyUserData, String, Value)| {
            let Some(fd) = handle_of(&ud)? else { return closed(lua) };
            let Some(ip) = parse_ip(&addr) else {
                return fail(lua, "EINVAL", format!("{addr:?} is not an IP address"));
            };
            let port = match port_arg(lua, &port, 2) {
                Ok(p) => p,
                Err(r) => return r,
            };
            let addr = Box::new(SockAddr::from(SocketAddr::new(ip, port)));
            let started = e.borrow_mut().start_io(Op::Connect { fd, addr, started: false }, None);
            report(lua, &e, started)
        })?,
    )?;

    t.set(
        "shutdown",
        lua.create_function(|lua, (ud, how): (AnyUserData, Value)| {
            let Some(io) = handle_of(&ud)? else { return closed(lua) };
            let how = match &how {
                Value::String(s) if s.as_bytes().as_ref() == b"send" => std::net::Shutdown::Write,
                Value::String(s) if s.as_bytes().as_ref() == b"receive" => std::net::Shutdown::Read,
                Value::String(s) if s.as_bytes().as_ref() == b"both" => std::net::Shutdown::Both,
                Value::Nil => std::net::Shutdown::Both,
                _ => return fail(lua, "EINVAL", "shutdown takes 'send', 'receive' or 'both'"),
            };
            match SockRef::from(&*io).shutdown(how) {
                Ok(()) => Ok(one(Value::Boolean(true))),
                Err(err) => fail_io(lua, &err),
            }
        })?,
    )?;

    // close(h): cancels the object's ops; the descriptor closes when the last op lets go of it.
    let e = engine.clone();
    t.set(
        "close",
        lua.create_function(move |lua, ud: AnyUserData| {
            let io = ud.borrow_mut::<Handle>()?.io.take();
            match io {
                Some(io) => {
                    e.borrow_mut().cancel_fd(io.token());
                    Ok(one(Value::Boolean(true)))
                }
                None => closed(lua),
            }
        })?,
    )?;

    t.set("is_open", lua.create_function(|_, ud: AnyUserData| Ok(ud.borrow::<Handle>()?.live().is_some()))?)?;

    // stdio(n): a handle on a duplicate of descriptor 0, 1 or 2 (left in blocking mode: the
    // file description is shared with the parent).
    let e = engine.clone();
    t.set(
        "stdio",
        lua.create_function(move |lua, n: i32| {
            let fd = match n {
                0 => std::io::stdin().as_fd().try_clone_to_owned(),
                1 => std::io::stdout().as_fd().try_clone_to_owned(),
                2 => std::io::stderr().as_fd().try_clone_to_owned(),
                _ => return fail(lua, "EINVAL", "stdio takes 0, 1 or 2"),
            };
            match fd {
                Ok(fd) => Ok(one(make_handle(lua, &e, fd, FdKind::Inherited)?)),
                Err(err) => fail_io(lua, &err),
            }
        })?,
    )?;

    t.set("is_span_or_string", lua.create_function(|_, v: Value| Ok(bytes_of(&v).is_some()))?)?;
    t.set("is_handle", lua.create_function(|_, v: Value| Ok(matches!(&v, Value::UserData(u) if u.is::<Handle>())))?)?;

    Ok(t)
}

/// Seconds on the monotonic clock (CLOCK_MONOTONIC), as a float.
fn steady_seconds() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    // Anchor at the first call: the epoch of a steady clock is unspecified anyway.
    ORIGIN.get_or_init(Instant::now).elapsed().as_secs_f64()
}
