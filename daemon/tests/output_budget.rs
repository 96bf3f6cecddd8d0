//! The daemon-wide budget for unsent output (`limits.max_total_pending_output_bytes`,
//! PROTOCOL.md section 6.3) through real sockets against a real kefud: stalled
//! readers filled by pushes pass their shard's share of the budget; the largest of
//! them is told `GoAway` `SLOW_CONSUMER` (finding it when it reads again) and
//! dropped, the shard's unsent output goes back under the budget, the other
//! stalled readers and a customer reading normally keep everything sent to them,
//! and the dropped reader's resumable session resumes from the last push it
//! processed with every stored message exactly once.
//!
//! The stalled readers are raw TCP streams speaking frames by hand. Every wait is a
//! read with a bounded timeout or a counter the test waits on, never a sleep, and
//! nothing is asserted about time.

mod support;

use kefu_wire::chat::{ConversationState, Entry, MessageBody};
use kefu_wire::{Body, Event, FrameKind, Push, Request, Response, ResumeToken};
use std::time::Instant;
use support::raw::{message_ids, text, total, Raw, PATIENCE};
use support::*;

const ACCOUNT: u64 = 870_101;
/// Each shard's share of the budget (the budget is this times the shards).
const SHARE: usize = 2 << 20;

impl Raw {
    /// Connects and logs customer `id` in; returns it with its resume token and the
    /// conversation it opened with agent 1001.
    fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> (Raw, ResumeToken, u64) {
        // A small receive buffer, fixed before the connection opens: the kernel takes
        // little for a reader that stops, and nothing more later.
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
            .expect("socket");
        socket.set_recv_buffer_size(8 * 1024).expect("SO_RCVBUF");
        socket.connect(&s.addr().into()).expect("connect");
        let mut raw = Raw::greet(socket.into(), "output-budget-test");
        let expires_at = now() + 86_400;
        let login = Request::CustomerLogin {
            account: ACCOUNT,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(key, ACCOUNT, id, expires_at),
            channel: kefu_wire::chat::Channel::Desktop,
        };
        let r = raw.request(&login, 1);
        assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
        let token = match raw.request(&Request::EnableResume, 2) {
            Response::ResumeEnabled { token, .. } => token,
            other => panic!("{other:?}"),
        };
        let conversation = match raw.request(&Request::OpenConversation { entry: Entry::Auto }, 3) {
            Response::Conversation(info) => {
                assert_eq!(info.state, ConversationState::Assigned { agent: 1001 });
                info.conversation
            }
            other => panic!("{other:?}"),
        };
        (raw, token, conversation)
    }

    /// Reads (and acknowledges nothing) until `count` messages have come; a goodbye
    /// or the end of the stream fails the test.
    fn messages(&mut self, count: usize) -> Vec<u64> {
        let mut ids = Vec::new();
        while ids.len() < count {
            let frame = self.frame().expect("a message, not the end");
            assert_eq!(frame.kind, FrameKind::Push, "{frame:?}");
            if let Event::Message(m) = Push::decode(&frame.body).unwrap().event {
                ids.push(m.id);
            }
        }
        ids
    }
}

/// Waits (a bounded loop on the daemon's own counters) until `done` holds.
fn until(s: &TestServer, what: &str, done: impl Fn(&TestServer) -> bool) {
    let start = Instant::now();
    while !done(s) {
        assert!(start.elapsed() < PATIENCE, "never: {what}");
        std::thread::yield_now();
    }
}

