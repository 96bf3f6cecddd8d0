//! Resumable sessions in the centre, in memory (`centre_support`): a detached agent
//! stays online and its pushes are kept; a resume within the window replays them on
//! the new connection; the window is measured on the turn's clock, and once it has
//! passed the session is ended by the next commit (the agent is offline, new
//! customers wait) and its token is refused; a newer login in the same turn as a
//! resume wins. The socket-level behaviour (slow consumers, renumbering, shards,
//! restarts) is in `resume.rs`.

mod centre_support;

use centre_support::*;
use kefu_daemon::session::Phase;
use kefu_wire::chat::{ConversationInfo, ConversationState, Entry, MessageBody};
use kefu_wire::{ErrorCode, Event, Request, Response, ResumeToken};

const ACCOUNT: u64 = 880_001;

fn open(h: &mut Harness, customer: usize) -> ConversationInfo {
    match h.ok(customer, Request::OpenConversation { entry: Entry::Auto }) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    }
}

fn say(h: &mut Harness, conn: usize, conversation: u64, id: u64) -> u64 {
    let request = Request::SendMessage {
        conversation,
        client_msg_id: id,
        body: MessageBody::Text(format!("message {id}")),
    };
    match h.ok(conn, request) {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

fn message_ids(events: &[Event]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.id),
            _ => None,
        })
        .collect()
}

fn enable(h: &mut Harness, conn: usize) -> ResumeToken {
    match h.ok(conn, Request::EnableResume) {
        Response::ResumeEnabled { token, window_secs } => {
            assert_eq!(i64::from(window_secs), 60);
            token
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_detached_agent_is_resumed_within_the_window_and_ended_after_it() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let (a, _) = h.agent(ACCOUNT, 1001);
    h.ok(a, Request::SetAutoAccept { cap: 5 });
    let token = enable(&mut h, a);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.take_pushes(a);

    // Detached: the agent is still served conversations, its pushes are kept.
    h.turn(|h| h.disconnect(a));
    let m1 = say(&mut h, alice, conv, 1);
    let bob = h.customer(ACCOUNT, "bob");
    let served = ConversationState::Assigned { agent: 1001 };
    assert_eq!(open(&mut h, bob).state, served);
    // 59 s on, still within the window.
    h.clock.advance(59_000);
    let b = h.connect();
    let resumed = h.call(b, Request::ResumeSession { token, last_ack: 0 });
    assert_eq!(resumed, Ok(Response::Resumed { replayed: 2 }));
    let replay = h.take_pushes(b);
    assert_eq!(replay.len(), 2, "{replay:?}");
    assert_eq!(message_ids(&replay), vec![m1]);
    let agent = Phase::Agent {
        account: ACCOUNT,
        agent: 1001,
    };
    assert_eq!(h.conn(b).phase, agent);
    let m2 = say(&mut h, alice, conv, 2);
    assert_eq!(message_ids(&h.take_pushes(b)), vec![m2]);

    // Detached again; the window runs from this turn. Past it, the next commit ends
    // the session: nothing is kept any more, the token resumes nothing.
    h.turn(|h| h.disconnect(b));
    h.clock.advance(60_001);
    h.turn(|_| ());
    let c = h.connect();
    let request = Request::ResumeSession { token, last_ack: 0 };
    assert_eq!(h.refused(c, request), ErrorCode::RESUME_REJECTED);
    assert_eq!(h.conn(c).phase, Phase::Ready);
    // Offline: a new customer waits in the queue.
    let carol = h.customer(ACCOUNT, "carol");
    let waiting = ConversationState::Queued { target: None };
    assert_eq!(open(&mut h, carol).state, waiting);
}

#[test]
fn a_customer_session_is_resumed_as_the_same_customer() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let (a, _) = h.agent(ACCOUNT, 1001);
    h.ok(a, Request::SetAutoAccept { cap: 5 });
    let dora = h.customer(ACCOUNT, "dora");
    let conv = open(&mut h, dora).conversation;
    let token = enable(&mut h, dora);
    h.turn(|h| h.disconnect(dora));
    let reply = say(&mut h, a, conv, 1);
    let again = h.connect();
    let request = Request::ResumeSession { token, last_ack: 0 };
    assert_eq!(
        h.call(again, request),
        Ok(Response::Resumed { replayed: 1 })
    );
    assert_eq!(message_ids(&h.take_pushes(again)), vec![reply]);
    assert_eq!(h.conn(again).phase, Phase::Customer { account: ACCOUNT });
    // Its open conversation is still its own.
    say(&mut h, again, conv, 2);
    // A wrong secret resumes nothing and changes nothing.
    let other = h.connect();
    let forged = ResumeToken {
        secret: [7; 32],
        ..token
    };
    let request = Request::ResumeSession {
        token: forged,
        last_ack: 0,
    };
    assert_eq!(h.refused(other, request), ErrorCode::RESUME_REJECTED);
    assert_eq!(h.conn(other).phase, Phase::Ready);

    // A resume and a newer login of the same customer in one turn: the login wins,
    // the resume is refused and its connection is not logged in.
    h.turn(|h| h.disconnect(again));
    let (late, fresh) = (h.connect(), h.connect());
    let login = h.customer_login_request(ACCOUNT, "dora");
    let (resumed, logged_in) = h
        .turn(|h| {
            let request = Request::ResumeSession { token, last_ack: 0 };
            (h.send(late, request), h.send(fresh, login))
        })
        .0;
    let refused = h.take_answer(resumed).expect("answered");
    assert_eq!(refused.map_err(|e| e.code), Err(ErrorCode::RESUME_REJECTED));
    assert_eq!(h.conn(late).phase, Phase::Ready);
    assert!(matches!(
        h.take_answer(logged_in),
        Some(Ok(Response::CustomerLoggedIn(_)))
    ));
}
