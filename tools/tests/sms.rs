//! `kefuctl sms topup|balance|dead-letters|reply` end to end: the real binary run as a
//! process against a daemon started in-process (wire/PROTOCOL.md section 27). The
//! forwarding itself, its retries and charging are tested in
//! `daemon/tests/sms_forwarding.rs`.

mod support;

use support::{assert_contains, Daemon};

const ACCOUNT: u64 = 800_014;

#[test]
fn sms_topup_balance_and_dead_letters_as_a_process() {
    let d = Daemon::start();
    d.create_account(ACCOUNT, "SMS");
    let account = ACCOUNT.to_string();
    // A balance never set reads as zero.
    let out = d.kefuctl(&["sms", "balance", "--account", &account]).ok();
    assert_contains(&out, "units");
    assert_eq!(
        d.kefuctl(&["sms", "balance", "--account", &account, "--json"])
            .ok()
            .trim(),
        r#"{"units":0,"reserved":0,"spent":0,"refunded":0,"failed_attempts":0}"#
    );
    // Top-ups add up, and the balance shows them (also after a restart).
    d.kefuctl(&["sms", "topup", "--account", &account, "100"])
        .ok();
    let out = d
        .kefuctl(&["sms", "topup", "--account", &account, "50", "--json"])
        .ok();
    assert_contains(&out, r#""units":150"#);
    let mut d = d;
    d.restart();
    let out = d
        .kefuctl(&["sms", "balance", "--account", &account, "--json"])
        .ok();
    assert_contains(&out, r#""units":150"#);
    // No dead letters yet: an empty list.
    assert_eq!(
        d.kefuctl(&["sms", "dead-letters", "--account", &account, "--json"])
            .ok()
            .trim(),
        "[]"
    );
    // Refusals exit non-zero and say why; nothing changed.
    let zero = d
        .kefuctl(&["sms", "topup", "--account", &account, "0"])
        .run()
        .expect_code(1);
    assert_contains(&zero.stderr, "INVALID_ARGUMENT");
    let unknown = d
        .kefuctl(&["sms", "balance", "--account", "999999"])
        .run()
        .expect_code(1);
    assert_contains(&unknown.stderr, "UNKNOWN_ACCOUNT");
    let reply = d
        .kefuctl(&[
            "sms",
            "reply",
            "--account",
            &account,
            "--sms",
            "9",
            "--reply-id",
            "1",
        ])
        .stdin(b"ok\n")
        .run()
        .expect_code(1);
    assert_contains(&reply.stderr, "NOT_FOUND");
    let out = d
        .kefuctl(&["sms", "balance", "--account", &account, "--json"])
        .ok();
    assert_contains(&out, r#""units":150"#);
}
