//! Moving an account between appliances under chat load (issue 18, `daemon/CLUSTER.md`
//! §8, `wire/PROTOCOL.md` 40.6): a 3-member etcd cluster on 127.0.0.2–4 and two `kefud`
//! processes, each the lone primary of its pair (`pa` on 127.0.0.5, `pb` on 127.0.0.6,
//! `wal` durability), and `kefuctl cluster move-account` run as a process (plumbing:
//! `support/pair.rs`, `support/pair_client.rs`, `support/etcd.rs`).
//!
//! - Customers and an agent of one account, all on the client library's `PairClient`
//!   knowing only the source's address, send messages before, during and after the move.
//!   Afterwards every acknowledged message is on the target exactly once, every client
//!   is connected to the target (it followed the `GoAwayTo` by itself), and a new login
//!   at the source is redirected to the target.
//!   The account keeps serving during the copy and the catch-up rounds: kefuctl's
//!   phases (copy, rounds, frozen) and the window in which the account's writes were
//!   refused are printed, not asserted (they depend on the machine's load).
//! - Bad input to `move-account` — an unknown account, an unknown pair, the pair that
//!   serves the account already — is refused with a distinct error each, and changes
//!   nothing: no directory entry, the account still served where it was.
//! - The catch-up's admin requests between two daemons (no etcd): a round of changes
//!   read back from the source's log brings the target's copy up to date (a later agent
//!   logs in there), and a round with another account's key, a stale round and a round
//!   after the switch are refused with a code each, changing nothing.
//!
//! Needs `etcd` (Debian's `etcd-server`) and `kefuctl` built beside `kefud`
//! (`cargo build --release -p kefu-tools`). Run:
//! `cargo test --release -p kefu-daemon --test cluster_move -- --nocapture`; with
//! `KEFU_MOVE_CONTACTS=20000` (or 100000) the account gets that many CRM contacts before
//! its move, for the figures of CLUSTER.md §8.

mod support;

use kefu_daemon::cluster::etcd::pair::{account_key, AccountPlacement};
use kefu_wire::account_move::{AccountChange, AccountChanges, AccountEntry};
use kefu_wire::chat::MessageBody;
use kefu_wire::pair::PairClient;
use kefu_wire::{Client, ErrorCode, Request, Response};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::pair::{etcd_cluster, kefuctl, leader_is, pair_home, poll, Addrs, Member, Spec};
use support::pair_client::{customer_login, pair_client, texts};
use support::*;

const ACCOUNT: u64 = 883_001;

/// A lone primary of `pair` (no standby, `wal` durability) at these addresses.
fn appliance(home: &Path, (node, pair): (&str, &str), addrs: Addrs, etcd: &[SocketAddr]) -> Member {
    Member::start(
        home,
        &Spec {
            pair,
            durability: Some("wal"),
            metrics: None,
            ..Spec::new(node, true, addrs.client, addrs.replication, etcd)
        },
    )
}

fn customer_text(c: usize, i: u64) -> String {
    format!("move c{c} m{i}")
}

fn agent_text(conversation: u64, i: u64) -> String {
    format!("move agent {conversation} m{i}")
}

/// The texts of `conversation` as customer `c` reads them at `addr`.
fn texts_at(addr: SocketAddr, key: [u8; 32], c: usize, conversation: u64) -> Vec<String> {
    let mut client = pair_client(&[addr], login(key, c));
    let out = texts(&mut client, conversation);
    assert_eq!(client.connected_to(), Some(addr), "read where it was asked");
    out
}

/// Customer `c`'s login.
fn login(key: [u8; 32], c: usize) -> kefu_wire::pair::LoginStep {
    customer_login(ACCOUNT, key, &format!("cust-{c}"))
}

/// `kefuctl --admin-socket <source> cluster --etcd ... move-account <account> <pair>
/// --target-admin-socket <target>`.
fn move_account(
    etcd: &[SocketAddr],
    source: &Member,
    target: &Member,
    account: u64,
    pair: &str,
) -> std::process::Output {
    let endpoints: Vec<String> = etcd.iter().map(ToString::to_string).collect();
    let (source_sock, target_sock) = (
        source.admin.display().to_string(),
        target.admin.display().to_string(),
    );
    kefuctl(&[
        "--admin-socket",
        &source_sock,
        "cluster",
        "--etcd",
        &endpoints.join(","),
        "move-account",
        &account.to_string(),
        pair,
        "--target-admin-socket",
        &target_sock,
    ])
}

