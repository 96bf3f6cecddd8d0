//! Group commit off the loop (`fsync` mode, `centre/pipeline.rs`), in memory: the
//! harness turns the centre's committer on, so each batch is written on the
//! committer thread and its report comes back through the mailbox, which the harness
//! hands to the centre only when the test says (`Harness::deliver_one`): until then
//! the batch is in flight, whatever the thread has done.
//!
//! Rules checked: nothing is answered or pushed before its batch is durable; the
//! turns behind a batch in flight accumulate into the next one; a retry of a client
//! message id whose first copy is in flight is a duplicate, not a second message; a
//! failed batch refuses itself and every turn that stood on it, releases none of
//! their pushes, and leaves the centre answering as a fresh one over the same store.

mod centre_support;

use centre_support::*;
use kefu_wire::chat::{ConversationInfo, Entry, MessageBody};
use kefu_wire::{ErrorCode, Event, Request, Response};

const ACCOUNT: u64 = 870_301;

fn open(h: &mut Harness, customer: usize) -> ConversationInfo {
    match h.ok(customer, Request::OpenConversation { entry: Entry::Auto }) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    }
}

fn send(conversation: u64, id: u64, text: &str) -> Request {
    Request::SendMessage {
        conversation,
        client_msg_id: id,
        body: MessageBody::Text(text.into()),
    }
}

fn sent(answer: Option<kefu_daemon::centre::Answer>) -> (u64, bool) {
    match answer {
        Some(Ok(Response::Sent { message, duplicate })) => (message, duplicate),
        other => panic!("{other:?}"),
    }
}

fn pushed_ids(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.id),
            _ => None,
        })
        .collect()
}

fn stored_ids(h: &mut Harness, conn: usize, conversation: u64) -> Vec<u64> {
    match h.ok(
        conn,
        Request::ConversationMessages {
            conversation,
            after: 0,
            limit: 50,
        },
    ) {
        Response::Messages(list) => list.iter().map(|m| m.id).collect(),
        other => panic!("{other:?}"),
    }
}

/// An account with agent 1001 (auto-accept) and customer alice in a conversation
/// with it, the committer on.
fn pipelined() -> (Harness, usize, usize, u64) {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let (agent, _) = h.agent(ACCOUNT, 1001);
    h.ok(agent, Request::SetAutoAccept { cap: 5 });
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.take_pushes(agent);
    h.centre.commit_off_loop().expect("a committer thread");
    (h, agent, alice, conv)
}

#[test]
fn answers_wait_for_durability_and_later_turns_ride_the_next_batch() {
    let (mut h, agent, alice, conv) = pipelined();
    let writes = h.store.writes();
    let first = h.turn(|h| h.send(alice, send(conv, 1, "one"))).0;
    assert!(!h.answered(first), "answered before its batch was durable");
    assert!(h.take_pushes(agent).is_empty(), "pushed before durable");
    // The next turn runs while the first batch is in flight: a new message and a
    // retry of the first one's client id.
    let (second, retry) = h
        .turn(|h| {
            (
                h.send(alice, send(conv, 2, "two")),
                h.send(alice, send(conv, 1, "one")),
            )
        })
        .0;
    assert!(!h.answered(second) && !h.answered(retry));
    // The first batch's report: its answer and push go out; the second turn's records
    // are written as the next batch, and wait for it.
    h.turn(Harness::deliver_one);
    let (one, dup) = sent(h.take_answer(first));
    assert!(!dup);
    assert_eq!(pushed_ids(&h.take_pushes(agent)), vec![one]);
    assert!(!h.answered(second) && !h.answered(retry));
    h.turn(Harness::deliver_one);
    assert_eq!(h.store.writes(), writes + 2, "three turns, two batches");
    let (two, dup) = sent(h.take_answer(second));
    assert!(!dup && two > one);
    assert_eq!(
        sent(h.take_answer(retry)),
        (one, true),
        "a retry in flight is a duplicate"
    );
    assert_eq!(pushed_ids(&h.take_pushes(agent)), vec![two]);
    assert_eq!(stored_ids(&mut h, agent, conv), vec![one, two]);
}

#[test]
fn a_failed_batch_refuses_every_turn_that_stood_on_it() {
    let (mut h, agent, alice, conv) = pipelined();
    let (one, _) = match h.ok(alice, send(conv, 1, "kept")) {
        Response::Sent { message, duplicate } => (message, duplicate),
        other => panic!("{other:?}"),
    };
    h.take_pushes(agent);
    h.store.fail_next_write();
    let lost = h.turn(|h| h.send(alice, send(conv, 2, "lost"))).0;
    let behind = h.turn(|h| h.send(alice, send(conv, 3, "behind"))).0;
    h.turn(Harness::deliver_one);
    for c in [lost, behind] {
        match h.take_answer(c) {
            Some(Err(e)) => assert_eq!(e.code, ErrorCode::STORAGE_FAILURE),
            other => panic!("{other:?}"),
        }
    }
    assert!(
        pushed_ids(&h.take_pushes(agent)).is_empty(),
        "nothing of a refused batch is pushed"
    );
    // Memory equals the disk: the same answers as a fresh centre over the same store.
    let stored = stored_ids(&mut h, agent, conv);
    assert_eq!(stored, vec![one]);
    let mut fresh = h.reopened();
    let (fresh_agent, _) = fresh.agent(ACCOUNT, 1001);
    assert_eq!(stored_ids(&mut fresh, fresh_agent, conv), stored);
    // And the service goes on: the same client ids are new messages now.
    let retried = h.ok(alice, send(conv, 2, "lost"));
    assert!(
        matches!(retried, Response::Sent { duplicate: false, message } if message > one),
        "{retried:?}"
    );
}
