//! Broadcast lists under the frame (issue 15; wire/PROTOCOL.md sections 30.11–30.12)
//! through a real kefud and the client library: two drafts naming 50,000 contacts each
//! (together far over the 1 MiB frame) listed as summaries, paged; their named contacts
//! read page by page; the first list requests refused with their typed code instead of
//! an answer no reader accepts; the operator's review queue across accounts, oldest
//! submission first, paged, emptied by decisions and cancels, kept over a restart, and
//! skipping a deleted account. The ledger is checked at the end.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_wire::chat::{CustomerId, MessageBody};
use kefu_wire::valueadded::{
    BroadcastCustomers, BroadcastDraft, BroadcastPage, BroadcastState, ReviewPage,
};
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel};
use std::sync::Arc;
use support::value_added::*;
use support::*;

const NAMED: usize = 50_000;

/// An account whose 1001 is at security level low with `units` topped up.
fn account(s: &TestServer, admin: &mut Client, account: u64, units: u64) -> Client {
    let spec = Spec {
        units,
        level: SecurityLevel::Low,
        agent: Agent1002::No,
        contacts: &[],
    };
    value_added_account(s, admin, account, spec).boss
}

fn named(prefix: &str, n: usize) -> Vec<CustomerId> {
    (0..n)
        .map(|i| CustomerId::Identified(format!("{prefix}{i:06}")))
        .collect()
}

fn submit(c: &mut Client, customers: Vec<CustomerId>, text: &str) -> u64 {
    match c
        .request(&Request::SubmitBroadcast {
            draft: BroadcastDraft {
                groups: vec![],
                customers,
                body: MessageBody::Text(text.into()),
                online_only: false,
                block_replies: false,
                send_at: None,
            },
            otp: None,
        })
        .unwrap()
    {
        Response::Broadcast(b) => b.id,
        other => panic!("{other:?}"),
    }
}

fn page(c: &mut Client, before: Option<u64>, limit: u32) -> BroadcastPage {
    match c
        .request(&Request::ListBroadcastPage {
            before,
            limit,
            otp: None,
        })
        .unwrap()
    {
        Response::BroadcastPage(p) => p,
        other => panic!("{other:?}"),
    }
}

fn names(c: &mut Client, id: u64, offset: u64, limit: u32) -> BroadcastCustomers {
    match c
        .request(&Request::GetBroadcastCustomers {
            id,
            offset,
            limit,
            otp: None,
        })
        .unwrap()
    {
        Response::BroadcastCustomers(p) => p,
        other => panic!("{other:?}"),
    }
}

fn queue(
    admin: &mut Client,
    after: Option<kefu_wire::valueadded::ReviewCursor>,
    limit: u32,
) -> ReviewPage {
    match admin
        .request(&Request::AdminBroadcastReviewQueue { after, limit })
        .unwrap()
    {
        Response::BroadcastReviews(p) => p,
        other => panic!("{other:?}"),
    }
}

fn code(r: Result<Response, kefu_wire::ClientError>) -> ErrorCode {
    r.expect_err("refused").code().expect("a server error")
}

#[test]
fn two_drafts_of_50000_named_contacts_list_as_summaries_under_the_frame() {
    const ACCOUNT: u64 = 881_001;
    let mut s = TestServer::start();
    let mut admin = s.admin();
    let mut boss = account(&s, &mut admin, ACCOUNT, 2 * NAMED as u64);
    operator_import(&mut admin, ACCOUNT, &id_rows("namedcont", NAMED));
    let first = submit(&mut boss, named("namedcont", NAMED), "第一次");
    let mut reversed = named("namedcont", NAMED);
    reversed.reverse();
    let second = submit(&mut boss, reversed.clone(), "第二次");

    // The first shape would be two drafts of ~850 KB each: refused with its code.
    assert_eq!(
        code(boss.request(&Request::ListBroadcasts { otp: None })),
        ErrorCode::BROADCAST_LIST_TOO_LARGE
    );
    assert_eq!(
        code(admin.request(&Request::AdminBroadcastReviewList { account: ACCOUNT })),
        ErrorCode::BROADCAST_LIST_TOO_LARGE
    );

    let all = page(&mut boss, None, 50);
    assert_eq!(all.next, None);
    let ids: Vec<u64> = all.items.iter().map(|b| b.id).collect();
    assert_eq!(ids, vec![second, first], "newest first");
    for b in &all.items {
        assert_eq!((b.named, b.recipients), (NAMED as u64, NAMED as u64));
        assert_eq!(
            (b.state, b.reserved),
            (BroadcastState::PendingReview, NAMED as u64)
        );
    }
    assert_eq!(all.items[0].body, MessageBody::Text("第二次".into()));

    // One a page.
    let p1 = page(&mut boss, None, 1);
    assert_eq!(p1.items.len(), 1);
    assert_eq!(p1.items[0].id, second);
    let p2 = page(&mut boss, p1.next, 1);
    assert_eq!(
        p2.items.iter().map(|b| b.id).collect::<Vec<_>>(),
        vec![first]
    );
    assert_eq!(p2.next, None);

    // The named contacts, page by page, in the draft's order.
    let mut read = Vec::new();
    let mut offset = Some(0);
    while let Some(at) = offset {
        let p = names(&mut boss, second, at, 5_000);
        assert_eq!(p.total, NAMED as u64);
        assert!(p.customers.len() <= 1_000, "clamped to the page size");
        read.extend(p.customers);
        offset = p.next;
    }
    assert_eq!(read, reversed);
    let tail = names(&mut boss, first, NAMED as u64 - 10, 1_000);
    assert_eq!(
        tail.customers,
        named("namedcont", NAMED)[NAMED - 10..].to_vec()
    );
    assert_eq!(tail.next, None);
    assert!(names(&mut boss, first, NAMED as u64 + 5, 10)
        .customers
        .is_empty());
    assert_eq!(
        code(boss.request(&Request::GetBroadcastCustomers {
            id: 99,
            offset: 0,
            limit: 10,
            otp: None
        })),
        ErrorCode::NOT_FOUND
    );

    // The operator's queue across accounts shows both, oldest first, with the account.
    let q = queue(&mut admin, None, 50);
    let rows: Vec<(u64, u64, u64)> = q
        .items
        .iter()
        .map(|r| (r.account, r.summary.id, r.summary.named))
        .collect();
    assert_eq!(
        rows,
        vec![
            (ACCOUNT, first, NAMED as u64),
            (ACCOUNT, second, NAMED as u64)
        ]
    );

    // Rejecting one takes it out of the queue; it still does after a restart.
    admin
        .request(&Request::AdminBroadcastDecide {
            account: ACCOUNT,
            id: first,
            approve: false,
            reason: "太长".into(),
        })
        .unwrap();
    drop((boss, admin));
    s.restart();
    let mut admin = s.admin();
    let q = queue(&mut admin, None, 50);
    assert_eq!(
        q.items.iter().map(|r| r.summary.id).collect::<Vec<_>>(),
        vec![second]
    );
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let after = page(&mut boss, None, 50);
    assert_eq!(after.items[1].state, BroadcastState::Rejected);
    assert_eq!(after.items[1].named, NAMED as u64);
    drop((boss, admin));
    let b = ledger_balances(&mut s, &[ACCOUNT]);
    assert_eq!((b[0].reserved, b[0].refunded), (NAMED as u64, NAMED as u64));
}

