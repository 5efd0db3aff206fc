//! The message layer against its floor, in one run:
//! - encode+decode of a 64-byte message, a 4 KiB message and a nested table, against copying the
//!   same bytes (the least any codec must do);
//! - one-way messages per second and ping-pong round trips per second between two processes
//!   through `ipc::channel` (a 64-byte string value), against a raw SOCK_SEQPACKET loop moving
//!   the same encoded datagram, both pinned to one core and unpinned.
//!
//! Target: the channel at 0.8x or more of the raw loop in every column.

#![allow(clippy::print_stdout)]

// The raw loop and the fork/pin helpers are shared with `sandboxed.rs`.
#[path = "common/seqpacket.rs"]
mod seqpacket;

use std::hint::black_box;
use std::time::{Duration, Instant};

use luacell::ipc::channel::Channel;
use luacell::ipc::wire::{self, Key, Limits, Value};
use seqpacket::Pattern;

#[global_allocator]
static GLOBAL: luacell::Allocator = mimalloc::MiMalloc;

const ROUNDS: usize = 5;
/// Alternating raw/channel rounds for the two-process measurements (best of each kept).
const PAIRED_ROUNDS: usize = 7;

fn best<F: FnMut() -> Duration>(mut f: F) -> Duration {
    (0..ROUNDS).map(|_| f()).min().unwrap_or_default()
}

fn nested() -> Value {
    let inner = |n: i64| {
        Value::Table(
            (0..10).map(|i| (Key::Bytes(format!("k{i}").into_bytes()), Value::Int(n * 10 + i))).collect::<Vec<_>>(),
        )
    };
    Value::Table(vec![
        (Key::Bytes(b"op".to_vec()), Value::Bytes(b"update".to_vec())),
        (Key::Int(1), inner(1)),
        (Key::Int(2), inner(2)),
        (Key::Int(3), Value::Table(vec![(Key::Bool(true), inner(3)), (Key::Float(0.5), Value::Float(2.5))])),
    ])
}

fn codec(name: &str, v: &Value) {
    let n = 200_000;
    let limits = Limits::DEFAULT;
    let mut buf = Vec::new();
    let t = best(|| {
        let t0 = Instant::now();
        for _ in 0..n {
            wire::encode_into(black_box(v), &limits, &mut buf).expect("encodes");
            let back = wire::decode(black_box(&buf), Vec::new(), &limits).expect("decodes");
            black_box(back);
        }
        t0.elapsed()
    });
    let len = buf.len();
    let floor = best(|| {
        let t0 = Instant::now();
        for _ in 0..n {
            let mut copy = Vec::with_capacity(len);
            copy.extend_from_slice(black_box(&buf));
            black_box(copy);
        }
        t0.elapsed()
    });
    let per = t.as_secs_f64() / n as f64;
    println!(
        "codec {name:<12} {len:>5} B  encode+decode {:>8.3} us  {:>8.1} MB/s  (copy floor {:.3} us: {:.1}x of it)",
        per * 1e6,
        len as f64 / per / 1e6,
        floor.as_secs_f64() / n as f64 * 1e6,
        t.as_secs_f64() / floor.as_secs_f64()
    );
}

/// The channel's side of the two-process measurement: `n` messages through `ipc::channel` in
/// `pattern`, against a forked peer doing the same; the time this side saw.
fn channel_loop(pattern: Pattern, pinned: bool, n: usize) -> Duration {
    let msg = Value::Bytes(vec![b'x'; 64]);
    let (sock, pid) = seqpacket::fork_peer(pinned, move |sock| {
        let mut ch = Channel::new(sock, Limits::DEFAULT);
        let reply = Value::Bytes(vec![b'x'; 64]);
        for _ in 0..n {
            black_box(ch.recv().expect("recv"));
            if pattern == Pattern::PingPong {
                ch.send(&reply).expect("send");
            }
        }
        if pattern == Pattern::OneWay {
            ch.send(&reply).expect("ack");
        }
    });
    if pinned {
        seqpacket::pin(0);
    }
    let mut ch = Channel::new(sock, Limits::DEFAULT);
    let t0 = Instant::now();
    for _ in 0..n {
        ch.send(&msg).expect("send");
        if pattern == Pattern::PingPong {
            black_box(ch.recv().expect("recv"));
        }
    }
    if pattern == Pattern::OneWay {
        black_box(ch.recv().expect("ack"));
    }
    let elapsed = t0.elapsed();
    seqpacket::wait(pid);
    if pinned {
        seqpacket::unpin();
    }
    elapsed
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    codec("64 B string", &Value::Bytes(vec![b'x'; 64]));
    codec("4 KiB buffer", &Value::Buffer(vec![7; 4096]));
    codec("nested table", &nested());

    // The raw loop moves the channel's encoded datagram.
    let datagram = wire::encode(&Value::Bytes(vec![b'x'; 64]), &Limits::DEFAULT).expect("encodes").bytes;
    let mut ratios = Vec::new();
    for pinned in [true, false] {
        for pattern in [Pattern::OneWay, Pattern::PingPong] {
            let n = if pattern == Pattern::OneWay { 200_000 } else { 50_000 };
            // Raw and channel runs alternate, so both meet the same conditions (CPU placement
            // of the two processes varies from run to run when they are not pinned).
            let (mut raw, mut ch) = (Duration::MAX, Duration::MAX);
            for _ in 0..PAIRED_ROUNDS {
                raw = raw.min(seqpacket::raw_loop(pattern, pinned, n, &datagram));
                ch = ch.min(channel_loop(pattern, pinned, n));
            }
            let rate = |d: Duration| n as f64 / d.as_secs_f64();
            let ratio = rate(ch) / rate(raw);
            println!(
                "{:<10} {:<9} raw {:>10.0}/s  channel {:>10.0}/s  {:.2}x",
                if pattern == Pattern::OneWay { "one-way" } else { "ping-pong" },
                if pinned { "pinned" } else { "unpinned" },
                rate(raw),
                rate(ch),
                ratio
            );
            ratios.push(ratio);
        }
    }
    let worst = ratios.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "wire summary: worst channel / raw ratio {worst:.2}x (target >= 0.80x): {}",
        if worst >= 0.8 { "met" } else { "BELOW" }
    );
}
