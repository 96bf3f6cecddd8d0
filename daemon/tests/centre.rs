//! The centre's account logic in memory: no socket, no sleep, time moved with a
//! `ManualClock`, storage a `MemoryStore` that can be told to refuse a write.
//!
//! The harness (`centre_support`) plays the shard loop: one commit per turn, answers
//! and pushes released only after it. Each test names the rule it checks. The
//! failing-store property test (random traffic, random refused writes) is in
//! `centre_failing_store.rs`.

mod centre_support;

use centre_support::*;
use kefu_daemon::session::Phase;
use kefu_wire::chat::{
    Alert, ConversationInfo, ConversationState, Entry, MessageBody, MessageInfo, Party,
};
use kefu_wire::{ErrorCode, Event, Presence, Request, Response, SecurityLevel, TokenFileFormat};

const ACCOUNT: u64 = 870_001;

fn open(h: &mut Harness, customer: usize) -> ConversationInfo {
    match h.ok(customer, Request::OpenConversation { entry: Entry::Auto }) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    }
}

fn send_text(h: &mut Harness, conn: usize, conversation: u64, id: u64, text: &str) -> (u64, bool) {
    match h.ok(
        conn,
        Request::SendMessage {
            conversation,
            client_msg_id: id,
            body: MessageBody::Text(text.into()),
        },
    ) {
        Response::Sent { message, duplicate } => (message, duplicate),
        other => panic!("{other:?}"),
    }
}

fn conversations(h: &mut Harness, agent: usize, request: Request) -> Vec<ConversationInfo> {
    match h.ok(agent, request) {
        Response::Conversations(list) => list,
        other => panic!("{other:?}"),
    }
}

fn ids(list: &[ConversationInfo]) -> Vec<u64> {
    list.iter().map(|c| c.conversation).collect()
}

fn messages(events: &[Event]) -> Vec<MessageInfo> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn alerts(events: &[Event]) -> Vec<Alert> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ConversationAlert { alert, .. } => Some(alert.clone()),
            _ => None,
        })
        .collect()
}

fn state(c: &Response) -> ConversationState {
    match c {
        Response::Conversation(c) => c.state,
        other => panic!("{other:?}"),
    }
}

/// R2/R3 (the cap routes, then the queue holds), idempotent retries, R13 (closing tells
/// both sides) and R5 (the freed slot pulls the oldest queued conversation).
#[test]
fn cap_routes_then_queues_and_a_close_pulls_from_the_queue() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice);
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1001 });
    h.take_pushes(a);

    let (id, dup) = send_text(&mut h, alice, conv.conversation, 1, "你好，我想咨询");
    assert!(!dup);
    let got = messages(&h.take_pushes(a));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].id, got[0].from), (id, Party::Customer));
    // A retry of the same client message id is stored once and not pushed again.
    assert_eq!(
        send_text(&mut h, alice, conv.conversation, 1, "你好，我想咨询"),
        (id, true)
    );
    assert!(messages(&h.take_pushes(a)).is_empty());
    let (reply, _) = send_text(&mut h, a, conv.conversation, 1, "您好！");
    let got = messages(&h.take_pushes(alice));
    assert_eq!(
        got.iter().map(|m| (m.id, m.from)).collect::<Vec<_>>(),
        vec![(reply, Party::Agent(1001))]
    );

    // At the cap the next customer waits; its message is kept.
    let bob = h.customer(ACCOUNT, "bob");
    let queued = open(&mut h, bob);
    assert_eq!(queued.state, ConversationState::Queued { target: None });
    let (waiting, _) = send_text(&mut h, bob, queued.conversation, 9, "anyone there?");
    assert_eq!(
        ids(&conversations(&mut h, a, Request::ListQueue)),
        vec![queued.conversation]
    );
    // Only participants write.
    let e = h.refused(
        bob,
        Request::SendMessage {
            conversation: conv.conversation,
            client_msg_id: 2,
            body: MessageBody::Text("not mine".into()),
        },
    );
    assert_eq!(e, ErrorCode::NOT_IN_CONVERSATION);

    h.take_pushes(alice);
    h.ok(
        a,
        Request::CloseConversation {
            conversation: conv.conversation,
        },
    );
    let closed = h.take_pushes(alice).into_iter().any(|e| {
        matches!(e, Event::ConversationChanged(c)
            if c.conversation == conv.conversation && c.state == ConversationState::Closed)
    });
    assert!(closed, "the customer is told the conversation closed");
    // The freed slot takes bob's conversation, history and all.
    assert!(conversations(&mut h, a, Request::ListQueue).is_empty());
    let served = conversations(&mut h, a, Request::ListConversations);
    assert_eq!(ids(&served), vec![queued.conversation]);
    assert_eq!(served[0].state, ConversationState::Assigned { agent: 1001 });
    match h.ok(
        a,
        Request::ConversationMessages {
            conversation: queued.conversation,
            after: 0,
            limit: 10,
        },
    ) {
        Response::Messages(list) => {
            assert_eq!(list.iter().map(|m| m.id).collect::<Vec<_>>(), vec![waiting])
        }
        other => panic!("{other:?}"),
    }
}

