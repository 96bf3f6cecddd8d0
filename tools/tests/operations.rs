//! `kefuctl account delete`, `kefuctl stats --prometheus` and the clock and storage
//! steps of `kefuctl diagnose`, end to end: the real binary run as a process against a
//! daemon started in-process (wire/PROTOCOL.md section 20).

mod support;

use kefu_wire::{ErrorCode, Request};
use support::{assert_contains, kefuctl, Daemon, PASSWORD};

#[test]
fn account_delete_needs_its_number_twice_and_removes_the_account() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    d.create_account(800_002, "Beta Ltd");

    let refused = d
        .kefuctl(&["account", "delete", "800001"])
        .run()
        .expect_code(1);
    assert_contains(&refused.stderr, "--confirm 800001");
    let refused = d
        .kefuctl(&["account", "delete", "800001", "--confirm", "800002"])
        .run()
        .expect_code(1);
    assert_contains(&refused.stderr, "does not match");
    // Nothing was deleted.
    d.kefuctl(&["account", "show", "800001"]).ok();

    let out = d
        .kefuctl(&["account", "delete", "800001", "--confirm", "800001"])
        .ok();
    assert_contains(&out, "deleted account 800001");
    let gone = d
        .kefuctl(&["account", "show", "800001"])
        .run()
        .expect_code(1);
    assert_contains(&gone.stderr, "UNKNOWN_ACCOUNT");
    let again = d
        .kefuctl(&["account", "delete", "800001", "--confirm", "800001"])
        .run()
        .expect_code(1);
    assert_contains(&again.stderr, "UNKNOWN_ACCOUNT");
    let list = d.kefuctl(&["account", "list"]).ok();
    assert!(!list.contains("800001"), "{list}");
    assert_contains(&list, "800002");
}

#[test]
fn stats_prometheus_prints_the_metrics() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let text = d.kefuctl(&["stats", "--prometheus"]).ok();
    for family in [
        "# TYPE kefu_connections gauge",
        "# TYPE kefu_commit_duration_seconds histogram",
        "# TYPE kefu_messages_stored_total counter",
        "# TYPE kefu_rocksdb_sst_files_bytes gauge",
        "kefu_connections{shard=\"1\"}",
    ] {
        assert_contains(&text, family);
    }
    let both = d
        .kefuctl(&["stats", "--prometheus", "--json"])
        .run()
        .expect_code(2);
    assert_contains(&both.stderr, "cannot be used with");
}

#[test]
fn diagnose_checks_the_clock_and_the_storage() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let out = d
        .kefuctl(&[
            "diagnose",
            "--server",
            &d.tcp_addr(),
            "--login",
            "1001@800001",
            "--pings",
            "2",
        ])
        .env("KEFU_PASSWORD", PASSWORD)
        .ok();
    assert_contains(&out, "ok  clock server ");
    assert_contains(&out, "ok  storage ");
    assert_contains(&out, "writable, synced write ");
    assert_contains(&out, " free of ");
    assert!(!out.contains("FAIL"), "{out}");

    // Without the admin socket the storage step is skipped, and says why.
    let out = kefuctl(&[
        "--admin-socket",
        "/nonexistent/admin.sock",
        "diagnose",
        "--server",
        &d.tcp_addr(),
        "--login",
        "1001@800001",
        "--pings",
        "1",
    ])
    .env("KEFU_PASSWORD", PASSWORD)
    .ok();
    assert_contains(
        &out,
        "skip storage not checked: cannot open the admin socket",
    );
    let out = d
        .kefuctl(&[
            "diagnose",
            "--server",
            &d.tcp_addr(),
            "--login",
            "1001@800001",
            "--no-storage",
        ])
        .env("KEFU_PASSWORD", PASSWORD)
        .ok();
    assert_contains(&out, "skip storage not checked (--no-storage)");
}

#[test]
fn a_deleted_accounts_agents_cannot_log_in() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    d.kefuctl(&["account", "delete", "800001", "--confirm", "800001"])
        .ok();
    let mut admin = d.admin_client();
    let e = admin
        .request(&Request::AdminListAgents { account: 800_001 })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UNKNOWN_ACCOUNT));
}
