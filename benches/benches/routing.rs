//! Routing decisions: the pure engine a shard runs for every conversation opened,
//! message received and conversation closed (no I/O, no storage).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use kefu_daemon::routing::{AccountRouting, AgentSetup, NoOwners, RoutingSettings};
use kefu_wire::chat::{Channel, CustomerId, Entry, Party};
use std::hint::black_box;

/// An account of `agents` agents, all online with `cap`, serving `busy`
/// conversations (spread by the engine's least-busy rule).
fn account(agents: u32, cap: u32, busy: u32) -> (AccountRouting, Vec<u64>) {
    let mut r = AccountRouting::new(RoutingSettings::default(), 1).expect("default settings");
    for a in 0..agents {
        let agent = 1001 + a;
        r.add_agent(agent, AgentSetup::default())
            .expect("new agent");
        let _ = r.login(agent, &NoOwners, 0).expect("login");
        let _ = r
            .set_cap(agent, cap, &NoOwners, 0)
            .expect("set cap while online");
    }
    let open = (0..busy)
        .map(|n| {
            let o = r
                .open(customer(n), Channel::Web, Entry::Auto, &NoOwners, 1)
                .expect("open");
            o.value.conversation
        })
        .collect();
    (r, open)
}

fn customer(n: u32) -> CustomerId {
    CustomerId::Identified(format!("c{n}"))
}

fn routing(c: &mut Criterion) {
    let mut g = c.benchmark_group("routing");
    g.throughput(Throughput::Elements(1));
    for (agents, busy) in [(10, 50), (200, 2_000)] {
        // A new customer is routed to the least busy agent, then leaves: the
        // freed slot is the only change, so every iteration decides afresh.
        g.bench_function(
            format!("open+close, auto entry, {agents} agents, {busy} conversations"),
            |b| {
                let (mut r, _) = account(agents, 20, busy);
                let newcomer = customer(u32::MAX);
                let mut now = 10;
                b.iter(|| {
                    now += 1;
                    let o = r
                        .open(newcomer.clone(), Channel::Web, Entry::Auto, &NoOwners, now)
                        .expect("open");
                    let id = o.value.conversation;
                    black_box(&o.effects);
                    let _ = black_box(r.close(id, Party::Customer, &NoOwners, now).expect("close"));
                })
            },
        );
    }
    g.bench_function(
        "customer message in a served conversation, 200 agents",
        |b| {
            let (mut r, open) = account(200, 20, 2_000);
            let mut k = 0usize;
            let mut now = 10;
            b.iter(|| {
                k = (k + 1) % open.len();
                now += 1;
                let _ = black_box(r.customer_message(open[k], now).expect("message"));
            })
        },
    );
    // Everything queued (cap 0): one agent raising its cap pulls up to 20
    // conversations from a queue of 1,000 in arrival order.
    g.bench_function("set cap 0→20 pulls 20 of 1000 queued", |b| {
        b.iter_batched(
            || {
                let (mut r, _) = account(50, 0, 1_000);
                let _ = r.tick(&NoOwners, 2);
                r
            },
            |mut r| black_box(r.set_cap(1001, 20, &NoOwners, 3).expect("set cap")),
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
