//! `kefuctl cluster status|promote` end to end (issue 18, `daemon/CLUSTER.md` §9): the
//! real binary run as a process against a one-member etcd (Debian's `etcd-server`)
//! started by the test on 127.0.0.1 ports probed free from :0, in a temporary directory,
//! killed when dropped. The pair's keys are written as the daemon's leadership thread
//! writes them (the same crate, `kefu-etcd`); the daemons themselves are exercised in
//! `daemon/tests/failover.rs`.
//!
//! Run: `cargo test --release -p kefu-tools --test cluster`.

mod support;

use kefu_etcd::pair::{DegradedValue, LeaderValue, MemberLag, MemberStatus};
use kefu_etcd::Etcd;
use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use support::{assert_contains, kefuctl};

/// One etcd member, killed when dropped.
struct OneEtcd {
    child: Child,
    client: SocketAddr,
    _dir: tempfile::TempDir,
}

impl Drop for OneEtcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl OneEtcd {
    fn start() -> OneEtcd {
        let dir = tempfile::tempdir().expect("tempdir");
        let (client, peer) = (free_port(), free_port());
        let child = Command::new("etcd")
            .args(["--name", "m0"])
            .arg("--data-dir")
            .arg(dir.path().join("m0"))
            .args([
                "--listen-client-urls",
                &format!("http://127.0.0.1:{client}"),
            ])
            .args([
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{client}"),
            ])
            .args(["--listen-peer-urls", &format!("http://127.0.0.1:{peer}")])
            .args([
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
            ])
            .args(["--initial-cluster", &format!("m0=http://127.0.0.1:{peer}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("etcd starts (apt-get install etcd-server)");
        let etcd = OneEtcd {
            child,
            client: SocketAddr::from(([127, 0, 0, 1], client)),
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while etcd.client().get(b"/kefu/probe").is_err() {
            assert!(Instant::now() < deadline, "etcd not ready");
            std::thread::yield_now();
        }
        etcd
    }

    fn client(&self) -> Etcd {
        Etcd::new(vec![self.client], Duration::from_secs(2))
    }
}

#[test]
fn status_shows_the_leader_and_the_lag_and_promote_is_refused_while_it_leads() {
    let etcd = OneEtcd::start();
    let e = etcd.client();
    let endpoint = etcd.client.to_string();
    let cluster = |args: &[&str]| {
        let mut all = vec!["cluster", "--etcd", &endpoint, "--pair", "p9"];
        all.extend_from_slice(args);
        kefuctl(&all)
    };
    assert_contains(&cluster(&["status"]).ok(), "leader:  none");

    // Node a leads at epoch 3 on a lease; b follows, 7 sequences behind.
    let lease = e.grant(30).unwrap();
    let leader = LeaderValue {
        replication_addr: None,
        node: "a".into(),
        client_addr: Some("127.0.0.1:7070".parse().unwrap()),
        epoch: 3,
    };
    assert!(e
        .create_if_absent(
            b"/kefu/pairs/p9/leader",
            &serde_json::to_vec(&leader).unwrap(),
            lease.id
        )
        .unwrap());
    let b = MemberStatus {
        role: "standby".into(),
        epoch: 3,
        applied: 93,
        primary_latest: 100,
        lease_left_ms: 0,
        note: String::new(),
        lag: None,
    };
    e.put(
        b"/kefu/pairs/p9/members/b",
        &serde_json::to_vec(&b).unwrap(),
        0,
    )
    .unwrap();
    let status = cluster(&["status"]).ok();
    assert_contains(
        &status,
        "leader:  a (client 127.0.0.1:7070, epoch 3, lease ",
    );
    assert_contains(
        &status,
        "member b: standby at epoch 3, sequence 93, lag 7 sequences,",
    );
    // A member that measures its lag (the daemon's leadership thread publishes it)
    // shows it in sequences and seconds.
    let a = MemberStatus {
        role: "primary".into(),
        epoch: 3,
        applied: 100,
        primary_latest: 100,
        lease_left_ms: 4000,
        note: String::new(),
        lag: Some(MemberLag {
            sequences: 9,
            age_ms: 1500,
        }),
    };
    e.put(
        b"/kefu/pairs/p9/members/a",
        &serde_json::to_vec(&a).unwrap(),
        0,
    )
    .unwrap();
    assert_contains(
        &cluster(&["status"]).ok(),
        "member a: primary at epoch 3, sequence 100, lag 9 sequences, 1.500 s, lease 4000 ms",
    );

    // A leader holds the key: promotion is refused and nothing is written.
    let refused = cluster(&["promote", "--node", "b"]).run().expect_code(1);
    assert_contains(&refused.stderr, "promote refused: a leads at epoch 3");
    assert_eq!(e.get(b"/kefu/pairs/p9/promote").unwrap(), None);

    // The leader's lease is gone: the operator may name the standby to take over.
    e.revoke(lease.id).unwrap();
    assert_contains(&cluster(&["status"]).ok(), "leader:  none");
    assert_contains(
        &cluster(&["promote", "--node", "b"]).ok(),
        "asked b to take over pair p9",
    );
    assert_eq!(
        e.get(b"/kefu/pairs/p9/promote").unwrap().as_deref(),
        Some(&b"b"[..])
    );
}

#[test]
fn promote_alone_flags_the_leader_degraded_and_is_refused_without_one() {
    let etcd = OneEtcd::start();
    let e = etcd.client();
    let endpoint = etcd.client.to_string();
    let cluster = |args: &[&str]| {
        let mut all = vec!["cluster", "--etcd", &endpoint, "--pair", "p8"];
        all.extend_from_slice(args);
        kefuctl(&all)
    };
    // Nobody leads: there is no primary to run alone; nothing is written.
    let refused = cluster(&["promote", "--alone"]).run().expect_code(1);
    assert_contains(
        &refused.stderr,
        "promote --alone refused: no member leads pair p8",
    );
    assert_eq!(e.get(b"/kefu/pairs/p8/degraded").unwrap(), None);
    // --node and --alone are two different requests.
    cluster(&["promote", "--alone", "--node", "b"])
        .run()
        .expect_code(2);

    let lease = e.grant(30).unwrap();
    let leader = LeaderValue {
        replication_addr: Some("127.0.0.1:7071".parse().unwrap()),
        node: "a".into(),
        client_addr: None,
        epoch: 4,
    };
    e.put(
        b"/kefu/pairs/p8/leader",
        &serde_json::to_vec(&leader).unwrap(),
        lease.id,
    )
    .unwrap();
    assert_contains(
        &cluster(&["promote", "--alone"]).ok(),
        "pair p8 runs degraded: a (epoch 4)",
    );
    let flag: DegradedValue =
        serde_json::from_slice(&e.get(b"/kefu/pairs/p8/degraded").unwrap().unwrap()).unwrap();
    assert_eq!(
        flag,
        DegradedValue {
            node: "a".into(),
            epoch: 4
        }
    );
    assert_contains(
        &cluster(&["status"]).ok(),
        "degraded: yes — a acknowledges with one copy (promote --alone at epoch 4)",
    );
    // Another leader (a later epoch): the old flag is shown stale, not as degraded.
    let newer = LeaderValue {
        epoch: 5,
        node: "b".into(),
        ..leader
    };
    e.put(
        b"/kefu/pairs/p8/leader",
        &serde_json::to_vec(&newer).unwrap(),
        lease.id,
    )
    .unwrap();
    assert_contains(
        &cluster(&["status"]).ok(),
        "degraded: no (a stale promote --alone for a at epoch 4)",
    );
}
