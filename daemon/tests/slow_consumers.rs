//! Slow consumers and overload through real sockets against a real kefud
//! (PROTOCOL.md section 6.2):
//! - an agent that stops reading is told `GoAway` `SLOW_CONSUMER`, and finds it
//!   when it reads again *after* the server has closed the connection (the kernel
//!   kept room for it); its resumable session then resumes from the last push it
//!   processed and gets every stored message exactly once;
//! - a client that pipelines requests without reading the answers is told the same;
//! - a shard behind on its requests answers the excess `OVERLOADED`, and every
//!   message acknowledged `Sent` is stored and delivered exactly once, none refused.
//!
//! The misbehaving peers are raw TCP streams speaking frames by hand. Every wait is
//! a read with a bounded timeout or a counter the test waits on, never a sleep, and
//! nothing is asserted about time.

mod support;

use bytes::BytesMut;
use kefu_wire::chat::{ConversationState, Entry};
use kefu_wire::{
    Body, ErrorBody, ErrorCode, Event, FrameKind, GoAway, PushAck, Request, Response, ResumeToken,
};
use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;
use support::raw::{message_ids, text, total, Raw, PATIENCE};
use support::*;

const ACCOUNT: u64 = 870_001;

impl Raw {
    fn connect(addr: SocketAddr) -> Raw {
        Raw::greet(
            TcpStream::connect(addr).expect("connect"),
            "slow-consumers-test",
        )
    }
}

/// Waits (a bounded loop on the daemon's own counter) until at most `n`
/// connections are open.
fn until_connections_at_most(s: &TestServer, n: u64) {
    let start = Instant::now();
    while total(s, |c| c.connections()) > n {
        assert!(
            start.elapsed() < PATIENCE,
            "still {} connections",
            total(s, |c| c.connections())
        );
        std::thread::yield_now();
    }
}

