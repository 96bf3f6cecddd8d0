//! Idle customers (M3, manual §4.7; PROTOCOL.md section 23) through real sockets to a
//! real kefud with the client library and an injected clock: the conversation is
//! flagged at exactly the configured minute after the agent's last message, never
//! before; with the automatic reply on, the prompt goes to the customer once; a
//! customer reply clears flag and timer; off, the flag alone; the settings are a
//! business setting kept over a restart, and the timers too.

mod support;

use kefu_daemon::clock::{Clock, ManualClock};
use kefu_daemon::config::Config;
use kefu_daemon::server;
use kefu_wire::automation::{IdleInfo, IdleSettings, DEFAULT_IDLE_TEXT};
use kefu_wire::chat::{Channel, MessageBody, MessageInfo, Party};
use kefu_wire::{Client, ErrorCode, Event, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 814_007;
const MINUTE: i64 = 60_000;

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    let mut c = s.client();
    let expires_at = now() + 30 * 86_400;
    let r = c
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(key, ACCOUNT, id, expires_at),
            channel: Channel::Desktop,
        })
        .unwrap();
    assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
    c
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

fn setup(s: &TestServer) -> [u8; 32] {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    customer_key(&mut admin, ACCOUNT)
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

fn messages(c: &mut Client, conversation: u64) -> Vec<MessageInfo> {
    match c
        .request(&Request::ConversationMessages {
            conversation,
            after: 0,
            limit: 100,
        })
        .unwrap()
    {
        Response::Messages(m) => m,
        other => panic!("{other:?}"),
    }
}

fn prompts(c: &mut Client, conversation: u64, text: &str) -> usize {
    messages(c, conversation)
        .iter()
        .filter(|m| m.from == Party::System && m.body == MessageBody::Text(text.into()))
        .count()
}

fn idle_list(c: &mut Client) -> Vec<IdleInfo> {
    match c.request(&Request::ListIdleConversations).unwrap() {
        Response::IdleConversations(list) => list,
        other => panic!("{other:?}"),
    }
}

/// Two round trips: the first request's turn ends with a commit that advances the
/// timers to the clock's time; the second is answered after it.
fn settle(c: &mut Client) {
    c.request(&Request::GetServerTime).unwrap();
    c.request(&Request::GetServerTime).unwrap();
}

/// The next `IdleChanged` push, skipping others.
fn idle_push(c: &mut Client) -> IdleInfo {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("an IdleChanged push");
        if let Event::IdleChanged(info) = p.event {
            return info;
        }
    }
}

fn settings(auto_reply: bool, minutes: u16, text: &str) -> Request {
    Request::SetIdleSettings {
        settings: IdleSettings {
            remind: true,
            minutes,
            auto_reply,
            text: text.into(),
        },
    }
}

fn refused(c: &mut Client, r: &Request) -> Option<ErrorCode> {
    c.request(r).unwrap_err().code()
}

/// §4.7: five minutes by default; the prompt, when enabled, goes out once at exactly
/// the configured minute after the agent's last message — not a millisecond before,
/// not again later — and the serving agent sees the flag; the customer's reply clears it.
#[test]
fn idle_4_7_prompt_sent_once_at_exactly_the_configured_minute_and_cleared_by_a_reply() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    match boss.request(&Request::GetIdleSettings).unwrap() {
        Response::IdleSettings(d) => {
            assert_eq!(d, IdleSettings::default());
            assert_eq!((d.remind, d.minutes, d.auto_reply), (true, 5, false));
            assert_eq!(d.text, "请问您还有其他问题需要咨询吗？");
        }
        other => panic!("{other:?}"),
    }
    boss.request(&settings(true, 5, DEFAULT_IDLE_TEXT)).unwrap();
    let mut ivy = customer(&s, &key, "ivy");
    let conv = open(&mut ivy).conversation;
    send(&mut ivy, conv, 1, "一个问题");
    let answered_at = clock.now_ms();
    send(&mut boss, conv, 1, "好的，已处理");

    clock.advance(5 * MINUTE - 1);
    settle(&mut boss);
    assert!(idle_list(&mut boss).is_empty(), "flagged before its minute");
    assert_eq!(prompts(&mut ivy, conv, DEFAULT_IDLE_TEXT), 0);

    clock.advance(1);
    let flagged = idle_push(&mut boss);
    assert_eq!(
        flagged,
        IdleInfo {
            conversation: conv,
            idle: true,
            since: answered_at,
            prompted: true,
        }
    );
    // The customer got the prompt as a system message, pushed like any message.
    let prompt = loop {
        let p = ivy.next_push(Duration::from_secs(10)).unwrap().unwrap();
        match p.event {
            Event::Message(m) if m.from != Party::Agent(1001) => break m,
            _ => {}
        }
    };
    assert_eq!(prompt.from, Party::System);
    assert_eq!(prompt.at, answered_at + 5 * MINUTE);
    assert_eq!(prompt.body, MessageBody::Text(DEFAULT_IDLE_TEXT.into()));
    assert_eq!(idle_list(&mut boss), vec![flagged.clone()]);

    clock.advance(30 * MINUTE);
    settle(&mut boss);
    assert_eq!(prompts(&mut ivy, conv, DEFAULT_IDLE_TEXT), 1, "sent once");

    send(&mut ivy, conv, 2, "没有了，谢谢");
    let cleared = idle_push(&mut boss);
    assert_eq!(
        cleared,
        IdleInfo {
            idle: false,
            ..flagged
        }
    );
    assert!(idle_list(&mut boss).is_empty());
    // No agent message since the reply: no timer either.
    clock.advance(60 * MINUTE);
    settle(&mut boss);
    assert!(idle_list(&mut boss).is_empty());
    assert_eq!(prompts(&mut ivy, conv, DEFAULT_IDLE_TEXT), 1);
}

