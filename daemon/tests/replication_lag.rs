//! Replication lag as an operator sees it (issue 18 point 4, `daemon/CLUSTER.md` §6):
//! a 3-member etcd on 127.0.0.2–4 and a pair of `kefud` processes on 127.0.0.5 (the
//! primary, `durability = "wal"` so that it keeps acknowledging while its standby is
//! away) and 127.0.0.6 (the standby), each with a metrics listener.
//!
//! Caught up, both members' metrics say lag 0. The standby is frozen with SIGSTOP while
//! a customer keeps chatting: the primary's `kefu_replication_lag_sequences` and
//! `kefu_replication_lag_seconds` grow, and so does the lag it publishes in etcd (what
//! `kefuctl cluster status` prints). The standby stays stopped until its member lease
//! (5 s) expires and etcd drops `members/b`. After SIGCONT the standby catches up and
//! both sides say 0 again, the standby's applied sequence being the primary's latest,
//! and it grants itself a new member lease: `kefuctl cluster status` lists it again.
//!
//! Run: `cargo test --release -p kefu-daemon --test replication_lag -- --nocapture`.

mod support;

use kefu_daemon::cluster::etcd::Etcd;
use kefu_wire::chat::MessageBody;
use kefu_wire::{Client, Request, Response};
use std::time::Duration;
use support::pair::{
    etcd_cluster, kefuctl_cluster, leader_is, member_status, metric, pair_home, poll, Member, Spec,
};
use support::pair_client::customer_on;
use support::*;

const ACCOUNT: u64 = 883_001;
/// How long any one condition may take to appear.
const WITHIN: Duration = Duration::from_secs(60);

/// The lag member `node` last published in etcd: (sequences, milliseconds).
fn published_lag(etcd: &Etcd, node: &str) -> Option<(u64, u64)> {
    let status = member_status(etcd, "p1", node)?;
    status.lag.map(|l| (l.sequences, l.age_ms))
}

/// The primary's latest sequence once both members read lag 0 (sequences and seconds) and
/// the standby has applied exactly that sequence; `None` before.
fn caught_up(primary: &Member, standby: &Member) -> Option<f64> {
    let (p, s) = (primary.scrape()?, standby.scrape()?);
    let latest = metric(&p, "kefu_replication_primary_sequence")?;
    (metric(&p, "kefu_replication_lag_sequences")? == 0.0
        && metric(&p, "kefu_replication_lag_seconds")? == 0.0
        && metric(&s, "kefu_replication_lag_sequences")? == 0.0
        && metric(&s, "kefu_replication_lag_seconds")? == 0.0
        && metric(&s, "kefu_replication_standby_applied_sequence")? == latest)
        .then_some(latest)
}

#[test]
fn a_stopped_standby_shows_a_growing_lag_on_the_primary_then_none_once_it_runs_again() {
    let etcd = etcd_cluster();
    let (home, a, b) = pair_home();
    let primary = Member::start(
        home.path(),
        &Spec {
            durability: Some("wal"),
            lease: 5,
            ..Spec::new("a", true, a.client, a.replication, &etcd.clients)
        },
    );
    leader_is(&etcd.client(), "p1", "a");
    let mut standby = Member::start(
        home.path(),
        &Spec {
            lease: 5,
            ..Spec::new("b", false, b.client, a.replication, &etcd.clients)
        },
    );
    assert!(
        standby.metrics.is_some(),
        "the standby has a metrics listener"
    );

    let mut admin = primary.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let (mut customer, conversation) = customer_on(a.client, ACCOUNT, key, "cust-0");
    let mut next = 0u64;
    let mut chat = |c: &mut Client, n: u64| {
        for _ in 0..n {
            next += 1;
            match c.request(&Request::SendMessage {
                conversation,
                client_msg_id: next,
                body: MessageBody::Text(format!("lag {next}")),
            }) {
                Ok(Response::Sent { .. }) => {}
                other => panic!("message {next}: {other:?}"),
            }
        }
    };
    chat(&mut customer, 10);

    // Caught up: lag 0 on both sides, the standby's applied sequence the primary's.
    let latest = poll(WITHIN, "both members caught up", || {
        let latest = caught_up(&primary, &standby)?;
        let role = |m: &Member| {
            m.scrape()
                .and_then(|t| metric(&t, "kefu_replication_standby"))
        };
        (role(&primary)? == 0.0 && role(&standby)? == 1.0 && latest > 0.0).then_some(latest)
    });

    // The standby freezes; the primary goes on acknowledging (wal) and sees it fall behind.
    standby.signal(libc::SIGSTOP);
    chat(&mut customer, 10);
    let (sequences, first_age) = poll(WITHIN, "the primary shows the lag", || {
        let lag = primary.metric("kefu_replication_lag_sequences")?;
        let age = primary.metric("kefu_replication_lag_seconds")?;
        (lag > 0.0 && age > 0.0).then_some((lag, age))
    });
    assert!(
        primary.metric("kefu_replication_primary_sequence").unwrap() > latest,
        "the primary committed beyond what the standby has"
    );
    // Its age keeps growing while the standby stays stopped.
    let later_age = poll(WITHIN, "the lag's age grows", || {
        let age = primary.metric("kefu_replication_lag_seconds")?;
        (age > first_age).then_some(age)
    });
    // What `kefuctl cluster status` prints: the primary's published lag.
    let e = etcd.client();
    let published = poll(WITHIN, "the primary publishes its lag in etcd", || {
        published_lag(&e, "a").filter(|(seq, ms)| *seq > 0 && *ms > 0)
    });
    eprintln!(
        "lag while the standby is stopped: {sequences} sequences, {first_age} s then \
         {later_age} s; published in etcd {published:?}"
    );

    // Stopped longer than its lease: etcd drops its member key.
    poll(WITHIN, "the stopped standby's member key expires", || {
        member_status(&e, "p1", "b").is_none().then_some(())
    });
    let status = kefuctl_cluster(&etcd.clients, "p1", &["status"]);
    assert!(!status.contains("member b:"), "b is not listed: {status}");

    // It runs again: it catches up and both sides say 0.
    standby.signal(libc::SIGCONT);
    chat(&mut customer, 5);
    poll(WITHIN, "caught up again", || caught_up(&primary, &standby));
    poll(WITHIN, "the primary publishes lag 0", || {
        published_lag(&e, "a").filter(|(seq, ms)| *seq == 0 && *ms == 0)
    });
    // Its member key is back, under a new lease: the operator sees it again.
    let status = poll(
        WITHIN,
        "kefuctl cluster status lists the standby again",
        || {
            let status = kefuctl_cluster(&etcd.clients, "p1", &["status"]);
            status.contains("member b: standby").then_some(status)
        },
    );
    eprintln!("after SIGCONT: {status}");
}