/// R14 (presence): an away agent gets no automatic conversation whatever its cap;
/// accepting by hand brings the waiting history.
#[test]
fn an_away_agent_gets_nothing_automatically_and_accepts_by_hand() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    h.ok(
        a,
        Request::SetPresence {
            presence: Presence::Away,
        },
    );
    let carol = h.customer(ACCOUNT, "carol");
    let conv = open(&mut h, carol);
    assert_eq!(conv.state, ConversationState::Queued { target: None });
    let (id, _) = send_text(&mut h, carol, conv.conversation, 1, "stored before the ack");
    match h.ok(
        a,
        Request::AcceptConversation {
            conversation: conv.conversation,
        },
    ) {
        Response::Accepted {
            conversation,
            history,
        } => {
            assert_eq!(
                conversation.state,
                ConversationState::Assigned { agent: 1001 }
            );
            assert_eq!(history.iter().map(|m| m.id).collect::<Vec<_>>(), vec![id]);
        }
        other => panic!("{other:?}"),
    }
}

/// R10 (transfer to an available agent moves the conversation and its messages) and
/// R11 (grab needs permission 2 and a confirmation).
#[test]
fn transfer_moves_the_conversation_and_grab_needs_permission_and_confirmation() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let first = h.agent_with_cap(ACCOUNT, 1001, 1);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    let second = h.agent_with_cap(ACCOUNT, 1002, 1);
    let moved = h.ok(
        first,
        Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        },
    );
    assert_eq!(state(&moved), ConversationState::Assigned { agent: 1002 });
    h.take_pushes(first);
    h.take_pushes(second);
    let (id, _) = send_text(&mut h, alice, conv, 1, "after the transfer");
    assert_eq!(ids_of(&messages(&h.take_pushes(second))), vec![id]);
    assert!(messages(&h.take_pushes(first)).is_empty());

    // 1003 has the default agent role: no grab.
    let third = h.agent_with_cap(ACCOUNT, 1003, 0);
    let grab = |confirmed| Request::GrabConversation {
        conversation: conv,
        confirmed,
    };
    assert_eq!(h.refused(third, grab(true)), ErrorCode::PERMISSION_DENIED);
    assert_eq!(
        h.refused(first, grab(false)),
        ErrorCode::GRAB_NEEDS_CONFIRMATION
    );
    let grabbed = h.ok(first, grab(true));
    assert_eq!(state(&grabbed), ConversationState::Assigned { agent: 1001 });
    let e = h.refused(
        second,
        Request::SendMessage {
            conversation: conv,
            client_msg_id: 1,
            body: MessageBody::Text("no longer mine".into()),
        },
    );
    assert_eq!(e, ErrorCode::NOT_IN_CONVERSATION);
}

fn ids_of(list: &[MessageInfo]) -> Vec<u64> {
    list.iter().map(|m| m.id).collect()
}

/// R10 with a busy target: the transfer waits in the target's queue and, untaken
/// after `transfer_timeout_secs` (120 s by default) of the injected clock, fails back.
#[test]
fn a_transfer_to_a_busy_agent_fails_back_exactly_after_the_timeout() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let sender = h.agent_with_cap(ACCOUNT, 1001, 0);
    let liam = h.customer(ACCOUNT, "liam");
    let conv = open(&mut h, liam);
    assert_eq!(conv.state, ConversationState::Queued { target: None });
    h.ok(
        sender,
        Request::AcceptConversation {
            conversation: conv.conversation,
        },
    );
    let busy = h.agent_with_cap(ACCOUNT, 1002, 3);
    h.ok(
        busy,
        Request::SetPresence {
            presence: Presence::Busy,
        },
    );
    h.take_pushes(busy);
    let offered = h.ok(
        sender,
        Request::TransferConversation {
            conversation: conv.conversation,
            to_agent: 1002,
        },
    );
    assert_eq!(
        state(&offered),
        ConversationState::Queued { target: Some(1002) }
    );
    assert!(matches!(
        alerts(&h.take_pushes(busy)).as_slice(),
        [Alert::TransferOffered { from: 1001, .. }]
    ));
    // One second before the deadline nothing happens; at it, the conversation returns.
    h.take_pushes(sender);
    h.clock.advance(119_000);
    h.turn(|_| ());
    assert!(alerts(&h.take_pushes(sender)).is_empty());
    h.clock.advance(1_000);
    h.turn(|_| ());
    assert!(matches!(
        alerts(&h.take_pushes(sender)).as_slice(),
        [Alert::TransferFailedBack { to: 1002 }]
    ));
    assert_eq!(
        ids(&conversations(&mut h, sender, Request::ListConversations)),
        vec![conv.conversation]
    );
}

