//! Leadership's building block (issue 18 point 2, `daemon/CLUSTER.md` §4), against a
//! real 3-member etcd cluster (Debian's `etcd-server`, v3.4) that the test starts on
//! 127.0.0.1 ports probed free from :0, in a temporary directory, and kills at the end
//! (also on failure: a Drop guard): the daemon's etcd client (`cluster::etcd`, the
//! HTTP/JSON gateway) grants a lease, takes the pair's leader key only if absent, keeps
//! the lease alive through the loss of one member (the client tries the others), and
//! once the holder stops renewing, the other node takes the key only after etcd expired
//! the lease — and the old holder's next renewal says the lease is gone (its cue to
//! fence itself).
//!
//! Run: `cargo test --release -p kefu-daemon --test etcd_lease -- --nocapture`.

mod support;

use kefu_daemon::cluster::etcd::EtcdError;
use std::time::{Duration, Instant};
use support::etcd::EtcdCluster;

const LEADER: &[u8] = b"/kefu/pairs/p1/leader";

#[test]
fn the_leader_key_passes_to_the_other_node_only_after_the_lease_expired() {
    let mut etcd = EtcdCluster::start();
    let (a, b) = (etcd.client(), etcd.client());

    // Node A takes the key on its lease; node B cannot while it exists.
    let lease_a = a.grant(2).expect("lease for A");
    assert!(a.create_if_absent(LEADER, b"node-a", lease_a.id).unwrap());
    let lease_b = b.grant(2).expect("lease for B");
    assert!(!b.create_if_absent(LEADER, b"node-b", lease_b.id).unwrap());
    assert_eq!(b.get(LEADER).unwrap().as_deref(), Some(&b"node-a"[..]));

    // One member dies: the client goes to the others, A renews and keeps the key.
    etcd.kill(0);
    assert!(a.keep_alive(lease_a.id).expect("renewed without member 0") > 0);
    assert!(!b.create_if_absent(LEADER, b"node-b", lease_b.id).unwrap());

    // A stops renewing (dead or cut off). B polls: the key is A's until etcd expires the
    // lease, then B's; meanwhile B keeps its own lease alive.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut polls = 0u64;
    loop {
        polls += 1;
        if b.create_if_absent(LEADER, b"node-b", lease_b.id).unwrap() {
            break;
        }
        // A's, or already gone with A's lease (B takes it on the next poll).
        let now_held = b.get(LEADER).unwrap();
        assert!(
            now_held.is_none() || now_held.as_deref() == Some(&b"node-a"[..]),
            "{now_held:?}"
        );
        b.keep_alive(lease_b.id).expect("B's lease");
        assert!(Instant::now() < deadline, "A's lease never expired");
    }
    assert_eq!(b.get(LEADER).unwrap().as_deref(), Some(&b"node-b"[..]));
    // A comes back: its renewal says the lease is gone — it must not act as primary.
    match a.keep_alive(lease_a.id) {
        Err(EtcdError::LeaseExpired(id)) => assert_eq!(id, lease_a.id),
        other => panic!("an expired lease renewed: {other:?}"),
    }
    assert!(!a
        .create_if_absent(LEADER, b"node-a", lease_a.id)
        .unwrap_or(false));
    b.revoke(lease_b.id).expect("revoke");
    assert_eq!(b.get(LEADER).unwrap(), None, "the key goes with its lease");
    println!("B took the key after {polls} polls");
}
