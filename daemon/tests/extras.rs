//! Quick replies (M5), analytics (permission 9), account-centre tickets (13–16) and
//! broadcasts (V1, with the token code of security levels medium and high: submitted
//! for review, approved by the operator, then fanned out; the old immediate
//! `Broadcast` is refused), through real sockets against an in-process daemon.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::Config;
use kefu_daemon::otp::hotp::{Algorithm, Digits};
use kefu_daemon::otp::sealed::SealingKey;
use kefu_daemon::otp::totp::Totp;
use kefu_daemon::store::extras_records::{verify_ticket_in_store, TicketClaims, TicketError};
use kefu_daemon::store::{open_rocks, RocksOptions, RocksStore};
use kefu_wire::chat::{ConversationState, Entry, MessageBody, Party};
use kefu_wire::crm::{ContactEdit, ContactState, GroupEdit, GroupNode, HistoryKind, HistoryQuery};
use kefu_wire::{
    AccountCentreModule, AgentFigures, Client, ErrorCode, Event, QuickReply, Request, Response,
    SecurityLevel, TokenFileFormat,
};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 860_001;
/// A 20-byte seed in hex, as a vendor's CSV would carry it.
const SEED: &str = "3132333435363738393031323334353637383930";

fn boss(s: &TestServer) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, 1001, PASSWORD).unwrap();
    c
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, agent, &format!("password {agent}"))
        .unwrap();
    c
}

fn setup(s: &TestServer) {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some("password 1002"));
    add_agent(&mut admin, ACCOUNT, 1003, Some("password 1003"));
}

fn reply(shortcut: &str, text: &str) -> QuickReply {
    QuickReply {
        shortcut: shortcut.into(),
        text: text.into(),
    }
}

fn list(c: &mut Client) -> (Vec<QuickReply>, Vec<QuickReply>) {
    match c.request(&Request::ListQuickReplies).unwrap() {
        Response::QuickReplies { personal, shared } => (personal, shared),
        other => panic!("{other:?}"),
    }
}

#[test]
fn quick_replies_are_personal_or_shared_with_permission_1_checked_and_kept() {
    let mut s = TestServer::start();
    setup(&s);
    let mut boss = boss(&s);
    let mut a = agent(&s, 1002);
    let mine = vec![
        reply("hi", "您好，请问有什么可以帮您？"),
        reply("bye", "再见\n祝您愉快"),
    ];
    let set = |shared, replies: Vec<QuickReply>| Request::SetQuickReplies { shared, replies };
    assert_eq!(a.request(&set(false, mine.clone())).unwrap(), Response::Ok);
    // The default agent role has no permission 1: the shared list is refused.
    assert_eq!(
        code(a.request(&set(true, mine.clone()))),
        ErrorCode::PERMISSION_DENIED
    );
    // The longest shortcut and text are fine; a shortcut may be in both lists.
    let shared = vec![
        reply("价格价格价格价格价格价格价格价格", &"字".repeat(500)),
        reply("hi", "Hello from the team"),
    ];
    assert_eq!(
        boss.request(&set(true, shared.clone())).unwrap(),
        Response::Ok
    );
    assert_eq!(list(&mut a), (mine.clone(), shared.clone()));
    assert_eq!(list(&mut boss), (vec![], shared.clone()));

    let refused = [
        (0..101).map(|i| reply(&format!("r{i}"), "x")).collect(),
        vec![reply("a b", "x")],
        vec![reply("", "x")],
        vec![reply(&"s".repeat(17), "x")],
        vec![reply("ok", "")],
        vec![reply("ok", &"x".repeat(501))],
        vec![reply("ok", "bell \u{7}")],
        vec![reply("dup", "x"), reply("dup", "y")],
    ];
    for replies in refused {
        let what = format!("{:?}", replies.first());
        assert_eq!(
            code(a.request(&set(false, replies))),
            ErrorCode::INVALID_ARGUMENT,
            "{what}"
        );
    }
    // Nothing changed by the refusals; 100 replies is the limit, not over it.
    assert_eq!(list(&mut a).0, mine);
    let hundred: Vec<QuickReply> = (0..100).map(|i| reply(&format!("r{i}"), "x")).collect();
    a.request(&set(false, hundred.clone())).unwrap();
    a.request(&set(false, mine.clone())).unwrap();

    drop((a, boss));
    s.restart();
    let mut a = agent(&s, 1002);
    assert_eq!(list(&mut a), (mine.clone(), shared.clone()));
    // An empty list clears.
    a.request(&set(false, vec![])).unwrap();
    assert_eq!(list(&mut a), (vec![], shared.clone()));
    // Pipelined: a list asked for right behind a change (same server turn) shows it.
    let set_corr = a.send(&set(false, mine.clone())).unwrap();
    let list_corr = a.send(&Request::ListQuickReplies).unwrap();
    assert_eq!(a.wait(set_corr).unwrap(), Response::Ok);
    assert_eq!(
        a.wait(list_corr).unwrap(),
        Response::QuickReplies {
            personal: mine,
            shared
        }
    );
}

