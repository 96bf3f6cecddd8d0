//! The shard's idle-customer timer wheel (`kefu_daemon::timer_wheel`, M3): 100,000
//! armed timers, one per open conversation, spread over five minutes. Measured: an
//! idle advance (one turn of the shard loop in which no timer falls due: what 100,000
//! idle conversations cost each second), re-arming one timer (an agent's message),
//! and an advance that fires the timers of one second. Also prints the timers each
//! kind of advance examined, the work count the wheel keeps.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use kefu_daemon::timer_wheel::TimerWheel;
use std::hint::black_box;

const T0: i64 = 1_800_000_000_000;
const TIMERS: u64 = 100_000;

/// 100,000 timers due from ten minutes after `T0`, three milliseconds apart.
fn armed() -> TimerWheel<(u64, u64)> {
    let mut w = TimerWheel::new(4096, 1000, T0);
    for k in 0..TIMERS {
        w.insert(
            (800_001, k),
            T0 + 600_000 + i64::try_from(k).unwrap_or(0) * 3,
        );
    }
    w
}

fn timers(c: &mut Criterion) {
    let mut g = c.benchmark_group("timer_wheel_100k");
    let mut w = armed();
    let mut due = Vec::new();
    let mut now = T0;
    g.bench_function("idle_advance_1s", |b| {
        b.iter(|| {
            // Stays inside the first nine minutes: nothing falls due.
            now = T0 + (now - T0 + 1000) % 540_000;
            w.advance(black_box(now), &mut due);
        })
    });
    println!(
        "timer_wheel_100k: {} timers examined by the idle advances (of {} armed)",
        w.work(),
        w.len()
    );
    let mut k = 0u64;
    g.bench_function("rearm_one", |b| {
        b.iter(|| {
            k = (k + 1) % TIMERS;
            w.insert((800_001, k), black_box(T0 + 600_000 + 7));
        })
    });
    g.bench_function("advance_firing_one_second", |b| {
        b.iter_batched(
            armed,
            |mut w| {
                let mut due = Vec::new();
                w.advance(T0 + 601_000, &mut due);
                (due.len(), w.work())
            },
            BatchSize::LargeInput,
        )
    });
    let mut w = armed();
    let mut due = Vec::new();
    w.advance(T0 + 601_000, &mut due);
    println!(
        "timer_wheel_100k: one second due fired {} timers, examined {}",
        due.len(),
        w.work()
    );
    g.finish();
}

criterion_group!(benches, timers);
criterion_main!(benches);
