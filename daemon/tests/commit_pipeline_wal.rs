//! `wal` mode's committer thread (`centre/pipeline.rs`) through real sockets and a
//! `kefud` process: with `[storage] wal_commit_off_loop_ops = 1` every non-empty batch
//! is written off the loop, so every turn behind one in flight waits for it and rides
//! the next batch; with `wal_commit_off_loop_behind_ops = 1` (and the size rule out of
//! reach) the turns go back and forth between the loop and the committer. Customers pipeline windows of messages (and a retry of a client
//! message id right behind its first copy) on two shards; every message is
//! acknowledged once, the retries as duplicates, the agent is pushed each once in the
//! order of the sends; after a SIGKILL and a restart (writing on the loop now,
//! `wal_commit_off_loop_ops = 0`) the store holds exactly the acknowledged messages,
//! in order, and a retry of each is a duplicate of the same id.
//!
//! The failed write off the loop in `wal` mode is `disk_full.rs`'s
//! `a_full_disk_in_wal_mode_off_the_loop`.

mod support;

use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::{Client, Event, Request, Response};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::*;

const ACCOUNT: u64 = 870_401;
/// Customers, each with a conversation of its own.
const CUSTOMERS: usize = 4;
/// Rounds; in each, every customer pipelines a window of messages.
const ROUNDS: u64 = 5;
const WINDOW: u64 = 50;

/// A `wal` config with these lines of `[storage]` besides.
fn config(dir: &std::path::Path, storage: &str) -> std::path::PathBuf {
    write_config(dir, &format!("[storage]\ndurability = \"wal\"\n{storage}"))
}

/// The names of the process's committer threads (`kefu-commit-N`, one per shard).
fn committer_threads(d: &DaemonProcess) -> Vec<String> {
    let tasks = format!("/proc/{}/task", d.child.id());
    let mut names: Vec<String> = std::fs::read_dir(&tasks)
        .expect("the daemon's threads")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .map(|n| n.trim().to_string())
        .filter(|n| n.starts_with("kefu-commit-"))
        .collect();
    names.sort();
    names
}

/// Customer `i` of the run, logged in (before the crash and again after the restart).
fn log_in_customer(d: &DaemonProcess, key: &[u8; 32], i: usize) -> Client {
    login_customer(d.client(), key, ACCOUNT, &format!("pipe-{i}"), now() + 3600)
}

fn text(customer: usize, n: u64) -> String {
    format!("customer {customer} message {n}")
}

fn send(conversation: u64, client_msg_id: u64, text: String) -> Request {
    Request::SendMessage {
        conversation,
        client_msg_id,
        body: MessageBody::Text(text),
    }
}

fn sent(r: Response) -> (u64, bool) {
    match r {
        Response::Sent { message, duplicate } => (message, duplicate),
        other => panic!("{other:?}"),
    }
}

/// Every message of `conversation` as (id, text), page by page.
fn stored(a: &mut Client, conversation: u64) -> Vec<(u64, String)> {
    let mut all: Vec<(u64, String)> = Vec::new();
    loop {
        let after = all.last().map_or(0, |m| m.0);
        let page = match a
            .request(&Request::ConversationMessages {
                conversation,
                after,
                limit: 64,
            })
            .expect("history")
        {
            Response::Messages(list) => list,
            other => panic!("{other:?}"),
        };
        if page.is_empty() {
            return all;
        }
        all.extend(page.into_iter().filter_map(|m| match (m.from, m.body) {
            (Party::Customer, MessageBody::Text(t)) => Some((m.id, t)),
            _ => None,
        }));
    }
}

#[test]
fn wal_commits_off_the_loop_keep_every_acknowledged_message_once_and_in_order() {
    windows_then_a_crash("wal_commit_off_loop_ops = 1");
}

/// The "behind" rule at its finest (`wal_commit_off_loop_behind_ops = 1`, the size rule
/// out of reach): a non-empty batch after a non-empty turn goes to the committer, one
/// after an empty turn is written on the loop, so the windows' turns go back and forth
/// between the loop and the committer; the same guarantees hold.
#[test]
fn wal_commits_switching_between_loop_and_committer_keep_every_message_once_and_in_order() {
    windows_then_a_crash("wal_commit_off_loop_ops = 1000000\nwal_commit_off_loop_behind_ops = 1");
}

