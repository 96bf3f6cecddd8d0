//! A pair whose members change roles by themselves (issue 18, `daemon/CLUSTER.md` §3–§4):
//! a 3-member etcd cluster on 127.0.0.2–4 and two `kefud` processes on 127.0.0.5 (a)
//! and 127.0.0.6 (b), every port probed free from :0 on its address, both configured
//! `durability = "replicated"` with their own replication listener and the other's
//! address, leases of 2 seconds; `kefuctl` as a process (plumbing: `support/pair.rs`,
//! `support/pair_client.rs`, `support/etcd.rs`).
//!
//! One story, each step checked where a user meets it:
//!
//! 1. The primary `a` is partitioned (its etcd and its standby's stream cut by TCP
//!    proxies; its clients still reach it): once fenced it refuses writes, **reads and
//!    logins** with `NOT_PRIMARY`.
//! 2. `b` takes over. The partition heals: `a` finds `b` leading at a newer epoch,
//!    restarts itself as `b`'s standby, moves its diverged database aside to
//!    `diverged-1/db`, follows `b` from sequence 0, and `kefuctl cluster status` shows it
//!    standby. `b` acknowledges in `replicated` mode (two copies) again.
//! 3. `b` is killed: `a` takes over at epoch 3, with every message either primary
//!    acknowledged present exactly once. Alone, it does not acknowledge; the operator's
//!    `kefuctl cluster promote --alone` makes it acknowledge with one copy, shown as
//!    `degraded` by `cluster status` and the metrics. `b` restarted rejoins as standby
//!    by itself (its epoch-2 data moved aside), catches up, and the flag clears itself.
//!
//! Run: `cargo build --release -p kefu-tools && cargo test --release -p kefu-daemon
//! --test rejoin -- --nocapture` (KEFUD_LOG=1 shows the members' logs).

mod support;

use kefu_daemon::cluster::etcd::Etcd;
use kefu_daemon::cluster::LeaderValue;
use kefu_wire::chat::MessageBody;
use kefu_wire::{Client, ClientError, ErrorCode, Request, Response};
use std::net::SocketAddr;
use std::time::Instant;
use support::pair::{
    etcd_cluster, kefuctl_cluster, member_status, pair_home, poll, Member, Proxy, Spec, PAIR,
    WITHIN,
};
use support::pair_client::{account_with_agent, customer_on, pair_customer, texts};
use support::{now, opts, PASSWORD};

const ACCOUNT: u64 = 883_001;

/// Member `node`'s settings: its own replication listener `listen` and the other's
/// address `peer`, `replicated` durability on both (a standby serves its own listener
/// once promoted).
fn spec<'a>(
    node: &'a str,
    primary: bool,
    client: SocketAddr,
    (listen, peer): (SocketAddr, SocketAddr),
    etcd: &'a [SocketAddr],
) -> Spec<'a> {
    Spec {
        primary,
        peer: Some(peer),
        durability: Some("replicated"),
        metrics: None,
        ..Spec::new(node, true, client, listen, etcd)
    }
}

/// Polls etcd until the pair's leader key names `node` and `node` publishes itself
/// primary (it stored its epoch and serves); the key's value.
fn leads(etcd: &Etcd, node: &str) -> LeaderValue {
    let leader = support::pair::leader_is(etcd, PAIR, node);
    poll(WITHIN, &format!("{node} publishes itself primary"), || {
        member_status(etcd, PAIR, node).filter(|s| s.role == "primary")
    });
    leader
}

fn text(i: u64) -> String {
    format!("rejoin m{i}")
}

/// Sends message `i` of the test's conversation.
fn send(c: &mut Client, conversation: u64, i: u64) -> Result<Response, kefu_wire::ClientError> {
    c.request(&Request::SendMessage {
        conversation,
        client_msg_id: i,
        body: MessageBody::Text(text(i)),
    })
}

/// The code of a refusal, panicking on anything else.
fn refusal(what: &str, answer: Result<Response, ClientError>) -> ErrorCode {
    match answer {
        Err(ClientError::Server(e)) => e.code,
        other => panic!("{what}: expected a refusal, got {other:?}"),
    }
}

