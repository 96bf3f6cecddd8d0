//! Broadcasts with review through a real kefud and the client library (issue 15, V1–V4,
//! V7; wire/PROTOCOL.md section 30), the time moved by an injected clock: every state
//! and its refund, the cancel rules with who and when, the 30-day resubmission window
//! at its edge, the sensitive-word check on Chinese text, the review's approve and
//! reject, a scheduled send that fires at its minute and not before, "online only"
//! charging only what was sent, permission 10 and the token rule. After every test the
//! daemon is stopped and the ledger must add up to the balance.

mod support;

use kefu_daemon::clock::{Clock, ManualClock};
use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::crm::{HistoryKind, HistoryQuery};
use kefu_wire::valueadded::{BalanceInfo, BroadcastDraft, BroadcastInfo, BroadcastState};
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel};
use std::sync::Arc;
use support::value_added::*;
use support::*;

const ACCOUNT: u64 = 880_001;
const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;

/// An account with 1002 (permission 10), level low, `units` topped up, contacts
/// c1..c3 in group VIP; returns (the operator, 1001, 1002, the group).
fn setup(s: &TestServer, units: u64) -> (Client, Client, Client, u32) {
    let mut admin = s.admin();
    let spec = Spec {
        units,
        level: SecurityLevel::Low,
        agent: Agent1002::With(&[10]),
        contacts: THREE_IN_VIP,
    };
    let made = value_added_account(s, &mut admin, ACCOUNT, spec);
    (admin, made.boss, made.agent.expect("1002"), made.vip)
}

fn draft(groups: Vec<u32>, body: MessageBody) -> BroadcastDraft {
    BroadcastDraft {
        groups,
        customers: vec![],
        body,
        online_only: false,
        block_replies: false,
        send_at: None,
    }
}

fn text(t: &str) -> MessageBody {
    MessageBody::Text(t.into())
}

fn one(r: Result<Response, kefu_wire::ClientError>) -> BroadcastInfo {
    match r.expect("answered") {
        Response::Broadcast(b) => *b,
        other => panic!("{other:?}"),
    }
}

fn submit(a: &mut Client, d: BroadcastDraft) -> BroadcastInfo {
    one(a.request(&Request::SubmitBroadcast {
        draft: d,
        otp: None,
    }))
}

fn decide(
    admin: &mut Client,
    id: u64,
    approve: bool,
    reason: &str,
) -> Result<Response, kefu_wire::ClientError> {
    admin.request(&Request::AdminBroadcastDecide {
        account: ACCOUNT,
        id,
        approve,
        reason: reason.into(),
    })
}

/// The broadcast as the agent's list shows it, after one more turn (a fan-out slice
/// is sent at the end of a turn; the list answered in that turn was read before it).
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

