//! Crash-safe fan-out (issue 15): a real kefud process, an account of 100,000
//! contacts, a broadcast to all of them killed with SIGKILL while it goes out, a
//! restart over the same data directory: the broadcast resumes where its cursor
//! stopped, and every contact has it exactly once (counted in the stored messages, per
//! contact), and the ledger settles exactly the 100,000 units sent. Prints the fan-out
//! time.

mod support;

use kefu_daemon::store::balance_records::check_ledger;
use kefu_daemon::store::chat_records::MessageRecord;
use kefu_daemon::store::records::StoredRecord;
use kefu_daemon::store::{keys, open_rocks, Cf, KvStore, RocksOptions};
use kefu_wire::chat::{CustomerId, MessageBody};
use kefu_wire::valueadded::{BroadcastDraft, BroadcastInfo, BroadcastState};
use kefu_wire::{Client, Request, Response, SecurityLevel};
use std::collections::HashMap;
use std::time::Instant;
use support::*;

const ACCOUNT: u64 = 890_001;
const CONTACTS: usize = 100_000;

fn listed(c: &mut Client, id: u64) -> BroadcastInfo {
    match c.request(&Request::ListBroadcasts { otp: None }).unwrap() {
        Response::Broadcasts(list) => list.into_iter().find(|b| b.id == id).expect("listed"),
        other => panic!("{other:?}"),
    }
}

fn boss(d: &DaemonProcess) -> Client {
    let mut c = d.client();
    c.login(ACCOUNT, 1001, PASSWORD).unwrap();
    c
}

#[test]
fn a_broadcast_killed_mid_fan_out_reaches_every_contact_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "");
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    create_account(&mut admin, ACCOUNT);
    operator_import(&mut admin, ACCOUNT, &id_rows("k", CONTACTS));
    admin
        .request(&Request::AdminBalanceTopUp {
            account: ACCOUNT,
            units: CONTACTS as u64,
        })
        .unwrap();
    let mut boss = boss(&d);
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    let customers: Vec<CustomerId> = (0..CONTACTS)
        .map(|i| CustomerId::Identified(format!("k{i:06}")))
        .collect();
    let b = match boss
        .request(&Request::SubmitBroadcast {
            draft: BroadcastDraft {
                groups: vec![],
                customers,
                body: MessageBody::Text("周年庆，全场八折".into()),
                online_only: false,
                block_replies: false,
                send_at: None,
            },
            otp: None,
        })
        .unwrap()
    {
        Response::Broadcast(b) => *b,
        other => panic!("{other:?}"),
    };
    assert_eq!(b.recipients, CONTACTS as u64);
    admin
        .request(&Request::AdminBroadcastDecide {
            account: ACCOUNT,
            id: b.id,
            approve: true,
            reason: String::new(),
        })
        .unwrap();
    let started = Instant::now();
    // Kill as soon as part of it is stored.
    let at_kill = loop {
        let now = listed(&mut boss, b.id);
        if now.sent > 0 {
            break now;
        }
    };
    let mut d = d;
    d.signal(libc::SIGKILL);
    d.child.wait().unwrap();
    drop((boss, admin));
    eprintln!(
        "killed with {} of {CONTACTS} stored ({:?}) after {:?}",
        at_kill.sent,
        at_kill.state,
        started.elapsed()
    );

    let d = DaemonProcess::start(&config);
    let resumed = Instant::now();
    let mut boss = self::boss(&d);
    let done = loop {
        let now = listed(&mut boss, b.id);
        if now.state == BroadcastState::Done {
            break now;
        }
    };
    eprintln!("resumed and finished in {:?}", resumed.elapsed());
    assert_eq!(done.sent, CONTACTS as u64);
    drop(boss);
    let mut d = d;
    d.signal(libc::SIGTERM);
    d.child.wait().unwrap();

    // Count the stored broadcast messages per contact.
    let store = open_rocks(
        &dir.path().join("data").join("db"),
        &RocksOptions::default(),
    )
    .unwrap();
    let range = keys::account_prefix(ACCOUNT);
    let mut per_contact: HashMap<CustomerId, u32> = HashMap::new();
    let mut cursor = range.start.clone();
    loop {
        let rows = store
            .scan(Cf::Messages, &cursor, &range.end, 10_000)
            .unwrap();
        for (_, bytes) in &rows {
            let m = MessageRecord::decode(bytes).unwrap();
            if m.conversation == 0 {
                *per_contact.entry(m.customer).or_default() += 1;
            }
        }
        match rows.last() {
            Some((last, _)) if rows.len() == 10_000 => {
                cursor = last.clone();
                cursor.push(0);
            }
            _ => break,
        }
    }
    assert_eq!(per_contact.len(), CONTACTS, "every contact has it");
    let twice: Vec<_> = per_contact
        .iter()
        .filter(|(_, n)| **n != 1)
        .take(5)
        .collect();
    assert!(twice.is_empty(), "not exactly once: {twice:?}");
    let b = check_ledger(&store, ACCOUNT).unwrap();
    assert_eq!(
        (b.settled, b.reserved, b.available()),
        (CONTACTS as u64, 0, 0)
    );
}
