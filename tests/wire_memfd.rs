//! Byte buffers above the inline threshold travel as sealed memfds; the receiver checks the
//! seals and the size before it reads one.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};

use luacell::ipc::channel::{Channel, ChannelError, Violation};
use luacell::ipc::wire::{self, Limits, Value, WireError};
use luacell::sys::{cmsg, memfd};

fn header(fds: u16) -> Vec<u8> {
    let mut h = vec![b'L', b'C', 1, 0];
    h.extend_from_slice(&fds.to_le_bytes());
    h.extend_from_slice(&[0, 0]);
    h
}

fn memfd_message(len: u64) -> Vec<u8> {
    let mut m = header(1);
    m.extend_from_slice(&[0x0A, 0, 0]);
    m.extend_from_slice(&len.to_le_bytes());
    m
}

/// An unsealed memfd holding `bytes`, with `seals` added.
fn memfd_with(bytes: &[u8], seals: i32) -> OwnedFd {
    let file = tempfile_memfd();
    let mut f = File::from(file);
    f.write_all(bytes).expect("write");
    let fd = OwnedFd::from(f);
    if seals != 0 {
        let r = add_seals(&fd, seals);
        assert!(r >= 0, "F_ADD_SEALS");
    }
    fd
}

#[allow(unsafe_code)]
fn tempfile_memfd() -> OwnedFd {
    // SAFETY: a NUL-terminated literal name; the result is a fresh descriptor we own.
    let fd = unsafe { libc::memfd_create(c"test".as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) };
    assert!(fd >= 0, "memfd_create");
    // SAFETY: memfd_create returned a new descriptor owned by nothing else.
    unsafe { OwnedFd::from_raw_fd(fd) }
}

#[allow(unsafe_code)]
fn add_seals(fd: &OwnedFd, seals: i32) -> i32 {
    // SAFETY: F_ADD_SEALS takes an integer and no pointer; `fd` is live.
    unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_ADD_SEALS, seals) }
}

fn decode_err(bytes: &[u8], fd: OwnedFd) -> WireError {
    match wire::decode(bytes, vec![fd], &Limits::DEFAULT) {
        Ok(v) => panic!("decoded {v:?}, expected a refusal"),
        Err(e) => e,
    }
}

#[test]
fn large_buffer_crosses_the_channel_as_a_sealed_memfd() {
    let big = Value::Buffer((0..200_000u32).map(|i| (i % 251) as u8).collect());
    let enc = wire::encode(&big, &Limits::DEFAULT).expect("encodes");
    assert_eq!(enc.fds.len(), 1, "the buffer travels as one descriptor");
    assert_eq!(enc.bytes[8], 0x0A, "tagged as a memfd buffer");
    assert!(enc.bytes.len() < 32, "the datagram stays small");
    // The sender cannot change the buffer any more: the seals hold.
    let mut f = File::from(enc.fds[0].as_fd().try_clone_to_owned().expect("dup"));
    assert_eq!(f.write(b"x").err().and_then(|e| e.raw_os_error()), Some(libc::EPERM));
    drop(enc);

    let (mut a, mut b) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    a.send(&big).expect("send");
    assert_eq!(b.recv().expect("recv"), big);
}

#[test]
fn small_buffer_stays_inline() {
    let small = Value::Buffer(vec![1; 1000]);
    let enc = wire::encode(&small, &Limits::DEFAULT).expect("encodes");
    assert!(enc.fds.is_empty());
    assert_eq!(enc.bytes[8], 0x09);
}

#[test]
fn unsealed_or_partly_sealed_buffer_is_refused() {
    let none = memfd_with(b"abcd", 0);
    assert!(matches!(decode_err(&memfd_message(4), none), WireError::BadBuffer { .. }));
    // Growth still allowed: the sender could append after we checked the size.
    let no_grow = memfd_with(b"abcd", libc::F_SEAL_WRITE | libc::F_SEAL_SHRINK | libc::F_SEAL_SEAL);
    match decode_err(&memfd_message(4), no_grow) {
        WireError::BadBuffer { reason: memfd::MemfdError::MissingSeals { missing }, at: 8 } => {
            assert_eq!(missing, libc::F_SEAL_GROW);
        }
        other => panic!("expected the missing grow seal, got {other:?}"),
    }
}

#[test]
fn sealed_buffer_of_another_size_is_refused() {
    let fd = memfd_with(b"abcd", memfd::REQUIRED_SEALS);
    assert_eq!(
        decode_err(&memfd_message(5), fd),
        WireError::BadBuffer { reason: memfd::MemfdError::SizeMismatch { announced: 5, actual: 4 }, at: 8 }
    );
}

#[test]
fn descriptor_that_is_not_a_memfd_is_refused() {
    let null: OwnedFd = File::open("/dev/null").expect("open").into();
    assert_eq!(
        decode_err(&memfd_message(0), null),
        WireError::BadBuffer { reason: memfd::MemfdError::NotSealed, at: 8 }
    );
}

#[test]
fn buffer_over_the_limit_is_refused_on_both_sides() {
    let limits = Limits { inline_buffer_max: 16, max_buffer_bytes: 100, ..Limits::DEFAULT };
    let err = wire::encode(&Value::Buffer(vec![0; 101]), &limits).err();
    assert!(matches!(err, Some(WireError::BufferTooLarge { len: 101, max: 100, .. })), "{err:?}");
    let fd = memfd_with(&[0; 101], memfd::REQUIRED_SEALS);
    let err = wire::decode(&memfd_message(101), vec![fd], &limits).err();
    assert_eq!(err, Some(WireError::BufferTooLarge { len: 101, max: 100, at: 8 }));
}

#[test]
fn channel_violation_on_an_unsealed_buffer_breaks_only_that_channel() {
    let (raw, other) = cmsg::seqpacket_pair().expect("socketpair");
    let mut rx = Channel::new(other, Limits::DEFAULT);
    let fd = memfd_with(b"abcd", 0);
    cmsg::send(raw.as_fd(), &memfd_message(4), &[fd.as_fd()]).expect("send");
    assert!(matches!(rx.recv(), Err(ChannelError::Violation(Violation::Wire(WireError::BadBuffer { .. })))));
    // Another channel of this process goes on.
    let (mut a, mut b) = Channel::pair(Limits::DEFAULT).expect("socketpair");
    a.send(&Value::Int(7)).expect("send");
    assert_eq!(b.recv().expect("recv"), Value::Int(7));
}
