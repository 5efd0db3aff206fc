//! The wire codec: round trips (property-tested), every rejection, limits on both sides, and no
//! stale byte on the wire. Descriptors are real (`/dev/null` opened per use).

use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use luacell::ipc::fuzzing::{KeySpec, ValueSpec as Spec, build, same_shape};
use luacell::ipc::wire::{self, Key, Limits, Value, WireError};
use proptest::prelude::*;

fn null_fd() -> OwnedFd {
    File::open("/dev/null").expect("/dev/null opens").into()
}

fn header(fds: u16) -> Vec<u8> {
    let mut h = vec![b'L', b'C', 1, 0];
    h.extend_from_slice(&fds.to_le_bytes());
    h.extend_from_slice(&[0, 0]);
    h
}

fn decode_err(bytes: &[u8], fds: usize) -> WireError {
    let fds = (0..fds).map(|_| null_fd()).collect();
    match wire::decode(bytes, fds, &Limits::DEFAULT) {
        Ok(v) => panic!("decoded {v:?}, expected a refusal"),
        Err(e) => e,
    }
}

fn with_body(fds: u16, body: &[u8]) -> Vec<u8> {
    let mut b = header(fds);
    b.extend_from_slice(body);
    b
}

// ---------------------------------------------------------------------------------------------
// Round trips

fn key_spec() -> impl Strategy<Value = KeySpec> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..12).prop_map(KeySpec::Bytes),
        any::<i64>().prop_map(KeySpec::Int),
        any::<bool>().prop_map(KeySpec::Bool),
        // Non-integral, non-NaN floats only: the others are not keys.
        (any::<i32>(), 1u32..1000).prop_map(|(i, f)| KeySpec::Float(f64::from(i) + f64::from(f) / 1024.0)),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let leaf = prop_oneof![
        Just(Spec::Nil),
        any::<bool>().prop_map(Spec::Bool),
        any::<i64>().prop_map(Spec::Int),
        any::<f64>().prop_map(Spec::Float),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Spec::Bytes),
        proptest::collection::vec(any::<u8>(), 0..64).prop_map(Spec::Buffer),
        Just(Spec::Fd),
        Just(Spec::Address),
    ];
    leaf.prop_recursive(6, 64, 8, |inner| proptest::collection::vec((key_spec(), inner), 0..8).prop_map(Spec::Table))
}

/// Moves the encoded message's descriptors out of `value` (as the kernel would pass them),
/// in encoding order: duplicates of the borrowed fds, so `value` can still be compared.
fn pass(value: &Value, limits: &Limits) -> Result<Value, WireError> {
    let enc = wire::encode(value, limits)?;
    let fds: Vec<OwnedFd> = enc.fds.iter().map(|fd| fd.as_fd().try_clone_to_owned().expect("dup")).collect();
    wire::decode(&enc.bytes, fds, limits)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn decode_of_encode_is_identity(s in spec()) {
        let v = build(&s);
        let back = pass(&v, &Limits::DEFAULT).expect("a value within the limits round-trips");
        prop_assert!(same_shape(&v, &back), "{v:?} came back as {back:?}");
    }

    #[test]
    fn past_a_limit_both_sides_refuse(s in spec(), max_bytes in 8usize..200, max_depth in 0usize..4, max_members in 0usize..10, max_fds in 0usize..3) {
        let v = build(&s);
        let tight = Limits { max_bytes, max_depth, max_members, max_fds, ..Limits::DEFAULT };
        let roomy = Limits::DEFAULT;
        match wire::encode(&v, &tight) {
            Ok(enc) => {
                // What the sender accepts, a receiver with the same limits accepts too.
                prop_assert!(enc.bytes.len() <= max_bytes);
                let fds: Vec<OwnedFd> = enc.fds.iter().map(|fd| fd.as_fd().try_clone_to_owned().expect("dup")).collect();
                prop_assert!(wire::decode(&enc.bytes, fds, &tight).is_ok());
            }
            Err(_) => {
                // What the sender refuses, a receiver with the same limits refuses when a
                // peer sends it anyway.
                if let Ok(enc) = wire::encode(&v, &roomy) {
                    let fds: Vec<OwnedFd> = enc.fds.iter().map(|fd| fd.as_fd().try_clone_to_owned().expect("dup")).collect();
                    prop_assert!(wire::decode(&enc.bytes, fds, &tight).is_err());
                }
            }
        }
    }

    #[test]
    fn decoding_arbitrary_bodies_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256), nfds in 0u16..4) {
        // A valid header, so that the arbitrary bytes reach the value decoder.
        let fds = (0..nfds).map(|_| null_fd()).collect();
        let _ = wire::decode(&with_body(nfds, &body), fds, &Limits::DEFAULT);
    }
}