/// Account expiry (§13) by the injected clock: before `expires_at` agents and customers
/// log in; from that second on, password logins, session resumes and customer logins
/// are refused with ACCOUNT_EXPIRED.
#[test]
fn logins_are_refused_from_the_second_the_account_expires() {
    let mut h = Harness::new();
    let expires_at = h.now_secs() + 3 * 86_400;
    h.create_account(ACCOUNT, expires_at);
    h.clock.set((expires_at - 1) * 1000);
    let (_, session) = h.agent(ACCOUNT, 1001);
    h.customer(ACCOUNT, "dora");

    h.clock.set(expires_at * 1000);
    let conn = h.connect();
    let password = h.login_on(conn, ACCOUNT, 1001, PASSWORD, None);
    assert_eq!(
        password.map_err(|e| e.code),
        Err(ErrorCode::ACCOUNT_EXPIRED)
    );
    let resume = h.call(
        conn,
        Request::Resume {
            account: ACCOUNT,
            agent: 1001,
            token: session.token,
        },
    );
    assert_eq!(resume.map_err(|e| e.code), Err(ErrorCode::ACCOUNT_EXPIRED));
    let login = h.customer_login_request(ACCOUNT, "dora");
    assert_eq!(
        h.call(conn, login).map_err(|e| e.code),
        Err(ErrorCode::ACCOUNT_EXPIRED)
    );
    assert_eq!(h.conn(conn).phase, Phase::Ready, "nobody logged in");
}

/// Session tokens (§4): `Resume` works until `token_expires_at` (login time plus
/// `session_ttl`) and is SESSION_INVALID from that second on; a resume replaces the
/// earlier connection (SESSION_REPLACED).
#[test]
fn a_session_token_resumes_until_its_ttl_and_not_after() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let (first, session) = h.agent(ACCOUNT, 1001);
    let ttl = h.settings().session_ttl_secs;
    assert!(ttl > 1);
    assert_eq!(session.token_expires_at, h.now_secs() + ttl);
    let resume = Request::Resume {
        account: ACCOUNT,
        agent: 1001,
        token: session.token,
    };

    h.clock.set((session.token_expires_at - 1) * 1000);
    let second = h.connect();
    match h.ok(second, resume.clone()) {
        Response::LoggedIn(info) => {
            assert_eq!((info.account, info.agent), (ACCOUNT, 1001));
            assert_eq!(info.token_expires_at, session.token_expires_at);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(h.conn(first).goaway, Some(ErrorCode::SESSION_REPLACED));
    assert_eq!(
        h.conn(second).phase,
        Phase::Agent {
            account: ACCOUNT,
            agent: 1001
        }
    );

    h.clock.set(session.token_expires_at * 1000);
    let third = h.connect();
    assert_eq!(h.refused(third, resume), ErrorCode::SESSION_INVALID);
    assert_eq!(h.conn(third).phase, Phase::Ready);
}

/// Hardware tokens (§12) by the injected clock: binding needs the current code; at
/// security level high a login needs a code, refuses the step already used (replay)
/// and codes far from the clock; the next step is accepted; a minute later, the step
/// after is too.
#[test]
fn level_high_needs_a_fresh_code_of_the_clocks_step() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let admin = h.admin;
    let imported = h.ok(
        admin,
        Request::AdminImportTokens {
            format: TokenFileFormat::Csv,
            data: format!("serial,secret\nKT-A,{SEED}\n").into_bytes(),
            key_hex: None,
            password: None,
        },
    );
    assert_eq!(
        imported,
        Response::TokensImported {
            serials: vec!["KT-A".into()]
        }
    );
    let (boss, _) = h.agent(ACCOUNT, 1001);
    let step = |h: &Harness| u64::try_from(h.now_secs()).expect("after 1970") / 60;
    let now = step(&h);
    let bind = |code: String| Request::BindToken {
        agent: 1001,
        serial: "KT-A".into(),
        code,
    };
    assert_eq!(
        h.refused(boss, bind(otp_at(now + 20))),
        ErrorCode::OTP_INVALID
    );
    h.ok(boss, bind(otp_at(now)));
    h.ok(
        boss,
        Request::SetSecurityLevel {
            level: SecurityLevel::High,
        },
    );
    let login = |h: &mut Harness, otp: Option<String>| {
        let conn = h.connect();
        h.login_on(conn, ACCOUNT, 1001, PASSWORD, otp)
            .map(|_| ())
            .map_err(|e| e.code)
    };
    assert_eq!(login(&mut h, None), Err(ErrorCode::OTP_REQUIRED));
    assert_eq!(
        login(&mut h, Some(otp_at(now))),
        Err(ErrorCode::OTP_REPLAYED)
    );
    assert_eq!(
        login(&mut h, Some(otp_at(now + 20))),
        Err(ErrorCode::OTP_INVALID)
    );
    assert_eq!(login(&mut h, Some(otp_at(now + 1))), Ok(()));
    assert_eq!(
        login(&mut h, Some(otp_at(now + 1))),
        Err(ErrorCode::OTP_REPLAYED)
    );
    h.clock.advance(60_000);
    let later = step(&h);
    assert_eq!(later, now + 1);
    assert_eq!(login(&mut h, Some(otp_at(later + 1))), Ok(()));
}

