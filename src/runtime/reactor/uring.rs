//! The io_uring backend: completion-based.
//!
//! Every op gets one SQE whose `user_data` is its id; the op (buffer, socket address, descriptor
//! reference) stays in `in_flight` until its CQE arrives, which is the kernel saying it no longer
//! touches that memory. Cancellation submits an `ASYNC_CANCEL` SQE tagged so that its own CQE is
//! ignored; the cancelled op still completes through its own CQE (`-ECANCELED`, or its real
//! result when the kernel finished first).
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{FromRawFd, OwnedFd};
use std::time::Duration;

use io_uring::{IoUring, opcode, squeue, types};

use super::{Backend, Completion, Op, OpId, Output, Reactor};

/// `user_data` of cancellation SQEs; op ids are `u32`, so they never collide with it.
const CANCEL_TAG: u64 = u64::MAX;

const ENTRIES: u32 = 1024;

pub struct UringReactor {
    ring: IoUring,
    /// Ops the kernel may be using, indexed by id.
    in_flight: Vec<Option<Op>>,
    /// SQEs not yet pushed because the submission queue was full.
    backlog: Vec<squeue::Entry>,
}

impl UringReactor {
    pub fn new() -> io::Result<Self> {
        // COOP_TASKRUN: completions are run when we enter the kernel anyway, instead of
        // interrupting the thread (an IPI) for each one; TASKRUN_FLAG tells us when to enter.
        // SINGLE_ISSUER/DEFER_TASKRUN would be allowed (each thread's context makes its own
        // engine and is its only user), but measured no different on host-actor round trips
        // (unpinned and on one CPU), and they need Linux 6.1.
        let ring = match IoUring::builder().setup_clamp().setup_coop_taskrun().setup_taskrun_flag().build(ENTRIES) {
            Ok(ring) => ring,
            // Older kernels (before 5.19) refuse the flags: a plain ring still works.
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) => IoUring::builder().setup_clamp().build(ENTRIES)?,
            Err(e) => return Err(e),
        };
        // Timed waits pass their timeout through IORING_ENTER_EXT_ARG (Linux 5.11); without it
        // the epoll backend serves better than a ring that cannot sleep with a deadline.
        if !ring.params().is_feature_ext_arg() {
            return Err(io::Error::new(io::ErrorKind::Unsupported, "io_uring lacks IORING_FEAT_EXT_ARG (Linux 5.11)"));
        }
        Ok(Self { ring, in_flight: Vec::new(), backlog: Vec::new() })
    }

    fn sqe_for(id: OpId, op: &mut Op) -> squeue::Entry {
        let entry = match op {
            // Sockets use RECV/SEND (straight to the socket layer, no file position); other
            // descriptors (stdio: pipes, terminals, files) use READ/WRITE at the current position.
            Op::Read { fd, buf } => {
                let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
                if fd.is_socket() {
                    opcode::Recv::new(types::Fd(fd.raw()), buf.as_mut_ptr(), len).build()
                } else {
                    opcode::Read::new(types::Fd(fd.raw()), buf.as_mut_ptr(), len).offset(u64::MAX).build()
                }
            }
            Op::Write { fd, buf } => {
                let len = u32::try_from(buf.len()).unwrap_or(u32::MAX);
                if fd.is_socket() {
                    opcode::Send::new(types::Fd(fd.raw()), buf.as_ptr(), len).flags(libc::MSG_NOSIGNAL).build()
                } else {
                    opcode::Write::new(types::Fd(fd.raw()), buf.as_ptr(), len).offset(u64::MAX).build()
                }
            }
            Op::Accept { fd } => opcode::Accept::new(types::Fd(fd.raw()), std::ptr::null_mut(), std::ptr::null_mut())
                .flags(libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK)
                .build(),
            Op::Connect { fd, addr, .. } => {
                opcode::Connect::new(types::Fd(fd.raw()), addr.as_ptr().cast(), addr.len()).build()
            }
            Op::Poll { fd, output } => {
                let mask = if *output { libc::POLLOUT } else { libc::POLLIN };
                opcode::PollAdd::new(types::Fd(fd.raw()), mask as u32).build()
            }
        };
        entry.user_data(u64::from(id))
    }

    fn push(&mut self, entry: squeue::Entry) {
        // Order matters for nothing here (each SQE is independent), but keep FIFO for fairness.
        if !self.backlog.is_empty() {
            self.backlog.push(entry);
            return;
        }
        // SAFETY: every pointer in `entry` refers to memory owned by an op stored in
        // `in_flight` (buffer, boxed socket address) or to a descriptor kept open by that op's
        // `Rc<IoFd>`; the op is removed from `in_flight` only when this SQE's CQE is reaped, so
        // the memory outlives the kernel's use of it. Cancel SQEs carry no pointer.
        let pushed = unsafe { self.ring.submission().push(&entry) };
        if pushed.is_err() {
            self.backlog.push(entry);
        }
    }

    /// Moves backlogged SQEs into the ring as space frees up.
    fn flush_backlog(&mut self) -> io::Result<()> {
        while !self.backlog.is_empty() {
            self.ring.submit()?;
            let mut sq = self.ring.submission();
            let mut moved = 0;
            for entry in &self.backlog {
                // SAFETY: same invariant as in `push`: each entry's memory belongs to an op held
                // in `in_flight` until its CQE is reaped.
                if unsafe { sq.push(entry) }.is_err() {
                    break;
                }
                moved += 1;
            }
            drop(sq);
            self.backlog.drain(..moved);
            if moved == 0 {
                // The ring is full of unsubmitted entries the kernel has not taken yet; the
                // submit above made room unless the kernel is out of resources.
                break;
            }
        }
        Ok(())
    }

    fn reap(&mut self, out: &mut Vec<Completion>) {
        for cqe in self.ring.completion() {
            let ud = cqe.user_data();
            if ud == CANCEL_TAG {
                continue;
            }
            let Ok(id) = OpId::try_from(ud) else { continue };
            let Some(op) = self.in_flight.get_mut(id as usize).and_then(Option::take) else { continue };
            let res = cqe.result();
            let result = if res < 0 {
                Err(io::Error::from_raw_os_error(-res))
            } else {
                match op {
                    Op::Accept { .. } => {
                        // SAFETY: a non-negative result of IORING_OP_ACCEPT is a new descriptor
                        // created for us and owned by nothing else.
                        let fd = unsafe { OwnedFd::from_raw_fd(res) };
                        Ok(Output::Accepted(fd))
                    }
                    Op::Connect { .. } => Ok(Output::Connected),
                    Op::Read { .. } | Op::Write { .. } => Ok(Output::Bytes(res.unsigned_abs() as usize)),
                    Op::Poll { .. } => Ok(Output::Bytes(0)),
                }
            };
            out.push(Completion { id, op, result });
        }
    }
}

