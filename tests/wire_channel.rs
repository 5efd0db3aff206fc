//! Channels over real SOCK_SEQPACKET socketpairs: messages and descriptors cross, violations
//! break only the channel, and a forked peer process talks to this one.

// The two-process test forks and waits for its child through libc.
#![allow(unsafe_code)]

use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};

use luacell::ipc::channel::{Channel, ChannelError, Violation};
use luacell::ipc::wire::{Key, Limits, Value, WireError};
use luacell::sys::cmsg;

fn table(entries: Vec<(Key, Value)>) -> Value {
    Value::Table(entries)
}

#[test]
fn channel_message_with_fd_arrives_and_the_fd_works() {
    let (mut a, mut b) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    let msg = table(vec![
        (Key::Bytes(b"op".to_vec()), Value::Bytes(b"write".to_vec())),
        (Key::Int(1), Value::Fd(OwnedFd::from(writer))),
        (Key::Bool(true), table(vec![(Key::Float(0.5), Value::Buffer(vec![1, 2, 3]))])),
    ]);
    a.send(&msg).expect("send");
    drop(msg); // moved: our copy of the pipe's write end is closed
    let got = b.recv().expect("recv");
    let Value::Table(entries) = got else { panic!("a table arrives") };
    assert_eq!(entries[0], (Key::Bytes(b"op".to_vec()), Value::Bytes(b"write".to_vec())));
    assert_eq!(entries[2], (Key::Bool(true), table(vec![(Key::Float(0.5), Value::Buffer(vec![1, 2, 3]))])));
    let (_, Value::Fd(fd)) = &entries[1] else { panic!("the fd arrives as an fd") };
    let mut w = std::fs::File::from(fd.try_clone().expect("dup"));
    w.write_all(b"through the passed fd").expect("write");
    drop(w);
    drop(entries);
    let mut s = String::new();
    reader.read_to_string(&mut s).expect("read");
    assert_eq!(s, "through the passed fd");
}

#[test]
fn channel_oversized_datagram_is_a_violation() {
    let (raw, other) = cmsg::seqpacket_pair().expect("socketpair");
    let mut b = Channel::new(other, Limits { max_bytes: 64, ..Limits::DEFAULT });
    cmsg::send(raw.as_fd(), &[0u8; 200], &[]).expect("send");
    assert!(matches!(b.recv(), Err(ChannelError::Violation(Violation::Truncated { max: 64 }))));
    assert!(matches!(b.recv(), Err(ChannelError::Closed)), "a broken channel stays closed");
}

#[test]
fn channel_zero_length_datagram_closes_it() {
    let (raw, other) = cmsg::seqpacket_pair().expect("socketpair");
    let mut b = Channel::new(other, Limits::DEFAULT);
    cmsg::send(raw.as_fd(), &[], &[]).expect("send");
    assert!(matches!(b.recv(), Err(ChannelError::Closed)));
}

#[test]
fn channel_peer_gone_is_closed() {
    let (a, mut b) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    drop(a);
    assert!(matches!(b.recv(), Err(ChannelError::Closed)));
    let (mut a, b) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    drop(b);
    assert!(matches!(a.send(&Value::Nil), Err(ChannelError::Closed)));
}

#[test]
fn channel_malformed_message_is_a_violation_naming_the_rule() {
    let (raw, other) = cmsg::seqpacket_pair().expect("socketpair");
    let mut b = Channel::new(other, Limits::DEFAULT);
    cmsg::send(raw.as_fd(), b"LC\x01\x00\x00\x00\x00\x00\x42", &[]).expect("send");
    match b.recv() {
        Err(ChannelError::Violation(Violation::Wire(WireError::UnknownTag { tag: 0x42, at: 8 }))) => {}
        other => panic!("expected the unknown tag, got {other:?}"),
    }
}

#[test]
fn channel_refuses_to_send_past_its_limits() {
    let (mut a, _b) = Channel::pair(Limits { max_bytes: 32, ..Limits::DEFAULT }).expect("socketpair");
    assert!(matches!(a.send(&Value::Bytes(vec![0; 100])), Err(ChannelError::Refused(WireError::TooLarge { .. }))));
}

#[test]
fn channel_between_two_processes_carries_values_and_fds() {
    let (mut parent, child_end) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    let (mut reader, writer) = std::io::pipe().expect("pipe");
    // SAFETY: the child only builds a value, sends it over its channel, writes to a pipe and
    // calls _exit: no lock another thread of the test harness might hold is taken except the
    // allocator's, which glibc makes fork-safe.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(reader);
        let mut child = child_end;
        let msg = table(vec![
            (Key::Bytes(b"from".to_vec()), Value::Bytes(b"child".to_vec())),
            (Key::Bytes(b"pipe".to_vec()), Value::Fd(OwnedFd::from(writer))),
        ]);
        let code = i32::from(child.send(&msg).is_err());
        // SAFETY: _exit ends the forked child without running the harness's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    drop(child_end);
    drop(writer);
    let got = parent.recv().expect("the child's message arrives");
    let Value::Table(entries) = got else { panic!("a table") };
    assert_eq!(entries[0], (Key::Bytes(b"from".to_vec()), Value::Bytes(b"child".to_vec())));
    let (_, Value::Fd(fd)) = &entries[1] else { panic!("an fd") };
    let mut w = std::fs::File::from(fd.try_clone().expect("dup"));
    w.write_all(b"parent wrote through the child's pipe").expect("write");
    drop(w);
    drop(entries);
    let mut s = String::new();
    reader.read_to_string(&mut s).expect("read");
    assert_eq!(s, "parent wrote through the child's pipe");
    let mut status = 0;
    // SAFETY: waits for our own child; `status` is a valid out-pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(r, pid);
    assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "the child sent without error");
    assert!(matches!(parent.recv(), Err(ChannelError::Closed)), "the child's end closed with it");
}