#[test]
fn an_old_primary_refuses_reads_when_fenced_rejoins_as_standby_by_itself_and_leads_again() {
    let etcd = etcd_cluster();
    let e = etcd.client();
    let (home, a_addrs, b_addrs) = pair_home();
    let (client_a, client_b) = (a_addrs.client, b_addrs.client);
    let (rep_a, rep_b) = (a_addrs.replication, b_addrs.replication);
    // a sees etcd, and b sees a's stream, through proxies the test cuts.
    let etcd_proxies: Vec<Proxy> = etcd.clients.iter().map(|a| Proxy::start(*a)).collect();
    let via: Vec<SocketAddr> = etcd_proxies.iter().map(|p| p.addr).collect();
    let stream_proxy = Proxy::start(rep_a);
    let a_spec = spec("a", true, client_a, (rep_a, rep_b), &via);
    let b_spec = spec(
        "b",
        false,
        client_b,
        (rep_b, stream_proxy.addr),
        &etcd.clients,
    );
    let a = Member::start(home.path(), &a_spec);
    assert_eq!(leads(&e, "a").epoch, 1);
    let mut b = Member::start(home.path(), &b_spec);
    let key = account_with_agent(&a, ACCOUNT);
    let (mut customer, conversation) = customer_on(client_a, ACCOUNT, key, "cust-0");
    let mut acked = Vec::new();
    for i in 1..=10 {
        match send(&mut customer, conversation, i) {
            Ok(Response::Sent { .. }) => acked.push(i),
            other => panic!("before the partition, message {i}: {other:?}"),
        }
    }

    // 1. The partition: a keeps its clients, loses etcd and its standby.
    for p in &etcd_proxies {
        p.cut();
    }
    stream_proxy.cut();
    let mut i = 10;
    let refused = loop {
        i += 1;
        match send(&mut customer, conversation, i) {
            Ok(Response::Sent { .. }) => acked.push(i),
            other => break refusal("a write on the partitioned primary", other),
        }
    };
    assert_eq!(refused, ErrorCode::NOT_PRIMARY);
    // Fenced, it serves no read either: b may be acknowledging what a lacks.
    let read = customer.request(&Request::ConversationMessages {
        conversation,
        after: 0,
        limit: 10,
    });
    assert_eq!(
        refusal("a read on the fenced primary", read),
        ErrorCode::NOT_PRIMARY
    );
    // Nor a login, of a customer or of an agent.
    let expires_at = now() + 3600;
    let login = Client::connect(client_a, opts())
        .unwrap()
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: "cust-1".into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(&key, ACCOUNT, "cust-1", expires_at),
            channel: kefu_wire::chat::Channel::Desktop,
        });
    assert_eq!(
        refusal("a customer login on the fenced primary", login),
        ErrorCode::NOT_PRIMARY
    );
    let agent = Client::connect(client_a, opts())
        .unwrap()
        .login(ACCOUNT, 1001, PASSWORD);
    match agent {
        Err(ClientError::Server(e)) => assert_eq!(e.code, ErrorCode::NOT_PRIMARY, "{e:?}"),
        other => panic!("an agent login on the fenced primary: {other:?}"),
    }
    drop(customer);

    // 2. b takes over; the partition heals; a turns standby by itself.
    assert_eq!(leads(&e, "b").epoch, 2);
    b.await_log("promoted: serving");
    for p in &etcd_proxies {
        p.heal();
    }
    stream_proxy.heal();
    let healed = Instant::now();
    a.await_log("rejoin: b leads pair p1 at epoch 2");
    poll(WITHIN, "a publishes itself standby", || {
        member_status(&e, PAIR, "a").filter(|s| s.role == "standby" && s.epoch == 2)
    });
    let diverged = a.data.join("diverged-1").join("db");
    assert!(diverged.join("CURRENT").exists(), "{diverged:?} kept");
    let status = kefuctl_cluster(&etcd.clients, PAIR, &["status"]);
    assert!(status.contains("leader:  b"), "{status}");
    assert!(status.contains("member a: standby at epoch 2"), "{status}");
    // b acknowledges in replicated mode again: a applies what it sends.
    let mut on_b = pair_customer(&[client_b], ACCOUNT, key, "cust-0");
    for i in 101..=110 {
        match send_pair(&mut on_b, conversation, i) {
            Ok(Response::Sent { .. }) => acked.push(i),
            other => panic!("on b, message {i}: {other:?}"),
        }
    }
    eprintln!(
        "rejoin: a was b's standby {:.2} s after the partition healed",
        healed.elapsed().as_secs_f64()
    );

    // 3. b dies; a leads again, with everything either primary acknowledged, once.
    b.kill();
    assert_eq!(leads(&e, "a").epoch, 3);
    a.await_log("promoted: serving");
    // Alone and `replicated`, it does not acknowledge (the client gives up first, or
    // the turn is refused after the wait for a standby).
    assert!(
        !acknowledged_alone(client_a, key, conversation, 200),
        "acknowledged with one copy before promote --alone"
    );
    let said = kefuctl_cluster(&etcd.clients, PAIR, &["promote", "--alone"]);
    assert!(said.contains("runs degraded"), "{said}");
    poll(WITHIN, "the metrics show degraded", || {
        a.admin_metrics()
            .contains("kefu_replication_degraded 1")
            .then_some(())
    });
    let status = kefuctl_cluster(&etcd.clients, PAIR, &["status"]);
    assert!(status.contains("degraded: yes"), "{status}");
    let mut on_a = pair_customer(&[client_a], ACCOUNT, key, "cust-0");
    let seen = texts(&mut on_a, conversation);
    for n in &acked {
        let times = seen.iter().filter(|t| **t == text(*n)).count();
        assert_eq!(times, 1, "message {n}, acknowledged: {times} times on a");
    }
    match send_pair(&mut on_a, conversation, 201) {
        Ok(Response::Sent { .. }) => {}
        other => panic!("degraded, a acknowledges: {other:?}"),
    }

    // b comes back: its epoch-2 data is moved aside, it follows a, the flag clears.
    drop(b);
    let b = Member::start(home.path(), &b_spec);
    b.await_log("rejoin: a leads pair p1 at epoch 3");
    assert!(b
        .data
        .join("diverged-2")
        .join("db")
        .join("CURRENT")
        .exists());
    poll(WITHIN, "the degraded flag clears itself", || {
        (!kefuctl_cluster(&etcd.clients, PAIR, &["status"]).contains("degraded:")).then_some(())
    });
    assert!(a.admin_metrics().contains("kefu_replication_degraded 0"));
    match send_pair(&mut on_a, conversation, 202) {
        Ok(Response::Sent { .. }) => {}
        other => panic!("with b back, a acknowledges: {other:?}"),
    }
    let status = kefuctl_cluster(&etcd.clients, PAIR, &["status"]);
    assert!(status.contains("member b: standby at epoch 3"), "{status}");
}

