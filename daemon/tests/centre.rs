//! The centre's account logic in memory: no socket, no sleep, time moved with a
//! `ManualClock`, storage a `MemoryStore` that can be told to refuse a write.
//!
//! The harness (`centre_support`) plays the shard loop: one commit per turn, answers
//! and pushes released only after it. Each test names the rule it checks. The last
//! one drives seeded random request sequences over two accounts while the store
//! refuses random writes, and checks after every refused commit that the centre
//! kept its promise (no success answered, no push of a refused account released)
//! and that what it shows equals what a fresh centre over the same store shows.

mod centre_support;

use centre_support::*;
use kefu_daemon::session::Phase;
use kefu_wire::chat::{
    Alert, ConversationInfo, ConversationState, CustomerId, Entry, MessageBody, MessageInfo, Party,
    RoutingConfig,
};
use kefu_wire::crm::{ContactEdit, ContactQuery, ContactSort, ContactState, TagEdit};
use kefu_wire::{
    AgentProfile, DisplayMode, ErrorCode, Event, Presence, QuickReply, Request, Response,
    SecurityLevel, TokenFileFormat,
};
use std::collections::{BTreeMap, BTreeSet};

const ACCOUNT: u64 = 870_001;
const OTHER: u64 = 870_002;

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

/// An agent logged in with auto-accept `cap`.
fn agent_with_cap(h: &mut Harness, account: u64, agent: u32, cap: u16) -> usize {
    if agent != 1001 {
        h.add_agent(account, agent);
    }
    let (conn, _) = h.agent(account, agent);
    h.ok(conn, Request::SetAutoAccept { cap });
    conn
}

/// R2/R3 (the cap routes, then the queue holds), idempotent retries, R13 (closing tells
/// both sides) and R5 (the freed slot pulls the oldest queued conversation).
#[test]
fn cap_routes_then_queues_and_a_close_pulls_from_the_queue() {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    let a = agent_with_cap(&mut h, ACCOUNT, 1001, 1);
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
    let a = agent_with_cap(&mut h, ACCOUNT, 1001, 5);
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
    let first = agent_with_cap(&mut h, ACCOUNT, 1001, 1);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    let second = agent_with_cap(&mut h, ACCOUNT, 1002, 1);
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
    let third = agent_with_cap(&mut h, ACCOUNT, 1003, 0);
    let grab = |confirmed| Request::GrabConversation {
        conversation: conv,
        confirmed,
    };
    assert_eq!(h.refused(third, grab(true)), ErrorCode::PERMISSION_DENIED);
    assert_eq!(h.refused(first, grab(false)), ErrorCode::INVALID_ARGUMENT);
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
    let sender = agent_with_cap(&mut h, ACCOUNT, 1001, 0);
    let liam = h.customer(ACCOUNT, "liam");
    let conv = open(&mut h, liam);
    assert_eq!(conv.state, ConversationState::Queued { target: None });
    h.ok(
        sender,
        Request::AcceptConversation {
            conversation: conv.conversation,
        },
    );
    let busy = agent_with_cap(&mut h, ACCOUNT, 1002, 3);
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
    let a = agent_with_cap(&mut h, ACCOUNT, 1001, 1);
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
    agent_with_cap(&mut h, ACCOUNT, 1001, 1);
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

// ---------------------------------------------------------------------------------
// The failing-store property test.

/// SplitMix64: a seeded, deterministic sequence (no dependency needed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        let i = usize::try_from(self.below(items.len() as u64)).ok()?;
        items.get(i).cloned()
    }
}

const CUSTOMERS: [&str; 4] = ["c0", "c1", "c2", "c3"];
/// Steps of each seeded sequence.
const STEPS: usize = 150;

