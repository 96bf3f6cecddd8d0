//! `kefu-load pair` against a real pair (issue 18, `daemon/CLUSTER.md` §5 and §9): a
//! 3-member etcd on 127.0.0.2–4, a primary `kefud` on 127.0.0.5 in `durability =
//! "replicated"` (leases of 2 s) and its standby on 127.0.0.6, each with a metrics
//! listener, started by the test (the daemon's test plumbing, `daemon/tests/support/`).
//! The tool chats at both addresses, SIGKILLs the primary by its pid after 3 s and
//! stops by itself once every customer was acknowledged by the promoted standby (plus
//! 1 s). Its report must show a failover time for every customer, nothing lost or
//! doubled on the surviving member, and lag samples from both metrics listeners and
//! from both members' status in etcd.
//!
//! `kefud` is taken from the same target directory as this test (`cargo build
//! --release -p kefu-daemon --bin kefud`), or from `$KEFU_KEFUD`.

#[allow(dead_code)]
#[path = "../../daemon/tests/support/etcd.rs"]
mod etcd;
#[allow(dead_code)]
#[path = "../../daemon/tests/support/pair.rs"]
mod pair;

use pair::{etcd_cluster, leader_is, pair_home, Member, Spec};
use serde_json::Value;
use std::process::Command;

#[test]
fn pair_mode_reports_the_failover_and_every_acknowledged_message_once() {
    let etcd = etcd_cluster();
    let (home, a, b) = pair_home();
    let primary = Member::start(
        home.path(),
        &Spec::new("a", true, a.client, a.replication, &etcd.clients),
    );
    leader_is(&etcd.client(), "p1", "a");
    let standby = Member::start(
        home.path(),
        &Spec::new("b", false, b.client, a.replication, &etcd.clients),
    );
    let metrics = [primary.metrics.unwrap(), standby.metrics.unwrap()];
    let json = home.path().join("report.json");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
        .arg("pair")
        .args(["--servers", &format!("{},{}", a.client, b.client)])
        .arg("--admin-socket")
        .arg(&primary.admin)
        .args(["--primary-pid", &primary.pid().to_string()])
        .args(["--customers", "4", "--rate", "200"])
        .args(["--kill-after", "3", "--after-kill", "1"])
        .args(["--failover-limit-secs", "30"])
        .args(["--metrics", &format!("{},{}", metrics[0], metrics[1])])
        .args(["--pair", "p1", "--etcd"])
        .arg(
            etcd.clients
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(","),
        )
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run kefu-load pair");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "kefu-load pair failed ({}): {stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["lost"], 0, "{report}");
    assert_eq!(report["duplicated"], 0, "{report}");
    assert!(report["acked"].as_u64().unwrap() > 0, "{report}");
    // A failover time for every customer, and overall.
    let per = report["per_customer"].as_array().unwrap();
    assert_eq!(per.len(), 4);
    assert!(per.iter().all(|c| c["gap_ms"].is_u64()), "{report}");
    assert!(report["failover_ms"].is_u64(), "{report}");
    // The customers moved to the standby (a second connection at least).
    assert!(
        per.iter().all(|c| c["connects"].as_u64().unwrap() >= 2),
        "{report}"
    );
    // The lag was sampled before the kill on both members' metrics listeners and from
    // what both published in etcd.
    let lag = report["lag"].as_array().unwrap();
    let sources: Vec<&str> = lag.iter().map(|l| l["source"].as_str().unwrap()).collect();
    for want in ["etcd member a", "etcd member b"] {
        assert!(sources.contains(&want), "{want}: {report}");
    }
    assert_eq!(lag.len(), 4, "{report}");
    for l in lag {
        assert!(l["sequences"]["samples"].as_u64().unwrap() > 0, "{report}");
    }
    assert!(standby.logged("promoted"), "the standby took over");
}
