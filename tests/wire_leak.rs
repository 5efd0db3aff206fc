//! Thousands of malformed messages carrying descriptors leave the receiver's descriptor table
//! exactly as it was. Alone in its test binary, so no concurrent test changes the count.

use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};

use luacell::ipc::channel::{Channel, ChannelError};
use luacell::ipc::wire::Limits;
use luacell::sys::cmsg;

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd").count()
}

#[test]
fn malformed_messages_with_fds_leak_no_descriptor() {
    let before = open_fds();
    let bodies: [&[u8]; 6] = [
        b"XX\x01\x00\x03\x00\x00\x00\x00",                                 // bad magic
        b"LC\x01\x00\x02\x00\x00\x00\x00",                                 // count says 2, 3 arrive
        b"LC\x01\x00\x03\x00\x00\x00\x07\x00\x00",                         // two descriptors unused
        b"LC\x01\x00\x03\x00\x00\x00\x42",                                 // unknown tag
        b"LC\x01\x00\x03\x00\x00\x00\x06\x01\x00\x00\x00\x07\x00\x00\x00", // descriptor as a key
        b"LC\x01\x00\x03\x00\x00\x00\x00\x00",                             // trailing byte
    ];
    let mut violations = 0;
    for round in 0..3000 {
        let (raw, other) = cmsg::seqpacket_pair().expect("socketpair");
        let mut rx = Channel::new(other, Limits::DEFAULT);
        let fds: Vec<OwnedFd> = (0..3).map(|_| File::open("/dev/null").expect("open").into()).collect();
        let borrowed: Vec<_> = fds.iter().map(AsFd::as_fd).collect();
        cmsg::send(raw.as_fd(), bodies[round % bodies.len()], &borrowed).expect("send");
        drop(borrowed);
        drop(fds);
        if matches!(rx.recv(), Err(ChannelError::Violation(_))) {
            violations += 1;
        }
    }
    assert_eq!(violations, 3000, "every malformed message is a violation");
    assert_eq!(open_fds(), before, "no descriptor leaked");
}