fn history(c: &mut Client, who: &str) -> Vec<(u64, Party, String)> {
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
        Response::History(page) => page
            .messages
            .into_iter()
            .map(|m| (m.conversation, m.from, format!("{:?}", m.body)))
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn states_refunds_review_and_cancel_rules() {
    let mut s = TestServer::start();
    let (mut admin, mut boss, mut a, vip) = setup(&s, 20);
    // Submitted: pending review, 3 units reserved.
    let b1 = submit(&mut a, draft(vec![vip], text("双十一大促，全场八折")));
    assert_eq!(
        (b1.state, b1.recipients, b1.reserved),
        (BroadcastState::PendingReview, 3, 3)
    );
    let bal = balance(&mut a);
    assert_eq!((bal.available, bal.reserved), (17, 3));
    match admin
        .request(&Request::AdminBroadcastReviewList { account: ACCOUNT })
        .unwrap()
    {
        Response::Broadcasts(list) => {
            assert_eq!(list.iter().map(|b| b.id).collect::<Vec<_>>(), [b1.id])
        }
        other => panic!("{other:?}"),
    }
    // Approved: sent at once (no time set), settled, points earned.
    assert_eq!(
        one(decide(&mut admin, b1.id, true, "")).state,
        BroadcastState::PendingSend
    );
    let done = state_of(&mut a, b1.id);
    assert_eq!(
        (done.state, done.sent, done.reserved),
        (BroadcastState::Done, 3, 0)
    );
    let bal = balance(&mut a);
    assert_eq!(
        (bal.available, bal.reserved, bal.settled, bal.points),
        (17, 0, 3, 3)
    );
    for who in ["c1", "c2", "c3"] {
        let h = history(&mut boss, who);
        assert_eq!(h.len(), 1, "{who}: {h:?}");
        assert_eq!((h[0].0, h[0].1), (0, Party::Agent(1002)));
    }
    // The review decides only once; a done broadcast cannot be cancelled.
    assert_eq!(
        code(decide(&mut admin, b1.id, true, "")),
        ErrorCode::NOT_PENDING_REVIEW
    );
    assert_eq!(
        code(a.request(&Request::CancelBroadcast {
            id: b1.id,
            otp: None
        })),
        ErrorCode::NOT_CANCELLABLE
    );
    // An image costs 3 units a recipient; rejected (with a reason): refunded.
    let b2 = submit(
        &mut a,
        draft(
            vec![vip],
            MessageBody::Image {
                reference: "f/1".into(),
            },
        ),
    );
    assert_eq!(b2.reserved, 9);
    assert_eq!(balance(&mut a).available, 8);
    assert_eq!(
        code(decide(&mut admin, b2.id, false, " ")),
        ErrorCode::INVALID_ARGUMENT
    );
    let rejected = one(decide(&mut admin, b2.id, false, "虚假信息"));
    assert_eq!(
        (rejected.state, rejected.reason.as_deref()),
        (BroadcastState::Rejected, Some("虚假信息"))
    );
    assert_eq!(balance(&mut a).available, 17);
    // Not enough units: refused, nothing reserved.
    let big = draft(
        vec![vip],
        MessageBody::Image {
            reference: "f/2".into(),
        },
    );
    submit(&mut a, big.clone());
    assert_eq!(
        code(a.request(&Request::SubmitBroadcast {
            draft: big,
            otp: None
        })),
        ErrorCode::INSUFFICIENT_BALANCE
    );
    // Cancelled while pending review, and while pending send: refunded, who and when.
    let b4 = submit(&mut a, draft(vec![], text("单发")).with_customer("c1"));
    let b5 = submit(
        &mut a,
        draft(vec![], text("定时")).with_customer("c2").at(i64::MAX),
    );
    one(decide(&mut admin, b5.id, true, ""));
    for b in [b4.id, b5.id] {
        let c = one(a.request(&Request::CancelBroadcast { id: b, otp: None }));
        assert_eq!(c.state, BroadcastState::Cancelled);
        assert_eq!(c.cancelled.map(|(who, _)| who), Some(1002));
        assert_eq!(
            code(a.request(&Request::CancelBroadcast { id: b, otp: None })),
            ErrorCode::NOT_CANCELLABLE
        );
    }
    // b3 (the image) still waits for review with 9 units reserved.
    assert_eq!(balance(&mut a).reserved, 9);
    drop((admin, boss, a));
    s.restart();
    let mut a = s.client();
    a.login(ACCOUNT, 1002, "password 1002").unwrap();
    assert_eq!(state_of(&mut a, b5.id).state, BroadcastState::Cancelled);
    drop(a);
    let [b] = ledger_balances(&mut s, &[ACCOUNT])[..] else {
        panic!()
    };
    assert_eq!(
        (b.topped_up, b.settled, b.reserved, b.available),
        (20, 3, 9, 8)
    );
}

trait DraftExt {
    fn with_customer(self, who: &str) -> Self;
    fn at(self, ms: i64) -> Self;
}

impl DraftExt for BroadcastDraft {
    fn with_customer(mut self, who: &str) -> Self {
        self.customers.push(id(who));
        self
    }
    fn at(mut self, ms: i64) -> Self {
        self.send_at = Some(ms);
        self
    }
}

#[test]
fn resubmission_is_allowed_on_day_30_and_refused_on_day_31() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let mut s = TestServer::start_clocked(clock.clone());
    let (_admin, _boss, mut a, vip) = setup(&s, 10);
    let b = submit(&mut a, draft(vec![vip], text("第一版")));
    one(a.request(&Request::CancelBroadcast {
        id: b.id,
        otp: None,
    }));
    clock.advance(30 * DAY);
    let again = one(a.request(&Request::ResubmitBroadcast {
        id: b.id,
        draft: draft(vec![vip], text("第二版")),
        otp: None,
    }));
    assert_eq!(
        (again.id, again.state, again.cancelled),
        (b.id, BroadcastState::PendingReview, None)
    );
    assert_eq!(
        code(a.request(&Request::ResubmitBroadcast {
            id: b.id,
            draft: draft(vec![vip], text("x")),
            otp: None
        })),
        ErrorCode::NOT_CANCELLED
    );
    one(a.request(&Request::CancelBroadcast {
        id: b.id,
        otp: None,
    }));
    clock.advance(31 * DAY);
    assert_eq!(
        code(a.request(&Request::ResubmitBroadcast {
            id: b.id,
            draft: draft(vec![vip], text("第三版")),
            otp: None
        })),
        ErrorCode::RESUBMIT_WINDOW_OVER
    );
    assert_eq!(balance(&mut a).reserved, 0);
    drop(a);
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn sensitive_words_are_refused_at_submission() {
    let mut s = TestServer::start();
    let (mut admin, _boss, mut a, vip) = setup(&s, 10);
    assert_eq!(
        code(admin.request(&Request::AdminSetSensitiveWords {
            words: vec![String::new()]
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    admin
        .request(&Request::AdminSetSensitiveWords {
            words: vec!["发票".into(), "赌博".into()],
        })
        .unwrap();
    assert_eq!(
        code(a.request(&Request::SubmitBroadcast {
            draft: draft(vec![vip], text("低价代开发票")),
            otp: None
        })),
        ErrorCode::SENSITIVE_WORD
    );
    // 发 and 票 apart are fine.
    submit(&mut a, draft(vec![vip], text("发货后开票")));
    assert_eq!(balance(&mut a).reserved, 3);
    drop((admin, a));
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn a_scheduled_broadcast_fires_at_its_minute_and_not_before() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let mut s = TestServer::start_clocked(clock.clone());
    let (mut admin, _boss, mut a, vip) = setup(&s, 10);
    let at = clock.now_ms() + 10 * MINUTE;
    let b = submit(&mut a, draft(vec![vip], text("定时群发")).at(at));
    one(decide(&mut admin, b.id, true, ""));
    clock.advance(10 * MINUTE - 1);
    assert_eq!(state_of(&mut a, b.id).state, BroadcastState::PendingSend);
    clock.advance(1);
    let done = state_of(&mut a, b.id);
    assert_eq!((done.state, done.sent), (BroadcastState::Done, 3));
    drop((admin, a));
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn online_only_charges_only_what_was_sent() {
    let mut s = TestServer::start();
    let (mut admin, _boss, mut a, vip) = setup(&s, 10);
    let key = customer_key(&mut admin, ACCOUNT);
    let _c1 = login_customer(s.client(), &key, ACCOUNT, "c1", now() + 86_400);
    let mut d = draft(vec![vip], text("在线的客户才收到"));
    d.online_only = true;
    let b = submit(&mut a, d);
    assert_eq!(b.reserved, 3);
    one(decide(&mut admin, b.id, true, ""));
    let done = state_of(&mut a, b.id);
    assert_eq!((done.state, done.sent), (BroadcastState::Done, 1));
    let bal = balance(&mut a);
    assert_eq!((bal.settled, bal.refunded, bal.available), (1, 2, 9));
    drop((admin, a));
    ledger_balances(&mut s, &[ACCOUNT]);
}

#[test]
fn permission_10_and_the_token_rule_guard_every_broadcast_request() {
    let mut s = TestServer::start();
    let (mut admin, mut boss, mut a, vip) = setup(&s, 10);
    add_agent(&mut admin, ACCOUNT, 1003, Some("password 1003"));
    let mut other = s.client();
    other.login(ACCOUNT, 1003, "password 1003").unwrap();
    let d = draft(vec![vip], text("你好"));
    for r in [
        Request::SubmitBroadcast {
            draft: d.clone(),
            otp: None,
        },
        Request::CancelBroadcast { id: 1, otp: None },
        Request::ResubmitBroadcast {
            id: 1,
            draft: d.clone(),
            otp: None,
        },
        Request::ListBroadcasts { otp: None },
        Request::GetBalance { otp: None },
        Request::PreviewBroadcast {
            draft: d.clone(),
            otp: None,
        },
    ] {
        assert_eq!(
            code(other.request(&r)),
            ErrorCode::PERMISSION_DENIED,
            "{r:?}"
        );
    }
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Medium,
    })
    .unwrap();
    assert_eq!(
        code(a.request(&Request::SubmitBroadcast {
            draft: d,
            otp: None
        })),
        ErrorCode::OTP_REQUIRED
    );
    assert_eq!(balance_refused(&mut a), ErrorCode::OTP_REQUIRED);
    drop((admin, boss, a, other));
    let [b] = ledger_balances(&mut s, &[ACCOUNT])[..] else {
        panic!()
    };
    assert_eq!(b.reserved, 0);
}

fn balance_refused(a: &mut Client) -> ErrorCode {
    code(a.request(&Request::GetBalance { otp: None }))
}
