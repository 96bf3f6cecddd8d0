//! A turn does a bounded amount of work (issue 13, point 3; wire/PROTOCOL.md section
//! 20.1.1): logins arriving together are spread over several turns, and the metrics
//! say what the longest turn did. Counts, never timings: the assertions read the
//! `kefu_turn_max_*` gauges, which hold the most one turn handled.

mod support;

use kefu_daemon::shard::{INBOX_PER_TURN, LOGINS_PER_TURN};
use kefu_wire::{Client, Request, Response};
use support::*;

/// Accounts × agents logging in at once: more than one turn's inbox share.
const ACCOUNTS: u64 = 4;
const AGENTS: u32 = 100;
/// The request budget of the daemon under test: larger than the burst, so that only
/// the login budget holds the token reconnections back.
const REQUESTS_PER_TURN: usize = 4096;

fn metrics(admin: &mut Client) -> String {
    match admin.request(&Request::AdminMetrics).expect("metrics") {
        Response::Metrics { text } => text,
        other => panic!("{other:?}"),
    }
}

/// Every shard's value of a per-shard gauge.
fn per_shard(text: &str, name: &str) -> Vec<u64> {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .map(|l| {
            let value = l.rsplit(' ').next().expect("a value");
            value.parse().expect("an integer gauge")
        })
        .collect()
}

#[test]
fn logins_arriving_together_are_spread_over_turns_and_the_longest_turn_is_described() {
    let s = TestServer::start_with(|c| c.limits.max_requests_per_turn = REQUESTS_PER_TURN);
    let mut admin = s.admin();
    let total = ACCOUNTS * u64::from(AGENTS);
    assert!(
        total as usize > INBOX_PER_TURN.max(LOGINS_PER_TURN),
        "the burst must exceed one turn's share"
    );
    for account in 1..=ACCOUNTS {
        create_account(&mut admin, account);
        for agent in 2000..2000 + AGENTS {
            add_agent(&mut admin, account, agent, Some(PASSWORD));
        }
    }
    // Every connection first, then every login sent before any answer is read.
    let mut clients: Vec<(Client, u32)> = Vec::new();
    for account in 1..=ACCOUNTS {
        for agent in 2000..2000 + AGENTS {
            let mut c = s.client();
            let corr = c
                .send(&Request::Login {
                    account,
                    agent,
                    password: PASSWORD.into(),
                    otp: None,
                })
                .expect("login sent");
            clients.push((c, corr));
        }
    }
    let mut sessions = Vec::new();
    for (c, corr) in &mut clients {
        match c.wait(*corr).expect("login answered") {
            Response::LoggedIn(info) => sessions.push((info.account, info.agent, info.token)),
            other => panic!("login refused: {other:?}"),
        }
    }
    // Then every one reconnects at once with its token: these logins complete in the
    // turn that reads them, no hash involved.
    drop(clients);
    let mut again: Vec<(Client, u32)> = Vec::new();
    for &(account, agent, token) in &sessions {
        let mut c = s.client();
        let corr = c
            .send(&Request::Resume {
                account,
                agent,
                token,
            })
            .expect("resume sent");
        again.push((c, corr));
    }
    for (c, corr) in &mut again {
        match c.wait(*corr).expect("resume answered") {
            Response::LoggedIn(_) => {}
            other => panic!("resume refused: {other:?}"),
        }
    }

    let text = metrics(&mut admin);
    let most_logins = per_shard(&text, "kefu_turn_max_logins");
    let most_inbox = per_shard(&text, "kefu_turn_max_inbox_messages");
    assert!(!most_logins.is_empty() && most_logins.len() == most_inbox.len());
    // However the logins arrive (hashes finishing together, tokens all at once), one
    // turn completes at most LOGINS_PER_TURN of them and takes at most INBOX_PER_TURN
    // messages.
    for (&logins, &inbox) in most_logins.iter().zip(&most_inbox) {
        assert!(
            logins <= LOGINS_PER_TURN as u64,
            "{logins} logins in one turn"
        );
        assert!(
            inbox <= INBOX_PER_TURN as u64,
            "{inbox} inbox messages in one turn"
        );
    }
    assert!(
        most_logins.iter().any(|&n| n > 0),
        "some turn completed a login"
    );
    // The longest turn is described, with what it did.
    let longest = per_shard(&text, "kefu_turn_longest_microseconds");
    assert!(longest.iter().any(|&us| us > 0), "{text}");
    for name in [
        "kefu_turn_longest_frames_in",
        "kefu_turn_longest_inbox_messages",
        "kefu_turn_longest_logins",
        "kefu_turn_longest_accepted",
        "kefu_turn_longest_batch_operations",
    ] {
        assert_eq!(per_shard(&text, name).len(), longest.len(), "{name}");
    }
    // The store's stall and flush figures are there too.
    for name in [
        "kefu_rocksdb_stall_micros",
        "kefu_rocksdb_write_stopped",
        "kefu_rocksdb_immutable_memtables",
        "kefu_rocksdb_memtable_flushes_pending",
    ] {
        assert!(
            text.lines().any(|l| l.starts_with(&format!("{name} "))),
            "{name} missing"
        );
    }
}