/// The customer's conversation with agent 1001, and its client.
fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> (kefu_wire::Client, u64) {
    let mut c = login_customer(s.client(), key, ACCOUNT, id, now() + 86_400);
    match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => {
            assert_eq!(info.state, ConversationState::Assigned { agent: 1001 });
            (c, info.conversation)
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_stalled_reader_finds_its_goodbye_after_the_close_and_resumes_losing_nothing() {
    let s = TestServer::start_with(|c| {
        c.limits.max_frame_bytes = 16 * 1024;
        c.limits.max_pending_output_bytes = 64 * 1024;
        // The bytes bound, not the push window, decides.
        c.limits.max_unacked_pushes = 100_000;
        // The shortest grace there is: the connection is closed here long before
        // the agent reads again.
        c.timeouts.closing_grace_secs = 1;
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = Raw::connect(s.addr());
    let login = Request::Login {
        account: ACCOUNT,
        agent: 1001,
        password: PASSWORD.into(),
        otp: None,
    };
    assert!(matches!(agent.request(&login, 1), Response::LoggedIn(_)));
    agent.request(&Request::SetAutoAccept { cap: 10 }, 2);
    let token: ResumeToken = match agent.request(&Request::EnableResume, 3) {
        Response::ResumeEnabled { token, .. } => token,
        other => panic!("{other:?}"),
    };
    let (mut c, conversation) = customer(&s, &key, "alice");
    // The agent reads nothing from here on. 3 KiB messages until the verdict: its
    // kernel buffers fill, then the server's output bound overflows.
    let mut sent = Vec::new();
    while total(&s, |c| c.slow_consumers()) == 0 {
        assert!(sent.len() < 2_000, "no slow-consumer verdict");
        let request = Request::SendMessage {
            conversation,
            client_msg_id: sent.len() as u64 + 1,
            body: text(3_000, sent.len() as u64 + 1),
        };
        match c.request(&request).unwrap() {
            Response::Sent { message, .. } => sent.push(message),
            other => panic!("{other:?}"),
        }
    }
    // Admin and customer remain once the server has closed the agent's connection.
    until_connections_at_most(&s, 2);
    // Reading again, sending nothing: what was in flight, then the goodbye, then
    // the end of the stream.
    let (pushes, goaway) = agent.pushes_until_goodbye();
    assert_eq!(goaway.code, ErrorCode::SLOW_CONSUMER, "{goaway:?}");
    assert!(goaway.message.contains("65536 bytes"), "{goaway:?}");
    let delivered = message_ids(&pushes);
    assert!(delivered.len() < sent.len(), "the backlog was dropped");
    assert_eq!(delivered[..], sent[..delivered.len()], "in order, no gap");
    // The agent processed the first two messages only; it resumes from there.
    let processed = pushes
        .iter()
        .filter(|p| matches!(p.event, Event::Message(_)))
        .nth(1)
        .expect("two messages")
        .seq;
    let seen_before: Vec<u64> = delivered[..2].to_vec();
    let mut new = s.client();
    new.resume_session(token, processed).unwrap();
    let marker = {
        let request = Request::SendMessage {
            conversation,
            client_msg_id: 1_000_000,
            body: text(10, 0),
        };
        match c.request(&request).unwrap() {
            Response::Sent { message, .. } => message,
            other => panic!("{other:?}"),
        }
    };
    sent.push(marker);
    let mut seen = seen_before;
    while seen.last() != Some(&marker) {
        let p = new.next_push(PATIENCE).unwrap().expect("a replayed push");
        if let Event::Message(m) = p.event {
            seen.push(m.id);
        }
    }
    assert_eq!(seen, sent, "every stored message exactly once, in order");
}

#[test]
fn a_client_pipelining_requests_without_reading_is_a_slow_consumer() {
    let s = TestServer::start_with(|c| {
        c.limits.max_frame_bytes = 16 * 1024;
        c.limits.max_pending_output_bytes = 64 * 1024;
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut raw = Raw::connect(s.addr());
    let login = Request::Login {
        account: ACCOUNT,
        agent: 1001,
        password: PASSWORD.into(),
        otp: None,
    };
    assert!(matches!(raw.request(&login, 1), Response::LoggedIn(_)));
    // `ListAgents` answers are larger than the requests: write bursts of them and
    // read nothing until the server gives up on us.
    let mut correlation = 1u32;
    let mut chunk = BytesMut::new();
    while total(&s, |c| c.slow_consumers()) == 0 {
        assert!(correlation < 2_000_000, "no slow-consumer verdict");
        chunk.clear();
        for _ in 0..500 {
            correlation += 1;
            Request::ListAgents.write_frame(correlation, &mut chunk);
        }
        if raw.stream.write_all(&chunk).is_err() {
            // The server stopped reading us: the verdict is on its way.
            break;
        }
    }
    let mut answered = 0u32;
    let goaway = loop {
        let frame = raw.frame().expect("the goodbye before the end");
        match frame.kind {
            // Answers, or (should the shard fall behind) OVERLOADED refusals.
            FrameKind::Response | FrameKind::Error => {
                answered += 1;
                assert_eq!(frame.correlation, answered + 1, "answers in order");
            }
            FrameKind::Push => {}
            FrameKind::GoAway => break GoAway::decode(&frame.body).unwrap(),
            _ => panic!("unexpected {frame:?}"),
        }
    };
    assert_eq!(goaway.code, ErrorCode::SLOW_CONSUMER, "{goaway:?}");
    assert!(answered + 1 < correlation, "the backlog was dropped");
    // Others are served as before.
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.ping().unwrap();
}

#[test]
fn a_shard_behind_answers_overloaded_and_loses_nothing_acknowledged() {
    let s = TestServer::start_with(|c| {
        // A tiny budget, and overloaded as soon as one turn leaves requests over.
        c.limits.max_requests_per_turn = 4;
        c.limits.overload_after_ms = 0;
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = s.client();
    agent.login(ACCOUNT, 1001, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    // The customer, on a raw connection that pipelines bursts of messages.
    let mut raw = Raw::connect(s.addr());
    let expires_at = now() + 86_400;
    let login = Request::CustomerLogin {
        account: ACCOUNT,
        customer: "bob".into(),
        expires_at,
        signature: kefu_daemon::shard::sign_customer(&key, ACCOUNT, "bob", expires_at),
        channel: kefu_wire::chat::Channel::Desktop,
    };
    assert!(matches!(
        raw.request(&login, 1),
        Response::CustomerLoggedIn(_)
    ));
    let conversation = match raw.request(&Request::OpenConversation { entry: Entry::Auto }, 2) {
        Response::Conversation(info) => info.conversation,
        other => panic!("{other:?}"),
    };
    let (mut stored, mut refused) = (Vec::new(), 0u32);
    let mut correlation = 2u32;
    for _burst in 0..50 {
        let first = correlation + 1;
        let mut chunk = BytesMut::new();
        for _ in 0..100 {
            correlation += 1;
            let request = Request::SendMessage {
                conversation,
                client_msg_id: u64::from(correlation),
                body: text(20, u64::from(correlation)),
            };
            request.write_frame(correlation, &mut chunk);
        }
        raw.stream.write_all(&chunk).unwrap();
        // Every request is answered exactly once: stored, or refused.
        let mut answered = std::collections::BTreeSet::new();
        while answered.len() < 100 {
            let frame = raw.frame().expect("an answer");
            match frame.kind {
                FrameKind::Push => continue,
                FrameKind::Response => match Response::decode(&frame.body).unwrap() {
                    Response::Sent { message, .. } => stored.push((frame.correlation, message)),
                    other => panic!("{other:?}"),
                },
                FrameKind::Error => {
                    let e = ErrorBody::decode(&frame.body).unwrap();
                    assert_eq!(e.code, ErrorCode::OVERLOADED, "{e:?}");
                    refused += 1;
                }
                _ => panic!("unexpected {frame:?}"),
            }
            assert!((first..=correlation).contains(&frame.correlation));
            assert!(answered.insert(frame.correlation), "answered twice");
        }
        if refused > 0 {
            break;
        }
    }
    assert!(refused > 0, "no OVERLOADED answer");
    // The operator sees them too (`kefu_overloaded_total`).
    assert!(total(&s, |c| c.overloaded()) >= refused as u64);
    assert!(!stored.is_empty(), "nothing served");
    // The agent gets exactly the messages acknowledged, in order; the shard serves
    // again once it has caught up.
    let mut delivered = Vec::new();
    let ids: Vec<u64> = stored.iter().map(|(_, m)| *m).collect();
    while delivered.len() < ids.len() {
        let p = agent.next_push(PATIENCE).unwrap().expect("a message push");
        if let Event::Message(m) = p.event {
            delivered.push(m.id);
        }
    }
    assert_eq!(delivered, ids, "every acknowledged message once, in order");
    raw.send(&PushAck { up_to: u64::MAX }, 0);
    let request = Request::SendMessage {
        conversation,
        client_msg_id: 9_999_999,
        body: text(10, 0),
    };
    let after = raw.request(&request, correlation + 1);
    assert!(matches!(after, Response::Sent { .. }), "{after:?}");
}
