//! Customers and conversations through real sockets: customer and visitor
//! logins, routing to agents with caps, the queue, messages both ways stored
//! before they are acknowledged, retries stored once, history on accept.

mod support;

use kefu_daemon::shard::sign_customer;
use kefu_wire::chat::{Channel, ConversationState, CustomerId, Entry, MessageBody, Party};
use kefu_wire::{Client, ErrorCode, Event, Presence, Request, Response};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 830_001;

fn key(admin: &mut Client) -> [u8; 32] {
    customer_key(admin, ACCOUNT)
}

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    // Thirty days: the clocked tests run in the near future.
    login_customer(s.client(), key, ACCOUNT, id, now() + 30 * 86_400)
}

fn open(c: &mut Client) -> kefu_wire::chat::ConversationInfo {
    match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => info,
        other => panic!("{other:?}"),
    }
}

fn send(c: &mut Client, conversation: u64, id: u64, text: &str) -> (u64, bool) {
    match c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id: id,
            body: MessageBody::Text(text.into()),
        })
        .unwrap()
    {
        Response::Sent { message, duplicate } => (message, duplicate),
        other => panic!("{other:?}"),
    }
}

/// Waits for a pushed message (skipping other pushes).
fn next_message(c: &mut Client) -> kefu_wire::chat::MessageInfo {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("a message push");
        if let Event::Message(m) = p.event {
            return m;
        }
    }
}

fn agent(s: &TestServer, cap: u16) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

#[test]
fn customer_signatures_are_checked() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    customer(&s, &k, "alice");
    let expires_at = now() + 3600;
    let bad = [
        (
            sign_customer(&k, ACCOUNT, "mallory", expires_at),
            expires_at,
        ),
        (sign_customer(&k, ACCOUNT, "alice", now() - 10), now() - 10),
        (
            sign_customer(&[7; 32], ACCOUNT, "alice", expires_at),
            expires_at,
        ),
    ];
    for (signature, expires_at) in bad {
        let e = s
            .client()
            .request(&Request::CustomerLogin {
                account: ACCOUNT,
                customer: "alice".into(),
                expires_at,
                signature,
                channel: Channel::Web,
            })
            .unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CUSTOMER_TOKEN_INVALID));
    }
    // A customer cannot use agent requests.
    let mut c = customer(&s, &k, "alice");
    assert_eq!(
        c.request(&Request::ListQueue).unwrap_err().code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
}

#[test]
fn visitors_keep_their_id_with_their_token() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let login = |token| match s
        .client()
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token,
            channel: Channel::Web,
        })
        .unwrap()
    {
        Response::CustomerLoggedIn(session) => session,
        other => panic!("{other:?}"),
    };
    let first = login(None);
    let token = first.visitor_token.expect("a visitor token");
    assert!(matches!(first.customer, CustomerId::Visitor(_)));
    assert_eq!(login(Some(token)).customer, first.customer);
    let mut forged = token;
    forged[31] ^= 1;
    let e = s
        .client()
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token: Some(forged),
            channel: Channel::Web,
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::CUSTOMER_TOKEN_INVALID));
}

#[test]
fn cap_routes_then_queues_and_messages_flow_both_ways() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = agent(&s, 1);

    // Below the cap: assigned at once.
    let mut alice = customer(&s, &k, "alice");
    let conv = open(&mut alice);
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1001 });
    let (id, dup) = send(&mut alice, conv.conversation, 1, "你好，我想咨询");
    assert!(!dup);
    let m = next_message(&mut a);
    assert_eq!((m.id, m.from), (id, Party::Customer));
    assert_eq!(m.body, MessageBody::Text("你好，我想咨询".into()));
    // A retry of the same client message id is stored once.
    assert_eq!(
        send(&mut alice, conv.conversation, 1, "你好，我想咨询"),
        (id, true)
    );
    // The agent answers.
    let (reply, _) = send(&mut a, conv.conversation, 1, "您好！");
    assert_eq!(next_message(&mut alice).id, reply);

    // At the cap: the next customer waits in the queue, and its messages are kept.
    let mut bob = customer(&s, &k, "bob");
    let queued = open(&mut bob);
    assert_eq!(queued.state, ConversationState::Queued { target: None });
    send(&mut bob, queued.conversation, 9, "anyone there?");
    match a.request(&Request::ListQueue).unwrap() {
        Response::Conversations(list) => {
            assert_eq!(
                list.iter().map(|c| c.conversation).collect::<Vec<_>>(),
                vec![queued.conversation]
            )
        }
        other => panic!("{other:?}"),
    }
    // Accepting by hand brings the history with it.
    match a
        .request(&Request::AcceptConversation {
            conversation: queued.conversation,
        })
        .unwrap()
    {
        Response::Accepted {
            conversation,
            history,
        } => {
            assert_eq!(
                conversation.state,
                ConversationState::Assigned { agent: 1001 }
            );
            assert_eq!(history.len(), 1);
            assert_eq!(history[0].body, MessageBody::Text("anyone there?".into()));
        }
        other => panic!("{other:?}"),
    }
    // Only participants may write.
    let e = bob
        .request(&Request::SendMessage {
            conversation: conv.conversation,
            client_msg_id: 2,
            body: MessageBody::Text("not mine".into()),
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NOT_IN_CONVERSATION));
    // Closing tells both sides.
    a.request(&Request::CloseConversation {
        conversation: conv.conversation,
    })
    .unwrap();
    loop {
        let p = alice
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("closed push");
        if let Event::ConversationChanged(c) = p.event {
            if c.state == ConversationState::Closed {
                break;
            }
        }
    }
}

