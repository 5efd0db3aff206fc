//! A message channel over one `AF_UNIX`/`SOCK_SEQPACKET` socket: one message per datagram,
//! descriptors in `SCM_RIGHTS`.
//!
//! A violation (a truncated datagram or control message, a message the codec refuses) closes
//! every descriptor that came with it and breaks the channel: its owner drops it, and the peer
//! that broke the rules loses this link and nothing else. A zero-length datagram, or the peer's
//! end closing, is `Closed`.
//!
//! The socket is blocking here; the runtime drives non-blocking ones through its reactor with
//! the same encode/decode steps.

use std::io;
use std::os::fd::{AsFd, OwnedFd};

use super::wire::{self, Limits, Value, WireError};
use crate::sys::cmsg;
use crate::sys::pages::Pages;

/// Why a channel operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ChannelError {
    #[error("Channel closed")]
    Closed,
    #[error("the peer broke the wire rules: {0}")]
    Violation(#[source] Violation),
    #[error("the message cannot be sent: {0}")]
    Refused(#[source] WireError),
    #[error("the channel's socket failed")]
    Io(#[source] io::Error),
}

/// What a peer did wrong.
#[derive(Debug, thiserror::Error)]
pub enum Violation {
    #[error("a datagram larger than {max} bytes")]
    Truncated { max: usize },
    #[error("descriptors were cut off or a foreign control message came along")]
    ControlTruncated,
    #[error("{0}")]
    Wire(#[from] WireError),
}

/// One end of a message channel.
#[derive(Debug)]
pub struct Channel {
    sock: OwnedFd,
    limits: Limits,
    /// Receive buffer for [`Channel::recv`] (allocated on first use).
    buf: Pages,
    /// Reused for every send (encoding) and every receive (control messages).
    out: Vec<u8>,
    control: Vec<u8>,
    broken: bool,
}

impl Channel {
    /// Wraps one end of a `SOCK_SEQPACKET` socket.
    pub fn new(sock: OwnedFd, limits: Limits) -> Self {
        let limits = limits.narrowed(Limits::CEILING);
        Self { sock, limits, buf: Pages::empty(), out: Vec::new(), control: cmsg::control_buffer(), broken: false }
    }

    /// A connected pair of channels.
    pub fn pair(limits: Limits) -> io::Result<(Channel, Channel)> {
        let (a, b) = cmsg::seqpacket_pair()?;
        Ok((Channel::new(a, limits), Channel::new(b, limits)))
    }

    /// The channel's socket, for waiting on it.
    pub fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sends `value`: its descriptors are duplicated into the peer by the kernel; the caller
    /// drops `value` afterwards to close its own copies (moving them).
    pub fn send(&mut self, value: &Value) -> Result<(), ChannelError> {
        if self.broken {
            return Err(ChannelError::Closed);
        }
        let fds = wire::encode_into(value, &self.limits, &mut self.out).map_err(ChannelError::Refused)?;
        let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
        match cmsg::send(self.sock.as_fd(), &self.out, &borrowed) {
            Ok(_) => Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EPIPE) || e.raw_os_error() == Some(libc::ECONNRESET) => {
                Err(ChannelError::Closed)
            }
            Err(e) => Err(ChannelError::Io(e)),
        }
    }

    /// Receives the next message (blocking).
    pub fn recv(&mut self) -> Result<Value, ChannelError> {
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.recv_with(&mut buf);
        self.buf = buf;
        r
    }

    /// [`Channel::recv`] into a caller's buffer, so that many channels (an inbox's ends) can
    /// share one instead of holding `max_bytes` each. It is resized as needed.
    pub fn recv_with(&mut self, buf: &mut Pages) -> Result<Value, ChannelError> {
        if self.broken {
            return Err(ChannelError::Closed);
        }
        // One byte more than the limit, so that an oversized datagram shows as such.
        let want = self.limits.max_bytes.saturating_add(1);
        if buf.len() < want {
            // Pages the kernel maps (zeroed) as datagrams reach them, not a memset.
            *buf = Pages::new(want).map_err(ChannelError::Io)?;
        }
        let buf = &mut buf[..want];
        let got = loop {
            match cmsg::recv(self.sock.as_fd(), buf, &mut self.control, 0) {
                Ok(got) => break got,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::ECONNRESET) => return Err(self.close()),
                Err(e) => return Err(ChannelError::Io(e)),
            }
        };
        // From here on, every path either hands the descriptors over in the value or drops
        // them (closing them) with the error.
        if got.truncated || got.len > self.limits.max_bytes {
            return Err(self.violation(Violation::Truncated { max: self.limits.max_bytes }));
        }
        if got.control_truncated {
            return Err(self.violation(Violation::ControlTruncated));
        }
        if got.len == 0 {
            // End of stream, or a zero-length datagram: either way this link is over.
            return Err(self.close());
        }
        match wire::decode(&buf[..got.len], got.fds, &self.limits) {
            Ok(v) => Ok(v),
            Err(e) => Err(self.violation(Violation::Wire(e))),
        }
    }

    fn violation(&mut self, v: Violation) -> ChannelError {
        self.broken = true;
        ChannelError::Violation(v)
    }

    fn close(&mut self) -> ChannelError {
        self.broken = true;
        ChannelError::Closed
    }
}
