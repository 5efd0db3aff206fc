//! Capability channels: an inbox merges its addresses, and a misbehaving or departed peer
//! costs only its own capability.

// The cross-process test forks and waits for its child through libc.
#![allow(unsafe_code)]

use std::os::fd::AsFd;

use luacell::ipc::channel::{Channel, ChannelError, Violation};
use luacell::ipc::inbox::{Address, Inbox};
use luacell::ipc::wire::{Key, Limits, Value};
use luacell::sys::cmsg;

fn address(inbox: &mut Inbox) -> Address {
    Address::new(inbox.new_address().expect("new address"), Limits::DEFAULT)
}

#[test]
fn inbox_merges_messages_from_all_its_addresses() {
    let mut inbox = Inbox::new(Limits::DEFAULT);
    let mut a = address(&mut inbox);
    let mut b = address(&mut inbox);
    for i in 0..3 {
        a.send(&Value::Int(i)).expect("send a");
        b.send(&Value::Int(100 + i)).expect("send b");
    }
    let mut got: Vec<i64> = (0..6)
        .map(|_| match inbox.recv().expect("recv") {
            Value::Int(i) => i,
            other => panic!("{other:?}"),
        })
        .collect();
    got.sort_unstable();
    assert_eq!(got, vec![0, 1, 2, 100, 101, 102]);
}

#[test]
fn inbox_violation_drops_only_that_capability() {
    let mut inbox = Inbox::new(Limits::DEFAULT);
    let hostile = inbox.new_address().expect("address");
    let mut honest = address(&mut inbox);
    cmsg::send(hostile.as_fd(), b"not a luacell message", &[]).expect("send");
    honest.send(&Value::Bytes(b"still here".to_vec())).expect("send");
    assert_eq!(inbox.recv().expect("the honest message arrives"), Value::Bytes(b"still here".to_vec()));
    let dropped = inbox.take_dropped();
    assert_eq!(dropped.len(), 1);
    assert!(matches!(dropped[0].error, ChannelError::Violation(Violation::Wire(_))));
    assert_eq!(inbox.live(), 1);
    // The hostile sender's capability is gone: its messages reach no one.
    honest.send(&Value::Int(2)).expect("send");
    assert_eq!(inbox.recv().expect("recv"), Value::Int(2));
}

#[test]
fn inbox_zero_length_datagram_closes_only_that_capability() {
    let mut inbox = Inbox::new(Limits::DEFAULT);
    let closing = inbox.new_address().expect("address");
    let mut other = address(&mut inbox);
    cmsg::send(closing.as_fd(), &[], &[]).expect("send");
    other.send(&Value::Bool(true)).expect("send");
    assert_eq!(inbox.recv().expect("recv"), Value::Bool(true));
    assert_eq!(inbox.live(), 1);
    assert!(matches!(inbox.take_dropped()[0].error, ChannelError::Closed));
}

#[test]
fn inbox_without_send_ends_is_closed() {
    let mut inbox = Inbox::new(Limits::DEFAULT);
    let a = inbox.new_address().expect("address");
    let b = inbox.new_address().expect("address");
    drop(a);
    drop(b);
    assert!(matches!(inbox.recv(), Err(ChannelError::Closed)));
    assert_eq!(inbox.live(), 0);
}

#[test]
fn address_ends_are_one_way() {
    let mut inbox = Inbox::new(Limits::DEFAULT);
    let send_end = inbox.new_address().expect("address");
    // The holder of an address cannot read what others send to the inbox: its end is shut
    // for reading, so a read returns end of stream at once instead of stealing messages.
    let mut buf = [0u8; 16];
    let mut control = cmsg::control_buffer();
    let got = cmsg::recv(send_end.as_fd(), &mut buf, &mut control, libc::MSG_DONTWAIT).expect("recv");
    assert_eq!(got.len, 0);
}

#[test]
fn address_passed_to_another_process_reaches_the_inbox() {
    let mut inbox = Inbox::new(Limits::DEFAULT);
    let addr = inbox.new_address().expect("address");
    let (mut to_child, child_end) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    // SAFETY: the child receives one message, sends one through the address it got and _exits;
    // it takes no lock another thread may hold except the allocator's (fork-safe in glibc).
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(to_child);
        let mut ch = child_end;
        let code = match ch.recv() {
            Ok(Value::Table(mut entries)) => match entries.pop() {
                Some((_, Value::Address(fd))) => {
                    let mut a = Address::new(fd, Limits::DEFAULT);
                    i32::from(a.send(&Value::Bytes(b"hello from the child".to_vec())).is_err())
                }
                _ => 2,
            },
            _ => 3,
        };
        // SAFETY: ends the forked child without the harness's exit handlers.
        unsafe { libc::_exit(code) };
    }
    drop(child_end);
    let msg = Value::Table(vec![(Key::Bytes(b"reply_to".to_vec()), Value::Address(addr))]);
    to_child.send(&msg).expect("send the address");
    drop(msg); // moved: only the child holds the address now
    assert_eq!(inbox.recv().expect("the child's message"), Value::Bytes(b"hello from the child".to_vec()));
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out-pointer.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0);
    assert!(matches!(inbox.recv(), Err(ChannelError::Closed)), "the child's exit dropped the last address");
}