#[test]
fn an_away_agent_gets_no_automatic_conversation_and_history_survives_a_restart() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = agent(&s, 5);
    a.request(&Request::SetPresence {
        presence: Presence::Away,
    })
    .unwrap();
    let mut carol = customer(&s, &k, "carol");
    let conv = open(&mut carol);
    assert_eq!(conv.state, ConversationState::Queued { target: None });
    let (id, _) = send(&mut carol, conv.conversation, 1, "stored before the ack");
    drop((a, carol, admin));
    s.restart();
    // The queued conversation and its message are still there.
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    match a
        .request(&Request::AcceptConversation {
            conversation: conv.conversation,
        })
        .unwrap()
    {
        Response::Accepted { history, .. } => {
            assert_eq!(history.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
        }
        other => panic!("{other:?}"),
    }
    // And a retry after the restart is still recognised.
    let mut admin = s.admin();
    let k2 = key(&mut admin);
    let mut carol = customer(&s, &k2, "carol");
    assert_eq!(
        send(&mut carol, conv.conversation, 1, "stored before the ack"),
        (id, true)
    );
}

fn agent_n(s: &TestServer, admin: &mut Client, n: u32, cap: u16) -> Client {
    add_agent(admin, ACCOUNT, n, Some("agent password"));
    let mut a = s.client();
    a.login(ACCOUNT, n, "agent password").unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

fn assigned_to(c: &kefu_wire::chat::ConversationInfo) -> Option<u32> {
    match c.state {
        ConversationState::Assigned { agent } => Some(agent),
        _ => None,
    }
}

#[test]
fn transfer_moves_the_conversation_and_grab_needs_permission_and_confirmation() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut first = agent(&s, 1);
    let mut alice = customer(&s, &k, "alice");
    let conv = open(&mut alice).conversation;
    let mut second = agent_n(&s, &mut admin, 1002, 1);
    match first
        .request(&Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        })
        .unwrap()
    {
        Response::Conversation(c) => assert_eq!(assigned_to(&c), Some(1002)),
        other => panic!("{other:?}"),
    }
    send(&mut alice, conv, 1, "after the transfer");
    assert_eq!(
        next_message(&mut second).body,
        MessageBody::Text("after the transfer".into())
    );
    // 1003 has the default agent role: no grab permission.
    let mut third = agent_n(&s, &mut admin, 1003, 0);
    let grab = |confirmed| Request::GrabConversation {
        conversation: conv,
        confirmed,
    };
    assert_eq!(
        third.request(&grab(true)).unwrap_err().code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    // 1001 (all permissions) must confirm, then takes it.
    assert_eq!(
        first.request(&grab(false)).unwrap_err().code(),
        Some(ErrorCode::GRAB_NEEDS_CONFIRMATION)
    );
    match first.request(&grab(true)).unwrap() {
        Response::Conversation(c) => assert_eq!(assigned_to(&c), Some(1001)),
        other => panic!("{other:?}"),
    }
    // 1002 no longer serves it.
    let e = second
        .request(&Request::SendMessage {
            conversation: conv,
            client_msg_id: 5,
            body: MessageBody::Text("too late".into()),
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NOT_IN_CONVERSATION));
}