/// §4.7 with the automatic reply off (the default): the flag alone; each agent message
/// restarts the timer; a closed conversation has none; a customer cannot use the
/// settings, an agent without permission 12 cannot change them, bad values are refused.
#[test]
fn idle_4_7_setting_off_flags_only_restarts_on_agent_messages_and_is_business_setting() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    let mut ivy = customer(&s, &key, "ivy");
    let conv = open(&mut ivy).conversation;
    send(&mut boss, conv, 1, "您好");
    clock.advance(4 * MINUTE);
    settle(&mut boss);
    send(&mut boss, conv, 2, "还在吗"); // restarts the timer
    let second_at = clock.now_ms();
    clock.advance(4 * MINUTE);
    settle(&mut boss);
    assert!(
        idle_list(&mut boss).is_empty(),
        "the timer runs from the last message"
    );
    clock.advance(MINUTE);
    let flagged = idle_push(&mut boss);
    assert_eq!(
        flagged,
        IdleInfo {
            conversation: conv,
            idle: true,
            since: second_at,
            prompted: false,
        }
    );
    assert_eq!(prompts(&mut ivy, conv, DEFAULT_IDLE_TEXT), 0, "flag only");
    // Another agent message clears the flag and arms again.
    send(&mut boss, conv, 3, "请问还有问题吗");
    assert!(!idle_push(&mut boss).idle);
    boss.request(&Request::CloseConversation { conversation: conv })
        .unwrap();
    clock.advance(10 * MINUTE);
    settle(&mut boss);
    assert!(
        idle_list(&mut boss).is_empty(),
        "a closed conversation has no timer"
    );

    // Settings: validated, kept, business settings (permission 12) only.
    for bad in [
        settings(true, 0, "x"),
        settings(true, 1441, "x"),
        settings(true, 5, " \n"),
        settings(true, 5, &"问".repeat(501)),
    ] {
        assert_eq!(refused(&mut boss, &bad), Some(ErrorCode::INVALID_ARGUMENT));
    }
    give_role(&mut boss, 1002, &[1]);
    let mut other = agent(&s, 1002);
    assert_eq!(
        refused(&mut other, &settings(true, 7, "x")),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    assert_eq!(
        refused(&mut ivy, &Request::GetIdleSettings),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    boss.request(&settings(false, 7, "在吗？")).unwrap();
    match other.request(&Request::GetIdleSettings).unwrap() {
        Response::IdleSettings(got) => assert_eq!((got.minutes, got.text.as_str()), (7, "在吗？")),
        r => panic!("{r:?}"),
    }
}

/// A restart re-arms the timers from the stored records: a timer that fell due while
/// the daemon was down fires once the account loads, the prompt goes out once, and a
/// flag (and its prompt) stays as it was over a second restart.
#[test]
fn idle_4_7_timers_survive_a_restart_and_prompt_once() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let mut s = TestServer::start_clocked(clock.clone());
    let key = setup(&s);
    let conv;
    let answered_at;
    {
        let mut boss = agent(&s, 1001);
        boss.request(&settings(true, 3, "还需要帮助吗？")).unwrap();
        let mut ivy = customer(&s, &key, "ivy");
        conv = open(&mut ivy).conversation;
        answered_at = clock.now_ms();
        send(&mut boss, conv, 1, "您好");
    }
    let restart = |s: &mut TestServer| {
        if let Some(h) = s.handle.take() {
            h.shutdown();
        }
        let config = Config::for_tests(s.dir.path());
        s.handle = Some(server::start_with_clock(config, clock.clone()).expect("restarts"));
    };
    restart(&mut s);
    clock.advance(3 * MINUTE);
    let mut boss = agent(&s, 1001); // loads the account: its timers are re-armed
    settle(&mut boss);
    assert_eq!(
        idle_list(&mut boss),
        vec![IdleInfo {
            conversation: conv,
            idle: true,
            since: answered_at,
            prompted: true,
        }]
    );
    assert_eq!(prompts(&mut boss, conv, "还需要帮助吗？"), 1);
    drop(boss);
    restart(&mut s);
    clock.advance(10 * MINUTE);
    let mut boss = agent(&s, 1001);
    settle(&mut boss);
    assert_eq!(idle_list(&mut boss).len(), 1, "still flagged");
    assert_eq!(prompts(&mut boss, conv, "还需要帮助吗？"), 1, "never twice");
    match boss.request(&Request::GetIdleSettings).unwrap() {
        Response::IdleSettings(got) => assert_eq!((got.minutes, got.auto_reply), (3, true)),
        r => panic!("{r:?}"),
    }
}