/// What the driver knows of the two accounts.
struct World {
    h: Harness,
    rng: Rng,
    seed: u64,
    accounts: [u64; 2],
    /// Agents that exist, with whether they have a password.
    agents: BTreeMap<(u64, u32), bool>,
    next_agent: BTreeMap<u64, u32>,
    agent_conn: BTreeMap<(u64, u32), usize>,
    customer_conn: BTreeMap<(u64, &'static str), usize>,
    conversations: BTreeMap<u64, BTreeSet<u64>>,
    roles: BTreeMap<u64, BTreeSet<u32>>,
    step: usize,
    compared: usize,
    /// Who takes part in each conversation, as the last answer about it told:
    /// (account, conversation) to (serving agent, customer id).
    parties: BTreeMap<(u64, u64), (Option<u32>, String)>,
    /// Per request kind: answered with success, refused with STORAGE_FAILURE.
    outcomes: BTreeMap<&'static str, (usize, usize)>,
}

impl World {
    fn new(seed: u64) -> World {
        let mut h = Harness::new();
        let mut agents = BTreeMap::new();
        for account in [ACCOUNT, OTHER] {
            h.create_account_for_a_year(account);
            h.customer_key(account);
            agents.insert((account, 1001), true);
        }
        World {
            h,
            rng: Rng(seed),
            seed,
            accounts: [ACCOUNT, OTHER],
            agents,
            next_agent: [(ACCOUNT, 1002), (OTHER, 1002)].into(),
            agent_conn: BTreeMap::new(),
            customer_conn: BTreeMap::new(),
            conversations: BTreeMap::new(),
            roles: [(ACCOUNT, (1..=3).collect()), (OTHER, (1..=3).collect())].into(),
            step: 0,
            compared: 0,
            outcomes: BTreeMap::new(),
            parties: BTreeMap::new(),
        }
    }

    fn logged_in_agent(&self, account: u64, agent: u32) -> Option<usize> {
        let conn = *self.agent_conn.get(&(account, agent))?;
        (self.h.conn(conn).phase == Phase::Agent { account, agent }).then_some(conn)
    }

    fn logged_in_customer(&self, account: u64, id: &'static str) -> Option<usize> {
        let conn = *self.customer_conn.get(&(account, id))?;
        matches!(self.h.conn(conn).phase, Phase::Customer { account: a } if a == account)
            .then_some(conn)
    }

    /// Mostly a conversation `who` takes part in (as far as the answers told), else any.
    fn conversation_for(&mut self, account: u64, who: &Party, customer: Option<&str>) -> u64 {
        let mine: Vec<u64> = self
            .parties
            .iter()
            .filter(|((a, _), (agent, c))| {
                *a == account
                    && match who {
                        Party::Agent(n) => *agent == Some(*n),
                        _ => customer.is_some_and(|id| id == c),
                    }
            })
            .map(|((_, conv), _)| *conv)
            .collect();
        match self.rng.chance(80).then(|| self.rng.pick(&mine)).flatten() {
            Some(c) => c,
            None => self.some_conversation(account),
        }
    }

    fn some_conversation(&mut self, account: u64) -> u64 {
        let known: Vec<u64> = self
            .conversations
            .get(&account)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default();
        self.rng.pick(&known).unwrap_or(1)
    }

    fn some_agent(&mut self, account: u64) -> u32 {
        let all: Vec<u32> = self
            .agents
            .keys()
            .filter(|(a, _)| *a == account)
            .map(|(_, n)| *n)
            .collect();
        self.rng.pick(&all).unwrap_or(1001)
    }

    /// One step: a turn of up to three requests, or a slow (password) operation; the
    /// store refuses the next write with probability 30 %.
    fn step(&mut self) {
        self.step += 1;
        let refusals = self.h.store.refusals();
        if self.rng.chance(30) {
            self.h.store.fail_next_write();
        }
        if self.rng.chance(20) {
            self.slow_operation();
        } else {
            let n = 1 + self.rng.below(3);
            let mut planned = Vec::new();
            for _ in 0..n {
                let account = self.accounts[usize::from(self.rng.chance(50))];
                if let Some(p) = self.plan_request(account) {
                    planned.push(p);
                }
            }
            let sent: Vec<(u32, u64, Request)> = self
                .h
                .turn(|h| {
                    let mut sent = Vec::new();
                    for (conn, account, r) in planned {
                        // The loop reads nothing more from a paused connection.
                        if h.conn(conn).phase != Phase::LoggingIn {
                            sent.push((h.send(conn, r.clone()), account, r));
                        }
                    }
                    sent
                })
                .0;
            for (correlation, account, request) in sent {
                let answer = self.h.wait_answer(correlation);
                self.learn(account, &request, &answer);
            }
        }
        self.h.store.disarm();
        if self.h.store.refusals() > refusals {
            let evicted = self.h.store.last_refused_accounts();
            self.compare_with_a_fresh_centre(&evicted);
        }
    }