#[test]
fn the_review_queue_spans_accounts_oldest_first_in_pages() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let mut s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    let accounts = [882_003u64, 882_001, 882_002];
    let mut bosses: Vec<Client> = accounts
        .iter()
        .map(|a| {
            let mut c = account(&s, &mut admin, *a, 100);
            operator_import(&mut admin, *a, &id_rows("q", 3));
            c.request(&Request::GetServerTime).unwrap();
            c
        })
        .collect();
    // Submitted one minute apart, round the accounts twice: six rows.
    let mut expected = Vec::new();
    for round in 0..2 {
        for (i, a) in accounts.iter().enumerate() {
            clock.advance(60_000);
            let id = submit(&mut bosses[i], named("q", 3), &format!("{a} {round}"));
            expected.push((*a, id));
        }
    }
    // Small broadcasts: the first shape still answers.
    match admin
        .request(&Request::AdminBroadcastReviewList {
            account: accounts[0],
        })
        .unwrap()
    {
        Response::Broadcasts(list) => assert_eq!(list.len(), 2),
        other => panic!("{other:?}"),
    }
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let p = queue(&mut admin, after, 4);
        assert!(p.items.len() <= 4);
        seen.extend(p.items.iter().map(|r| (r.account, r.summary.id)));
        match p.next {
            Some(n) => after = Some(n),
            None => break,
        }
    }
    assert_eq!(seen, expected, "oldest submission first, across accounts");
    let times: Vec<i64> = queue(&mut admin, None, 50)
        .items
        .iter()
        .map(|r| r.summary.submitted_at)
        .collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]));

    // Cancelled, approved, and a deleted account's rows leave the queue.
    bosses[0]
        .request(&Request::CancelBroadcast {
            id: expected[0].1,
            otp: None,
        })
        .unwrap();
    admin
        .request(&Request::AdminBroadcastDecide {
            account: expected[1].0,
            id: expected[1].1,
            approve: true,
            reason: String::new(),
        })
        .unwrap();
    // A bad rejection changes nothing: the row stays.
    assert_eq!(
        code(admin.request(&Request::AdminBroadcastDecide {
            account: expected[2].0,
            id: expected[2].1,
            approve: false,
            reason: String::new(),
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    admin
        .request(&Request::AdminDeleteAccount {
            account: accounts[2],
        })
        .unwrap();
    let left: Vec<(u64, u64)> = queue(&mut admin, None, 50)
        .items
        .iter()
        .map(|r| (r.account, r.summary.id))
        .collect();
    assert_eq!(left, vec![expected[3], expected[4]]);
    drop((bosses, admin));

    // A data directory written before the index: its entries removed while the
    // daemon is down, the start-up resume puts the pending ones back.
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    {
        use kefu_daemon::store::{open_rocks, review_records, Cf, KvStore, RocksOptions};
        let store = open_rocks(&s.dir.path().join("db"), &RocksOptions::default()).unwrap();
        let range = review_records::review_range(None);
        let rows = store.scan(Cf::Meta, &range.start, &range.end, 100).unwrap();
        assert!(!rows.is_empty());
        let mut batch = kefu_daemon::store::Batch::default();
        for (key, _) in &rows {
            batch.delete(Cf::Meta, key);
        }
        store
            .write(&batch, kefu_daemon::store::Durability::Fsync)
            .unwrap();
    }
    s.restart();
    let mut admin = s.admin();
    // The resume runs in the shards' first turns: a request to each account's shard
    // (a login) is answered after them.
    for a in &accounts[..2] {
        s.client().login(*a, 1001, PASSWORD).unwrap();
    }
    let back: Vec<(u64, u64)> = queue(&mut admin, None, 50)
        .items
        .iter()
        .map(|r| (r.account, r.summary.id))
        .collect();
    assert_eq!(back, vec![expected[3], expected[4]]);
    drop(admin);
    ledger_balances(&mut s, &accounts[..2]);
}
