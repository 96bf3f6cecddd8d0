//! Surveys (V5, manual §9.8–9.9; PROTOCOL.md section 35) through a real kefud and the
//! client library: sent to the contacts of groups, answered once per contact (a second
//! answer refused, over a restart too), every bad answer refused with its own code and
//! changing nothing, per-option counts and ratios, edit only without answers, close;
//! permission 10 and the security level's token rule (V7).

mod support;

use kefu_wire::crm::ContactState;
use kefu_wire::survey::{SurveyDraft, SurveyInfo, SurveyQuestion, SurveyResult, SurveyState};
use kefu_wire::{Client, ErrorCode, Request, Response, SecurityLevel};
use support::value_added::*;
use support::*;

const ACCOUNT: u64 = 872_001;

/// An account with group VIP holding c1, c2 and the blacklisted c5, and c3 in no group;
/// 1001's level is `level`. Returns (1001, the group, the customer key).
fn survey_setup(s: &TestServer, account: u64, level: SecurityLevel) -> (Client, u32, [u8; 32]) {
    let mut admin = s.admin();
    let spec = Spec {
        units: 0,
        level,
        agent: Agent1002::Added,
        contacts: &[
            ("c1", ContactState::Friend, true),
            ("c2", ContactState::Stranger, true),
            ("c3", ContactState::Friend, false),
            ("c5", ContactState::Blacklisted, true),
        ],
    };
    let made = value_added_account(s, &mut admin, account, spec);
    (made.boss, made.vip, made.key)
}

fn question(text: &str, multiple: bool) -> SurveyQuestion {
    SurveyQuestion {
        text: text.into(),
        multiple,
        options: vec!["很好".into(), "一般".into(), "不好".into()],
    }
}

fn draft(groups: Vec<u32>) -> SurveyDraft {
    SurveyDraft {
        title: "服务调查".into(),
        background: "请花一分钟告诉我们您的感受。".into(),
        groups,
        questions: vec![
            question("您对服务满意吗？", false),
            question("哪些方面好？", true),
        ],
    }
}

fn survey(r: Result<Response, kefu_wire::ClientError>) -> SurveyInfo {
    match r.expect("answered") {
        Response::Survey(s) => *s,
        other => panic!("{other:?}"),
    }
}

fn result(c: &mut Client, id: u64) -> SurveyResult {
    match c
        .request(&Request::GetSurveyResult { id, otp: None })
        .unwrap()
    {
        Response::SurveyResult(r) => *r,
        other => panic!("{other:?}"),
    }
}

fn open_surveys(c: &mut Client) -> Vec<u64> {
    match c.request(&Request::ListOpenSurveys).unwrap() {
        Response::SurveyForms(f) => f.iter().map(|f| f.id).collect(),
        other => panic!("{other:?}"),
    }
}

fn answer(
    c: &mut Client,
    survey: u64,
    choices: Vec<Vec<u8>>,
) -> Result<Response, kefu_wire::ClientError> {
    c.request(&Request::AnswerSurvey { survey, choices })
}