fn customer(s: &TestServer, key: &[u8; 32], who: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, who, now() + 30 * 86_400)
}

/// Opens a conversation; returns its id and the agent serving it.
fn open(c: &mut Client) -> (u64, Option<u32>) {
    match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => match info.state {
            ConversationState::Assigned { agent } => (info.conversation, Some(agent)),
            _ => (info.conversation, None),
        },
        other => panic!("{other:?}"),
    }
}

fn send(c: &mut Client, conversation: u64, client_msg_id: u64, text: &str) {
    let r = c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id,
            body: MessageBody::Text(text.into()),
        })
        .unwrap();
    assert!(matches!(r, Response::Sent { .. }), "{r:?}");
}

fn analytics(c: &mut Client, from: i64, until: i64) -> Vec<AgentFigures> {
    match c.request(&Request::GetAnalytics { from, until }).unwrap() {
        Response::Analytics(f) => f,
        other => panic!("{other:?}"),
    }
}

fn figures(agent: u32, conversations: u64, sent: u64, received: u64) -> AgentFigures {
    AgentFigures {
        agent,
        conversations,
        messages_sent: sent,
        messages_received: received,
    }
}

#[test]
fn analytics_count_conversations_and_messages_per_agent_in_the_period() {
    let t0 = now();
    let clock = Arc::new(ManualClock::new(t0 * 1000));
    let s = TestServer::start_clocked(clock.clone());
    setup(&s);
    let mut admin = s.admin();
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = boss(&s);
    let mut a2 = agent(&s, 1002);
    let mut a3 = agent(&s, 1003);
    a2.request(&Request::SetAutoAccept { cap: 5 }).unwrap();

    // Day 0: c1 → 1002 (2 customer messages, 1 reply); c2 → 1003 (1 and 2).
    let mut c1 = customer(&s, &key, "c1");
    let (conv1, served) = open(&mut c1);
    assert_eq!(served, Some(1002));
    send(&mut c1, conv1, 1, "在吗？");
    send(&mut c1, conv1, 2, "我想问一下价格");
    send(&mut a2, conv1, 1, "在的");
    a2.request(&Request::CloseConversation {
        conversation: conv1,
    })
    .unwrap();
    a2.request(&Request::SetAutoAccept { cap: 0 }).unwrap();
    a3.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let mut c2 = customer(&s, &key, "c2");
    let (conv2, served) = open(&mut c2);
    assert_eq!(served, Some(1003));
    send(&mut c2, conv2, 1, "hello");
    send(&mut a3, conv2, 1, "hi");
    send(&mut a3, conv2, 2, "how can I help?");

    // Day 2: c1 again, now served by 1003 (one message each way).
    clock.advance(2 * 86_400_000);
    let (conv3, served) = open(&mut c1);
    assert_eq!(served, Some(1003));
    send(&mut c1, conv3, 3, "还是我");
    send(&mut a3, conv3, 3, "好的");

    let day = 86_400;
    assert_eq!(
        analytics(&mut boss, t0 - 60, t0 + day),
        vec![
            figures(1001, 0, 0, 0),
            figures(1002, 1, 1, 2),
            figures(1003, 1, 2, 1)
        ]
    );
    assert_eq!(
        analytics(&mut boss, t0 + day, t0 + 3 * day),
        vec![
            figures(1001, 0, 0, 0),
            figures(1002, 0, 0, 0),
            figures(1003, 1, 1, 1)
        ]
    );
    assert_eq!(
        analytics(&mut boss, t0 - 60, t0 + 3 * day),
        vec![
            figures(1001, 0, 0, 0),
            figures(1002, 1, 1, 2),
            figures(1003, 2, 3, 2)
        ]
    );
    // Before anything happened: zeros.
    assert_eq!(
        analytics(&mut boss, t0 - 10 * day, t0 - day),
        vec![
            figures(1001, 0, 0, 0),
            figures(1002, 0, 0, 0),
            figures(1003, 0, 0, 0)
        ]
    );
    // The period: non-empty, at most 92 days.
    for (from, until) in [(t0, t0), (t0, t0 - 1), (t0, t0 + 92 * day + 1)] {
        assert_eq!(
            code(boss.request(&Request::GetAnalytics { from, until })),
            ErrorCode::INVALID_ARGUMENT
        );
    }
    analytics(&mut boss, t0, t0 + 92 * day);
    // Permission 9.
    assert_eq!(
        code(a2.request(&Request::GetAnalytics {
            from: t0,
            until: t0 + day
        })),
        ErrorCode::PERMISSION_DENIED
    );
    give_role(&mut boss, 1002, &[9]);
    assert_eq!(analytics(&mut a2, t0 - 60, t0 + day).len(), 3);
}