#[test]
fn a_reconnecting_agent_reads_exactly_what_it_missed() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = s.client();
    let session = a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 3 }).unwrap();
    let mut dave = customer(&s, &k, "dave");
    let conv = open(&mut dave).conversation;
    let (seen, _) = send(&mut dave, conv, 1, "one");
    assert_eq!(next_message(&mut a).id, seen);
    // The agent's connection drops; the conversation stays its own meanwhile.
    drop(a);
    let missed: Vec<u64> = (2..=4)
        .map(|i| send(&mut dave, conv, i, &format!("msg {i}")).0)
        .collect();
    let mut a = s.client();
    a.resume(ACCOUNT, 1001, session.token).unwrap();
    match a.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => assert_eq!(
            list.iter().map(|c| c.conversation).collect::<Vec<_>>(),
            vec![conv]
        ),
        other => panic!("{other:?}"),
    }
    match a
        .request(&Request::ConversationMessages {
            conversation: conv,
            after: seen,
            limit: 100,
        })
        .unwrap()
    {
        Response::Messages(list) => {
            assert_eq!(list.iter().map(|m| m.id).collect::<Vec<_>>(), missed)
        }
        other => panic!("{other:?}"),
    }
    // The customer reads its own conversation, not others'.
    match dave
        .request(&Request::ConversationMessages {
            conversation: conv,
            after: 0,
            limit: 2,
        })
        .unwrap()
    {
        Response::Messages(list) => assert_eq!(list.len(), 2),
        other => panic!("{other:?}"),
    }
}

#[test]
fn group_entries_route_to_the_group() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let _boss = agent(&s, 5);
    let mut sales = agent_n(&s, &mut admin, 1002, 5);
    sales
        .request(&Request::SetAgentProfile {
            agent: 1002,
            profile: kefu_wire::AgentProfile {
                nickname: "销售".into(),
                group: "sales".into(),
                display: kefu_wire::DisplayMode::Nickname,
                phone: String::new(),
            },
        })
        .unwrap();
    let mut erin = customer(&s, &k, "erin");
    match erin
        .request(&Request::OpenConversation {
            entry: Entry::Group("sales".into()),
        })
        .unwrap()
    {
        Response::Conversation(c) => assert_eq!(assigned_to(&c), Some(1002)),
        other => panic!("{other:?}"),
    }
}

/// Customers send while the daemon is killed with SIGKILL; after a restart every
/// acknowledged message is stored exactly once, and the agent, reading from the
/// last message it saw, gets each exactly once. Run for both durability modes.
fn kill_while_sending(durability: &str) {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!("[storage]\ndurability = \"{durability}\"\n"),
    );
    let d = DaemonProcess::start(&config);
    let mut admin = d.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = d.client();
    let session = a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    let login = |addr| {
        let mut c = Client::connect(addr, opts()).unwrap();
        let expires_at = now() + 3600;
        c.request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: "frank".into(),
            expires_at,
            signature: sign_customer(&k, ACCOUNT, "frank", expires_at),
            channel: Channel::Desktop,
        })
        .unwrap();
        c
    };
    let mut frank = login(d.tcp);
    let conv = open(&mut frank).conversation;

    // Pipeline 200 sends; read some acks and pushes, then kill the daemon mid-stream.
    let corrs: Vec<(u64, u32)> = (1..=200u64)
        .map(|i| {
            let corr = frank
                .send(&Request::SendMessage {
                    conversation: conv,
                    client_msg_id: i,
                    body: MessageBody::Text(format!("m{i}")),
                })
                .unwrap();
            (i, corr)
        })
        .collect();
    let mut acked = std::collections::BTreeMap::new();
    for &(i, corr) in corrs.iter().take(50) {
        if let Response::Sent { message, .. } = frank.wait(corr).unwrap() {
            acked.insert(i, message);
        }
    }
    let mut delivered: Vec<u64> = Vec::new();
    while delivered.len() < 20 {
        delivered.push(next_message(&mut a).id);
    }
    let mut d = d;
    d.child.kill().unwrap();
    d.child.wait().unwrap();
    drop((a, frank));

    let d = DaemonProcess::start(&config);
    // Retrying every client message id: acknowledged ones come back as duplicates
    // with the same id; the rest are stored now (or were, unacknowledged).
    let mut frank = login(d.tcp);
    let mut ids = std::collections::BTreeMap::new();
    for i in 1..=200u64 {
        let (message, duplicate) = send(&mut frank, conv, i, &format!("m{i}"));
        if let Some(&before) = acked.get(&i) {
            assert_eq!((message, duplicate), (before, true), "acked message {i}");
        }
        ids.insert(i, message);
    }
    let unique: std::collections::BTreeSet<u64> = ids.values().copied().collect();
    assert_eq!(
        unique.len(),
        200,
        "every client message stored exactly once"
    );
    // The agent reads from the last message it saw: the rest, each once, in order.
    let mut a = Client::connect(d.tcp, opts()).unwrap();
    a.resume(ACCOUNT, 1001, session.token).unwrap();
    let last_seen = *delivered.iter().max().unwrap();
    let mut after = last_seen;
    loop {
        let page = match a
            .request(&Request::ConversationMessages {
                conversation: conv,
                after,
                limit: 64,
            })
            .unwrap()
        {
            Response::Messages(list) => list,
            other => panic!("{other:?}"),
        };
        let Some(last) = page.last() else { break };
        after = last.id;
        delivered.extend(page.iter().map(|m| m.id));
    }
    let mut sorted = delivered.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), delivered.len(), "nothing delivered twice");
    assert_eq!(
        sorted
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>(),
        unique,
        "everything delivered"
    );
}

