//! `kefuctl balance topup|show` end to end (V6; wire/PROTOCOL.md section 25): the real
//! binary run as a process against a daemon started in-process; the balance kept over a
//! restart; refusals with their codes; and, once the daemon is stopped, the stored
//! ledger adds up to the stored balance.

mod support;

use kefu_daemon::store::balance_records::check_ledger;
use kefu_daemon::store::{open_rocks, RocksOptions};
use support::{assert_contains, Daemon, PASSWORD, SUPER_PASSWORD};

const ACCOUNT: u64 = 800_001;

fn create_account(d: &Daemon) {
    d.kefuctl(&[
        "account", "create", "--id", "800001", "--name", "Alpha Ltd", "--plan", "gold",
        "--days", "365",
    ])
    .env("KEFU_PASSWORD", PASSWORD)
    .env("KEFU_SUPER_PASSWORD", SUPER_PASSWORD)
    .ok();
}

#[test]
fn topup_and_show_through_kefuctl_and_the_ledger_balances() {
    let mut d = Daemon::start();
    create_account(&d);
    let out = d.kefuctl(&["balance", "show", "--account", "800001"]).ok();
    assert_contains(&out, "available: 0 units");
    let out = d
        .kefuctl(&["balance", "topup", "--account", "800001", "--units", "1000"])
        .ok();
    assert_contains(&out, "available: 1000 units");
    assert_contains(&out, "points:    0");
    let json = d
        .kefuctl(&[
            "balance", "topup", "--account", "800001", "--units", "24", "--json",
        ])
        .ok();
    assert_contains(&json, "\"available\":1024");
    assert_contains(&json, "\"topped_up\":1024");
    // Refusals: exit status 1 and the code's name.
    let zero = d
        .kefuctl(&["balance", "topup", "--account", "800001", "--units", "0"])
        .run()
        .expect_code(1);
    assert_contains(&zero.stderr, "INVALID_ARGUMENT");
    let unknown = d
        .kefuctl(&["balance", "show", "--account", "800999"])
        .run()
        .expect_code(1);
    assert_contains(&unknown.stderr, "UNKNOWN_ACCOUNT");
    d.restart();
    let out = d.kefuctl(&["balance", "show", "--account", "800001"]).ok();
    assert_contains(&out, "topped up: 1024 units");
    d.stop();
    let store = open_rocks(&d.dir().join("db"), &RocksOptions::default()).unwrap();
    let b = check_ledger(&store, ACCOUNT).unwrap();
    assert_eq!((b.topped_up, b.next_entry), (1024, 3));
}
