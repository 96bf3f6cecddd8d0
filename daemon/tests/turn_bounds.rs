//! A turn does a bounded amount of work (issue 13, point 3; wire/PROTOCOL.md section
//! 20.1.1): logins arriving together are spread over several turns, and the metrics
//! say what the longest turn did. Counts, never timings: the assertions read the
//! `kefu_turn_max_*` gauges, which hold the most one turn handled.

mod support;

use kefu_daemon::shard::INBOX_PER_TURN;
use kefu_wire::{Client, Request, Response};
use support::*;

/// Accounts × agents logging in at once: more than one turn's inbox share.
const ACCOUNTS: u64 = 4;
const AGENTS: u32 = 100;
/// The request budget of the daemon under test: logins taken from sockets per turn.
const REQUESTS_PER_TURN: usize = 16;

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
        total as usize > INBOX_PER_TURN,
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
    for (c, corr) in &mut clients {
        match c.wait(*corr).expect("login answered") {
            Response::LoggedIn(_) => {}
            other => panic!("login refused: {other:?}"),
        }
    }

    let text = metrics(&mut admin);
    let most_logins = per_shard(&text, "kefu_turn_max_logins");
    let most_inbox = per_shard(&text, "kefu_turn_max_inbox_messages");
    assert!(!most_logins.is_empty() && most_logins.len() == most_inbox.len());
    // A password login completes when its hash comes back through the inbox: at most
    // one inbox share of them a turn (plus, in general, the logins that need no hash,
    // at most the request budget; these logins all need one).
    for (&logins, &inbox) in most_logins.iter().zip(&most_inbox) {
        assert!(
            logins <= INBOX_PER_TURN as u64,
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
