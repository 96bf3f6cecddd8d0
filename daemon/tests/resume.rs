//! Resumable sessions through real sockets against a real kefud (PROTOCOL.md section
//! 6.1): an agent that stops reading is told `SLOW_CONSUMER`, its session waits
//! detached while customers keep writing, and a new connection resumes it from the
//! last push it processed, receiving every message exactly once; bad tokens, a window
//! that ran out (moved with the test clock) and a restart are refused
//! `RESUME_REJECTED`; a resume lands on the session's shard and takes over a
//! connection the server still thinks open.
//!
//! Every wait is a request, a read with a bounded timeout or a counter the test drives
//! forward, never a sleep.

mod support;

use kefu_wire::chat::{ConversationInfo, ConversationState, Entry, MessageBody};
use kefu_wire::{Client, ClientError, ErrorCode, Event, Presence, Request, Response, ResumeToken};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 850_001;
/// The ack window: small, so that a reader that stops is a slow consumer soon.
const WINDOW: u64 = 8;
/// The longest any single read waits.
const PATIENCE: Duration = Duration::from_secs(20);

/// A daemon (two shards) with a small ack window and the operator's test clock.
fn server() -> TestServer {
    TestServer::start_with(|c| {
        c.limits.max_unacked_pushes = WINDOW;
        c.test.clock_control = true;
    })
}

fn slow_consumers(s: &TestServer) -> u64 {
    (0..s.handle().shards())
        .filter_map(|i| s.handle().counters(i))
        .map(|c| c.slow_consumers())
        .sum()
}

fn handed_over(s: &TestServer) -> u64 {
    (0..s.handle().shards())
        .filter_map(|i| s.handle().counters(i))
        .map(|c| c.handed_over())
        .sum()
}

/// Agent 1001 logged in, serving up to 10 conversations, its session resumable.
fn resumable_agent(s: &TestServer) -> (Client, ResumeToken) {
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    let (token, window) = a.enable_resume().unwrap();
    assert_eq!(window, 60);
    (a, token)
}

/// A customer with a conversation open, and how it was routed.
fn customer_routed(s: &TestServer, key: &[u8; 32], id: &str) -> (Client, ConversationInfo) {
    let mut c = login_customer(s.client(), key, ACCOUNT, id, now() + 86_400);
    match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => (c, info),
        other => panic!("{other:?}"),
    }
}

/// A customer with a conversation open, served by 1001.
fn customer_in_conversation(s: &TestServer, key: &[u8; 32], id: &str) -> (Client, u64) {
    let (c, info) = customer_routed(s, key, id);
    let served = ConversationState::Assigned { agent: 1001 };
    assert_eq!(info.state, served, "{info:?}");
    (c, info.conversation)
}

/// Sends a text; returns the stored message's id.
fn say(c: &mut Client, conversation: u64, n: u64) -> u64 {
    let request = Request::SendMessage {
        conversation,
        client_msg_id: n,
        body: MessageBody::Text(format!("message {n}")),
    };
    match c.request(&request).unwrap() {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

/// The customer writes until the agent, which reads nothing, is told `SLOW_CONSUMER`
/// (the verdict comes in the turn that releases the message, before its `Sent`).
fn write_until_slow(s: &TestServer, c: &mut Client, conversation: u64) -> Vec<u64> {
    let before = slow_consumers(s);
    let mut sent = Vec::new();
    while slow_consumers(s) == before {
        assert!(sent.len() < 100, "no slow-consumer verdict after {sent:?}");
        sent.push(say(c, conversation, sent.len() as u64 + 1));
    }
    sent
}

fn rejected(r: Result<u64, ClientError>) {
    match r {
        Err(e) => assert_eq!(e.code(), Some(ErrorCode::RESUME_REJECTED), "{e:?}"),
        Ok(n) => panic!("resumed ({n} replayed)"),
    }
}

/// The connection is not logged in: an agent request is refused.
fn not_logged_in(c: &mut Client) {
    let e = c.request(&Request::ListAgents).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::NOT_LOGGED_IN), "{e:?}");
}

