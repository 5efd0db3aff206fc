//! Capability channels: an actor's inbox and the addresses that reach it.
//!
//! Every address is its own `SOCK_SEQPACKET` socketpair. [`Inbox::new_address`] keeps the
//! receive end (shut for writing) and hands out only the send end (shut for reading), which
//! travels in messages as [`Value::Address`]. The inbox merges all its receive ends. A peer
//! that sends a zero-length datagram, breaks the wire rules, or drops its send end loses that
//! one capability; the inbox goes on with the others. Once no send end is left, `recv` fails
//! with `Channel closed`.
//!
//! Blocking here; the runtime will drive the same ends through its reactor.
//!
//! Not yet: forwarding an address received from a third actor as a *new* capability (the
//! holder can move it on, or share a duplicate of it; minting a fresh one for the third actor
//! needs a control message to that actor, which comes with sandboxed actors).

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsFd, OwnedFd};

use super::channel::{Channel, ChannelError};
use super::wire::{Limits, Value};
use crate::sys::pages::Pages;
use crate::sys::{self, cmsg};

/// A capability that was dropped, and why (for the host's report; its peer is gone or hostile).
#[derive(Debug)]
pub struct Dropped {
    pub error: ChannelError,
}

/// The receiving side of an actor: all its receive ends, merged.
#[derive(Debug)]
pub struct Inbox {
    ends: Vec<Channel>,
    limits: Limits,
    /// Where the next scan starts, so that a busy sender cannot starve the others.
    next: usize,
    dropped: Vec<Dropped>,
    /// One receive buffer for all the ends.
    buf: Pages,
}

impl Inbox {
    pub fn new(limits: Limits) -> Self {
        Self { ends: Vec::new(), limits, next: 0, dropped: Vec::new(), buf: Pages::empty() }
    }

    /// Mints a new address of this inbox: the send end of a fresh socketpair, shut for reading.
    pub fn new_address(&mut self) -> io::Result<OwnedFd> {
        let (recv_end, send_end) = cmsg::seqpacket_pair()?;
        sys::shutdown(recv_end.as_fd(), Shutdown::Write)?;
        sys::shutdown(send_end.as_fd(), Shutdown::Read)?;
        self.ends.push(Channel::new(recv_end, self.limits));
        Ok(send_end)
    }

    /// How many capabilities can still deliver to this inbox.
    pub fn live(&self) -> usize {
        self.ends.len()
    }

    /// Capabilities dropped since the last call, with the reason (a violation names the rule).
    pub fn take_dropped(&mut self) -> Vec<Dropped> {
        std::mem::take(&mut self.dropped)
    }

    /// Receives the next message from any address (blocking). `Err(Closed)` once no address is
    /// left; an IO error of the inbox itself is returned as is.
    pub fn recv(&mut self) -> Result<Value, ChannelError> {
        loop {
            if self.ends.is_empty() {
                return Err(ChannelError::Closed);
            }
            let fds: Vec<_> = self.ends.iter().map(Channel::as_fd).collect();
            let ready = sys::poll_readable(&fds, -1).map_err(ChannelError::Io)?;
            drop(fds);
            let n = self.ends.len();
            let start = self.next % n;
            let Some(i) = (0..n).map(|k| (start + k) % n).find(|&i| ready[i]) else { continue };
            self.next = i + 1;
            match self.ends[i].recv_with(&mut self.buf) {
                Ok(v) => return Ok(v),
                Err(ChannelError::Io(e)) => return Err(ChannelError::Io(e)),
                // Closed, a zero-length datagram, or a violation: this capability only.
                Err(error) => {
                    self.ends.swap_remove(i);
                    self.dropped.push(Dropped { error });
                }
            }
        }
    }
}

/// The sending side of an address.
#[derive(Debug)]
pub struct Address {
    channel: Channel,
}

impl Address {
    /// Wraps a received address (the send end of a capability channel).
    pub fn new(send_end: OwnedFd, limits: Limits) -> Self {
        Self { channel: Channel::new(send_end, limits) }
    }

    pub fn send(&mut self, value: &Value) -> Result<(), ChannelError> {
        self.channel.send(value)
    }
}
