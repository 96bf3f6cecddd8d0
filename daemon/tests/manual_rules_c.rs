//! Issue 11 points 7–9 through real sockets, one test per rule of the manual:
//! auto-replies (M2, §7.3, §7.4, §7.14), reminders to agent 1001 (A1 §13, R1 §5.5,
//! A9 §2.3) and friend requests with their notifications (R4, E3, §7.22).

mod support;

use kefu_wire::chat::{AccountPresenceMode, Entry, MessageBody, Party};
use kefu_wire::crm::{ContactEdit, ContactNotice, GroupEdit, GroupNode};
use kefu_wire::prefs::{AgentPrefs, ReminderSettings};
use kefu_wire::{Client, ErrorCode, Event, Plan, Presence, Request, Response};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 860_001;
/// 2030-01-01 00:00 UTC, ahead of the real clock: the test clock is set to it.
const T0: i64 = 1_893_456_000;
const DAY: i64 = 86_400;
const PATIENCE: Duration = Duration::from_secs(20);

fn agent(s: &TestServer, n: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, n, PASSWORD).unwrap();
    a
}

/// Notices already received (a request's answer comes after every push released
/// before it on the same connection, so none is in flight).
fn notices_now(c: &mut Client) -> Vec<String> {
    c.request(&Request::WhoAmI).unwrap();
    let mut out = Vec::new();
    while let Some(p) = c.next_push(Duration::ZERO).unwrap() {
        if let Event::Notice { text } = p.event {
            out.push(text);
        }
    }
    out
}

fn contact_notices_now(c: &mut Client) -> Vec<ContactNotice> {
    c.request(&Request::WhoAmI).unwrap();
    let mut out = Vec::new();
    while let Some(p) = c.next_push(Duration::ZERO).unwrap() {
        if let Event::ContactNotice(n) = p.event {
            out.push(n);
        }
    }
    out
}

fn next_notice(c: &mut Client) -> String {
    loop {
        let p = c.next_push(PATIENCE).unwrap().expect("a notice");
        if let Event::Notice { text } = p.event {
            return text;
        }
    }
}

/// 1001 serving customer `who` (auto-accept), and the conversation.
fn served(s: &TestServer, key: &[u8; 32], boss: &mut Client, who: &str) -> (Client, u64) {
    boss.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let mut c = login_customer(s.client(), key, ACCOUNT, who, now() + 3_600);
    let info = match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => info,
        other => panic!("{other:?}"),
    };
    (c, info.conversation)
}