fn stderr_of(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_account_moves_under_chat_load_and_its_clients_follow() {
    let etcd = etcd_cluster();
    let (home, source_addrs, target_addrs) = pair_home();
    let source = appliance(home.path(), ("a", "pa"), source_addrs, &etcd.clients);
    let target = appliance(home.path(), ("b", "pb"), target_addrs, &etcd.clients);
    let client = etcd.client();
    let first = leader_is(&client, "pa", "a");
    leader_is(&client, "pb", "b");

    let mut admin = source.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    // A bigger account for the figures: its copy takes longer, the account serving.
    let contacts: usize = std::env::var("KEFU_MOVE_CONTACTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if contacts > 0 {
        operator_import(&mut admin, ACCOUNT, &id_rows("mv", contacts));
    }
    let mut agent = pair_client(
        &[source.client],
        Box::new(|c: &mut Client| c.login(ACCOUNT, 1001, PASSWORD).map(|_| ())),
    );
    agent
        .request(&Request::SetAutoAccept { cap: 50 })
        .expect("auto-accept");

    // Bad input first: refused, distinctly, and nothing changes.
    let unknown_account = move_account(&etcd.clients, &source, &target, 999_999, "pb");
    let unknown_pair = move_account(&etcd.clients, &source, &target, ACCOUNT, "nope");
    let same_pair = move_account(&etcd.clients, &source, &target, ACCOUNT, "pa");
    for (o, says) in [
        (&unknown_account, "unknown account 999999"),
        (&unknown_pair, "unknown pair \"nope\""),
        (&same_pair, "same pair"),
    ] {
        assert!(!o.status.success(), "{says}: refused");
        assert!(stderr_of(o).contains(says), "{says}: {}", stderr_of(o));
    }
    for account in [999_999, ACCOUNT] {
        assert_eq!(client.get(&account_key(account)).unwrap(), None);
    }

    // Customers open their conversations at the source (the agent takes them).
    let customers = 3;
    let per_customer = 60u64;
    let mut clients: Vec<(PairClient, u64)> = (0..customers)
        .map(|c| {
            let mut pc = pair_client(&[source.client], login(key, c));
            let conversation = match pc.request(&Request::OpenConversation {
                entry: kefu_wire::chat::Entry::Auto,
            }) {
                Ok(Response::Conversation(info)) => info.conversation,
                other => panic!("open: {other:?}"),
            };
            (pc, conversation)
        })
        .collect();
    let conversations: Vec<u64> = clients.iter().map(|(_, c)| *c).collect();
    let progress = Arc::new(AtomicU64::new(0));
    let moved = Arc::new(AtomicBool::new(false));
    let threads: Vec<_> = clients
        .drain(..)
        .enumerate()
        .map(|(c, (mut pc, conversation))| {
            let (progress, moved) = (Arc::clone(&progress), Arc::clone(&moved));
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 1..=per_customer {
                    // Two thirds through, wait for the move's end: some messages after it.
                    if i == per_customer * 2 / 3 {
                        poll(Duration::from_secs(120), "the move's end", || {
                            moved.load(Ordering::SeqCst).then_some(())
                        });
                    }
                    match pc.request(&Request::SendMessage {
                        conversation,
                        client_msg_id: i,
                        body: MessageBody::Text(customer_text(c, i)),
                    }) {
                        Ok(Response::Sent { .. }) => {
                            acked.push(i);
                            progress.fetch_add(1, Ordering::SeqCst);
                        }
                        other => panic!("customer {c} message {i}: {other:?}"),
                    }
                }
                (acked, pc.connected_to(), conversation)
            })
        })
        .collect();
    let agent_thread = {
        let (progress, moved) = (Arc::clone(&progress), Arc::clone(&moved));
        let conversations = conversations.clone();
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut i = 0u64;
            // Until the move is over and a few more went out after it.
            let mut after_move = 0;
            while after_move < 10 {
                i += 1;
                let conversation = conversations[(i as usize) % conversations.len()];
                let was_moved = moved.load(Ordering::SeqCst);
                match agent.request(&Request::SendMessage {
                    conversation,
                    client_msg_id: i,
                    body: MessageBody::Text(agent_text(conversation, i)),
                }) {
                    Ok(Response::Sent { .. }) => {
                        acked.push((conversation, i));
                        progress.fetch_add(1, Ordering::SeqCst);
                    }
                    other => panic!("agent message {i}: {other:?}"),
                }
                if was_moved {
                    after_move += 1;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (acked, agent.connected_to())
        })
    };

    // The move, once a third of the customers' messages are acknowledged.
    poll(Duration::from_secs(120), "the load's first third", || {
        (progress.load(Ordering::SeqCst) >= customers as u64 * per_customer / 3).then_some(())
    });
    let started = Instant::now();
    let before = progress.load(Ordering::SeqCst);
    let out = move_account(&etcd.clients, &source, &target, ACCOUNT, "pb");
    let took = started.elapsed();
    let during = progress.load(Ordering::SeqCst) - before;
    moved.store(true, Ordering::SeqCst);
    assert!(out.status.success(), "move-account: {}", stderr_of(&out));
    // kefuctl's phases: the copy and the rounds while serving, then the frozen window.
    eprintln!(
        "move ({contacts} contacts): {during} messages acknowledged while the command ran \
         ({:.2} s)\n{}",
        took.as_secs_f64(),
        String::from_utf8_lossy(&out.stdout).trim()
    );
    let entry = client.get(&account_key(ACCOUNT)).unwrap().expect("entry");
    let placement = AccountPlacement::decode(&entry).expect("placement");
    assert_eq!((placement.pair.as_str(), placement.moving_to), ("pb", None));

    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let (agent_acked, agent_at) = agent_thread.join().unwrap();
    assert_eq!(
        agent_at,
        Some(target.client),
        "the agent ended on the target"
    );

    // Every acknowledged message is on the target exactly once.
    let mut total = agent_acked.len();
    for (c, (acked, at, conversation)) in results.iter().enumerate() {
        assert_eq!(*at, Some(target.client), "customer {c} ended on the target");
        assert_eq!(acked.len() as u64, per_customer, "customer {c}");
        let texts = texts_at(target.client, key, c, *conversation);
        for i in acked {
            let n = texts.iter().filter(|t| **t == customer_text(c, *i)).count();
            assert_eq!(n, 1, "customer {c} message {i} is there {n} times");
        }
        for (conv, i) in agent_acked.iter().filter(|(conv, _)| conv == conversation) {
            let n = texts
                .iter()
                .filter(|t| **t == agent_text(*conv, *i))
                .count();
            assert_eq!(n, 1, "agent message {i} in {conv} is there {n} times");
        }
        total += acked.len();
    }
    eprintln!("move: {total} acknowledged messages, each present once on the target");

    // A new login at the source is redirected to the target (and followed, once).
    let mut fresh = Client::connect(source.client, opts()).unwrap();
    let answer = fresh.login(ACCOUNT, 1001, PASSWORD);
    assert!(answer.is_ok(), "login via the source: {answer:?}");
    assert_eq!(fresh.server_addr(), Some(target.client));
    assert!(source.logged("moved to"), "the source logs the move");

    // Restarted over the same data, the source forgot the operator's word: the
    // directory in etcd still sends the account's logins to the target.
    drop(source);
    let source = appliance(home.path(), ("a", "pa"), source_addrs, &etcd.clients);
    poll(
        Duration::from_secs(60),
        "the restarted source leading",
        || (leader_is(&client, "pa", "a").epoch > first.epoch).then_some(()),
    );
    // Its leader key can be in etcd a moment before it holds its lease for certain
    // (until then it answers NOT_PRIMARY, `rejoin.rs`): the login is retried until then.
    let again = poll(
        Duration::from_secs(60),
        "a login via the restarted source",
        || {
            let mut c = Client::connect(source.client, opts()).unwrap();
            match c.login(ACCOUNT, 1001, PASSWORD) {
                Err(e) if e.code() == Some(ErrorCode::NOT_PRIMARY) => None,
                answer => {
                    assert!(answer.is_ok(), "login via the restarted source: {answer:?}");
                    Some(c)
                }
            }
        },
    );
    assert_eq!(again.server_addr(), Some(target.client));
}