/// `Centre::commit` on a refused write: the customer's message is answered
/// STORAGE_FAILURE, the agent hears nothing, and the retry with the same client id is
/// a new message (nothing of the failed one was kept).
#[test]
fn a_refused_commit_answers_storage_failure_and_pushes_nothing() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    let erin = h.customer(ACCOUNT, "erin");
    let conv = open(&mut h, erin).conversation;
    h.take_pushes(a);
    let send = Request::SendMessage {
        conversation: conv,
        client_msg_id: 7,
        body: MessageBody::Text("lost?".into()),
    };
    h.store.fail_next_write();
    assert_eq!(h.refused(erin, send.clone()), ErrorCode::STORAGE_FAILURE);
    assert!(h.turns.last().is_some_and(|t| t.refused));
    assert!(
        h.take_pushes(a).is_empty(),
        "nothing pushed of a lost message"
    );
    match h.ok(erin, send) {
        Response::Sent { duplicate, .. } => assert!(!duplicate, "the lost one was not kept"),
        other => panic!("{other:?}"),
    }
    assert_eq!(messages(&h.take_pushes(a)).len(), 1);
}

/// A login whose commit is refused is undone: the answer is STORAGE_FAILURE, the
/// connection is not logged in, and the agent is not online.
#[test]
fn a_login_whose_commit_is_refused_leaves_the_connection_logged_out() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let conn = h.connect();
    h.store.fail_next_write();
    let answer = h.login_on(conn, ACCOUNT, 1001, PASSWORD, None);
    assert_eq!(answer.map_err(|e| e.code), Err(ErrorCode::STORAGE_FAILURE));
    assert_eq!(h.conn(conn).phase, Phase::Ready);
    match h.on_account(ACCOUNT, &Request::ListAgents) {
        Ok(Response::Agents(list)) => {
            assert!(
                list.iter().all(|a| a.presence == Presence::Offline),
                "{list:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

fn import_request(serial: &str) -> Request {
    Request::AdminImportTokens {
        format: TokenFileFormat::Csv,
        data: format!("serial,secret\n{serial},{SEED}\n").into_bytes(),
        key_hex: None,
        password: None,
    }
}

/// An answer settled in an earlier turn (a token import, committed by the token shard's
/// own turn) keeps its outcome when it is released by a turn whose commit is refused:
/// the tokens are stored, so "STORAGE_FAILURE: nothing was changed" would be false (a
/// retry then says ALREADY_EXISTS). The same holds for answers another shard sends back
/// for a forwarded request (`ShardMsg::Answer`, queued the same way).
#[test]
fn an_import_answered_in_a_refused_turn_keeps_its_success() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    h.agent_with_cap(ACCOUNT, 1001, 1);
    let erin = h.customer(ACCOUNT, "erin");
    let conv = open(&mut h, erin).conversation;
    let admin = h.admin;
    let import = h.turn(|h| h.send(admin, import_request("KT-B"))).0;
    // The import has written its tokens; its answer waits in the inbox while the
    // next turn also stores a message, and that commit is refused.
    h.wait_delivery();
    h.store.fail_next_write();
    let message = h
        .turn(|h| {
            let c = h.send(
                erin,
                Request::SendMessage {
                    conversation: conv,
                    client_msg_id: 1,
                    body: MessageBody::Text("hello".into()),
                },
            );
            h.deliver_one();
            c
        })
        .0;
    assert!(h.turns.last().is_some_and(|t| t.refused));
    assert_eq!(
        h.take_answer(message).map(|a| a.map_err(|e| e.code)),
        Some(Err(ErrorCode::STORAGE_FAILURE))
    );
    let stored = h.refused(admin, import_request("KT-B"));
    assert_eq!(
        stored,
        ErrorCode::ALREADY_EXISTS,
        "the first import was kept"
    );
    assert_eq!(
        h.take_answer(import),
        Some(Ok(Response::TokensImported {
            serials: vec!["KT-B".into()]
        })),
        "the import's answer says what happened"
    );
}