/// The customer writes; the automatic replies stored in the same turn, by text.
fn write_and_read_replies(c: &mut Client, conversation: u64, n: u64) -> Vec<String> {
    let sent = match c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id: n,
            body: MessageBody::Text(format!("line {n}")),
        })
        .unwrap()
    {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    };
    match c
        .request(&Request::ConversationMessages {
            conversation,
            after: sent,
            limit: 50,
        })
        .unwrap()
    {
        Response::Messages(list) => list
            .into_iter()
            .filter(|m| m.from == Party::System)
            .filter_map(|m| match m.body {
                MessageBody::Text(t) => Some(t),
                _ => None,
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

fn set_account_replies(boss: &mut Client) {
    let mut settings = match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    settings.busy_reply = Some("忙碌中，请稍候".into());
    settings.away_reply = Some("暂时离开".into());
    boss.request(&Request::SetRoutingSettings { settings })
        .unwrap();
}

fn presence(c: &mut Client, presence: Presence) {
    c.request(&Request::SetPresence { presence }).unwrap();
}

/// M2, §7.3: the busy reply right after an away reply is sent (each kind has its own
/// five minutes); a second line in the same state gets none.
#[test]
fn s7_3_one_kind_of_auto_reply_does_not_silence_another() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = agent(&s, 1001);
    set_account_replies(&mut boss);
    let (mut c, conv) = served(&s, &key, &mut boss, "kate");
    presence(&mut boss, Presence::Away);
    assert_eq!(write_and_read_replies(&mut c, conv, 1), ["暂时离开"]);
    assert!(write_and_read_replies(&mut c, conv, 2).is_empty());
    presence(&mut boss, Presence::Busy);
    assert_eq!(write_and_read_replies(&mut c, conv, 3), ["忙碌中，请稍候"]);
    assert!(write_and_read_replies(&mut c, conv, 4).is_empty());
}

/// M2, §7.4: the personal auto-reply is set on the wire, answers the agent's customers
/// while it is busy or away before the account's, and survives a restart.
#[test]
fn s7_4_personal_auto_reply_on_the_wire_survives_a_restart() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = agent(&s, 1001);
    set_account_replies(&mut boss);
    assert_eq!(
        boss.request(&Request::GetAgentPrefs).unwrap(),
        Response::AgentPrefs(AgentPrefs::default())
    );
    assert_eq!(
        code(boss.request(&Request::SetAgentPrefs {
            prefs: AgentPrefs {
                personal_auto_reply: "x".repeat(501),
                ..AgentPrefs::default()
            }
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    let mine = AgentPrefs {
        personal_auto_reply: "我是小李，稍后回复您".into(),
        ..AgentPrefs::default()
    };
    boss.request(&Request::SetAgentPrefs {
        prefs: mine.clone(),
    })
    .unwrap();
    let (mut c, conv) = served(&s, &key, &mut boss, "kate");
    presence(&mut boss, Presence::Busy);
    assert_eq!(
        write_and_read_replies(&mut c, conv, 1),
        ["我是小李，稍后回复您"]
    );
    drop((c, boss));
    s.restart();
    let mut boss = agent(&s, 1001);
    assert_eq!(
        boss.request(&Request::GetAgentPrefs).unwrap(),
        Response::AgentPrefs(mine)
    );
    let (mut c, conv) = served(&s, &key, &mut boss, "tom");
    presence(&mut boss, Presence::Away);
    assert_eq!(
        write_and_read_replies(&mut c, conv, 1),
        ["我是小李，稍后回复您"]
    );
}

/// §7.14: an account shown "always online" does not tell its customers it is away
/// (the busy reply still goes).
#[test]
fn s7_14_an_always_online_account_does_not_say_it_is_away() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = agent(&s, 1001);
    set_account_replies(&mut boss);
    boss.request(&Request::SetAccountPresenceMode {
        mode: AccountPresenceMode::AlwaysOnline,
    })
    .unwrap();
    let (mut c, conv) = served(&s, &key, &mut boss, "kate");
    presence(&mut boss, Presence::Away);
    assert!(write_and_read_replies(&mut c, conv, 1).is_empty());
    presence(&mut boss, Presence::Busy);
    assert_eq!(write_and_read_replies(&mut c, conv, 2), ["忙碌中，请稍候"]);
}

fn clocked() -> TestServer {
    TestServer::start_with(|c| c.test.clock_control = true)
}

fn set_clock(admin: &mut Client, secs: i64) {
    admin
        .request(&Request::AdminClockSet {
            unix_ms: secs * 1000,
        })
        .unwrap();
}

/// A1, §13: the expiry reminder is not given before 30 days ahead of the expiry; from
/// then on, by the daemon's clock, it reaches a 1001 already logged in and one that
/// signs in later, naming the date.
#[test]
fn s13_expiry_reminder_from_30_days_before_by_the_clock_naming_the_date() {
    let s = clocked();
    let mut admin = s.admin();
    set_clock(&mut admin, T0);
    let expires = T0 + 40 * DAY; // 2030-02-10
    create_account_expiring(&mut admin, ACCOUNT, expires);
    let mut boss = agent(&s, 1001);
    assert!(notices_now(&mut boss).is_empty(), "40 days ahead: none");
    // A minute short of the 30 days: still none at sign-in.
    set_clock(&mut admin, expires - 30 * DAY - 60);
    let mut again = agent(&s, 1001);
    assert!(notices_now(&mut again).is_empty());
    // The day comes while 1001 is logged in: told without signing in again.
    set_clock(&mut admin, expires - 30 * DAY);
    let text = next_notice(&mut again);
    assert!(
        text.contains("2030-02-10") && text.contains("30 days"),
        "{text}"
    );
    drop(again);
    // Offline when the day came (the clock moves on): told at the next sign-in.
    set_clock(&mut admin, expires - 3 * DAY);
    let mut later = agent(&s, 1001);
    let got = notices_now(&mut later);
    assert!(
        got.iter()
            .any(|t| t.contains("2030-02-10") && t.contains("in 3 days")),
        "{got:?}"
    );
    drop(boss);
}

/// R1, §5.5 and A9, §2.3: the contact-limit warning threshold is the account's
/// (stored, 50..=99 %), and a warning raised while 1001 is away is kept and given at
/// its next sign-in, even after a restart.
#[test]
fn s5_5_limit_warning_threshold_is_configurable_and_reaches_1001_at_sign_in() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    admin
        .request(&Request::AdminCreateAccount {
            account: ACCOUNT,
            name: "silver".into(),
            plan: Plan::Silver,
            expires_at: now() + 365 * DAY,
            password_1001: PASSWORD.into(),
            super_password: SUPER.into(),
        })
        .unwrap();
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut boss = agent(&s, 1001);
    assert_eq!(
        boss.request(&Request::GetReminderSettings).unwrap(),
        Response::ReminderSettings(ReminderSettings {
            near_limit_percent: 90
        })
    );
    let bad = ReminderSettings {
        near_limit_percent: 49,
    };
    assert_eq!(
        code(boss.request(&Request::SetReminderSettings { settings: bad })),
        ErrorCode::INVALID_ARGUMENT
    );
    let half = ReminderSettings {
        near_limit_percent: 50,
    };
    let mut other = agent(&s, 1002);
    assert_eq!(
        code(other.request(&Request::SetReminderSettings { settings: half })),
        ErrorCode::PERMISSION_DENIED
    );
    boss.request(&Request::SetReminderSettings { settings: half })
        .unwrap();
    drop(boss);
    // 12,500 contacts = 50 % of silver's 25,000, while 1001 is away.
    operator_import(&mut admin, ACCOUNT, &id_rows("c", 12_500));
    drop((admin, other));
    s.restart();
    let mut boss = agent(&s, 1001);
    let got = notices_now(&mut boss);
    assert!(
        got.iter()
            .any(|t| t.contains("12500") && t.contains("25000")),
        "{got:?}"
    );
    // Given once: the next sign-in has nothing kept.
    let mut again = agent(&s, 1001);
    assert!(notices_now(&mut again).is_empty());
    assert_eq!(
        again.request(&Request::GetReminderSettings).unwrap(),
        Response::ReminderSettings(half)
    );
}

/// R4 and E3, §7.22: a friend request filed under a group and a nickname; the agent
/// that made it hears the answer, others do not; customers adding the account are
/// told only to agents that asked for it.
#[test]
fn s7_22_friend_requests_are_filed_and_notified_as_the_agents_options_say() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = agent(&s, 1001);
    let mut li = agent(&s, 1002);
    let group = match boss
        .request(&Request::EditGroups(GroupEdit::CreateGroup {
            name: "上海客户".into(),
            category: None,
        }))
        .unwrap()
    {
        Response::Groups(g) => match &g[0] {
            GroupNode::Group(g) => g.id,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    let mut kate = login_customer(s.client(), &key, ACCOUNT, "kate", now() + 3_600);
    let filed = match li
        .request(&Request::RequestContactFiled {
            customer: id("kate"),
            note: "您好".into(),
            edit: ContactEdit {
                nickname: Some("凯特".into()),
                groups: Some(vec![group]),
                ..ContactEdit::default()
            },
        })
        .unwrap()
    {
        Response::Contact(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        (filed.nickname.as_str(), filed.groups.as_slice()),
        ("凯特", &[group][..])
    );
    assert_eq!(
        code(li.request(&Request::RequestContactFiled {
            customer: id("unknown-group"),
            note: String::new(),
            edit: ContactEdit {
                groups: Some(vec![9_999]),
                ..ContactEdit::default()
            },
        })),
        ErrorCode::NOT_FOUND
    );
    kate.request(&Request::AnswerContactRequest { accept: true })
        .unwrap();
    assert_eq!(
        contact_notices_now(&mut li),
        [ContactNotice::Answered {
            customer: id("kate"),
            accepted: true
        }]
    );
    assert!(
        contact_notices_now(&mut boss).is_empty(),
        "1001 did not make it"
    );
    match boss
        .request(&Request::GetContact {
            customer: id("kate"),
        })
        .unwrap()
    {
        Response::Contact(c) => {
            assert_eq!(c.nickname, "凯特");
            assert_eq!(c.groups, [group]);
            assert_eq!(c.state, kefu_wire::crm::ContactState::Friend);
        }
        other => panic!("{other:?}"),
    }
    // A customer adding the account: nobody is told by default…
    let mut tom = login_customer(s.client(), &key, ACCOUNT, "tom", now() + 3_600);
    tom.request(&Request::AddAccount {
        answer: String::new(),
    })
    .unwrap();
    assert!(contact_notices_now(&mut boss).is_empty());
    assert!(contact_notices_now(&mut li).is_empty());
    // …and 1001 once it asks for it; 1002 turns its own additions off.
    boss.request(&Request::SetAgentPrefs {
        prefs: AgentPrefs {
            notify_customer_added: true,
            ..AgentPrefs::default()
        },
    })
    .unwrap();
    li.request(&Request::SetAgentPrefs {
        prefs: AgentPrefs {
            notify_own_additions: false,
            ..AgentPrefs::default()
        },
    })
    .unwrap();
    let mut ann = login_customer(s.client(), &key, ACCOUNT, "ann", now() + 3_600);
    ann.request(&Request::AddAccount {
        answer: String::new(),
    })
    .unwrap();
    assert_eq!(
        contact_notices_now(&mut boss),
        [ContactNotice::AddedUs {
            customer: id("ann")
        }]
    );
    let mut bob = login_customer(s.client(), &key, ACCOUNT, "bob", now() + 3_600);
    li.request(&Request::RequestContact {
        customer: id("bob"),
        note: String::new(),
    })
    .unwrap();
    bob.request(&Request::AnswerContactRequest { accept: true })
        .unwrap();
    assert!(contact_notices_now(&mut li).is_empty());
}

/// M7 and W2 (§7.8, R1): a customer that visits is recorded as a stranger at once,
/// without waiting to be served (nobody is online here), anonymous web visitors
/// included; the first agent to serve it becomes its owner (R2).
#[test]
fn s7_8_visitors_are_recorded_as_strangers_when_they_visit() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut kate = login_customer(s.client(), &key, ACCOUNT, "kate", now() + 3_600);
    kate.request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap();
    let mut visitor = s.client();
    let who = match visitor
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token: None,
            channel: kefu_wire::chat::Channel::Web,
        })
        .unwrap()
    {
        Response::CustomerLoggedIn(session) => session.customer,
        other => panic!("{other:?}"),
    };
    visitor
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap();
    let mut boss = agent(&s, 1001);
    for customer in [id("kate"), who] {
        match boss.request(&Request::GetContact { customer }).unwrap() {
            Response::Contact(c) => {
                assert_eq!(c.state, kefu_wire::crm::ContactState::Stranger);
                assert_eq!(c.owner, None, "not served yet");
            }
            other => panic!("{other:?}"),
        }
    }
    // Served: the serving agent owns it.
    boss.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    match boss.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => assert_eq!(list.len(), 2),
        other => panic!("{other:?}"),
    }
    match boss
        .request(&Request::GetContact {
            customer: id("kate"),
        })
        .unwrap()
    {
        Response::Contact(c) => assert_eq!(c.owner, Some(1001)),
        other => panic!("{other:?}"),
    }
}