fn ticket(c: &mut Client, module: AccountCentreModule) -> (Vec<u8>, i64) {
    match c.request(&Request::AccountCentreTicket { module }).unwrap() {
        Response::Ticket { ticket, expires_at } => (ticket, expires_at),
        other => panic!("{other:?}"),
    }
}

#[test]
fn account_centre_tickets_verify_for_their_module_only() {
    let mut s = TestServer::start();
    setup(&s);
    let mut boss = boss(&s);
    let before = now();
    let (campaigns, expires_at) = ticket(&mut boss, AccountCentreModule::Campaigns);
    assert!(
        (before + 300..=now() + 300).contains(&expires_at),
        "{expires_at}"
    );
    let (info, _) = ticket(&mut boss, AccountCentreModule::AccountInfo);
    // The default agent role has none of 13-16; permission 14 opens only its module.
    let mut a = agent(&s, 1002);
    for module in [
        AccountCentreModule::AccountInfo,
        AccountCentreModule::EnterpriseSpace,
        AccountCentreModule::Campaigns,
        AccountCentreModule::ServiceConfig,
    ] {
        assert_eq!(
            code(a.request(&Request::AccountCentreTicket { module })),
            ErrorCode::PERMISSION_DENIED
        );
    }
    give_role(&mut boss, 1002, &[14]);
    let (space, _) = ticket(&mut a, AccountCentreModule::EnterpriseSpace);
    assert_eq!(
        code(a.request(&Request::AccountCentreTicket {
            module: AccountCentreModule::Campaigns
        })),
        ErrorCode::PERMISSION_DENIED
    );
    drop((a, boss));

    // A module verifies with the appliance key and the store (the daemon is stopped:
    // RocksDB has one writer).
    let (store, sealing) = stopped_store(&mut s);
    let verify = |t: &[u8], m, at| verify_ticket_in_store(&store, &sealing, t, m, at);
    let at = now();
    assert_eq!(
        verify(&campaigns, AccountCentreModule::Campaigns, at),
        Ok(TicketClaims {
            account: ACCOUNT,
            agent: 1001,
            module: AccountCentreModule::Campaigns,
            expires_at,
        })
    );
    assert!(verify(&info, AccountCentreModule::AccountInfo, at).is_ok());
    assert_eq!(
        verify(&space, AccountCentreModule::EnterpriseSpace, at).map(|c| c.agent),
        Ok(1002)
    );
    // Another module, a changed agent, a changed signature, too late, cut short.
    assert_eq!(
        verify(&campaigns, AccountCentreModule::ServiceConfig, at),
        Err(TicketError::OtherModule)
    );
    let mut tampered = campaigns.clone();
    tampered[12] ^= 0x01; // agent 1001 → 1000
    assert_eq!(
        verify(&tampered, AccountCentreModule::Campaigns, at),
        Err(TicketError::BadSignature)
    );
    let mut tampered = campaigns.clone();
    *tampered.last_mut().unwrap() ^= 0x80;
    assert_eq!(
        verify(&tampered, AccountCentreModule::Campaigns, at),
        Err(TicketError::BadSignature)
    );
    assert_eq!(
        verify(&campaigns, AccountCentreModule::Campaigns, expires_at),
        Err(TicketError::Expired)
    );
    assert_eq!(
        verify(&campaigns[..40], AccountCentreModule::Campaigns, at),
        Err(TicketError::Malformed)
    );
    drop(store);

    // The account keeps its key across restarts.
    s.restart();
    let mut again = s.client();
    again.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let (later, _) = ticket(&mut again, AccountCentreModule::ServiceConfig);
    drop(again);
    let (store, sealing) = stopped_store(&mut s);
    let verify = |t: &[u8], m| verify_ticket_in_store(&store, &sealing, t, m, now());
    assert!(verify(&later, AccountCentreModule::ServiceConfig).is_ok());
    assert!(verify(&campaigns, AccountCentreModule::Campaigns).is_ok());
}