fn presence_of(c: &mut Client, agent: u32) -> Presence {
    match c
        .request(&Request::AdminListAgents { account: ACCOUNT })
        .unwrap()
    {
        Response::Agents(agents) => {
            agents
                .into_iter()
                .find(|a| a.agent == agent)
                .expect("the agent")
                .presence
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_slow_consumer_resumes_and_gets_every_message_exactly_once() {
    let s = server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let (mut old, token) = resumable_agent(&s);
    let (mut c, conversation) = customer_in_conversation(&s, &key, "alice");
    // The agent reads nothing from here on: the window fills and it is dropped.
    let mut sent = write_until_slow(&s, &mut c, conversation);
    // Written while the session waits detached.
    for _ in 0..3 {
        let n = sent.len() as u64 + 1;
        sent.push(say(&mut c, conversation, n));
    }
    // The old connection still holds what was written to it before the goodbye; the
    // agent processes only the first two messages of it, then the connection is gone.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let p = old
            .next_push(PATIENCE)
            .unwrap()
            .expect("a push before the goodbye");
        if let Event::Message(m) = p.event {
            seen.push(m.id);
        }
    }
    let last = old.last_processed_seq();
    drop(old);
    let mut new = s.client();
    let replayed = new.resume_session(token, last).unwrap();
    assert!(
        replayed >= (sent.len() - 2) as u64,
        "{replayed} for {sent:?}"
    );
    // One more after the resume: everything before it arrives first.
    let marker = say(&mut c, conversation, 1_000);
    sent.push(marker);
    let mut seqs = Vec::new();
    while seen.last() != Some(&marker) {
        let p = new.next_push(PATIENCE).unwrap().expect("a replayed push");
        seqs.push(p.seq);
        if let Event::Message(m) = p.event {
            seen.push(m.id);
        }
    }
    assert_eq!(seen, sent, "every message once, in order");
    let numbered: Vec<u64> = (1..=seqs.len() as u64).collect();
    assert_eq!(seqs, numbered, "renumbered on the new connection from 1");
    // The session is the agent's, as before.
    match new.request(&Request::WhoAmI).unwrap() {
        Response::Session(info) => assert_eq!((info.account, info.agent), (ACCOUNT, 1001)),
        other => panic!("{other:?}"),
    }
    assert_eq!(presence_of(&mut admin, 1001), Presence::Online);
}

#[test]
fn bad_tokens_are_refused_and_change_nothing() {
    let s = server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let (_old, token) = resumable_agent(&s);
    let (mut c, conversation) = customer_in_conversation(&s, &key, "bob");
    let sent = write_until_slow(&s, &mut c, conversation);
    let wrong_secret = ResumeToken {
        secret: [0x5a; 32],
        ..token
    };
    let wrong_session = ResumeToken {
        session: token.session + 1,
        ..token
    };
    let on_no_shard = ResumeToken {
        session: u64::MAX,
        ..token
    };
    for bad in [wrong_secret, wrong_session, on_no_shard] {
        let mut other = s.client();
        rejected(other.resume_session(bad, 0));
        not_logged_in(&mut other);
    }
    // The real token still works, with everything kept.
    let mut new = s.client();
    new.resume_session(token, 0).unwrap();
    let mut seen = Vec::new();
    while seen.len() < sent.len() {
        let p = new.next_push(PATIENCE).unwrap().expect("a kept push");
        if let Event::Message(m) = p.event {
            seen.push(m.id);
        }
    }
    assert_eq!(seen, sent);
    // A customer's session is resumable too; the agent's token does not resume it.
    let (_, customer_window) = c.enable_resume().unwrap();
    assert_eq!(customer_window, 60);
}

#[test]
fn after_the_window_the_session_ends_and_the_agent_is_offline() {
    let s = server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some("second password"));
    let key = customer_key(&mut admin, ACCOUNT);
    let (_old, token) = resumable_agent(&s);
    let (mut c, conversation) = customer_in_conversation(&s, &key, "carol");
    write_until_slow(&s, &mut c, conversation);
    // Detached, the agent is still online, and still gets new customers.
    assert_eq!(presence_of(&mut admin, 1001), Presence::Online);
    customer_in_conversation(&s, &key, "erin");
    // 61 s later on the daemon's clock; the customer's next request is a turn of
    // the account's shard, whose commit ends the session.
    let advanced = admin
        .request(&Request::AdminClockAdvance { ms: 61_000 })
        .unwrap();
    assert!(matches!(advanced, Response::Clock { .. }), "{advanced:?}");
    say(&mut c, conversation, 500);
    assert_eq!(presence_of(&mut admin, 1001), Presence::Offline);
    let mut late = s.client();
    rejected(late.resume_session(token, 0));
    not_logged_in(&mut late);
    // New customers are routed as when it has logged out: nobody is there, they wait.
    let (_, waiting) = customer_routed(&s, &key, "dave");
    assert!(
        matches!(waiting.state, ConversationState::Queued { .. }),
        "{waiting:?}"
    );
}

#[test]
fn a_resume_lands_on_the_sessions_shard_and_takes_over_an_open_connection() {
    let s = server();
    assert_eq!(s.handle().shards(), 2);
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let (mut current, mut token) = resumable_agent(&s);
    let start = handed_over(&s);
    // Connections land on either shard; one of them has to move. Each takes over the
    // one before, which the server still thinks open (the newer connection wins).
    let mut moved = false;
    for _ in 0..30 {
        let before = handed_over(&s);
        let mut next = s.client();
        next.resume_session(token, current.last_processed_seq())
            .unwrap();
        match current.ping() {
            Err(ClientError::Closed(Some(g))) => assert_eq!(g.code, ErrorCode::SESSION_REPLACED),
            other => panic!("the old connection: {other:?}"),
        }
        token = next.enable_resume().unwrap().0;
        current = next;
        moved |= handed_over(&s) > before;
        if moved {
            break;
        }
    }
    assert!(moved && handed_over(&s) > start, "no resume had to move");
    match current.request(&Request::WhoAmI).unwrap() {
        Response::Session(info) => assert_eq!(info.agent, 1001),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_restart_forgets_every_session() {
    let mut s = server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let (old, token) = resumable_agent(&s);
    drop(old);
    drop(admin);
    s.restart();
    let mut again = s.client();
    rejected(again.resume_session(token, 0));
    not_logged_in(&mut again);
}

#[test]
fn a_customer_resumes_on_a_new_connection_and_the_old_one_is_replaced() {
    let s = server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    let (mut old, conversation) = customer_in_conversation(&s, &key, "frank");
    let (token, _) = old.enable_resume().unwrap();
    // The agent writes; the customer's old connection reads nothing.
    let first = say(&mut a, conversation, 1);
    // The server has not seen the old connection go: the new one takes over.
    let mut new = s.client();
    assert_eq!(new.resume_session(token, 0).unwrap(), 1);
    match old.ping() {
        Err(ClientError::Closed(Some(g))) => assert_eq!(g.code, ErrorCode::SESSION_REPLACED),
        other => panic!("the old connection: {other:?}"),
    }
    let second = say(&mut a, conversation, 2);
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let p = new.next_push(PATIENCE).unwrap().expect("a message");
        if let Event::Message(m) = p.event {
            seen.push(m.id);
        }
    }
    assert_eq!(seen, vec![first, second]);
    // It is the customer, in its conversation.
    let reply = say(&mut new, conversation, 3);
    assert!(reply > second);
}

#[test]
fn logout_and_a_newer_login_end_the_session_for_good() {
    let s = server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let (mut a, token) = resumable_agent(&s);
    a.request(&Request::Logout).unwrap();
    let mut late = s.client();
    rejected(late.resume_session(token, 0));
    not_logged_in(&mut late);

    let (mut a, token) = resumable_agent(&s);
    let mut b = s.client();
    b.login(ACCOUNT, 1001, PASSWORD).unwrap();
    match a.ping() {
        Err(ClientError::Closed(Some(g))) => assert_eq!(g.code, ErrorCode::SESSION_REPLACED),
        other => panic!("the replaced connection: {other:?}"),
    }
    let mut late = s.client();
    rejected(late.resume_session(token, 0));
    // The newer login is untouched.
    b.ping().unwrap();
    assert!(matches!(
        b.request(&Request::WhoAmI).unwrap(),
        Response::Session(_)
    ));
}

#[test]
fn a_window_of_zero_turns_resuming_off() {
    let s = TestServer::start_with(|c| c.timeouts.resume_window_secs = 0);
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let e = a.enable_resume().unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::RESUME_REJECTED), "{e:?}");
}