    /// Remembers what an answer tells (new conversations, roles).
    fn learn(&mut self, account: u64, request: &Request, answer: &kefu_daemon::centre::Answer) {
        let tally = self.outcomes.entry(request.name()).or_default();
        match answer {
            Ok(_) => tally.0 += 1,
            Err(e) if e.code == ErrorCode::STORAGE_FAILURE => tally.1 += 1,
            Err(_) => {}
        }
        let seen = match answer {
            Ok(Response::Conversation(c)) => Some(c.clone()),
            Ok(Response::Accepted { conversation, .. }) => Some(conversation.clone()),
            _ => None,
        };
        if let Some(c) = seen {
            let agent = match c.state {
                ConversationState::Assigned { agent } => Some(agent),
                _ => None,
            };
            let customer = match &c.customer {
                CustomerId::Identified(id) => id.clone(),
                CustomerId::Visitor(_) => String::new(),
            };
            self.parties
                .insert((account, c.conversation), (agent, customer));
        }
        match answer {
            Ok(Response::Conversation(c)) => {
                self.conversations
                    .entry(account)
                    .or_default()
                    .insert(c.conversation);
            }
            Ok(Response::Role(r)) => {
                self.roles.entry(account).or_default().insert(r.role);
            }
            Ok(Response::Ok) => {
                if let Request::AddAgent { agent, .. } = request {
                    self.agents.insert((account, *agent), false);
                }
            }
            _ => {}
        }
    }