#[test]
fn sigkill_loses_no_acknowledged_message_with_wal_durability() {
    kill_while_sending("wal");
}

#[test]
fn sigkill_loses_no_acknowledged_message_with_fsync_durability() {
    kill_while_sending("fsync");
}

/// The first system message pushed to `c` (welcome or auto-reply).
fn next_system_text(c: &mut Client) -> String {
    loop {
        let m = next_message(c);
        if m.from == Party::System {
            match m.body {
                MessageBody::Text(t) => return t,
                other => panic!("{other:?}"),
            }
        }
    }
}

#[test]
fn welcome_texts_follow_the_period_and_busy_agents_auto_reply() {
    use kefu_wire::chat::{RoutingConfig, WelcomeRule};
    // Monday 2026-11-30 10:00 in UTC+8.
    let monday = 1_796_004_000_000i64;
    let saturday = 1_796_436_000_000i64;
    let clock = std::sync::Arc::new(kefu_daemon::clock::ManualClock::new(monday));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut boss = agent(&s, 5);
    let rule = |weekdays, text: &str| WelcomeRule {
        weekdays,
        start_minute: 0,
        end_minute: 1440,
        text: text.into(),
    };
    let settings = RoutingConfig {
        exclusive: false,
        no_response_secs: 0,
        no_response_warn_secs: 60,
        transfer_timeout_secs: 120,
        utc_offset_minutes: 8 * 60,
        welcome: vec![rule(0b001_1111, "工作日您好"), rule(0b110_0000, "周末您好")],
        busy_reply: Some("客服正忙，请稍候".into()),
        away_reply: None,
    };
    boss.request(&Request::SetRoutingSettings {
        settings: settings.clone(),
    })
    .unwrap();
    assert_eq!(
        boss.request(&Request::GetRoutingSettings).unwrap(),
        Response::RoutingSettings(settings.clone())
    );
    let mut grace = customer(&s, &k, "grace");
    let conv = open(&mut grace).conversation;
    assert_eq!(next_system_text(&mut grace), "工作日您好");

    clock.set(saturday);
    let mut henry = customer(&s, &k, "henry");
    open(&mut henry);
    assert_eq!(next_system_text(&mut henry), "周末您好");

    // The serving agent is busy: the customer gets the account's busy reply.
    boss.request(&Request::SetPresence {
        presence: Presence::Busy,
    })
    .unwrap();
    send(&mut grace, conv, 1, "在吗？");
    assert_eq!(next_system_text(&mut grace), "客服正忙，请稍候");

    // Settings are checked and need business settings (permission 12).
    let bad = RoutingConfig {
        welcome: vec![rule(0, "never")],
        ..settings.clone()
    };
    assert_eq!(
        boss.request(&Request::SetRoutingSettings { settings: bad })
            .unwrap_err()
            .code(),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    let mut plain = {
        add_agent(&mut admin, ACCOUNT, 1002, Some("agent password"));
        let mut c = s.client();
        c.login(ACCOUNT, 1002, "agent password").unwrap();
        c
    };
    assert_eq!(
        plain
            .request(&Request::SetRoutingSettings { settings })
            .unwrap_err()
            .code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
}

#[test]
fn no_response_warns_the_agent_then_lets_the_customer_choose_again() {
    use kefu_wire::chat::{Alert, RoutingConfig};
    let start = (now() + 86_400) * 1000;
    let clock = std::sync::Arc::new(kefu_daemon::clock::ManualClock::new(start));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut slow = agent(&s, 1);
    slow.request(&Request::SetRoutingSettings {
        settings: RoutingConfig {
            exclusive: false,
            no_response_secs: 60,
            no_response_warn_secs: 10,
            transfer_timeout_secs: 120,
            utc_offset_minutes: 0,
            welcome: vec![],
            busy_reply: None,
            away_reply: None,
        },
    })
    .unwrap();
    // A sub-option of designated agent (§7.15).
    slow.request(&Request::SetDesignatedAgent {
        settings: kefu_wire::chat::DesignatedSettings {
            mode: kefu_wire::chat::DesignatedMode::Agents,
            hide_offline: false,
            no_response: true,
        },
    })
    .unwrap();
    let mut ivy = customer(&s, &k, "ivy");
    let conv = match ivy
        .request(&Request::OpenConversation {
            entry: Entry::Agent(1001),
        })
        .unwrap()
    {
        Response::Conversation(c) => c.conversation,
        other => panic!("{other:?}"),
    };
    send(&mut ivy, conv, 1, "hello?");
    // 55 s later the agent is warned (the shard checks its timers every turn).
    clock.advance(55_000);
    assert!(matches!(
        alert_of(&mut slow, Duration::from_secs(20)),
        Alert::NoResponseWarning { .. }
    ));
    // Past 60 s the customer may choose again; another agent is online now.
    let mut quick = agent_n(&s, &mut admin, 1002, 1);
    clock.advance(10_000);
    match alert_of(&mut ivy, Duration::from_secs(20)) {
        Alert::ChooseAgain { agents, .. } => {
            assert!(agents.iter().any(|(a, _)| *a == 1002), "{agents:?}")
        }
        other => panic!("{other:?}"),
    }
    let again = match ivy
        .request(&Request::Reselect {
            conversation: conv,
            entry: Entry::Agent(1002),
        })
        .unwrap()
    {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(assigned_to(&again), Some(1002));
    assert!(matches!(
        alert_of(&mut slow, Duration::from_secs(20)),
        Alert::Reselected
    ));
    send(&mut ivy, again.conversation, 2, "thanks");
    assert_eq!(next_message(&mut quick).conversation, again.conversation);
}

#[test]
fn logout_keeps_or_closes_conversations_and_agents_initiate() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = s.client();
    let session = a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 2 }).unwrap();
    let mut jack = customer(&s, &k, "jack");
    let conv = open(&mut jack).conversation;
    // Keep: nobody else may take it meanwhile; it comes back at the next login.
    a.request(&Request::LogoutWith {
        keep_conversations: true,
    })
    .unwrap();
    let mut other = agent_n(&s, &mut admin, 1002, 2);
    assert_eq!(
        other
            .request(&Request::AcceptConversation { conversation: conv })
            .unwrap_err()
            .code(),
        Some(ErrorCode::CONVERSATION_KEPT)
    );
    let mut a = s.client();
    a.resume(ACCOUNT, 1001, session.token).unwrap_err();
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    match a.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => assert_eq!(
            list.iter().map(|c| c.conversation).collect::<Vec<_>>(),
            vec![conv]
        ),
        other => panic!("{other:?}"),
    }
    // Close all: the customer is told.
    a.request(&Request::LogoutWith {
        keep_conversations: false,
    })
    .unwrap();
    loop {
        let p = jack
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("closed");
        if let Event::ConversationChanged(c) = p.event {
            if c.state == ConversationState::Closed {
                break;
            }
        }
    }
    // An agent opens a conversation with a customer itself: one the account has seen
    // (a contact), not just any id (issue 12).
    let kate = Request::InitiateConversation {
        customer: CustomerId::Identified("kate".into()),
        channel: Channel::Desktop,
    };
    assert_eq!(
        other.request(&kate).unwrap_err().code(),
        Some(ErrorCode::UNKNOWN_CUSTOMER)
    );
    other
        .request(&Request::CreateContact {
            customer: CustomerId::Identified("kate".into()),
            state: kefu_wire::crm::ContactState::Friend,
            edit: kefu_wire::crm::ContactEdit::default(),
        })
        .unwrap();
    match other.request(&kate).unwrap() {
        Response::Conversation(c) => assert_eq!(assigned_to(&c), Some(1002)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn cap_off_queues_and_a_transfer_to_a_busy_agent_waits_then_fails_back() {
    use kefu_wire::chat::Alert;
    let start = (now() + 86_400) * 1000;
    let clock = std::sync::Arc::new(kefu_daemon::clock::ManualClock::new(start));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    // Cap "off": nothing is auto-accepted.
    let mut sender = agent(&s, 0);
    let mut liam = customer(&s, &k, "liam");
    let conv = open(&mut liam);
    assert_eq!(conv.state, ConversationState::Queued { target: None });
    sender
        .request(&Request::AcceptConversation {
            conversation: conv.conversation,
        })
        .unwrap();
    // The target is busy: the transfer waits in its queue, and the target is told.
    let mut busy = agent_n(&s, &mut admin, 1002, 3);
    busy.request(&Request::SetPresence {
        presence: Presence::Busy,
    })
    .unwrap();
    match sender
        .request(&Request::TransferConversation {
            conversation: conv.conversation,
            to_agent: 1002,
        })
        .unwrap()
    {
        Response::Conversation(c) => {
            assert_eq!(c.state, ConversationState::Queued { target: Some(1002) })
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        alert_of(&mut busy, Duration::from_secs(20)),
        Alert::TransferOffered { from: 1001, .. }
    ));
    // The sender is told it waits (PROTOCOL.md 12.12).
    assert!(matches!(
        alert_of(&mut sender, Duration::from_secs(20)),
        Alert::TransferWaiting { to: 1002, .. }
    ));
    // Not taken within the timeout (120 s): back to the sender.
    clock.advance(121_000);
    assert!(matches!(
        alert_of(&mut sender, Duration::from_secs(20)),
        Alert::TransferFailedBack { to: 1002 }
    ));
    match sender.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => {
            assert_eq!(
                list.iter().map(|c| c.conversation).collect::<Vec<_>>(),
                vec![conv.conversation]
            )
        }
        other => panic!("{other:?}"),
    }
}

/// Client message ids in any order are stored once: ids above the sender's highest
/// skip the store read, lower ones are looked up, also after a restart.
#[test]
fn retries_are_stored_once_whatever_the_order_of_client_ids() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let _a = agent(&s, 5);
    let mut c = customer(&s, &k, "orderless");
    let conv = open(&mut c).conversation;
    let (m5, d) = send(&mut c, conv, 5, "five");
    assert!(!d);
    let (m3, d) = send(&mut c, conv, 3, "three");
    assert!(!d, "a lower id that was never used is new");
    assert_eq!(send(&mut c, conv, 5, "five"), (m5, true));
    assert_eq!(send(&mut c, conv, 3, "three"), (m3, true));
    drop((c, _a, admin));
    s.restart();
    let _a = agent(&s, 5);
    let mut c = customer(&s, &k, "orderless");
    assert_eq!(send(&mut c, conv, 3, "three"), (m3, true));
    assert_eq!(send(&mut c, conv, 5, "five"), (m5, true));
    let (m4, d) = send(&mut c, conv, 4, "four");
    assert!(!d && m4 > m5, "new after the restart: {m4}");
    let (m6, d) = send(&mut c, conv, 6, "six");
    assert!(!d && m6 > m4);
}

/// Waits for the next `ConversationChanged` push about `conversation`.
fn next_change(c: &mut Client, conversation: u64) -> kefu_wire::chat::ConversationInfo {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("a conversation push");
        if let Event::ConversationChanged(info) = p.event {
            if info.conversation == conversation {
                return info;
            }
        }
    }
}

/// The waiting list is live: agents that see a queued conversation are told when it
/// arrives and when another agent takes it.
#[test]
fn queue_changes_are_pushed_to_the_agents_that_see_them() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut first = agent(&s, 0);
    let mut second = agent_n(&s, &mut admin, 1002, 0);
    let mut alice = customer(&s, &k, "alice");
    let conv = open(&mut alice).conversation;
    for a in [&mut first, &mut second] {
        assert_eq!(
            next_change(a, conv).state,
            ConversationState::Queued { target: None }
        );
    }
    first
        .request(&Request::AcceptConversation { conversation: conv })
        .unwrap();
    assert_eq!(assigned_to(&next_change(&mut second, conv)), Some(1001));
}
