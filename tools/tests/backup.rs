//! `kefuctl backup create|list|verify` end to end: the real binary run as a process
//! against a daemon started in-process (backups in `<data_dir>/backups`).

mod support;

use support::{assert_contains, Daemon};

#[test]
fn backups_are_created_listed_and_verified_with_kefuctl() {
    let daemon = Daemon::start();
    daemon.create_account(800_001, "ACME");
    assert_contains(&daemon.kefuctl(&["backup", "list"]).ok(), "no backups");

    let created = daemon.kefuctl(&["backup", "create"]).ok();
    assert_contains(&created, "taken");
    let second = daemon.kefuctl(&["backup", "create", "--json"]).ok();
    assert_contains(&second, "\"id\":2");

    let list = daemon.kefuctl(&["backup", "list", "--json"]).ok();
    assert!(
        list.trim_start().starts_with('[')
            && list.contains("\"id\":1")
            && list.contains("\"id\":2"),
        "{list}"
    );
    assert!(daemon.dir().join("backups").is_dir(), "no backup directory");

    let verified = daemon.kefuctl(&["backup", "verify", "1"]).ok();
    assert_contains(&verified, "backup verified");
    let json = daemon.kefuctl(&["backup", "verify", "2", "--json"]).ok();
    assert_contains(&json, "\"keys\":");

    let missing = daemon
        .kefuctl(&["backup", "verify", "7"])
        .run()
        .expect_code(1);
    assert_contains(&missing.stderr, "no backup 7");
}