/// Stops the daemon and opens its store and appliance key as another module would.
fn stopped_store(s: &mut TestServer) -> (RocksStore, SealingKey) {
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    let config = Config::for_tests(s.dir.path());
    let sealing =
        SealingKey::from_hex(&std::fs::read_to_string(config.token_key_path()).unwrap()).unwrap();
    let store = open_rocks(&s.dir.path().join("db"), &RocksOptions::default()).unwrap();
    (store, sealing)
}

fn now_step() -> u64 {
    now() as u64 / 60
}

fn otp_at(step: u64) -> String {
    let secret: Vec<u8> = (0..SEED.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&SEED[i..i + 2], 16).unwrap())
        .collect();
    Totp::new(
        Algorithm::Sha1,
        &secret,
        Digits::SIX,
        NonZeroU32::new(60).unwrap(),
    )
    .code_for_step(step)
    .as_str()
    .to_string()
}

fn group_id(groups: &[GroupNode], name: &str) -> u32 {
    groups
        .iter()
        .find_map(|n| match n {
            GroupNode::Group(g) if g.name == name => Some(g.id),
            _ => None,
        })
        .expect("the group")
}

fn contact(c: &mut Client, who: &str, state: ContactState, groups: Vec<u32>) {
    let r = c
        .request(&Request::CreateContact {
            customer: id(who),
            state,
            edit: ContactEdit {
                groups: Some(groups),
                ..ContactEdit::default()
            },
        })
        .unwrap();
    assert!(matches!(r, Response::Contact(_)), "{r:?}");
}

fn broadcast(groups: Vec<u32>, customers: &[&str], text: &str, otp: Option<String>) -> Request {
    Request::SubmitBroadcast {
        draft: kefu_wire::valueadded::BroadcastDraft {
            groups,
            customers: customers.iter().map(|c| id(c)).collect(),
            body: MessageBody::Text(text.into()),
            online_only: false,
            block_replies: false,
            send_at: None,
        },
        otp,
    }
}

/// A submission's recipients, once the operator approved it and its fan-out (one
/// slice: a few recipients) went out at the end of the approval's turn.
fn sent(r: Result<Response, kefu_wire::ClientError>, admin: &mut Client) -> u64 {
    let b = match r.unwrap() {
        Response::Broadcast(b) => b,
        other => panic!("{other:?}"),
    };
    let approved = admin
        .request(&Request::AdminBroadcastDecide {
            account: ACCOUNT,
            id: b.id,
            approve: true,
            reason: String::new(),
        })
        .unwrap();
    assert!(matches!(approved, Response::Broadcast(_)), "{approved:?}");
    // One more turn of the account's shard: the slice is committed.
    admin
        .request(&Request::AdminBalanceShow { account: ACCOUNT })
        .unwrap();
    b.recipients
}

