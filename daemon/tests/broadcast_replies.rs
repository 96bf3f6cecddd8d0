//! The rest of broadcasts (issue 15 point 1; V1–V4, manual §9.2–9.4; wire/PROTOCOL.md
//! sections 30.5–30.9) through a real kefud and the client library: the old immediate
//! `Broadcast` refused (`BROADCAST_RETIRED`), nothing sent or charged; the preview to
//! agent 1001 only, free; `FromBroadcast` after each broadcast message and a reply to a
//! broadcast that blocks replies refused with no conversation opened, across a restart;
//! a broadcast that reaches nobody ends `Failed` with its units refunded. After every
//! test the daemon is stopped and the ledger must add up to the balance.

mod support;

use kefu_daemon::clock::{Clock, ManualClock};
use kefu_wire::chat::{Entry, MessageBody};
use kefu_wire::crm::{HistoryKind, HistoryQuery};
use kefu_wire::valueadded::{BalanceInfo, BroadcastDraft, BroadcastInfo, BroadcastState};
use kefu_wire::{Client, ErrorCode, Event, Request, Response, SecurityLevel};
use std::sync::Arc;
use std::time::Duration;
use support::value_added::*;
use support::*;

const ACCOUNT: u64 = 880_101;
const MINUTE: i64 = 60_000;

/// Account with `units`, agent 1002 with permission 10 at level low, group VIP of
/// c1, c2, c3; and c4, a contact outside the group. Returns (admin, boss, 1002, VIP).
fn setup(s: &TestServer, units: u64) -> (Client, Client, Client, u32) {
    let mut admin = s.admin();
    let spec = Spec {
        units,
        level: SecurityLevel::Low,
        agent: Agent1002::With(&[10]),
        contacts: THREE_IN_VIP_ONE_OUT,
    };
    let made = value_added_account(s, &mut admin, ACCOUNT, spec);
    (admin, made.boss, made.agent.expect("1002"), made.vip)
}

fn draft(groups: Vec<u32>, text: &str) -> BroadcastDraft {
    BroadcastDraft {
        groups,
        customers: vec![],
        body: MessageBody::Text(text.into()),
        online_only: false,
        block_replies: false,
        send_at: None,
    }
}

fn one(r: Result<Response, kefu_wire::ClientError>) -> BroadcastInfo {
    match r.expect("answered") {
        Response::Broadcast(b) => *b,
        other => panic!("{other:?}"),
    }
}

/// Submitted by `a` and approved by the operator.
fn submit_approved(a: &mut Client, admin: &mut Client, d: BroadcastDraft) -> BroadcastInfo {
    let b = one(a.request(&Request::SubmitBroadcast {
        draft: d,
        otp: None,
    }));
    one(admin.request(&Request::AdminBroadcastDecide {
        account: ACCOUNT,
        id: b.id,
        approve: true,
        reason: String::new(),
    }))
}

/// The broadcast as the agent's list shows it, after one more turn (a fan-out slice
/// is sent at the end of a turn).
fn state_of(a: &mut Client, id: u64) -> BroadcastInfo {
    a.request(&Request::GetServerTime).unwrap();
    match a.request(&Request::ListBroadcasts { otp: None }).unwrap() {
        Response::Broadcasts(list) => list.into_iter().find(|b| b.id == id).expect("listed"),
        other => panic!("{other:?}"),
    }
}

fn balance(c: &mut Client) -> BalanceInfo {
    match c.request(&Request::GetBalance { otp: None }).unwrap() {
        Response::Balance(b) => b,
        other => panic!("{other:?}"),
    }
}

fn history_len(c: &mut Client, who: &str) -> usize {
    let q = HistoryQuery {
        customer: id(who),
        all_time: true,
        agent: None,
        kind: HistoryKind::All,
        keyword: String::new(),
        before: None,
        limit: 50,
    };
    match c.request(&Request::History(q)).unwrap() {
        Response::History(page) => page.messages.len(),
        other => panic!("{other:?}"),
    }
}

fn next_event(c: &mut Client) -> Event {
    c.next_push(Duration::from_secs(10))
        .expect("connected")
        .expect("a push")
        .event
}

/// The broadcast message and the `FromBroadcast` after it: (message id, broadcast,
/// replies blocked).
fn broadcast_received(c: &mut Client) -> (u64, u64, bool) {
    let Event::Message(m) = next_event(c) else {
        panic!("a message first")
    };
    assert_eq!(m.conversation, 0);
    match next_event(c) {
        Event::FromBroadcast {
            broadcast,
            message,
            replies_blocked,
        } => {
            assert_eq!(message, m.id);
            (m.id, broadcast, replies_blocked)
        }
        other => panic!("{other:?}"),
    }
}