#[test]
fn encode_writes_every_byte_it_sends() {
    // A buffer full of a pattern: whatever it held before, the message is exactly the bytes of
    // a fresh encoding, so no earlier memory of this process can reach the wire.
    let v = Value::Table(vec![
        (Key::Bytes(b"a".to_vec()), Value::Int(-1)),
        (Key::Int(2), Value::Buffer(vec![7; 100])),
        (Key::Float(0.5), Value::Fd(null_fd())),
    ]);
    let fresh = wire::encode(&v, &Limits::DEFAULT).expect("encodes").bytes;
    let mut reused = vec![0xAA; 4096];
    wire::encode_into(&v, &Limits::DEFAULT, &mut reused).expect("encodes");
    assert_eq!(reused, fresh);
    assert!(!fresh.windows(4).any(|w| w == [0xAA; 4]), "no pattern bytes in the message");
    assert_eq!(&fresh[..8], &[b'L', b'C', 1, 0, 1, 0, 0, 0], "header: magic, version, flags, 1 fd, reserved");
}

// ---------------------------------------------------------------------------------------------
// Every rejection

#[test]
fn decode_message_over_max_bytes_is_refused() {
    let limits = Limits { max_bytes: 16, ..Limits::DEFAULT };
    let bytes = with_body(0, &[0x05, 8, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8]);
    let err = wire::decode(&bytes, Vec::new(), &limits).err();
    assert_eq!(err, Some(WireError::TooLarge { len: 21, max: 16 }));
}

#[test]
fn decode_short_header_is_truncated() {
    assert!(matches!(decode_err(&[b'L', b'C', 1], 0), WireError::Truncated { .. }));
}

#[test]
fn decode_bad_magic_is_refused() {
    assert_eq!(decode_err(&[b'X', b'C', 1, 0, 0, 0, 0, 0, 0], 0), WireError::BadMagic);
}

#[test]
fn decode_other_version_is_refused() {
    assert_eq!(decode_err(&[b'L', b'C', 2, 0, 0, 0, 0, 0, 0], 0), WireError::BadVersion { version: 2 });
}

#[test]
fn decode_nonzero_flags_or_reserved_is_refused() {
    assert_eq!(decode_err(&[b'L', b'C', 1, 1, 0, 0, 0, 0, 0], 0), WireError::Reserved { at: 3 });
    assert_eq!(decode_err(&[b'L', b'C', 1, 0, 0, 0, 0, 1, 0], 0), WireError::Reserved { at: 6 });
}

#[test]
fn decode_fd_count_not_matching_the_descriptors_is_refused() {
    let bytes = with_body(1, &[0x07, 0, 0]);
    assert_eq!(decode_err(&bytes, 0), WireError::FdCountMismatch { announced: 1, received: 0 });
    assert_eq!(decode_err(&bytes, 2), WireError::FdCountMismatch { announced: 1, received: 2 });
}

#[test]
fn decode_more_descriptors_than_allowed_is_refused() {
    let limits = Limits { max_fds: 1, ..Limits::DEFAULT };
    let fds = vec![null_fd(), null_fd()];
    let err = wire::decode(&with_body(2, &[0x00]), fds, &limits).err();
    assert_eq!(err, Some(WireError::TooManyFds { count: 2, max: 1 }));
}

#[test]
fn decode_unknown_tag_is_refused() {
    assert_eq!(decode_err(&with_body(0, &[0x42]), 0), WireError::UnknownTag { tag: 0x42, at: 8 });
}

