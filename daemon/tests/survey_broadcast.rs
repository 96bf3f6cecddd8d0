//! Surveys sent through the broadcast fan-out (V5, manual §9.8; PROTOCOL.md section
//! 35.5) through a real kefud and the client library: previewed to agent 1001 (free),
//! submitted, reviewed and charged as a broadcast, fanned out to four contacts (one
//! outside the survey's own groups) that each receive the message and the survey
//! exactly once and answer it through `AnswerSurvey`, counted in the per-option
//! ratios; a cancelled and a rejected one refunded; the stored ledger balances.

mod support;

use kefu_wire::chat::MessageBody;
use kefu_wire::survey::{SurveyDraft, SurveyQuestion};
use kefu_wire::valueadded::{BroadcastDraft, BroadcastInfo, BroadcastState};
use kefu_wire::{Client, ErrorCode, Event, Request, Response, SecurityLevel};
use std::time::Duration;
use support::value_added::*;
use support::*;

const ACCOUNT: u64 = 872_151;
const WAIT: Duration = Duration::from_secs(10);

/// Group VIP holding c1..c3, c4 in no group; `units` topped up; level low.
fn setup(s: &TestServer, units: u64) -> (Client, Client, u32, [u8; 32]) {
    let mut admin = s.admin();
    let spec = Spec {
        units,
        level: SecurityLevel::Low,
        agent: Agent1002::No,
        contacts: THREE_IN_VIP_ONE_OUT,
    };
    let made = value_added_account(s, &mut admin, ACCOUNT, spec);
    (admin, made.boss, made.vip, made.key)
}

fn survey_draft(vip: u32) -> SurveyDraft {
    SurveyDraft {
        title: "服务调查".into(),
        background: "请告诉我们您的感受。".into(),
        groups: vec![vip],
        questions: vec![SurveyQuestion {
            text: "您对服务满意吗？".into(),
            multiple: false,
            options: vec!["很好".into(), "一般".into(), "不好".into()],
        }],
    }
}