/// Agent 1001 sends a message into `conversation`; its stored id.
fn send(
    agent: &mut kefu_wire::Client,
    conversation: u64,
    client_msg_id: u64,
    body: MessageBody,
) -> u64 {
    let request = Request::SendMessage {
        conversation,
        client_msg_id,
        body,
    };
    match agent.request(&request).unwrap() {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

#[test]
fn past_the_budget_the_largest_stalled_reader_goes_and_resumes_losing_nothing() {
    let s = TestServer::start_with(|c| {
        c.limits.max_pending_output_bytes = SHARE;
        c.limits.max_total_pending_output_bytes = SHARE * c.shard_count();
        // The bytes, not the push window, decide.
        c.limits.max_unacked_pushes = 100_000;
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut agent = s.client();
    agent.login(ACCOUNT, 1001, PASSWORD).unwrap();
    agent.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    // Three customers that stop reading after their login, and one that reads.
    let mut stalled: Vec<(Raw, ResumeToken, u64)> = ["s1", "s2", "s3"]
        .iter()
        .map(|id| Raw::customer(&s, &key, id))
        .collect();
    let mut dave = login_customer(s.client(), &key, ACCOUNT, "dave", now() + 86_400);
    let dave_conversation = open(&mut dave).conversation;
    let reader = std::thread::spawn(move || {
        let mut ids = Vec::new();
        loop {
            let push = dave.next_push(PATIENCE).unwrap().expect("a push");
            if let Event::Message(m) = push.event {
                if matches!(&m.body, MessageBody::Text(t) if t == "end") {
                    return ids;
                }
                ids.push(m.id);
            }
        }
    });
    let pending = |s: &TestServer| total(s, |c| c.pending_output());
    let mut sent: Vec<Vec<u64>> = vec![Vec::new(); 3];
    let mut to_dave = Vec::new();
    let mut next_id = 1u64;
    // 3 KiB messages to one stalled reader after another, the third first, until the
    // server holds some of its output (its kernel buffers are full): the one that
    // will hold the most is also the first to have stalled.
    for i in (0..3).rev() {
        let (base, conversation) = (pending(&s), stalled[i].2);
        while pending(&s) < base + 64 * 1024 {
            assert!(next_id < 20_000, "reader {i} never stalled");
            next_id += 1;
            sent[i].push(send(
                &mut agent,
                conversation,
                next_id,
                text(3_000, next_id),
            ));
        }
    }
    // Then rounds: stalled reader i gets i + 1 messages a round, so the third holds
    // the most, and the reading customer as many as the third; until the account's
    // shard holds more than its share unsent.
    while pending(&s) <= SHARE as u64 {
        assert!(next_id < 20_000, "the share was never passed");
        for (i, (_, _, conversation)) in stalled.iter().enumerate() {
            for _ in 0..=i {
                next_id += 1;
                sent[i].push(send(
                    &mut agent,
                    *conversation,
                    next_id,
                    text(3_000, next_id),
                ));
            }
        }
        for _ in 0..3 {
            next_id += 1;
            to_dave.push(send(
                &mut agent,
                dave_conversation,
                next_id,
                text(3_000, next_id),
            ));
        }
    }
    assert_eq!(
        total(&s, |c| c.output_budget_drops()),
        0,
        "not before a stall"
    );
    // Nothing more is sent; once they have taken nothing for a while the shard drops
    // the largest stalled reader, which brings it under the low-water mark.
    until(&s, "a connection dropped for the budget", |s| {
        total(s, |c| c.output_budget_drops()) > 0
    });
    until(&s, "the total back under the low-water mark", |s| {
        pending(s) <= (SHARE - SHARE / 4) as u64
    });
    assert_eq!(
        total(&s, |c| c.output_budget_drops()),
        1,
        "only the largest"
    );
    assert_eq!(
        total(&s, |c| c.slow_consumers()),
        1,
        "the per-connection bound was never reached"
    );
    // The reading customer was served throughout, and the agent still is.
    next_id += 1;
    send(
        &mut agent,
        dave_conversation,
        next_id,
        MessageBody::Text("end".into()),
    );
    assert_eq!(reader.join().expect("dave's reader"), to_dave);
    agent.ping().unwrap();
    // The largest stalled reader reads again: what was in flight, then the goodbye.
    let (mut s3, token, conversation) = stalled.pop().expect("s3");
    let (pushes, goaway) = s3.pushes_until_goodbye();
    assert_eq!(
        goaway.code,
        kefu_wire::ErrorCode::SLOW_CONSUMER,
        "{goaway:?}"
    );
    assert!(goaway.message.contains("budget"), "{goaway:?}");
    let delivered = message_ids(&pushes);
    assert!(delivered.len() < sent[2].len(), "the backlog was dropped");
    assert_eq!(
        delivered[..],
        sent[2][..delivered.len()],
        "in order, no gap"
    );
    // The other two were kept: everything sent to them comes, and no goodbye.
    for (i, (raw, _, _)) in stalled.iter_mut().enumerate() {
        assert_eq!(
            raw.messages(sent[i].len()),
            sent[i],
            "stalled reader {i} kept"
        );
    }
    // The dropped customer processed two messages; it resumes from there and gets
    // every stored message once, in order.
    let processed = pushes
        .iter()
        .filter(|p| matches!(p.event, Event::Message(_)))
        .nth(1)
        .expect("two messages")
        .seq;
    let mut new = s.client();
    new.resume_session(token, processed).unwrap();
    next_id += 1;
    let marker = send(&mut agent, conversation, next_id, text(10, 0));
    let mut expected = sent[2].clone();
    expected.push(marker);
    let mut seen: Vec<u64> = delivered[..2].to_vec();
    while seen.last() != Some(&marker) {
        let p = new.next_push(PATIENCE).unwrap().expect("a replayed push");
        if let Event::Message(m) = p.event {
            seen.push(m.id);
        }
    }
    assert_eq!(
        seen, expected,
        "every stored message exactly once, in order"
    );
}
