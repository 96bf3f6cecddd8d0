//! Internal chat between agents (C11, manual §3.1; PROTOCOL.md section 24) through real
//! sockets to a real kefud with the client library: acknowledged once stored, stored
//! once however often a send is retried (also after a restart), pushed to the
//! receiver, readable as paged history and searchable after a reconnect and a restart
//! without loss or duplicates; refusals told apart; customers cannot use it.

mod support;

use kefu_wire::internal::InternalMessage;
use kefu_wire::{Client, ErrorCode, Event, Request, Response};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 814_011;

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a
}

fn send(
    c: &mut Client,
    to: u32,
    client_msg_id: u64,
    text: &str,
) -> Result<(u64, bool), Option<ErrorCode>> {
    match c.request(&Request::SendInternal {
        to,
        client_msg_id,
        text: text.into(),
    }) {
        Ok(Response::Sent { message, duplicate }) => Ok((message, duplicate)),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code()),
    }
}

fn history(c: &mut Client, with: u32, before: u64, limit: u16) -> Vec<InternalMessage> {
    match c
        .request(&Request::InternalHistory {
            with,
            before,
            limit,
        })
        .unwrap()
    {
        Response::InternalMessages(m) => m,
        other => panic!("{other:?}"),
    }
}

fn search(c: &mut Client, with: Option<u32>, text: &str) -> Vec<InternalMessage> {
    match c
        .request(&Request::SearchInternal {
            with,
            text: text.into(),
            limit: 100,
        })
        .unwrap()
    {
        Response::InternalMessages(m) => m,
        other => panic!("{other:?}"),
    }
}

fn texts(ms: &[InternalMessage]) -> Vec<&str> {
    ms.iter().map(|m| m.text.as_str()).collect()
}

/// The next `InternalMessage` push, skipping others.
fn internal_push(c: &mut Client) -> InternalMessage {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("an InternalMessage push");
        if let Event::InternalMessage(m) = p.event {
            return m;
        }
    }
}

#[test]
fn internal_chat_3_1_acked_stored_once_pushed_and_kept_over_reconnect_and_restart() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    add_agent(&mut admin, ACCOUNT, 1003, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let mut ann = agent(&s, 1001);
    let mut bob = agent(&s, 1002);

    let (first, dup) = send(&mut ann, 1002, 1, "下午三点开会").unwrap();
    assert!(!dup);
    let got = internal_push(&mut bob);
    assert_eq!((got.id, got.from, got.to), (first, 1001, 1002));
    assert_eq!(got.text, "下午三点开会");
    // A retry is answered with the first id and stores nothing.
    assert_eq!(send(&mut ann, 1002, 1, "下午三点开会"), Ok((first, true)));
    let (reply, _) = send(&mut bob, 1001, 1, "好的，会议室见").unwrap();
    assert_eq!(internal_push(&mut ann).id, reply);

    // Refusals, told apart; nothing stored.
    assert_eq!(
        send(&mut ann, 1001, 2, "me"),
        Err(Some(ErrorCode::INTERNAL_TO_SELF))
    );
    assert_eq!(
        send(&mut ann, 4321, 2, "who"),
        Err(Some(ErrorCode::UNKNOWN_AGENT))
    );
    let long = "长".repeat(4001);
    assert_eq!(
        send(&mut ann, 1002, 2, &long),
        Err(Some(ErrorCode::MESSAGE_TOO_LONG))
    );
    assert_eq!(
        send(&mut ann, 1002, 2, "  "),
        Err(Some(ErrorCode::INVALID_ARGUMENT))
    );
    let mut ivy = login_customer(s.client(), &key, ACCOUNT, "ivy", now() + 86_400);
    assert_eq!(
        send(&mut ivy, 1001, 1, "hi"),
        Err(Some(ErrorCode::PERMISSION_DENIED))
    );
    assert_eq!(
        ivy.request(&Request::InternalHistory {
            with: 1001,
            before: 0,
            limit: 10
        })
        .unwrap_err()
        .code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );

    // Bob goes away; messages sent meanwhile are in the history when he is back.
    drop(bob);
    let (third, _) = send(&mut ann, 1002, 3, "发票已经寄出").unwrap();
    let (fourth, _) = send(&mut ann, 1002, 4, "请查收发票").unwrap();
    send(&mut ann, 1003, 5, "another pair").unwrap();
    let mut bob = agent(&s, 1002);
    let all = history(&mut bob, 1001, 0, 100);
    assert_eq!(
        texts(&all),
        [
            "请查收发票",
            "发票已经寄出",
            "好的，会议室见",
            "下午三点开会"
        ]
    );
    // Pages: newest first, `before` the last page's smallest id.
    let page = history(&mut bob, 1001, 0, 2);
    assert_eq!(
        page.iter().map(|m| m.id).collect::<Vec<_>>(),
        [fourth, third]
    );
    let next = history(&mut bob, 1001, third, 2);
    assert_eq!(
        next.iter().map(|m| m.id).collect::<Vec<_>>(),
        [reply, first]
    );
    assert!(history(&mut bob, 1001, first, 2).is_empty());
    // Search: by text, case-insensitive, with one agent or everyone the asker talked to.
    assert_eq!(
        texts(&search(&mut bob, Some(1001), "发票")),
        ["请查收发票", "发票已经寄出"]
    );
    assert_eq!(texts(&search(&mut ann, None, "ANOTHER")), ["another pair"]);
    assert!(
        search(&mut bob, None, "another").is_empty(),
        "not bob's pair"
    );

    // After a restart: the same history, once; a retry is still a duplicate.
    drop((ann, bob, ivy));
    s.restart();
    let mut ann = agent(&s, 1001);
    let mut bob = agent(&s, 1002);
    assert_eq!(history(&mut ann, 1002, 0, 100), all);
    assert_eq!(send(&mut ann, 1002, 3, "发票已经寄出"), Ok((third, true)));
    let (fifth, dup) = send(&mut ann, 1002, 6, "重启之后").unwrap();
    assert!(!dup && fifth > fourth);
    assert_eq!(internal_push(&mut bob).id, fifth);
    assert_eq!(history(&mut bob, 1001, 0, 100).len(), 5);
}

/// Resumable like customer chat: internal messages pushed while the receiver's
/// connection is gone are kept for its detached session and replayed, once each, on
/// `ResumeSession`.
#[test]
fn internal_chat_3_1_pushes_are_replayed_to_a_resumed_session_once() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut ann = agent(&s, 1001);
    let mut bob = agent(&s, 1002);
    let (token, _) = bob.enable_resume().unwrap();
    let (first, _) = send(&mut ann, 1002, 1, "one").unwrap();
    assert_eq!(internal_push(&mut bob).id, first);
    let last = bob.last_processed_seq();
    drop(bob);
    let (second, _) = send(&mut ann, 1002, 2, "two").unwrap();
    let (third, _) = send(&mut ann, 1002, 3, "three").unwrap();
    let mut bob = s.client();
    bob.resume_session(token, last).unwrap();
    let (fourth, _) = send(&mut ann, 1002, 4, "four").unwrap();
    let mut seen = Vec::new();
    while seen.last() != Some(&fourth) {
        seen.push(internal_push(&mut bob).id);
    }
    assert_eq!(seen, [second, third, fourth], "each once, in order");
}
