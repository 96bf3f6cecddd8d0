//! Failover of a pair (issue 18, `daemon/CLUSTER.md` §4–5 and §10, `wire/PROTOCOL.md`
//! 40.4–40.5): a 3-member etcd cluster on 127.0.0.2–4 and two `kefud` processes on
//! 127.0.0.5 (a) and 127.0.0.6 (b), every port probed free from :0 on its address, the
//! primary in `durability = "replicated"` with `[cluster.etcd]` leases of 2 seconds, the
//! standby following it over TLS (plumbing: `support/pair.rs`, `support/pair_client.rs`,
//! `support/etcd.rs`).
//!
//! - **SIGKILL under chat load**: customers of the client library's `PairClient`
//!   (both addresses) send messages; the primary is killed; the standby takes the leader
//!   key once etcd expired the lease, is promoted, and the clients carry on by
//!   themselves (reconnecting, logging in again, retrying the unacknowledged message
//!   with its client id). Every acknowledged message is on the new primary exactly
//!   once. The failover time (kill → first acknowledgement after it) is printed, not
//!   asserted.
//! - **Partition**: the primary reaches etcd and the standby only through TCP proxies
//!   the test cuts. Its customer's messages stop being acknowledged (refusals), the
//!   standby takes over, the old primary refuses with `NOT_PRIMARY`, and every message
//!   the old primary ever acknowledged is on the new one: none was acknowledged after
//!   the histories forked (no two primaries acknowledging).
//!
//! - **Operator's promote, then the stale primary**: without `auto_promote` the standby
//!   waits for the promote key; promoted at epoch 2 it takes messages the old primary
//!   never had; it is killed too and the old primary restarted: its data is of epoch 1
//!   (stored in its database), etcd's is 2, so it does not lead — it says why and
//!   refuses writes with `NOT_PRIMARY` — instead of serving without those messages.
//!
//! Run: `cargo test --release -p kefu-daemon --test failover -- --nocapture`.

mod support;

use kefu_daemon::cluster::etcd::Etcd;
use kefu_daemon::cluster::LeaderValue;
use kefu_wire::chat::MessageBody;
use kefu_wire::pair::PairClient;
use kefu_wire::{Client, ClientError, ErrorCode, Request, Response};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::pair::{etcd_cluster, member_status, pair_home, Member, Proxy, Spec, LEASE, PAIR};
use support::pair_client::{account_with_agent, customer_on, texts};

const ACCOUNT: u64 = 882_001;

/// Polls etcd until the pair's leader key names `node`.
fn leader_is(etcd: &Etcd, node: &str) -> LeaderValue {
    support::pair::leader_is(etcd, PAIR, node)
}

/// The account, its customer key, and an agent taking conversations, on the primary.
fn account(primary: &Member) -> [u8; 32] {
    account_with_agent(primary, ACCOUNT)
}

/// A customer of the pair: logs in (again) by itself on whichever member serves.
fn pair_customer(addrs: &[SocketAddr], key: [u8; 32], id: &str) -> PairClient {
    support::pair_client::pair_customer(addrs, ACCOUNT, key, id)
}

fn text(customer: usize, i: u64) -> String {
    format!("pair c{customer} m{i}")
}

/// The texts of `conversation`'s messages on the member at `addr` (as the customer).
fn texts_on(addr: SocketAddr, key: [u8; 32], customer: usize, conversation: u64) -> Vec<String> {
    texts(
        &mut pair_customer(&[addr], key, &format!("cust-{customer}")),
        conversation,
    )
}

/// What one customer thread did.
struct Sent {
    conversation: u64,
    /// Acknowledged client ids, with when.
    acked: Vec<(u64, Instant)>,
}