/// The texts and ids of `who`'s history that `c` sees, newest first.
fn history(c: &mut Client, who: &str) -> Vec<(u64, u64, Party, String)> {
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
            .map(|m| {
                let text = match m.body {
                    MessageBody::Text(t) => t,
                    other => format!("{other:?}"),
                };
                (m.conversation, m.id, m.from, text)
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn broadcasts_reach_groups_and_named_contacts_and_need_a_code_at_medium() {
    let mut s = TestServer::start();
    setup(&s);
    let mut admin = s.admin();
    admin
        .request(&Request::AdminImportTokens {
            format: TokenFileFormat::Csv,
            data: format!("serial,secret\nKT-A,{SEED}\n").into_bytes(),
            key_hex: None,
            password: None,
        })
        .unwrap();
    let key = customer_key(&mut admin, ACCOUNT);
    admin
        .request(&Request::AdminBalanceTopUp {
            account: ACCOUNT,
            units: 100,
        })
        .unwrap();
    let mut boss = boss(&s);
    let step = now_step();
    boss.request(&Request::BindToken {
        agent: 1002,
        serial: "KT-A".into(),
        code: otp_at(step),
    })
    .unwrap();
    give_role(&mut boss, 1002, &[10]);
    give_role(&mut boss, 1003, &[10]);
    let groups = match boss
        .request(&Request::EditGroups(GroupEdit::CreateGroup {
            name: "VIP".into(),
            category: None,
        }))
        .unwrap()
    {
        Response::Groups(g) => g,
        other => panic!("{other:?}"),
    };
    let vip = group_id(&groups, "VIP");
    contact(&mut boss, "c1", ContactState::Friend, vec![vip]);
    contact(&mut boss, "c2", ContactState::Stranger, vec![vip]);
    contact(&mut boss, "bad", ContactState::Blacklisted, vec![vip]);
    contact(&mut boss, "c3", ContactState::Friend, vec![]);
    contact(&mut boss, "c4", ContactState::Friend, vec![]);
    let mut c1 = customer(&s, &key, "c1");

    let mut a = agent(&s, 1002);
    // Level medium (the default): a code is needed.
    let to_vip = |otp| broadcast(vec![vip], &["c3", "c1"], "双十一大促，全场八折", otp);
    assert_eq!(code(a.request(&to_vip(None))), ErrorCode::OTP_REQUIRED);
    // Arguments are checked before a code is used up.
    assert_eq!(
        code(a.request(&broadcast(vec![999], &[], "x", Some(otp_at(step + 1))))),
        ErrorCode::NOT_FOUND
    );
    assert_eq!(
        code(a.request(&broadcast(vec![], &["nobody"], "x", Some(otp_at(step + 1))))),
        ErrorCode::NOT_FOUND
    );
    assert_eq!(
        code(a.request(&broadcast(vec![], &[], "x", Some(otp_at(step + 1))))),
        ErrorCode::INVALID_ARGUMENT
    );
    assert_eq!(
        code(a.request(&broadcast(vec![vip], &[], "", Some(otp_at(step + 1))))),
        ErrorCode::INVALID_ARGUMENT
    );
    let wrong = format!(
        "{:06}",
        (otp_at(step + 1).parse::<u32>().unwrap() + 500_000) % 1_000_000
    );
    assert_eq!(
        code(a.request(&to_vip(Some(wrong)))),
        ErrorCode::OTP_INVALID
    );
    // The group's contacts (not the blacklisted one) and c3; c1 once.
    assert_eq!(
        sent(a.request(&to_vip(Some(otp_at(step + 1)))), &mut admin),
        3
    );
    let push = c1
        .next_push(Duration::from_secs(10))
        .unwrap()
        .expect("the broadcast reaches the online customer");
    let Event::Message(m) = push.event else {
        panic!("{push:?}")
    };
    assert_eq!(m.conversation, 0);
    assert_eq!(m.from, Party::Agent(1002));
    assert_eq!(m.body, MessageBody::Text("双十一大促，全场八折".into()));
    // The same code again is a replay.
    assert_eq!(
        code(a.request(&to_vip(Some(otp_at(step + 1))))),
        ErrorCode::OTP_REPLAYED
    );
    // An agent with permission 10 and no token cannot send at level medium.
    let mut b = agent(&s, 1003);
    assert_eq!(
        code(b.request(&to_vip(Some(otp_at(step + 2))))),
        ErrorCode::OTP_REQUIRED
    );
    // Without permission 10: refused before anything else.
    boss.request(&Request::SetAgentRole {
        agent: 1003,
        role: 3,
    })
    .unwrap();
    assert_eq!(code(b.request(&to_vip(None))), ErrorCode::PERMISSION_DENIED);

    // In the history of each recipient, as the agent's message outside any conversation.
    for who in ["c1", "c2", "c3"] {
        let h = history(&mut a, who);
        assert_eq!(h.len(), 1, "{who}: {h:?}");
        assert_eq!(
            (h[0].0, h[0].2, h[0].3.as_str()),
            (0, Party::Agent(1002), "双十一大促，全场八折"),
            "{who}"
        );
    }
    assert!(history(&mut boss, "bad").is_empty());
    assert!(history(&mut boss, "c4").is_empty());

    // Level low: no code needed; ids keep growing, across a restart too.
    boss.request(&Request::SetSecurityLevel {
        level: SecurityLevel::Low,
    })
    .unwrap();
    assert_eq!(
        sent(
            a.request(&broadcast(vec![], &["c1"], "第二条", None)),
            &mut admin
        ),
        1
    );
    drop((a, b, boss, c1, admin));
    s.restart();
    let mut a = agent(&s, 1002);
    let mut admin = s.admin();
    assert_eq!(
        sent(
            a.request(&broadcast(vec![vip], &[], "第三条", None)),
            &mut admin
        ),
        2
    );
    let h = history(&mut a, "c1");
    let ids: Vec<u64> = h.iter().map(|m| m.1).collect();
    let texts: Vec<&str> = h.iter().map(|m| m.3.as_str()).collect();
    assert_eq!(texts, ["第三条", "第二条", "双十一大促，全场八折"]);
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
    // A conversation's messages after the broadcasts get fresh ids as well.
    let key = customer_key(&mut admin, ACCOUNT);
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let mut c1 = customer(&s, &key, "c1");
    let (conv, _) = open(&mut c1);
    send(&mut c1, conv, 1, "收到");
    let h = history(&mut a, "c1");
    assert_eq!(h.len(), 4, "{h:?}");
    assert!(h[0].1 > ids[0], "{h:?}");
}
