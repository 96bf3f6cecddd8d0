//! `kefuctl balance topup|show` and `kefuctl broadcast review|words` end to end (V6, V3;
//! wire/PROTOCOL.md sections 25-26): the real
//! binary run as a process against a daemon started in-process; the balance kept over a
//! restart; refusals with their codes; and, once the daemon is stopped, the stored
//! ledger adds up to the stored balance.

mod support;

use kefu_daemon::store::balance_records::check_ledger;
use kefu_daemon::store::{open_rocks, RocksOptions};
use support::{assert_contains, Daemon, PASSWORD, SUPER_PASSWORD};

const ACCOUNT: u64 = 800_001;

fn create_account(d: &Daemon) {
    create_account_numbered(d, "800001");
}

fn create_account_numbered(d: &Daemon, account: &str) {
    d.kefuctl(&[
        "account",
        "create",
        "--id",
        account,
        "--name",
        "Alpha Ltd",
        "--plan",
        "gold",
        "--days",
        "365",
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
            "balance",
            "topup",
            "--account",
            "800001",
            "--units",
            "24",
            "--json",
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

/// `kefuctl broadcast review list|approve|reject` and `kefuctl broadcast words`: an
/// agent submits through the client library, the operator works the queue.
#[test]
fn the_review_queue_and_the_word_list_through_kefuctl() {
    use kefu_wire::chat::{CustomerId, MessageBody};
    use kefu_wire::valueadded::BroadcastDraft;
    use kefu_wire::{Client, ErrorCode, Request, Response};

    let mut d = Daemon::start();
    create_account(&d);
    d.kefuctl(&["balance", "topup", "--account", "800001", "--units", "10"])
        .ok();
    let mut boss = d.boss_with_contact(ACCOUNT);
    let submit = |c: &mut Client, text: &str| {
        c.request(&Request::SubmitBroadcast {
            draft: BroadcastDraft {
                groups: vec![],
                customers: vec![CustomerId::Identified("c1".into())],
                body: MessageBody::Text(text.into()),
                online_only: false,
                block_replies: false,
                send_at: None,
            },
            otp: None,
        })
    };
    assert!(matches!(
        submit(&mut boss, "第一条").unwrap(),
        Response::Broadcast(_)
    ));
    assert!(matches!(
        submit(&mut boss, "第二条").unwrap(),
        Response::Broadcast(_)
    ));
    let out = d
        .kefuctl(&["broadcast", "review", "list", "--account", "800001"])
        .ok();
    assert_contains(
        &out,
        "#1 by 1001: PendingReview, 1 recipients, 1 units reserved",
    );
    assert_contains(&out, "#2 by 1001");
    let out = d
        .kefuctl(&[
            "broadcast",
            "review",
            "reject",
            "--account",
            "800001",
            "--id",
            "1",
            "--reason",
            "虚假信息",
        ])
        .ok();
    assert_contains(&out, "Rejected");
    assert_contains(&out, "虚假信息");
    let out = d
        .kefuctl(&[
            "broadcast",
            "review",
            "approve",
            "--account",
            "800001",
            "--id",
            "2",
        ])
        .ok();
    assert_contains(&out, "#2 by 1001: PendingSend");
    let again = d
        .kefuctl(&[
            "broadcast",
            "review",
            "approve",
            "--account",
            "800001",
            "--id",
            "2",
        ])
        .run()
        .expect_code(1);
    assert_contains(&again.stderr, "NOT_PENDING_REVIEW");
    let out = d
        .kefuctl(&["broadcast", "review", "list", "--account", "800001"])
        .ok();
    assert_contains(&out, "no broadcast waits for review");
    let out = d.kefuctl(&["broadcast", "review", "list"]).ok();
    assert_contains(&out, "no broadcast waits for review");
    d.kefuctl(&["broadcast", "words", "-"])
        .stdin("发票\n赌博\n".as_bytes())
        .ok();
    let refused = submit(&mut boss, "代开发票").unwrap_err();
    assert_eq!(refused.code(), Some(ErrorCode::SENSITIVE_WORD));
    drop(boss);
    d.stop();
    let store = open_rocks(&d.dir().join("db"), &RocksOptions::default()).unwrap();
    let b = check_ledger(&store, ACCOUNT).unwrap();
    // Top-up 10; #1 rejected (refunded); #2 sent to c1 (1 settled).
    assert_eq!((b.topped_up, b.settled, b.reserved), (10, 1, 0));
}

/// `kefuctl broadcast review list` without `--account`: every account's broadcasts
/// pending review, oldest submission first, each row naming its account (section 30.12).
#[test]
fn the_review_list_across_accounts_through_kefuctl() {
    use kefu_wire::chat::{CustomerId, MessageBody};
    use kefu_wire::valueadded::BroadcastDraft;
    use kefu_wire::{Request, Response};

    let d = Daemon::start_with(|config, _| config.test.clock_control = true);
    let mut bosses = Vec::new();
    for account in ["800002", "800001"] {
        create_account_numbered(&d, account);
        d.kefuctl(&["balance", "topup", "--account", account, "--units", "10"])
            .ok();
        bosses.push(d.boss_with_contact(account.parse().unwrap()));
    }
    // 800002 first, then 800001, then 800002 again.
    for (i, text) in [(0, "乙一"), (1, "甲一"), (0, "乙二")] {
        d.kefuctl(&["clock", "advance", "1m"]).ok();
        let r = bosses[i]
            .request(&Request::SubmitBroadcast {
                draft: BroadcastDraft {
                    groups: vec![],
                    customers: vec![CustomerId::Identified("c1".into())],
                    body: MessageBody::Text(text.into()),
                    online_only: false,
                    block_replies: false,
                    send_at: None,
                },
                otp: None,
            })
            .unwrap();
        assert!(matches!(r, Response::Broadcast(_)), "{r:?}");
    }
    let out = d.kefuctl(&["broadcast", "review", "list"]).ok();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert!(lines[0].starts_with("account 800002 #1 by 1001: PendingReview, 1 recipients (1 named, 0 groups), 1 units reserved"), "{out}");
    assert!(lines[0].ends_with(": 乙一"), "{out}");
    assert!(lines[1].starts_with("account 800001 #1 by 1001"), "{out}");
    assert!(lines[2].starts_with("account 800002 #2 by 1001"), "{out}");
    d.kefuctl(&[
        "broadcast",
        "review",
        "approve",
        "--account",
        "800001",
        "--id",
        "1",
    ])
    .ok();
    let out = d.kefuctl(&["broadcast", "review", "list"]).ok();
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(!out.contains("account 800001"), "{out}");
    let out = d
        .kefuctl(&["broadcast", "review", "list", "--account", "800002"])
        .ok();
    assert_contains(&out, "#2 by 1001: PendingReview");
}