#[test]
fn sigkill_of_the_primary_under_load_fails_over_and_keeps_every_acknowledged_message_once() {
    let etcd = etcd_cluster();
    let (home, a, b) = pair_home();
    let (client_a, client_b, replication) = (a.client, b.client, a.replication);
    let primary = Member::start(
        home.path(),
        &Spec::new("a", true, client_a, replication, &etcd.clients),
    );
    let first = leader_is(&etcd.client(), "a");
    let standby = Member::start(
        home.path(),
        &Spec::new("b", false, client_b, replication, &etcd.clients),
    );
    let key = account(&primary);
    let addrs = [client_a, client_b];
    let killed: Arc<Mutex<Option<Instant>>> = Arc::default();
    let progress = Arc::new(AtomicU64::new(0));
    let customers = 4;
    let per_customer = 120u64;
    let threads: Vec<_> = (0..customers)
        .map(|c| {
            let (killed, progress) = (Arc::clone(&killed), Arc::clone(&progress));
            std::thread::spawn(move || {
                let mut client = pair_customer(&addrs, key, &format!("cust-{c}"));
                let conversation = match client.request(&Request::OpenConversation {
                    entry: kefu_wire::chat::Entry::Auto,
                }) {
                    Ok(Response::Conversation(info)) => info.conversation,
                    other => panic!("open: {other:?}"),
                };
                let mut acked = Vec::new();
                for i in 1..=per_customer {
                    // Two thirds through, wait for the kill so that the load spans it.
                    if i == per_customer * 2 / 3 {
                        while killed.lock().unwrap().is_none() {
                            std::thread::yield_now();
                        }
                    }
                    match client.request(&Request::SendMessage {
                        conversation,
                        client_msg_id: i,
                        body: MessageBody::Text(text(c, i)),
                    }) {
                        Ok(Response::Sent { .. }) => {
                            acked.push((i, Instant::now()));
                            progress.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("customer {c} message {i}: {other:?}"),
                    }
                }
                (
                    Sent {
                        conversation,
                        acked,
                    },
                    client.connects(),
                )
            })
        })
        .collect();
    // Kill the primary while the customers are sending: once a third of the messages
    // are acknowledged (each customer waits for the kill at two thirds).
    let deadline = Instant::now() + Duration::from_secs(120);
    while progress.load(Ordering::Relaxed) < customers as u64 * per_customer / 3 {
        assert!(Instant::now() < deadline, "the load does not progress");
        std::thread::yield_now();
    }
    let mut primary = primary;
    let at = Instant::now();
    primary.kill();
    *killed.lock().unwrap() = Some(at);
    let second = leader_is(&etcd.client(), "b");
    let took_key = at.elapsed();
    assert!(second.epoch > first.epoch, "{first:?} then {second:?}");
    let results: Vec<(Sent, u64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let first_after = results
        .iter()
        .flat_map(|(s, _)| s.acked.iter().map(|(_, t)| *t))
        .filter(|t| *t > at)
        .min()
        .expect("acknowledgements after the kill");
    eprintln!(
        "failover: lease {LEASE} s; key taken by the standby {:.2} s after SIGKILL; first \
         acknowledgement after it {:.2} s after SIGKILL; reconnections per customer {:?}",
        took_key.as_secs_f64(),
        first_after.duration_since(at).as_secs_f64(),
        results.iter().map(|(_, n)| *n).collect::<Vec<_>>()
    );
    assert!(
        standby.logged("promoted"),
        "the standby says it was promoted"
    );
    // The standby's metrics listener outlives its promotion and now reads the shards it
    // started (no replication series: it has no standby of its own).
    let metrics = standby.scrape().expect("the promoted standby's metrics");
    assert_eq!(support::pair::metric(&metrics, "kefu_shards"), Some(2.0));
    assert!(!metrics.contains("kefu_replication_lag_sequences"));
    // Every acknowledged message is on the new primary exactly once (and no message
    // twice: the retries of unacknowledged ones were stored once).
    let mut total = 0;
    for (c, (sent, _)) in results.iter().enumerate() {
        assert_eq!(sent.acked.len() as u64, per_customer, "customer {c}");
        let texts = texts_on(client_b, key, c, sent.conversation);
        for (i, _) in &sent.acked {
            let n = texts.iter().filter(|t| **t == text(c, *i)).count();
            assert_eq!(n, 1, "customer {c} message {i} is there {n} times");
        }
        total += sent.acked.len();
    }
    eprintln!("failover: {total} acknowledged messages, each present once on the new primary");
}

#[test]
fn a_partitioned_primary_stops_acknowledging_before_the_standby_takes_over() {
    let etcd = etcd_cluster();
    let (home, a, b) = pair_home();
    let (client_a, client_b, replication) = (a.client, b.client, a.replication);
    // The primary sees etcd, and the standby sees the primary, through proxies.
    let etcd_proxies: Vec<Proxy> = etcd.clients.iter().map(|a| Proxy::start(*a)).collect();
    let via: Vec<SocketAddr> = etcd_proxies.iter().map(|p| p.addr).collect();
    let stream_proxy = Proxy::start(replication);
    let primary = Member::start(
        home.path(),
        &Spec::new("a", true, client_a, replication, &via),
    );
    leader_is(&etcd.client(), "a");
    let standby = Member::start(
        home.path(),
        &Spec::new("b", false, client_b, stream_proxy.addr, &etcd.clients),
    );
    let key = account(&primary);
    // One customer on the primary only (no failover: it must see the refusals).
    let (mut customer, conversation) = customer_on(client_a, ACCOUNT, key, "cust-0");
    let mut acked = Vec::new();
    let mut i = 0u64;
    let send = |c: &mut Client, i: u64| {
        c.request(&Request::SendMessage {
            conversation,
            client_msg_id: i,
            body: MessageBody::Text(text(0, i)),
        })
    };
    for _ in 0..20 {
        i += 1;
        match send(&mut customer, i) {
            Ok(Response::Sent { .. }) => acked.push(i),
            other => panic!("before the partition, message {i}: {other:?}"),
        }
    }
    // The partition: the primary loses etcd and its standby (its clients still reach it).
    for p in &etcd_proxies {
        p.cut();
    }
    stream_proxy.cut();
    let cut_at = Instant::now();
    // It keeps being asked; within its lease (plus the standby wait) it refuses.
    let refused = loop {
        i += 1;
        match send(&mut customer, i) {
            Ok(Response::Sent { .. }) => acked.push(i),
            Err(ClientError::Server(e)) => break e.code,
            other => panic!("message {i} after the partition: {other:?}"),
        }
    };
    // Refused by the fence (its lease lapsed), not after the 10 s wait for the standby.
    assert_eq!(refused, ErrorCode::NOT_PRIMARY);
    let refused_after = cut_at.elapsed();
    let second = leader_is(&etcd.client(), "b");
    let promoted_after = cut_at.elapsed();
    eprintln!(
        "partition: the old primary refused ({refused:?}) {:.2} s after the cut; the \
         standby held the key {:.2} s after the cut (epoch {}); {} messages acknowledged \
         by the old primary, {} after the cut",
        refused_after.as_secs_f64(),
        promoted_after.as_secs_f64(),
        second.epoch,
        acked.len(),
        acked.len().saturating_sub(20),
    );
    // The old primary, still cut off, never acknowledges again.
    i += 1;
    match send(&mut customer, i) {
        Err(ClientError::Server(e)) => assert_eq!(e.code, ErrorCode::NOT_PRIMARY, "{e:?}"),
        other => panic!("the fenced primary answered {other:?}"),
    }
    standby.await_log("promoted: serving");
    // Everything the old primary acknowledged is on the new one, once: nothing was
    // acknowledged there after the histories forked.
    let texts = texts_on(client_b, key, 0, conversation);
    for n in &acked {
        let times = texts.iter().filter(|t| **t == text(0, *n)).count();
        assert_eq!(
            times, 1,
            "message {n} acknowledged by the old primary: {times} times"
        );
    }
    // The new primary serves: a message is acknowledged there.
    let mut next = pair_customer(&[client_b], key, "cust-0");
    match next.request(&Request::SendMessage {
        conversation,
        client_msg_id: 10_000,
        body: MessageBody::Text("after the failover".into()),
    }) {
        Ok(Response::Sent { .. }) => {}
        other => panic!("the new primary: {other:?}"),
    }
    assert!(
        primary.logged("fenced"),
        "the old primary says it is fenced"
    );
}

#[test]
fn without_auto_promote_the_standby_waits_for_the_operators_promote() {
    let etcd = etcd_cluster();
    let (home, a, b) = pair_home();
    let (client_a, client_b, replication) = (a.client, b.client, a.replication);
    let spec = |node, primary, client| Spec {
        auto_promote: false,
        ..Spec::new(node, primary, client, replication, &etcd.clients)
    };
    let mut primary = Member::start(home.path(), &spec("a", true, client_a));
    leader_is(&etcd.client(), "a");
    let mut standby = Member::start(home.path(), &spec("b", false, client_b));
    let key = account(&primary);
    let mut customer = pair_customer(&[client_a, client_b], key, "cust-0");
    let conversation = match customer.request(&Request::OpenConversation {
        entry: kefu_wire::chat::Entry::Auto,
    }) {
        Ok(Response::Conversation(info)) => info.conversation,
        other => panic!("open: {other:?}"),
    };
    let send = |c: &mut PairClient, i: u64| match c.request(&Request::SendMessage {
        conversation,
        client_msg_id: i,
        body: MessageBody::Text(text(0, i)),
    }) {
        Ok(Response::Sent { .. }) => {}
        other => panic!("message {i}: {other:?}"),
    };
    for i in 1..=5 {
        send(&mut customer, i);
    }
    primary.kill();
    // The lease expires; the standby says (in its member key) that it waits for the
    // operator, and the leader key stays empty.
    let e = etcd.client();
    support::pair::poll(Duration::from_secs(60), "the standby says it waits", || {
        member_status(&e, PAIR, "b").filter(|s| s.note.contains("kefuctl cluster promote"))
    });
    assert_eq!(
        e.get(format!("/kefu/pairs/{PAIR}/leader").as_bytes())
            .unwrap(),
        None
    );
    assert!(!standby.logged("promoted"));
    // What `kefuctl cluster promote --node b` writes (tools/tests/cluster.rs runs it).
    e.put(format!("/kefu/pairs/{PAIR}/promote").as_bytes(), b"b", 0)
        .unwrap();
    let leader = leader_is(&e, "b");
    assert_eq!(leader.epoch, 2);
    // The customer carries on on b; everything is there once.
    for i in 6..=8 {
        send(&mut customer, i);
    }
    let texts = texts_on(client_b, key, 0, conversation);
    for i in 1..=8 {
        let n = texts.iter().filter(|t| **t == text(0, i)).count();
        assert_eq!(n, 1, "message {i}: {n} times");
    }
    // The request was consumed.
    assert_eq!(
        e.get(format!("/kefu/pairs/{PAIR}/promote").as_bytes())
            .unwrap(),
        None
    );

    // b dies too; a comes back with data of epoch 1, without messages 6-8: it must not
    // lead at epoch 3.
    standby.kill();
    drop(primary);
    let stale = Member::start(home.path(), &spec("a", true, client_a));
    // It says why.
    stale.await_log("this node's data is of epoch 1");
    let refused = stale.admin().request(&Request::AdminCreateAccount {
        account: 800_002,
        name: "Beta".into(),
        plan: kefu_wire::Plan::Gold,
        expires_at: 4_000_000_000,
        password_1001: "Open-Sesame-1001".into(),
        super_password: "Super-Sesame-42".into(),
    });
    match refused {
        Err(ClientError::Server(e)) => assert_eq!(e.code, ErrorCode::NOT_PRIMARY, "{e:?}"),
        other => panic!("the stale primary answered {other:?}"),
    }
    assert!(!stale.logged("at epoch 3"));
}