/// Sends message `i` through a pair client.
fn send_pair(
    c: &mut kefu_wire::pair::PairClient,
    conversation: u64,
    i: u64,
) -> Result<Response, ClientError> {
    c.request(&Request::SendMessage {
        conversation,
        client_msg_id: i,
        body: MessageBody::Text(text(i)),
    })
}

/// Whether a fresh customer connection to `addr` gets message `i` acknowledged within
/// a few seconds (its login may write too, and writes wait for the standby).
fn acknowledged_alone(addr: SocketAddr, key: [u8; 32], conversation: u64, i: u64) -> bool {
    let mut options = opts();
    options.timeout = std::time::Duration::from_secs(3);
    let Ok(mut c) = Client::connect(addr, options) else {
        return false;
    };
    let expires_at = now() + 3600;
    let login = c.request(&Request::CustomerLogin {
        account: ACCOUNT,
        customer: "cust-0".into(),
        expires_at,
        signature: kefu_daemon::shard::sign_customer(&key, ACCOUNT, "cust-0", expires_at),
        channel: kefu_wire::chat::Channel::Desktop,
    });
    login.is_ok() && matches!(send(&mut c, conversation, i), Ok(Response::Sent { .. }))
}

/// The new primary dies too, and the old one is restarted at once, while the dead
/// leader's lease still holds the key: whichever way the old primary starts (as the dead
/// leader's standby, its epoch-1 data moved aside; or, the lease gone, as a primary
/// whose data is of an old epoch), it must not lead — it lacks what `b` acknowledged —
/// and its data is kept.
#[test]
fn an_old_primary_never_leads_with_a_copy_that_lacks_the_last_leaders_epoch() {
    let etcd = etcd_cluster();
    let e = etcd.client();
    let (home, a_addrs, b_addrs) = pair_home();
    let (client_a, client_b) = (a_addrs.client, b_addrs.client);
    let (rep_a, rep_b) = (a_addrs.replication, b_addrs.replication);
    let a_spec = spec("a", true, client_a, (rep_a, rep_b), &etcd.clients);
    let b_spec = spec("b", false, client_b, (rep_b, rep_a), &etcd.clients);
    let mut a = Member::start(home.path(), &a_spec);
    leads(&e, "a");
    let mut b = Member::start(home.path(), &b_spec);
    let key = account_with_agent(&a, ACCOUNT);
    let mut customer = pair_customer(&[client_a], ACCOUNT, key, "cust-0");
    let conversation = match customer.request(&Request::OpenConversation {
        entry: kefu_wire::chat::Entry::Auto,
    }) {
        Ok(Response::Conversation(info)) => info.conversation,
        other => panic!("open: {other:?}"),
    };
    for i in 1..=3 {
        match send_pair(&mut customer, conversation, i) {
            Ok(Response::Sent { .. }) => {}
            other => panic!("message {i}: {other:?}"),
        }
    }
    a.kill();
    assert_eq!(leads(&e, "b").epoch, 2);
    b.kill();
    drop(a);
    let a = Member::start(home.path(), &a_spec);
    // b's lease expires; a must not take the key, and says why.
    poll(WITHIN, "b's lease expired", || {
        e.get(format!("/kefu/pairs/{PAIR}/leader").as_bytes())
            .unwrap()
            .is_none()
            .then_some(())
    });
    poll(WITHIN, "a says why it does not lead", || {
        (a.logged("this node's data is of epoch 1")
            || member_status(&e, PAIR, "a")
                .is_some_and(|s| s.note.contains("did not receive everything")))
        .then_some(())
    });
    assert_eq!(
        e.get(format!("/kefu/pairs/{PAIR}/leader").as_bytes())
            .unwrap(),
        None,
        "a took the key"
    );
    assert!(!a.logged("promoted"));
    // Its epoch-1 data is where it was, or kept aside.
    let kept = [
        a.data.join("db").join("CURRENT"),
        a.data.join("diverged-1").join("db").join("CURRENT"),
    ];
    assert!(kept.iter().any(|p| p.exists()), "a's data is gone");
}