#[test]
fn decode_truncated_values_are_refused() {
    for body in [&[][..], &[0x03, 1, 2], &[0x04, 1], &[0x05, 4, 0, 0, 0, b'a'], &[0x06, 1, 0], &[0x07, 0]] {
        assert!(matches!(decode_err(&with_body(0, body), 0), WireError::Truncated { .. }), "body {body:?}");
    }
}

#[test]
fn decode_trailing_bytes_are_refused() {
    assert_eq!(decode_err(&with_body(0, &[0x00, 0x00]), 0), WireError::Trailing { at: 9, extra: 1 });
}

#[test]
fn decode_nesting_past_max_depth_is_refused() {
    let limits = Limits { max_depth: 2, ..Limits::DEFAULT };
    // table { [true] = table { [true] = table {} } }: depth 3 tables.
    let body = [0x06, 1, 0, 0, 0, 0x02, 0x06, 1, 0, 0, 0, 0x02, 0x06, 0, 0, 0, 0];
    let err = wire::decode(&with_body(0, &body), Vec::new(), &limits).err();
    assert_eq!(err, Some(WireError::TooDeep { max: 2, at: 20 }));
}

#[test]
fn decode_depth_is_capped_whatever_the_limits_say() {
    let limits = Limits { max_depth: usize::MAX, ..Limits::DEFAULT };
    let mut body = Vec::new();
    for _ in 0..=wire::MAX_DEPTH_CEILING {
        body.extend_from_slice(&[0x06, 1, 0, 0, 0, 0x02]);
    }
    body.push(0x00);
    let err = wire::decode(&with_body(0, &body), Vec::new(), &limits).err();
    assert!(matches!(err, Some(WireError::TooDeep { max: wire::MAX_DEPTH_CEILING, .. })), "{err:?}");
}

#[test]
fn decode_more_members_than_allowed_is_refused() {
    let limits = Limits { max_members: 1, ..Limits::DEFAULT };
    let body = [0x06, 2, 0, 0, 0, 0x01, 0x00, 0x02, 0x00];
    let err = wire::decode(&with_body(0, &body), Vec::new(), &limits).err();
    assert_eq!(err, Some(WireError::TooManyMembers { max: 1, at: 8 }));
}

#[test]
fn decode_huge_count_allocates_nothing_and_is_refused() {
    let body = [0x06, 0xff, 0xff, 0xff, 0x0f, 0x00, 0x00];
    let limits = Limits { max_members: usize::MAX, ..Limits::DEFAULT };
    let err = wire::decode(&with_body(0, &body), Vec::new(), &limits).err();
    assert!(matches!(err, Some(WireError::Truncated { .. })), "{err:?}");
}

#[test]
fn decode_duplicate_keys_are_refused() {
    // { a = nil, a = nil }
    let body = [0x06, 2, 0, 0, 0, 0x05, 1, 0, 0, 0, b'a', 0x00, 0x05, 1, 0, 0, 0, b'a', 0x00];
    assert_eq!(decode_err(&with_body(0, &body), 0), WireError::DuplicateKey { at: 20 });
}

#[test]
fn decode_bad_keys_are_refused() {
    let nan = f64::NAN.to_le_bytes();
    let one = 1.0f64.to_le_bytes();
    let mut nan_key = vec![0x06, 1, 0, 0, 0, 0x04];
    nan_key.extend_from_slice(&nan);
    nan_key.push(0x00);
    let mut integral_key = vec![0x06, 1, 0, 0, 0, 0x04];
    integral_key.extend_from_slice(&one);
    integral_key.push(0x00);
    assert_eq!(decode_err(&with_body(0, &nan_key), 0), WireError::BadKey { what: "NaN", at: 13 });
    assert_eq!(decode_err(&with_body(0, &integral_key), 0), WireError::BadKey { what: "integral float", at: 13 });
    assert_eq!(
        decode_err(&with_body(0, &[0x06, 1, 0, 0, 0, 0x00, 0x00]), 0),
        WireError::BadKey { what: "nil", at: 13 }
    );
    let table_key = [0x06, 1, 0, 0, 0, 0x06, 0, 0, 0, 0, 0x00];
    assert_eq!(decode_err(&with_body(0, &table_key), 0), WireError::BadKey { what: "table", at: 13 });
    let fd_key = [0x06, 1, 0, 0, 0, 0x07, 0, 0, 0x00];
    assert_eq!(decode_err(&with_body(1, &fd_key), 1), WireError::BadKey { what: "descriptor", at: 13 });
}