/// Customers pipeline windows of messages to a daemon with these `[storage]` lines (a
/// committer per shard), then SIGKILL and a restart writing on the loop: see the
/// module doc.
fn windows_then_a_crash(storage: &str) {
    let dir = tempfile::tempdir().unwrap();
    let d = DaemonProcess::start(&config(dir.path(), storage));
    // The shards start their threads as they come up, maybe after the daemon answers.
    let both = vec!["kefu-commit-0".to_string(), "kefu-commit-1".to_string()];
    let deadline = Instant::now() + Duration::from_secs(10);
    while committer_threads(&d) != both && Instant::now() < deadline {
        std::thread::yield_now();
    }
    assert_eq!(
        committer_threads(&d),
        both,
        "{storage} starts a committer per shard"
    );
    let mut admin = d.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = d.client();
    agent.login(ACCOUNT, 1001, PASSWORD).expect("agent login");
    agent
        .request(&Request::SetAutoAccept {
            cap: CUSTOMERS as u16,
        })
        .expect("auto-accept");
    let mut customers: Vec<(Client, u64)> = (0..CUSTOMERS)
        .map(|i| {
            let mut c = log_in_customer(&d, &key, i);
            let conversation = open(&mut c).conversation;
            (c, conversation)
        })
        .collect();

    // Per customer, client message id -> message id, in the order sent.
    let mut acked: Vec<BTreeMap<u64, u64>> = vec![BTreeMap::new(); CUSTOMERS];
    let mut pushed: Vec<Vec<u64>> = vec![Vec::new(); CUSTOMERS];
    let by_conversation: BTreeMap<u64, usize> = customers
        .iter()
        .enumerate()
        .map(|(i, (_, conv))| (*conv, i))
        .collect();
    for round in 0..ROUNDS {
        // Every customer's window goes out before any answer is read, so the shards'
        // turns carry several customers' messages behind batches in flight.
        let mut waiting = Vec::new();
        for (i, (c, conv)) in customers.iter_mut().enumerate() {
            let first = round * WINDOW + 1;
            for n in first..first + WINDOW {
                let corr = c.send(&send(*conv, n, text(i, n))).expect("send");
                waiting.push((i, n, corr, false));
                if n == first {
                    // A retry right behind its first copy, likely while it is in flight.
                    let retry = c.send(&send(*conv, n, text(i, n))).expect("retry");
                    waiting.push((i, n, retry, true));
                }
            }
        }
        for (i, n, corr, is_retry) in waiting {
            let (message, duplicate) = sent(customers[i].0.wait(corr).expect("answer"));
            assert_eq!(duplicate, is_retry, "customer {i} message {n}");
            if is_retry {
                assert_eq!(
                    acked[i].get(&n),
                    Some(&message),
                    "a retry names the first copy"
                );
            } else {
                if let Some(last) = acked[i].values().last() {
                    assert!(
                        message > *last,
                        "customer {i}: ids in the order of the sends"
                    );
                }
                acked[i].insert(n, message);
            }
        }
        // The agent is pushed every acknowledged message, once, in order.
        let expected = acked.iter().map(BTreeMap::len).sum::<usize>();
        let deadline = Instant::now() + Duration::from_secs(30);
        while pushed.iter().map(Vec::len).sum::<usize>() < expected {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "the agent's pushes did not all arrive");
            let Some(p) = agent.next_push(left).expect("agent pushes") else {
                continue;
            };
            if let Event::Message(m) = p.event {
                if let (Party::Customer, Some(&i)) = (m.from, by_conversation.get(&m.conversation))
                {
                    pushed[i].push(m.id);
                }
            }
        }
    }
    for i in 0..CUSTOMERS {
        let ids: Vec<u64> = acked[i].values().copied().collect();
        assert_eq!(pushed[i], ids, "customer {i}: each pushed once, in order");
    }

    // A crash, then a daemon writing on the loop over the same data.
    let mut d = d;
    d.child.kill().unwrap();
    d.child.wait().unwrap();
    drop((agent, customers));
    let d = DaemonProcess::start(&config(dir.path(), "wal_commit_off_loop_ops = 0"));
    assert!(
        committer_threads(&d).is_empty(),
        "wal_commit_off_loop_ops = 0 starts no committer"
    );
    let mut agent = d.client();
    agent.login(ACCOUNT, 1001, PASSWORD).expect("agent login");
    for (i, acked) in acked.iter().enumerate() {
        let conv = *by_conversation
            .iter()
            .find(|(_, &c)| c == i)
            .expect("a conversation")
            .0;
        let expected: Vec<(u64, String)> = acked.iter().map(|(n, id)| (*id, text(i, *n))).collect();
        assert_eq!(
            stored(&mut agent, conv),
            expected,
            "customer {i}: exactly the acknowledged messages, once, in order"
        );
        let mut c = log_in_customer(&d, &key, i);
        for (n, id) in acked.iter().step_by(25) {
            let again = sent(c.request(&send(conv, *n, text(i, *n))).expect("retry"));
            assert_eq!(
                again,
                (*id, true),
                "customer {i} message {n} after the restart"
            );
        }
    }
}
