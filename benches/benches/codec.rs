//! Frame and message encode/decode: the per-frame cost every connection pays.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kefu_wire::{Body, Event, FrameDecoder, Presence, Push, Request};

fn encode_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("codec");
    let login = kefu_benches::login_request();
    let push = Push {
        seq: 42,
        event: Event::PresenceChanged {
            agent: 1002,
            presence: Presence::Busy,
        },
    };
    g.throughput(Throughput::Elements(1));
    g.bench_function("encode login request frame", |b| {
        let mut out = BytesMut::with_capacity(256);
        b.iter(|| {
            out.clear();
            login.write_frame(7, &mut out);
            std::hint::black_box(&out);
        })
    });
    let mut frame = BytesMut::new();
    login.write_frame(7, &mut frame);
    let frame = frame.freeze();
    let decoder = FrameDecoder::new(kefu_wire::DEFAULT_MAX_FRAME);
    g.bench_function("decode login request frame", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&frame[..]);
            let f = decoder.decode(&mut buf).unwrap().unwrap();
            std::hint::black_box(Request::decode(&f.body).unwrap());
        })
    });
    g.bench_function("encode presence push frame", |b| {
        let mut out = BytesMut::with_capacity(64);
        b.iter(|| {
            out.clear();
            push.write_frame(0, &mut out);
            std::hint::black_box(&out);
        })
    });
    // 1,000 pushes back to back, decoded as one read would deliver them.
    let mut burst = BytesMut::new();
    for _ in 0..1000 {
        push.write_frame(0, &mut burst);
    }
    let burst = burst.freeze();
    g.throughput(Throughput::Elements(1000));
    g.bench_function("decode 1000 push frames from one buffer", |b| {
        b.iter(|| {
            let mut buf = BytesMut::from(&burst[..]);
            let mut n = 0;
            while let Some(f) = decoder.decode(&mut buf).unwrap() {
                std::hint::black_box(Push::decode(&f.body).unwrap());
                n += 1;
            }
            assert_eq!(n, 1000);
        })
    });
    g.finish();
}

criterion_group!(benches, encode_decode);
criterion_main!(benches);