    /// A request of one of the account's people, or `None` if nobody is there to send it.
    fn plan_request(&mut self, account: u64) -> Option<(usize, u64, Request)> {
        if self.rng.chance(40) {
            let id = self.rng.pick(&CUSTOMERS)?;
            let Some(conn) = self.logged_in_customer(account, id) else {
                let conn = self.h.connect();
                self.customer_conn.insert((account, id), conn);
                let login = self.h.customer_login_request(account, id);
                return Some((conn, account, login));
            };
            let conversation = self.conversation_for(account, &Party::Customer, Some(id));
            let request = match self.rng.below(4) {
                0 => Request::OpenConversation { entry: Entry::Auto },
                1 => Request::CloseConversation { conversation },
                _ => Request::SendMessage {
                    conversation,
                    client_msg_id: 1 + self.rng.below(6),
                    body: MessageBody::Text(format!("from {id}")),
                },
            };
            return Some((conn, account, request));
        }
        let me = self.some_agent(account);
        let conn = self.logged_in_agent(account, me)?;
        let conversation = self.conversation_for(account, &Party::Agent(me), None);
        let other = self.some_agent(account);
        let customer = CustomerId::Identified(self.rng.pick(&CUSTOMERS)?.into());
        let kind = match self.rng.below(19) {
            // Logging out is rarer than the rest; accepting more common.
            16 if self.rng.chance(75) => 0,
            kind => kind,
        };
        let request = match kind {
            0 | 18 => Request::SetAutoAccept {
                cap: u16::try_from(1 + self.rng.below(3)).unwrap_or(1),
            },
            1 => Request::SetPresence {
                presence: self
                    .rng
                    .pick(&[Presence::Online, Presence::Away, Presence::Busy])?,
            },
            2 => Request::SendMessage {
                conversation,
                client_msg_id: 1 + self.rng.below(6),
                body: MessageBody::Text(format!("from {me}")),
            },
            3 => Request::CloseConversation { conversation },
            4 => Request::TransferConversation {
                conversation,
                to_agent: other,
            },
            5 => Request::GrabConversation {
                conversation,
                confirmed: true,
            },
            6 => Request::AcceptConversation { conversation },
            7 => Request::CreateContact {
                customer,
                state: ContactState::Friend,
                edit: ContactEdit {
                    real_name: Some(format!("name {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            8 => Request::UpdateContact {
                customer,
                edit: ContactEdit {
                    remark: Some(format!("remark {}", self.rng.below(100))),
                    ..ContactEdit::default()
                },
            },
            9 => Request::SetQuickReplies {
                shared: self.rng.chance(50),
                replies: vec![QuickReply {
                    shortcut: format!("/q{}", self.rng.below(10)),
                    text: "稍等".into(),
                }],
            },
            10 => Request::CreateRole {
                name: format!("role {}", self.rng.below(1000)),
                permissions: u16::try_from(self.rng.below(1 << 16)).unwrap_or(0),
            },
            11 => {
                let roles: Vec<u32> = self
                    .roles
                    .get(&account)
                    .map(|r| r.iter().copied().collect())
                    .unwrap_or_default();
                Request::SetAgentRole {
                    agent: other,
                    role: self.rng.pick(&roles).unwrap_or(3),
                }
            }
            12 => {
                let agent = self.next_agent.get(&account).copied().unwrap_or(1002);
                self.next_agent.insert(account, agent + 1);
                Request::AddAgent {
                    agent,
                    nickname: format!("agent {agent}"),
                    role: None,
                }
            }
            13 => Request::SetRoutingSettings {
                settings: RoutingConfig {
                    exclusive: false,
                    no_response_secs: 0,
                    no_response_warn_secs: 0,
                    transfer_timeout_secs: 120,
                    utc_offset_minutes: 0,
                    welcome: vec![],
                    busy_reply: self
                        .rng
                        .chance(50)
                        .then(|| format!("busy {}", self.rng.below(10))),
                    away_reply: None,
                },
            },
            14 => Request::EditTags(TagEdit::Create {
                name: format!("tag {}", self.rng.below(1000)),
                colour: 0x00ff_0000,
            }),
            15 => Request::SetAgentProfile {
                agent: me,
                profile: AgentProfile {
                    nickname: format!("nick {me}"),
                    group: self.rng.pick(&["", "sales", "support"])?.into(),
                    display: DisplayMode::Nickname,
                    phone: String::new(),
                },
            },
            17 => Request::SendMessage {
                conversation,
                client_msg_id: 10 + self.rng.below(100),
                body: MessageBody::Text(format!("more from {me}")),
            },
            _ => Request::LogoutWith {
                keep_conversations: self.rng.chance(50),
            },
        };
        Some((conn, account, request))
    }

    /// An operation that runs a password check: a login, or adding an agent with a
    /// password through the admin socket.
    fn slow_operation(&mut self) {
        let account = self.accounts[usize::from(self.rng.chance(50))];
        let admin = self.h.admin;
        if self.rng.chance(30) {
            let agent = self.next_agent.get(&account).copied().unwrap_or(1002);
            self.next_agent.insert(account, agent + 1);
            let added = self.h.call(
                admin,
                Request::AdminAddAgent {
                    account,
                    agent,
                    nickname: format!("agent {agent}"),
                    role: None,
                },
            );
            if added.is_ok() {
                self.agents.insert((account, agent), false);
            }
        }
        // Someone without a password gets one; then someone logs in.
        let without: Vec<u32> = self
            .agents
            .iter()
            .filter(|((a, _), has)| *a == account && !**has)
            .map(|((_, n), _)| *n)
            .collect();
        if let Some(agent) = self.rng.pick(&without) {
            let set = self.h.call(
                admin,
                Request::AdminSetAgentPassword {
                    account,
                    agent,
                    new_password: AGENT_PASSWORD.into(),
                },
            );
            if set.is_ok() {
                self.agents.insert((account, agent), true);
            }
        }
        let offline: Vec<u32> = self
            .agents
            .iter()
            .filter(|((a, n), has)| {
                *a == account && **has && self.logged_in_agent(*a, *n).is_none()
            })
            .map(|((_, n), _)| *n)
            .collect();
        if let Some(agent) = self.rng.pick(&offline) {
            let conn = self.h.connect();
            self.agent_conn.insert((account, agent), conn);
            let password = if agent == 1001 {
                PASSWORD
            } else {
                AGENT_PASSWORD
            };
            let _ = self.h.login_on(conn, account, agent, password, None);
        }
    }

    /// The reads whose answers must agree between this centre and a fresh one.
    fn reads(&self, account: u64, routing_views: bool) -> Vec<Request> {
        let mut reads = vec![
            Request::ListAgents,
            Request::ListRoles,
            Request::GetRoutingSettings,
            Request::ListQuickReplies,
            Request::SearchContacts(ContactQuery {
                text: String::new(),
                groups: vec![],
                tags: vec![],
                owner: None,
                state: None,
                last_contact: None,
                sort: ContactSort::Newest,
                offset: 0,
                limit: 100,
            }),
            Request::ListTags,
            Request::ListGroups,
            Request::GetContactSettings,
            Request::GetSecurity,
        ];
        if routing_views {
            reads.extend([
                Request::ListQueue,
                Request::ListConversations,
                Request::RecentContacts {
                    offset: 0,
                    limit: 100,
                },
            ]);
        }
        for (_, agent) in self.agents.keys().filter(|(a, _)| *a == account) {
            reads.push(Request::GetAgentProfile { agent: *agent });
        }
        for conversation in self.conversations.get(&account).into_iter().flatten() {
            reads.push(Request::ConversationMessages {
                conversation: *conversation,
                after: 0,
                limit: 500,
            });
        }
        reads
    }

    /// (c): after a refused commit, what the centre shows equals what a fresh centre
    /// over (a copy of) the same store shows, for both accounts. The queue and the
    /// conversations served are compared for the accounts the refused batch wrote to
    /// (`evicted`): they must have been reloaded from the store. An account left in
    /// memory may differ there, by state the store does not hold: a transfer offered
    /// to a busy agent is restored as still served by its sender, and an agent's
    /// recently-contacted list is rebuilt from each conversation's last agent only
    /// (an agent that transferred a conversation away loses its customer from it).
    fn compare_with_a_fresh_centre(&mut self, evicted: &[u64]) {
        self.compared += 1;
        let mut fresh = self.h.reopened();
        for account in self.accounts {
            let admin = self.h.admin;
            let operator = [
                Request::AdminShowAccount { account },
                Request::AdminListAgents { account },
            ];
            for request in operator {
                let name = request.name();
                let here = normalise(self.h.call(admin, request.clone()));
                let fresh_admin = fresh.admin;
                let there = normalise(fresh.call(fresh_admin, request));
                assert_eq!(
                    here, there,
                    "seed {} step {}: {name} of {account} differs from a fresh centre",
                    self.seed, self.step
                );
            }
            for request in self.reads(account, evicted.contains(&account)) {
                let name = request.name();
                let here = normalise(self.h.on_account(account, &request));
                let there = normalise(fresh.on_account(account, &request));
                assert_eq!(
                    here, there,
                    "seed {} step {}: {name} of {account} differs from a fresh centre",
                    self.seed, self.step
                );
            }
        }
    }
}

/// Drops what the store does not hold by design: who is connected right now, and
/// unread counts (an open conversation is restored with `unread: 0`, `load_chat`).
fn normalise(answer: kefu_daemon::centre::Answer) -> kefu_daemon::centre::Answer {
    match answer {
        Ok(Response::Agents(mut list)) => {
            for a in &mut list {
                a.presence = Presence::Offline;
            }
            Ok(Response::Agents(list))
        }
        Ok(Response::Conversations(mut list)) => {
            for c in &mut list {
                c.unread = 0;
            }
            Ok(Response::Conversations(list))
        }
        other => other,
    }
}

/// `Centre::commit`'s promise under random traffic and random refused writes (two
/// accounts, eight seeds, [`STEPS`] steps each): no success and no push of a refused account
/// leaves a refused turn (checked by the harness on every turn), and after every
/// refused commit the centre shows what a fresh centre over the same store shows.
#[test]
fn refused_writes_leave_the_centre_equal_to_a_fresh_one() {
    let mut refused = 0;
    let mut compared = 0;
    let mut outcomes: BTreeMap<&'static str, (usize, usize)> = BTreeMap::new();
    for seed in 1..=8u64 {
        let mut world = World::new(seed);
        for _ in 0..STEPS {
            world.step();
        }
        world.compare_with_a_fresh_centre(&[]);
        refused += world.h.store.refusals();
        compared += world.compared;
        for (name, (ok, lost)) in world.outcomes {
            let t = outcomes.entry(name).or_insert((0, 0));
            t.0 += ok;
            t.1 += lost;
        }
    }
    // Each kind of write both succeeded and was lost to a refused commit somewhere.
    for kind in [
        "OpenConversation",
        "SendMessage",
        "CloseConversation",
        "AcceptConversation",
        "CreateContact",
        "UpdateContact",
        "SetQuickReplies",
        "CreateRole",
        "AddAgent",
        "SetRoutingSettings",
        "EditTags",
        "SetAgentProfile",
        "SetPresence",
    ] {
        let (ok, lost) = outcomes.get(kind).copied().unwrap_or_default();
        assert!(ok > 0 && lost > 0, "{kind}: {ok} succeeded, {lost} lost");
    }
    // The sequences really did refuse writes and compare after them.
    assert!(refused >= 40, "only {refused} refused writes");
    assert!(compared >= 40, "only {compared} comparisons");
}