fn broadcast_draft(vip: u32) -> BroadcastDraft {
    BroadcastDraft {
        groups: vec![vip],
        customers: vec![id("c4")],
        body: MessageBody::Text("请填写我们的问卷".into()),
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

fn submit(c: &mut Client, survey: u64, d: BroadcastDraft) -> BroadcastInfo {
    one(c.request(&Request::SubmitSurveyBroadcast {
        survey,
        draft: d,
        otp: None,
    }))
}

fn decide(admin: &mut Client, id: u64, approve: bool) {
    let r = admin
        .request(&Request::AdminBroadcastDecide {
            account: ACCOUNT,
            id,
            approve,
            reason: if approve { "" } else { "不合适" }.into(),
        })
        .unwrap();
    assert!(matches!(r, Response::Broadcast(_)), "{r:?}");
}

fn open_surveys(c: &mut Client) -> Vec<u64> {
    match c.request(&Request::ListOpenSurveys).unwrap() {
        Response::SurveyForms(f) => f.iter().map(|f| f.id).collect(),
        other => panic!("{other:?}"),
    }
}

/// Waits for the survey push, then (one round trip later: every push of the fan-out
/// came before the answer) counts what `c` received: (messages, survey pushes).
fn received(c: &mut Client, broadcast: u64, survey: u64) -> (usize, usize) {
    let (mut messages, mut surveys) = (0, 0);
    loop {
        let p = c.next_push(WAIT).unwrap().expect("a push");
        match p.event {
            Event::Message(_) => messages += 1,
            Event::SurveyBroadcast { broadcast: b, form } => {
                assert_eq!((b, form.id), (broadcast, survey));
                surveys += 1;
                break;
            }
            _ => {}
        }
    }
    c.request(&Request::ListOpenSurveys).unwrap();
    while let Some(p) = c.next_push(Duration::ZERO).unwrap() {
        match p.event {
            Event::Message(_) => messages += 1,
            Event::SurveyBroadcast { .. } => surveys += 1,
            _ => {}
        }
    }
    (messages, surveys)
}

fn balance(c: &mut Client) -> kefu_wire::valueadded::BalanceInfo {
    match c.request(&Request::GetBalance { otp: None }).unwrap() {
        Response::Balance(b) => b,
        other => panic!("{other:?}"),
    }
}

/// V5 §9.8: preview, submit, review, fan-out to four contacts, answers, refunds.
#[test]
fn v5_survey_broadcast_reaches_each_contact_once_and_is_answered() {
    let mut s = TestServer::start();
    let (mut admin, mut boss, vip, key) = setup(&s, 100);
    let survey = match boss
        .request(&Request::CreateSurvey {
            draft: survey_draft(vip),
            otp: None,
        })
        .unwrap()
    {
        Response::Survey(i) => i.id,
        other => panic!("{other:?}"),
    };
    let mut customers: Vec<Client> = ["c1", "c2", "c3", "c4"]
        .iter()
        .map(|who| login_customer(s.client(), &key, ACCOUNT, who, now() + 3600))
        .collect();
    // c4 is outside the survey's groups: not offered it before the broadcast.
    assert!(open_surveys(&mut customers[3]).is_empty());
    assert_eq!(
        code(customers[3].request(&Request::AnswerSurvey {
            survey,
            choices: vec![vec![0]],
        })),
        ErrorCode::SURVEY_NOT_SENT_TO_YOU
    );

    // Refusals first: no such survey; nothing reserved.
    assert_eq!(
        code(boss.request(&Request::SubmitSurveyBroadcast {
            survey: 99,
            draft: broadcast_draft(vip),
            otp: None,
        })),
        ErrorCode::NOT_FOUND
    );

    // The preview: the message and the form to 1001 only, free.
    let r = boss.request(&Request::PreviewSurveyBroadcast {
        survey,
        draft: broadcast_draft(vip),
        otp: None,
    });
    assert!(matches!(r, Ok(Response::Ok)), "{r:?}");
    let (mut preview, mut form) = (false, false);
    while !(preview && form) {
        match boss.next_push(WAIT).unwrap().expect("preview").event {
            Event::BroadcastPreview { from: 1001, .. } => preview = true,
            Event::SurveyBroadcast {
                broadcast: 0,
                form: f,
            } => form = f.id == survey,
            _ => {}
        }
    }
    assert_eq!(balance(&mut boss).available, 100);

    // Submitted: pending review, 4 units reserved (four recipients, text: 1 each).
    let b = submit(&mut boss, survey, broadcast_draft(vip));
    assert_eq!(
        (b.state, b.recipients, b.reserved),
        (BroadcastState::PendingReview, 4, 4)
    );
    assert_eq!(balance(&mut boss).reserved, 4);
    decide(&mut admin, b.id, true);
    for c in customers.iter_mut() {
        assert_eq!(received(c, b.id, survey), (1, 1), "exactly once");
    }

    // c4 now sees and answers it; c1 too; a second answer is refused.
    assert_eq!(open_surveys(&mut customers[3]), vec![survey]);
    for (c, choice) in [(3, 0u8), (0, 1)] {
        let r = customers[c].request(&Request::AnswerSurvey {
            survey,
            choices: vec![vec![choice]],
        });
        assert!(matches!(r, Ok(Response::Ok)), "{r:?}");
    }
    assert_eq!(
        code(customers[3].request(&Request::AnswerSurvey {
            survey,
            choices: vec![vec![2]],
        })),
        ErrorCode::SURVEY_ALREADY_ANSWERED
    );
    match boss
        .request(&Request::GetSurveyResult {
            id: survey,
            otp: None,
        })
        .unwrap()
    {
        Response::SurveyResult(r) => {
            assert_eq!(r.survey.answers, 2);
            assert_eq!(r.counts, vec![vec![1, 1, 0]]);
            assert_eq!(r.ratios, vec![vec![5_000, 5_000, 0]]);
        }
        other => panic!("{other:?}"),
    }
    boss.request(&Request::GetServerTime).unwrap();
    let done = match boss
        .request(&Request::ListBroadcasts { otp: None })
        .unwrap()
    {
        Response::Broadcasts(list) => list.into_iter().find(|x| x.id == b.id).unwrap(),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (done.state, done.sent, done.reserved),
        (BroadcastState::Done, 4, 0)
    );

    // A cancelled one and a rejected one are refunded.
    let cancelled = submit(&mut boss, survey, broadcast_draft(vip));
    let r = one(boss.request(&Request::CancelBroadcast {
        id: cancelled.id,
        otp: None,
    }));
    assert_eq!(r.state, BroadcastState::Cancelled);
    let rejected = submit(&mut boss, survey, broadcast_draft(vip));
    decide(&mut admin, rejected.id, false);
    let after = balance(&mut boss);
    assert_eq!(
        (
            after.available,
            after.reserved,
            after.settled,
            after.refunded
        ),
        (96, 0, 4, 8)
    );

    // A closed survey is not sent.
    boss.request(&Request::CloseSurvey {
        id: survey,
        otp: None,
    })
    .unwrap();
    assert_eq!(
        code(boss.request(&Request::SubmitSurveyBroadcast {
            survey,
            draft: broadcast_draft(vip),
            otp: None,
        })),
        ErrorCode::SURVEY_CLOSED
    );
    drop((customers, boss, admin));
    let stored = ledger_balances(&mut s, &[ACCOUNT]);
    assert_eq!((stored[0].available, stored[0].settled), (96, 4));
}