/// §9.8–9.9: the contacts of the chosen groups (not blacklisted) answer once; results are
/// the share of answers that chose each option; nothing of a refused answer is kept; a
/// restart keeps answers, counts and the once-per-contact rule; a closed survey takes
/// nothing.
#[test]
fn surveys_9_9_one_answer_per_contact_counts_and_ratios_over_a_restart() {
    let mut s = TestServer::start();
    let (mut boss, vip, key) = survey_setup(&s, ACCOUNT, SecurityLevel::Low);
    let created = survey(boss.request(&Request::CreateSurvey {
        draft: draft(vec![vip]),
        otp: None,
    }));
    assert_eq!(
        (created.id, created.state, created.answers),
        (1, SurveyState::Open, 0)
    );
    let id = created.id;
    let customer =
        |s: &TestServer, who: &str| login_customer(s.client(), &key, ACCOUNT, who, now() + 86_400);
    let (mut c1, mut c2, mut c3, mut c4, mut c5) = (
        customer(&s, "c1"),
        customer(&s, "c2"),
        customer(&s, "c3"),
        customer(&s, "c4"),
        customer(&s, "c5"),
    );
    assert_eq!(open_surveys(&mut c1), vec![id]);
    for outsider in [&mut c3, &mut c4, &mut c5] {
        assert!(open_surveys(outsider).is_empty());
        assert_eq!(
            code(answer(outsider, id, vec![vec![0], vec![0]])),
            ErrorCode::SURVEY_NOT_SENT_TO_YOU
        );
    }
    answer(&mut c1, id, vec![vec![0], vec![0, 2]]).unwrap();
    assert_eq!(
        code(answer(&mut c1, id, vec![vec![1], vec![1]])),
        ErrorCode::SURVEY_ALREADY_ANSWERED
    );
    assert!(open_surveys(&mut c1).is_empty());
    // Bad answers: each its own code, nothing kept.
    for (bad, expected) in [
        (vec![vec![0]], ErrorCode::SURVEY_UNKNOWN_CHOICE),
        (vec![vec![3], vec![0]], ErrorCode::SURVEY_UNKNOWN_CHOICE),
        (vec![vec![0], vec![1, 1]], ErrorCode::SURVEY_UNKNOWN_CHOICE),
        (
            vec![vec![0, 1], vec![0]],
            ErrorCode::SURVEY_TOO_MANY_CHOICES,
        ),
        (vec![vec![], vec![0]], ErrorCode::SURVEY_UNANSWERED_QUESTION),
    ] {
        assert_eq!(code(answer(&mut c2, id, bad)), expected);
    }
    assert_eq!(
        code(answer(&mut c2, 9, vec![vec![0], vec![0]])),
        ErrorCode::NOT_FOUND
    );
    assert_eq!(result(&mut boss, id).survey.answers, 1);
    answer(&mut c2, id, vec![vec![1], vec![2]]).unwrap();
    let r = result(&mut boss, id);
    assert_eq!(r.survey.answers, 2);
    assert_eq!(r.counts, vec![vec![1, 1, 0], vec![1, 0, 2]]);
    assert_eq!(
        r.ratios,
        vec![vec![5_000, 5_000, 0], vec![5_000, 0, 10_000]]
    );
    assert_eq!(
        code(boss.request(&Request::EditSurvey {
            id,
            draft: draft(vec![]),
            otp: None,
        })),
        ErrorCode::SURVEY_HAS_ANSWERS
    );
    drop((boss, c1, c2, c3, c4, c5));

    s.restart();
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(result(&mut boss, id), r, "kept over a restart");
    let mut c1 = customer(&s, "c1");
    assert_eq!(
        code(answer(&mut c1, id, vec![vec![2], vec![1]])),
        ErrorCode::SURVEY_ALREADY_ANSWERED
    );
    let closed = survey(boss.request(&Request::CloseSurvey { id, otp: None }));
    assert_eq!(closed.state, SurveyState::Closed);
    assert!(closed.closed_at.is_some());
    assert_eq!(
        code(boss.request(&Request::CloseSurvey { id, otp: None })),
        ErrorCode::SURVEY_CLOSED
    );
    let mut c3_in = customer(&s, "c3");
    let second = survey(boss.request(&Request::CreateSurvey {
        draft: draft(vec![]),
        otp: None,
    }));
    assert_eq!(second.id, 2);
    // Without groups: every contact (not the blacklisted, not a non-contact).
    assert_eq!(open_surveys(&mut c3_in), vec![2]);
    answer(&mut c3_in, 2, vec![vec![2], vec![0, 1, 2]]).unwrap();
    assert_eq!(
        result(&mut boss, 2).ratios,
        vec![vec![0, 0, 10_000], vec![10_000; 3]]
    );
    let mut c2 = customer(&s, "c2");
    assert_eq!(
        code(answer(&mut c2, id, vec![vec![0], vec![0]])),
        ErrorCode::SURVEY_CLOSED
    );
    match boss.request(&Request::ListSurveys { otp: None }).unwrap() {
        Response::Surveys(list) => {
            assert_eq!(list.iter().map(|s| s.id).collect::<Vec<_>>(), vec![2, 1]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(result(&mut boss, id).counts, r.counts);
}

/// V7: permission 10, and at level medium (the default) a token code; a bad draft is
/// refused `INVALID_ARGUMENT` (an unknown group `NOT_FOUND`) and creates nothing; a survey
/// without answers is edited.
#[test]
fn surveys_need_permission_10_and_the_token_rule_and_check_drafts() {
    let s = TestServer::start();
    let (mut boss, vip, _) = survey_setup(&s, ACCOUNT, SecurityLevel::Medium);
    let mut a = s.client();
    a.login(ACCOUNT, 1002, "password 1002").unwrap();
    let create = Request::CreateSurvey {
        draft: draft(vec![vip]),
        otp: None,
    };
    assert_eq!(code(a.request(&create)), ErrorCode::PERMISSION_DENIED);
    give_role(&mut boss, 1002, &[10]);
    assert_eq!(code(a.request(&create)), ErrorCode::OTP_REQUIRED);
    assert_eq!(
        code(a.request(&Request::ListOpenSurveys)),
        ErrorCode::PERMISSION_DENIED
    );
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    let mut bad = draft(vec![vip]);
    bad.questions[0].options.truncate(1);
    let mut no_title = draft(vec![]);
    no_title.title = " ".into();
    let mut many = draft(vec![]);
    many.questions = (0..21).map(|_| question("?", false)).collect();
    for d in [bad, no_title, many] {
        assert_eq!(
            code(a.request(&Request::CreateSurvey {
                draft: d,
                otp: None
            })),
            ErrorCode::INVALID_ARGUMENT
        );
    }
    assert_eq!(
        code(a.request(&Request::CreateSurvey {
            draft: draft(vec![vip + 100]),
            otp: None,
        })),
        ErrorCode::NOT_FOUND
    );
    match a.request(&Request::ListSurveys { otp: None }).unwrap() {
        Response::Surveys(list) => assert!(list.is_empty()),
        other => panic!("{other:?}"),
    }
    let made = survey(a.request(&create));
    let mut changed = draft(vec![]);
    changed.title = "改过的调查".into();
    let edited = survey(a.request(&Request::EditSurvey {
        id: made.id,
        draft: changed.clone(),
        otp: None,
    }));
    assert_eq!(edited.draft, changed);
    assert_eq!(
        code(a.request(&Request::EditSurvey {
            id: 77,
            draft: changed,
            otp: None,
        })),
        ErrorCode::NOT_FOUND
    );
}