fn reply(c: &mut Client, broadcast: u64) -> Result<Response, kefu_wire::ClientError> {
    c.request(&Request::ReplyToBroadcast {
        broadcast,
        entry: Entry::Auto,
    })
}

fn queue_len(agent: &mut Client) -> usize {
    match agent.request(&Request::ListQueue).unwrap() {
        Response::Conversations(q) => q.len(),
        other => panic!("{other:?}"),
    }
}

fn conversations(agent: &mut Client) -> usize {
    match agent.request(&Request::ListConversations).unwrap() {
        Response::Conversations(c) => c.len(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_old_broadcast_is_refused_and_sends_nothing() {
    let mut s = TestServer::start();
    let (mut admin, mut boss, mut a, vip) = setup(&s, 10);
    let before = balance(&mut a);
    let old = Request::Broadcast {
        groups: vec![vip],
        customers: vec![id("c4")],
        body: MessageBody::Text("立即群发".into()),
        otp: None,
    };
    assert_eq!(code(a.request(&old)), ErrorCode::BROADCAST_RETIRED);
    // Without permission 10 it is refused for that first.
    add_agent(&mut admin, ACCOUNT, 1003, Some("password 1003"));
    let mut other = s.client();
    other.login(ACCOUNT, 1003, "password 1003").unwrap();
    assert_eq!(code(other.request(&old)), ErrorCode::PERMISSION_DENIED);
    for who in ["c1", "c2", "c3", "c4"] {
        assert_eq!(history_len(&mut boss, who), 0, "{who}");
    }
    assert_eq!(balance(&mut a), before);
    drop((admin, boss, a, other));
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn a_preview_reaches_agent_1001_only_and_costs_nothing() {
    let mut s = TestServer::start();
    let (mut admin, mut boss, mut a, vip) = setup(&s, 10);
    let key = customer_key(&mut admin, ACCOUNT);
    let before = balance(&mut a);
    let d = draft(vec![vip], "双十一预览");
    let r = a.request(&Request::PreviewBroadcast {
        draft: d.clone(),
        otp: None,
    });
    assert!(matches!(r, Ok(Response::Ok)), "{r:?}");
    // Agent 1001 gets it (after the presence pushes of the logins before it).
    let preview = (0..10)
        .map(|_| next_event(&mut boss))
        .find(|e| matches!(e, Event::BroadcastPreview { .. }));
    assert_eq!(
        preview,
        Some(Event::BroadcastPreview {
            from: 1002,
            body: d.body.clone()
        })
    );
    // Nothing reserved, charged, listed or stored for a recipient.
    assert_eq!(balance(&mut a), before);
    match a.request(&Request::ListBroadcasts { otp: None }).unwrap() {
        Response::Broadcasts(list) => assert!(list.is_empty(), "{list:?}"),
        other => panic!("{other:?}"),
    }
    for who in ["c1", "c2", "c3"] {
        assert_eq!(history_len(&mut boss, who), 0, "{who}");
    }
    // Checked as a submission: sensitive words, recipients.
    admin
        .request(&Request::AdminSetSensitiveWords {
            words: vec!["发票".into()],
        })
        .unwrap();
    let bad = draft(vec![vip], "代开发票");
    assert_eq!(
        code(a.request(&Request::PreviewBroadcast {
            draft: bad,
            otp: None
        })),
        ErrorCode::SENSITIVE_WORD
    );
    assert_eq!(
        code(a.request(&Request::PreviewBroadcast {
            draft: draft(vec![999], "x"),
            otp: None
        })),
        ErrorCode::NOT_FOUND
    );
    // A customer may not preview; with 1001 logged out it is refused, not lost.
    let mut c1 = login_customer(s.client(), &key, ACCOUNT, "c1", now() + 86_400);
    assert_eq!(
        code(c1.request(&Request::PreviewBroadcast {
            draft: d.clone(),
            otp: None
        })),
        ErrorCode::PERMISSION_DENIED
    );
    boss.request(&Request::Logout).unwrap();
    drop(boss);
    assert_eq!(
        code(a.request(&Request::PreviewBroadcast {
            draft: d,
            otp: None
        })),
        ErrorCode::PREVIEW_NOT_DELIVERED
    );
    assert_eq!(balance(&mut a), before);
    drop((admin, a, c1));
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn a_reply_to_a_broadcast_that_blocks_replies_opens_no_conversation() {
    let mut s = TestServer::start();
    let (mut admin, boss, mut a, vip) = setup(&s, 20);
    let key = customer_key(&mut admin, ACCOUNT);
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let mut c1 = login_customer(s.client(), &key, ACCOUNT, "c1", now() + 86_400);
    let mut c4 = login_customer(s.client(), &key, ACCOUNT, "c4", now() + 86_400);

    let mut blocked = draft(vec![vip], "本消息不能回复");
    blocked.block_replies = true;
    let b1 = submit_approved(&mut a, &mut admin, blocked);
    let (_, broadcast, replies_blocked) = broadcast_received(&mut c1);
    assert_eq!((broadcast, replies_blocked), (b1.id, true));
    assert_eq!(code(reply(&mut c1, b1.id)), ErrorCode::REPLIES_BLOCKED);
    // Nothing reached an agent: no conversation served, none queued.
    assert_eq!((conversations(&mut a), queue_len(&mut a)), (0, 0));
    // A broadcast it never received, or one that does not exist: NOT_FOUND.
    assert_eq!(code(reply(&mut c4, b1.id)), ErrorCode::NOT_FOUND);
    assert_eq!(code(reply(&mut c1, 99)), ErrorCode::NOT_FOUND);
    // Only a customer replies.
    assert_eq!(code(reply(&mut a, b1.id)), ErrorCode::PERMISSION_DENIED);

    let b2 = submit_approved(&mut a, &mut admin, draft(vec![vip], "欢迎回复"));
    let (_, broadcast, replies_blocked) = broadcast_received(&mut c1);
    assert_eq!((broadcast, replies_blocked), (b2.id, false));
    match reply(&mut c1, b2.id).unwrap() {
        Response::Conversation(info) => assert_eq!(info.customer, id("c1")),
        other => panic!("{other:?}"),
    }
    assert_eq!(conversations(&mut a), 1);

    // Over the same data after a restart the block still holds.
    drop((admin, boss, a, c1, c4));
    s.restart();
    let mut admin = s.admin();
    let key = customer_key(&mut admin, ACCOUNT);
    let mut c2 = login_customer(s.client(), &key, ACCOUNT, "c2", now() + 86_400);
    assert_eq!(code(reply(&mut c2, b1.id)), ErrorCode::REPLIES_BLOCKED);
    assert!(matches!(
        reply(&mut c2, b2.id),
        Ok(Response::Conversation(_))
    ));
    drop((admin, c2));
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn a_broadcast_that_reaches_nobody_fails_and_is_refunded() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let mut s = TestServer::start_clocked(clock.clone());
    let (mut admin, mut boss, mut a, vip) = setup(&s, 20);
    // Scheduled to two named contacts, both deleted before it goes out.
    let mut d = draft(vec![], "定时群发");
    d.customers = vec![id("c1"), id("c4")];
    d.send_at = Some(clock.now_ms() + 10 * MINUTE);
    let b = submit_approved(&mut a, &mut admin, d);
    assert_eq!(b.reserved, 2);
    let r = boss
        .request(&Request::DeleteContacts {
            customers: vec![id("c1"), id("c4")],
        })
        .unwrap();
    assert!(matches!(r, Response::Deleted { count: 2 }), "{r:?}");
    clock.advance(10 * MINUTE);
    let failed = state_of(&mut a, b.id);
    assert_eq!(
        (failed.state, failed.sent, failed.reserved),
        (BroadcastState::Failed, 0, 0)
    );
    let bal = balance(&mut a);
    assert_eq!(
        (bal.available, bal.reserved, bal.settled, bal.refunded),
        (20, 0, 0, 2)
    );
    // "Online only" with nobody logged in: failed too, all three refunded.
    let mut d = draft(vec![vip], "在线的客户才收到");
    d.online_only = true;
    let b = submit_approved(&mut a, &mut admin, d);
    let failed = state_of(&mut a, b.id);
    assert_eq!((failed.state, failed.sent), (BroadcastState::Failed, 0));
    let bal = balance(&mut a);
    assert_eq!((bal.available, bal.settled, bal.refunded), (20, 0, 4));
    drop((admin, boss, a));
    let [b] = ledger_balances(&mut s, &[ACCOUNT])[..] else {
        panic!()
    };
    assert_eq!((b.topped_up, b.available, b.reserved), (20, 20, 0));
}