#[test]
fn decode_descriptor_index_errors_are_refused() {
    assert_eq!(decode_err(&with_body(1, &[0x07, 1, 0]), 1), WireError::FdIndex { index: 1, count: 1, at: 9 });
    let twice = [0x06, 2, 0, 0, 0, 0x01, 0x07, 0, 0, 0x02, 0x08, 0, 0];
    assert_eq!(decode_err(&with_body(1, &twice), 1), WireError::FdReused { index: 0, at: 19 });
    assert_eq!(decode_err(&with_body(2, &[0x07, 1, 0]), 2), WireError::FdUnused { index: 0 });
}

#[test]
fn refused_message_closes_every_descriptor_it_carried() {
    let a = null_fd();
    let b = null_fd();
    let (na, nb) = (a.as_raw_fd(), b.as_raw_fd());
    // Descriptor 0 is placed in the value before the error (an unused descriptor 1).
    let err = wire::decode(&with_body(2, &[0x07, 0, 0]), vec![a, b], &Limits::DEFAULT).err();
    assert_eq!(err, Some(WireError::FdUnused { index: 1 }));
    for n in [na, nb] {
        let open = std::fs::read_link(format!("/proc/self/fd/{n}")).is_ok_and(|p| p.to_string_lossy() == "/dev/null");
        assert!(!open, "descriptor {n} was closed");
    }
}

// ---------------------------------------------------------------------------------------------
// The encoder refuses what the decoder would

#[test]
fn encode_refuses_bad_keys_and_duplicates() {
    let nan = Value::Table(vec![(Key::Float(f64::NAN), Value::Nil)]);
    assert!(matches!(wire::encode(&nan, &Limits::DEFAULT).err(), Some(WireError::BadKey { what: "NaN", .. })));
    let integral = Value::Table(vec![(Key::Float(2.0), Value::Nil)]);
    assert!(matches!(wire::encode(&integral, &Limits::DEFAULT).err(), Some(WireError::BadKey { .. })));
    let dup = Value::Table(vec![(Key::Int(1), Value::Nil), (Key::Int(1), Value::Nil)]);
    assert!(matches!(wire::encode(&dup, &Limits::DEFAULT).err(), Some(WireError::DuplicateKey { .. })));
}

#[test]
fn encode_refuses_past_each_limit() {
    let big = Value::Bytes(vec![0; 100]);
    let small = Limits { max_bytes: 50, ..Limits::DEFAULT };
    assert!(matches!(wire::encode(&big, &small).err(), Some(WireError::TooLarge { .. })));
    let deep = Value::Table(vec![(Key::Int(1), Value::Table(Vec::new()))]);
    assert!(matches!(
        wire::encode(&deep, &Limits { max_depth: 1, ..Limits::DEFAULT }).err(),
        Some(WireError::TooDeep { .. })
    ));
    let wide = Value::Table(vec![(Key::Int(1), Value::Nil), (Key::Int(2), Value::Nil)]);
    let few = Limits { max_members: 1, ..Limits::DEFAULT };
    assert!(matches!(wire::encode(&wide, &few).err(), Some(WireError::TooManyMembers { .. })));
    let two_fds = Value::Table(vec![(Key::Int(1), Value::Fd(null_fd())), (Key::Int(2), Value::Fd(null_fd()))]);
    let one_fd = Limits { max_fds: 1, ..Limits::DEFAULT };
    assert!(matches!(wire::encode(&two_fds, &one_fd).err(), Some(WireError::TooManyFds { .. })));
}

#[test]
fn limits_narrowed_only_lower() {
    let profile = Limits { max_bytes: 1024, max_depth: 1000, max_members: 10, max_fds: 1000, ..Limits::DEFAULT };
    let n = Limits::DEFAULT.narrowed(profile);
    assert_eq!(
        n,
        Limits {
            max_bytes: 1024,
            max_depth: Limits::DEFAULT.max_depth,
            max_members: 10,
            max_fds: 64,
            ..Limits::DEFAULT
        }
    );
}