/// The kernel tears a ring down asynchronously: an op still in flight (a poll-armed RECV, a
/// READ on a terminal in an io-wq worker) may touch its buffer after the ring's descriptor is
/// closed. So before anything is freed, every op is cancelled and its CQE awaited; whatever
/// the kernel has not answered after a bounded wait is leaked, never freed under it.
impl Drop for UringReactor {
    fn drop(&mut self) {
        let ids: Vec<OpId> = (0..self.in_flight.len())
            .filter(|&i| self.in_flight[i].is_some())
            .filter_map(|i| OpId::try_from(i).ok())
            .collect();
        for id in ids {
            self.cancel(id);
        }
        let mut done = Vec::new();
        let ts = types::Timespec::from(Duration::from_millis(10));
        for _ in 0..200 {
            if self.in_flight.iter().all(Option::is_none) {
                return;
            }
            if self.flush_backlog().is_err() {
                break;
            }
            let args = types::SubmitArgs::new().timespec(&ts);
            match self.ring.submitter().submit_with_args(1, &args) {
                Ok(_) => {}
                Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY)) => {}
                Err(_) => break,
            }
            self.reap(&mut done);
            done.clear();
        }
        for op in self.in_flight.drain(..).flatten() {
            std::mem::forget(op);
        }
    }
}

impl Reactor for UringReactor {
    fn backend(&self) -> Backend {
        Backend::IoUring
    }

    fn start(&mut self, id: OpId, mut op: Op) -> Option<Completion> {
        let idx = id as usize;
        if self.in_flight.len() <= idx {
            self.in_flight.resize_with(idx + 1, || None);
        }
        let entry = Self::sqe_for(id, &mut op);
        // Store the op first: from the push on, the kernel may read the SQE's pointers.
        self.in_flight[idx] = Some(op);
        self.push(entry);
        None
    }

    fn cancel(&mut self, id: OpId) {
        if self.in_flight.get(id as usize).is_some_and(Option::is_some) {
            let entry = opcode::AsyncCancel::new(u64::from(id)).build().user_data(CANCEL_TAG);
            self.push(entry);
        }
    }

    fn forget(&mut self, _token: u64) {}

    fn has_ready(&self) -> bool {
        false
    }

    fn wait(&mut self, timeout: Option<Duration>, out: &mut Vec<Completion>) -> io::Result<()> {
        self.flush_backlog()?;
        self.reap(out);
        let want = usize::from(out.is_empty());
        let outcome = match timeout {
            _ if want == 0 => self.ring.submit(),
            None => self.ring.submit_and_wait(want),
            Some(d) => {
                let ts = types::Timespec::from(d);
                let args = types::SubmitArgs::new().timespec(&ts);
                self.ring.submitter().submit_with_args(want, &args)
            }
        };
        match outcome {
            Ok(_) => {}
            Err(e) if matches!(e.raw_os_error(), Some(libc::ETIME | libc::EINTR | libc::EBUSY)) => {}
            Err(e) => return Err(e),
        }
        self.reap(out);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::net::UnixStream;
    use std::rc::Rc;

    use super::*;
    use crate::sys::{DroppedTokens, IoFd};

    #[test]
    fn dropping_the_reactor_cancels_pending_ops_and_waits_for_the_kernel() {
        let mut reactor = UringReactor::new().expect("io_uring works on this kernel");
        let (a, _b) = UnixStream::pair().expect("socketpair");
        let fd = Rc::new(IoFd::new(a.into(), 1, crate::sys::FdKind::Socket, DroppedTokens::default()));
        let weak = Rc::downgrade(&fd);
        assert!(reactor.start(0, Op::Read { fd, buf: vec![0; 64] }).is_none());
        // Submit the SQE so the kernel really holds the op (a poll-armed RECV).
        let mut out = Vec::new();
        reactor.wait(Some(Duration::ZERO), &mut out).expect("wait");
        assert!(out.is_empty(), "nothing was written, the read is pending");
        drop(reactor);
        // The op came back through its CQE and was dropped normally: the descriptor is free.
        assert!(weak.upgrade().is_none(), "the cancelled op was reaped, not leaked");
    }
}