/// `AdminAccountChanges` at the source.
fn changes(admin: &mut Client, account: u64, after: Option<u64>) -> AccountChanges {
    match admin.request(&Request::AdminAccountChanges { account, after }) {
        Ok(Response::AccountChanges(c)) => c,
        other => panic!("changes after {after:?}: {other:?}"),
    }
}

/// `AdminApplyAccountChanges` at the target.
fn apply(
    admin: &mut Client,
    account: u64,
    (after, upto): (u64, u64),
    changes: Vec<AccountChange>,
) -> Result<Response, kefu_wire::ClientError> {
    admin.request(&Request::AdminApplyAccountChanges {
        account,
        after,
        upto,
        changes,
    })
}

#[test]
fn catch_up_rounds_apply_in_order_and_bad_rounds_change_nothing() {
    let (source, target) = (TestServer::start(), TestServer::start());
    let (mut sa, mut ta) = (source.admin(), target.admin());
    create_account(&mut sa, ACCOUNT);

    // The starting point, then the copy, the source serving on.
    let start = changes(&mut sa, ACCOUNT, None);
    assert!(start.changes.is_empty() && start.upto == start.latest);
    let copy = exported(&mut sa, ACCOUNT);
    let import = Request::AdminImportAccount {
        account: ACCOUNT,
        entries: copy,
        first: true,
    };
    assert_eq!(ta.request(&import).unwrap(), Response::Ok);
    // Written at the source after the copy: only the catch-up carries it.
    add_agent(&mut sa, ACCOUNT, 1002, Some("later-agent-pw-1"));
    let round = changes(&mut sa, ACCOUNT, Some(start.upto));
    assert!(
        round.upto > start.upto && round.upto == round.latest,
        "{round:?}"
    );
    let agent_key = [&ACCOUNT.to_be_bytes()[..], &1002u32.to_be_bytes()].concat();
    let has_agent = |entries: &[AccountEntry]| {
        entries
            .iter()
            .any(|e| e.cf == "agents" && e.key == agent_key)
    };
    assert!(
        round.changes.iter().any(|c| matches!(c,
            AccountChange::Put { cf, key, .. } if cf == "agents" && *key == agent_key)),
        "the round holds the new agent: {:?}",
        round.changes
    );
    let span = (start.upto, round.upto);

    // Another account's key in the round: refused whole, nothing written.
    let mut foreign = round.changes.clone();
    foreign.push(AccountChange::Put {
        cf: "accounts".into(),
        key: 1u64.to_be_bytes().to_vec(),
        value: vec![1],
    });
    let refused = apply(&mut ta, ACCOUNT, span, foreign);
    assert_eq!(code(refused), ErrorCode::FOREIGN_ENTRY);
    assert!(
        !has_agent(&exported(&mut ta, ACCOUNT)),
        "nothing of it written"
    );

    // The round itself applies; the same round again, or one skipping ahead, does not.
    assert_eq!(
        apply(&mut ta, ACCOUNT, span, round.changes.clone()).unwrap(),
        Response::Ok
    );
    assert!(has_agent(&exported(&mut ta, ACCOUNT)));
    let stale = apply(&mut ta, ACCOUNT, span, round.changes.clone());
    assert_eq!(code(stale), ErrorCode::MOVE_ROUND_OUT_OF_ORDER);
    let ahead = (round.upto + 5, round.upto + 9);
    assert_eq!(
        code(apply(&mut ta, ACCOUNT, ahead, Vec::new())),
        ErrorCode::MOVE_ROUND_OUT_OF_ORDER
    );
    // An empty round that follows on is taken (nothing changed at the source since).
    let none = changes(&mut sa, ACCOUNT, Some(round.upto));
    assert!(none.changes.is_empty(), "{none:?}");

    // The switch is over (the target thawed): a late round is refused, and the agent
    // the catch-up carried logs in at the target.
    let thaw = Request::AdminFreezeAccount {
        account: ACCOUNT,
        frozen: false,
    };
    assert_eq!(ta.request(&thaw).unwrap(), Response::Ok);
    let late = apply(&mut ta, ACCOUNT, (round.upto, round.upto), Vec::new());
    assert_eq!(code(late), ErrorCode::NOT_RECEIVING_ACCOUNT);
    let at_source = apply(&mut sa, ACCOUNT, (round.upto, round.upto), Vec::new());
    assert_eq!(code(at_source), ErrorCode::NOT_RECEIVING_ACCOUNT);
    let mut agent = target.client();
    agent
        .login(ACCOUNT, 1002, "later-agent-pw-1")
        .expect("the caught-up agent logs in at the target");
}
