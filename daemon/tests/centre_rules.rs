//! The routing rules R1–R25 (`kefu_routing`'s table, manual sections in each test's
//! name) through the account centre, in memory: requests as customers and agents send
//! them, answers and pushes as they see them, time moved with the harness's
//! `ManualClock`. `centre.rs` already covers the cap/queue/close pull (R2, R3 queue,
//! R5, R13), an away agent accepting by hand, transfer and grab (R10, R11) and a
//! transfer failing back after its timeout; this file adds one test per rule.
//!
//! Rules not reachable through the protocol, hence not tested here:
//! - R7 (designated agent lists, §7.15): the designated mode and "hide offline" are
//!   not in `RoutingConfig` (a known gap), so `designated_list` cannot be switched on.
//! - R25's personal auto-reply text (`set_personal_auto_reply`): no request sets it;
//!   only the account's busy/away texts are tested.

#[path = "centre_support/mod.rs"]
mod centre_support;

use centre_support::*;
use kefu_daemon::clock::Clock;
use kefu_wire::chat::{
    AccountPresenceMode, Alert, Channel, ConversationInfo, ConversationState, CustomerId,
    DesignatedMode, DesignatedSettings, Entry, MessageBody, MessageInfo, Party, RoutingConfig,
    WelcomeRule,
};
use kefu_wire::{AgentProfile, DisplayMode, ErrorCode, Event, Presence, Request, Response};

const ACCOUNT: u64 = 871_001;
const MINUTE: i64 = 60_000;

/// A harness with [`ACCOUNT`] created.
fn account() -> Harness {
    let mut h = Harness::new();
    h.create_account_for_a_year(ACCOUNT);
    h
}

fn presence(h: &mut Harness, agent: usize, presence: Presence) {
    h.ok(agent, Request::SetPresence { presence });
}

fn open_with(h: &mut Harness, customer: usize, entry: Entry) -> ConversationInfo {
    match h.ok(customer, Request::OpenConversation { entry }) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    }
}

fn open(h: &mut Harness, customer: usize) -> ConversationInfo {
    open_with(h, customer, Entry::Auto)
}

fn send_text(h: &mut Harness, conn: usize, conversation: u64, id: u64, text: &str) -> u64 {
    match h.ok(
        conn,
        Request::SendMessage {
            conversation,
            client_msg_id: id,
            body: MessageBody::Text(text.into()),
        },
    ) {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

fn list(h: &mut Harness, agent: usize, request: Request) -> Vec<u64> {
    match h.ok(agent, request) {
        Response::Conversations(list) => list.iter().map(|c| c.conversation).collect(),
        other => panic!("{other:?}"),
    }
}

fn served(h: &mut Harness, agent: usize) -> Vec<u64> {
    list(h, agent, Request::ListConversations)
}

fn queue(h: &mut Harness, agent: usize) -> Vec<u64> {
    list(h, agent, Request::ListQueue)
}

fn alerts(events: &[Event]) -> Vec<Alert> {
    events
        .iter()
        .filter_map(|e| match e {
            // Who serves the customer, or whom it waits for (PROTOCOL.md 12.12), comes
            // with every assignment; `centre_notices.rs` checks them.
            Event::ConversationAlert {
                alert: Alert::ServedBy { .. } | Alert::WaitingForAgent { .. },
                ..
            } => None,
            Event::ConversationAlert { alert, .. } => Some(alert.clone()),
            _ => None,
        })
        .collect()
}

/// Texts the appliance wrote (welcome, auto-reply) among `events`.
fn system_texts(events: &[Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Message(MessageInfo {
                from: Party::System,
                body: MessageBody::Text(t),
                ..
            }) => Some(t.clone()),
            _ => None,
        })
        .collect()
}

/// The states `conversation` was pushed in, in order.
fn changes(events: &[Event], conversation: u64) -> Vec<ConversationState> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::ConversationChanged(c) if c.conversation == conversation => Some(c.state),
            _ => None,
        })
        .collect()
}

/// Changes the account's routing settings from what they are now (as `agent`).
fn configure(h: &mut Harness, agent: usize, change: impl FnOnce(&mut RoutingConfig)) {
    let mut settings = match h.ok(agent, Request::GetRoutingSettings) {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    change(&mut settings);
    h.ok(agent, Request::SetRoutingSettings { settings });
}

/// A turn with no request: the centre looks at the clock (timers fire).
fn tick(h: &mut Harness) {
    h.turn(|_| ());
}

fn advance(h: &mut Harness, ms: i64) {
    h.clock.advance(ms);
    tick(h);
}

/// A customer logged in on a mobile client.
fn mobile_customer(h: &mut Harness, id: &str) -> usize {
    let key = h.customer_key(ACCOUNT);
    let expires_at = h.now_secs() + 3600;
    let conn = h.connect();
    let login = Request::CustomerLogin {
        account: ACCOUNT,
        customer: id.into(),
        expires_at,
        signature: kefu_daemon::shard::sign_customer(&key, ACCOUNT, id, expires_at),
        channel: Channel::Mobile,
    };
    match h.ok(conn, login) {
        Response::CustomerLoggedIn(_) => conn,
        other => panic!("{other:?}"),
    }
}

fn set_group(h: &mut Harness, by: usize, agent: u32, group: &str) {
    h.ok(
        by,
        Request::SetAgentProfile {
            agent,
            profile: AgentProfile {
                nickname: format!("agent {agent}"),
                group: group.into(),
                display: DisplayMode::Nickname,
                phone: String::new(),
            },
        },
    );
}

/// The no-response rule with this timeout and warning; it is a sub-option of
/// designated agent (§7.15), which it switches on ("to agents"), so customers the
/// account has not served must name an agent (`open_with`).
fn no_response(h: &mut Harness, agent: usize, secs: u32, warn: u32) {
    configure(h, agent, |s| {
        s.no_response_secs = secs;
        s.no_response_warn_secs = warn;
    });
    h.ok(
        agent,
        Request::SetDesignatedAgent {
            settings: DesignatedSettings {
                mode: DesignatedMode::Agents,
                hide_offline: false,
                no_response: true,
            },
        },
    );
}

fn assigned(agent: u32) -> ConversationState {
    ConversationState::Assigned { agent }
}

/// R1: the least busy eligible agent gets a new conversation; tie → the one idle
/// longest; an agent away is not eligible.
#[test]
fn r1_least_busy_agent_gets_the_new_conversation_3_3_1() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 3);
    h.clock.advance(MINUTE);
    let b = h.agent_with_cap(ACCOUNT, 1002, 3);
    let c = h.agent_with_cap(ACCOUNT, 1003, 3);
    presence(&mut h, c, Presence::Away);
    // Both idle: 1001 logged in earlier, so it has been idle longest.
    let alice = h.customer(ACCOUNT, "alice");
    assert_eq!(open(&mut h, alice).state, assigned(1001));
    // 1002 now serves fewer.
    h.clock.advance(MINUTE);
    let bob = h.customer(ACCOUNT, "bob");
    assert_eq!(open(&mut h, bob).state, assigned(1002));
    // One each: 1001's last assignment is the older.
    h.clock.advance(MINUTE);
    let carol = h.customer(ACCOUNT, "carol");
    assert_eq!(open(&mut h, carol).state, assigned(1001));
    assert_eq!(served(&mut h, a).len(), 2);
    assert_eq!(served(&mut h, b).len(), 1);
    assert!(served(&mut h, c).is_empty());
}

/// R2: cap 0 is "off": new conversations and transfers to that agent wait in the queue.
#[test]
fn r2_cap_zero_means_no_auto_accept_and_transfers_wait_3_3_1() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice);
    assert_eq!(conv.state, ConversationState::Queued { target: None });
    assert!(served(&mut h, a).is_empty() && served(&mut h, b).is_empty());
    h.ok(
        a,
        Request::AcceptConversation {
            conversation: conv.conversation,
        },
    );
    let moved = h.ok(
        a,
        Request::TransferConversation {
            conversation: conv.conversation,
            to_agent: 1002,
        },
    );
    assert!(
        matches!(moved, Response::Conversation(ref c) if c.state == ConversationState::Queued { target: Some(1002) }),
        "{moved:?}"
    );
    assert!(served(&mut h, b).is_empty());
}

/// R3: the cap can be changed only in status Online.
#[test]
fn r3_the_cap_changes_only_while_online_3_3_2() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    for p in [Presence::Away, Presence::Busy] {
        presence(&mut h, a, p);
        let e = h.refused(a, Request::SetAutoAccept { cap: 3 });
        assert_eq!(e, ErrorCode::INVALID_ARGUMENT, "{p:?}");
    }
    presence(&mut h, a, Presence::Online);
    h.ok(a, Request::SetAutoAccept { cap: 3 });
    // The cap is 3 now: three customers are served at once.
    for id in ["alice", "bob", "carol"] {
        let c = h.customer(ACCOUNT, id);
        assert_eq!(open(&mut h, c).state, assigned(1001));
    }
}

/// R4: the queue is in arrival order; an agent accepts by hand whatever it may see,
/// its cap ignored.
#[test]
fn r4_queue_is_first_come_first_served_and_accept_ignores_the_cap_3_3_2() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let mut arrived = Vec::new();
    for id in ["carol", "alice", "bob"] {
        h.clock.advance(MINUTE);
        let c = h.customer(ACCOUNT, id);
        arrived.push(open(&mut h, c).conversation);
    }
    assert_eq!(queue(&mut h, a), arrived);
    // Cap 0, yet the last arrival is accepted by hand; the others keep their order.
    let last = arrived[2];
    h.ok(a, Request::AcceptConversation { conversation: last });
    assert_eq!(served(&mut h, a), vec![last]);
    assert_eq!(queue(&mut h, a), arrived[..2].to_vec());
}

/// R4: who may see and accept a queued entry: one waiting for an agent only that agent
/// (and a holder of permission 3), one waiting for a group only its members.
#[test]
fn r4_an_entry_waiting_for_someone_is_seen_only_by_them_3_4_7_13() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    let c = h.agent_with_cap(ACCOUNT, 1003, 0);
    set_group(&mut h, a, 1003, "sales");
    let alice = h.customer(ACCOUNT, "alice");
    let for_c = open_with(&mut h, alice, Entry::Agent(1003)).conversation;
    let bob = h.customer(ACCOUNT, "bob");
    let for_sales = open_with(&mut h, bob, Entry::Group("sales".into())).conversation;
    // 1001 holds permission 3 (administrator); 1002 and 1003 the default agent role.
    assert_eq!(queue(&mut h, a), vec![for_c, for_sales]);
    assert!(queue(&mut h, b).is_empty());
    assert_eq!(queue(&mut h, c), vec![for_c, for_sales]);
    let accept = Request::AcceptConversation {
        conversation: for_c,
    };
    // Not in its queue: as if it did not exist (PROTOCOL.md 12.12).
    assert_eq!(h.refused(b, accept.clone()), ErrorCode::NOT_FOUND);
    h.ok(c, accept);
    assert_eq!(served(&mut h, c), vec![for_c]);
}

/// R5: an agent that becomes eligible (cap raised) takes queued entries in arrival
/// order, up to its cap; the customers are told.
#[test]
fn r5_raising_the_cap_pulls_the_oldest_queued_up_to_the_cap_3_3_1() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let mut waiting = Vec::new();
    for id in ["alice", "bob", "carol"] {
        h.clock.advance(MINUTE);
        let c = h.customer(ACCOUNT, id);
        waiting.push((c, open(&mut h, c).conversation));
    }
    for (c, _) in &waiting {
        h.take_pushes(*c);
    }
    h.ok(a, Request::SetAutoAccept { cap: 2 });
    let ids: Vec<u64> = waiting.iter().map(|(_, id)| *id).collect();
    assert_eq!(served(&mut h, a), ids[..2].to_vec());
    assert_eq!(queue(&mut h, a), vec![ids[2]]);
    for (i, (c, conv)) in waiting.iter().enumerate() {
        let pushed = changes(&h.take_pushes(*c), *conv);
        if i < 2 {
            assert_eq!(pushed, vec![assigned(1001)]);
        } else {
            assert!(pushed.is_empty(), "{pushed:?}");
        }
    }
}

/// R6: entry "to agent" goes to that agent even if others are less busy, or waits for
/// it; entry "to group" goes to a member; unknown agents and groups are refused.
#[test]
fn r6_entries_to_an_agent_and_to_a_group_10_7() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    let _b = h.agent_with_cap(ACCOUNT, 1002, 5);
    let c = h.agent_with_cap(ACCOUNT, 1003, 5);
    presence(&mut h, c, Presence::Away);
    set_group(&mut h, a, 1002, "sales");
    // 1002 serves one, so 1001 is the less busy; the entry still decides.
    let w = h.customer(ACCOUNT, "warm-up");
    assert_eq!(
        open_with(&mut h, w, Entry::Agent(1002)).state,
        assigned(1002)
    );
    let alice = h.customer(ACCOUNT, "alice");
    assert_eq!(
        open_with(&mut h, alice, Entry::Agent(1002)).state,
        assigned(1002)
    );
    let bob = h.customer(ACCOUNT, "bob");
    assert_eq!(
        open_with(&mut h, bob, Entry::Group("sales".into())).state,
        assigned(1002)
    );
    // 1003 is away: the customer waits for it.
    let carol = h.customer(ACCOUNT, "carol");
    assert_eq!(
        open_with(&mut h, carol, Entry::Agent(1003)).state,
        ConversationState::Queued { target: Some(1003) }
    );
    let dan = h.customer(ACCOUNT, "dan");
    assert_eq!(
        h.refused(
            dan,
            Request::OpenConversation {
                entry: Entry::Agent(1999)
            }
        ),
        ErrorCode::INVALID_ARGUMENT
    );
    assert_eq!(
        h.refused(
            dan,
            Request::OpenConversation {
                entry: Entry::Group("nobody".into())
            }
        ),
        ErrorCode::INVALID_ARGUMENT
    );
}

/// R8: a mobile customer cannot choose: its "to agent" entry routes as auto, and it is
/// offered no new choice when its agent does not answer.
#[test]
fn r8_mobile_customers_route_as_auto_and_get_no_reselection_3_13() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    let _b = h.agent_with_cap(ACCOUNT, 1002, 5);
    no_response(&mut h, a, 300, 60);
    let w = h.customer(ACCOUNT, "warm-up");
    let warm = open_with(&mut h, w, Entry::Agent(1001));
    assert_eq!(warm.state, assigned(1001));
    // 1002 is the less busy: the mobile customer's pick of 1001 is ignored.
    let m = mobile_customer(&mut h, "mobile");
    let conv = open_with(&mut h, m, Entry::Agent(1001));
    assert_eq!(conv.state, assigned(1002));
    send_text(&mut h, m, conv.conversation, 1, "hello?");
    h.take_pushes(m);
    advance(&mut h, 300_000);
    advance(&mut h, MINUTE);
    let got = alerts(&h.take_pushes(m));
    assert!(got.is_empty(), "{got:?}");
}

fn every_day(text: &str) -> WelcomeRule {
    WelcomeRule {
        weekdays: 0x7f,
        start_minute: 0,
        end_minute: 1440,
        text: text.into(),
    }
}

/// R9: one open conversation per customer; opening again continues it, with no
/// second welcome.
#[test]
fn r9_opening_again_continues_the_open_conversation_without_a_second_welcome_7_16() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    configure(&mut h, a, |s| s.welcome = vec![every_day("欢迎")]);
    let alice = h.customer(ACCOUNT, "alice");
    let first = open(&mut h, alice);
    assert_eq!(
        system_texts(&h.take_pushes(alice)),
        vec!["欢迎".to_string()]
    );
    let again = open(&mut h, alice);
    assert_eq!(again.conversation, first.conversation);
    assert!(system_texts(&h.take_pushes(alice)).is_empty());
    assert_eq!(served(&mut h, a), vec![first.conversation]);
}

/// R10: a transfer goes only to a logged-in agent; one waiting in a busy target's queue
/// is taken by that target before the timeout.
#[test]
fn r10_transfer_needs_a_logged_in_target_who_may_take_it_from_its_queue_3_5() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    h.add_agent(ACCOUNT, 1003);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    let transfer = |to_agent| Request::TransferConversation {
        conversation: conv,
        to_agent,
    };
    assert_eq!(h.refused(a, transfer(1003)), ErrorCode::TARGET_OFFLINE);
    assert_eq!(served(&mut h, a), vec![conv]);
    let b = h.agent_with_cap(ACCOUNT, 1002, 1);
    presence(&mut h, b, Presence::Busy);
    h.ok(a, transfer(1002));
    h.clock.advance(119_000);
    h.ok(b, Request::AcceptConversation { conversation: conv });
    advance(&mut h, 10_000);
    assert_eq!(served(&mut h, b), vec![conv]);
    assert!(served(&mut h, a).is_empty());
    let got = alerts(&h.take_pushes(a));
    assert!(
        !got.iter()
            .any(|x| matches!(x, Alert::TransferFailedBack { .. })),
        "{got:?}"
    );
}

/// R10: a transfer not taken in time whose sender has logged out is routed anew.
#[test]
fn r10_an_untaken_transfer_of_a_logged_out_sender_is_routed_anew_3_5() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    let b = h.agent_with_cap(ACCOUNT, 1002, 1);
    presence(&mut h, b, Presence::Busy);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(
        a,
        Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        },
    );
    h.ok(
        a,
        Request::LogoutWith {
            keep_conversations: true,
        },
    );
    let c = h.agent_with_cap(ACCOUNT, 1003, 1);
    assert!(served(&mut h, c).is_empty());
    h.take_pushes(alice);
    advance(&mut h, 120_000);
    assert_eq!(served(&mut h, c), vec![conv]);
    assert_eq!(changes(&h.take_pushes(alice), conv), vec![assigned(1003)]);
}

/// R11: a conversation kept by a logged-out agent cannot be grabbed.
#[test]
fn r11_a_kept_conversation_cannot_be_grabbed_3_9() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let b = h.agent_with_cap(ACCOUNT, 1002, 1);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(
        b,
        Request::LogoutWith {
            keep_conversations: true,
        },
    );
    let grab = Request::GrabConversation {
        conversation: conv,
        confirmed: true,
    };
    assert_eq!(h.refused(a, grab), ErrorCode::CONVERSATION_KEPT);
    assert!(served(&mut h, a).is_empty());
}

/// R12: an agent opens a conversation with a customer; one another agent serves is not
/// opened again (that would be a grab).
#[test]
fn r12_an_agent_initiates_a_conversation_3_9() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    let alice = h.customer(ACCOUNT, "alice");
    let initiate = Request::InitiateConversation {
        customer: CustomerId::Identified("alice".into()),
        channel: Channel::Desktop,
    };
    let conv = match h.ok(a, initiate.clone()) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(conv.state, assigned(1001));
    assert_eq!(
        changes(&h.take_pushes(alice), conv.conversation),
        vec![assigned(1001)]
    );
    assert_eq!(h.refused(b, initiate), ErrorCode::CONVERSATION_TAKEN);
    assert_eq!(served(&mut h, a), vec![conv.conversation]);
    assert!(served(&mut h, b).is_empty());
}

/// R13: the customer closes its conversation too; an agent not serving it cannot.
#[test]
fn r13_the_customer_or_the_serving_agent_closes_3_12() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    let close = Request::CloseConversation { conversation: conv };
    assert_eq!(h.refused(b, close.clone()), ErrorCode::NOT_IN_CONVERSATION);
    h.take_pushes(a);
    h.ok(alice, close);
    assert_eq!(
        changes(&h.take_pushes(a), conv),
        vec![ConversationState::Closed]
    );
    assert!(served(&mut h, a).is_empty());
}

/// R14 "close all": logging out closes the agent's conversations and tells customers.
#[test]
fn r14_logout_closing_all_closes_the_agents_conversations_3_12() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 2);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.take_pushes(alice);
    h.ok(
        a,
        Request::LogoutWith {
            keep_conversations: false,
        },
    );
    assert_eq!(
        changes(&h.take_pushes(alice), conv),
        vec![ConversationState::Closed]
    );
    let (a, _) = h.agent(ACCOUNT, 1001);
    assert!(served(&mut h, a).is_empty());
}

/// R14 "keep": kept conversations stay assigned, nobody else accepts them, and they
/// come back at the next login.
#[test]
fn r14_logout_keeping_keeps_the_conversations_for_the_next_login_3_12() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let b = h.agent_with_cap(ACCOUNT, 1002, 2);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(
        b,
        Request::LogoutWith {
            keep_conversations: true,
        },
    );
    assert!(!queue(&mut h, a).contains(&conv));
    let accept = Request::AcceptConversation { conversation: conv };
    assert_eq!(h.refused(a, accept), ErrorCode::CONVERSATION_KEPT);
    let (b, _) = h.agent(ACCOUNT, 1002);
    assert_eq!(served(&mut h, b), vec![conv]);
    send_text(&mut h, b, conv, 1, "back again");
}

/// R14: a transfer waiting for an agent fails back to its sender as soon as that agent
/// logs out.
#[test]
fn r14_a_transfer_waiting_for_an_agent_fails_back_when_it_logs_out_3_12() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(
        a,
        Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        },
    );
    h.take_pushes(a);
    h.ok(
        b,
        Request::LogoutWith {
            keep_conversations: true,
        },
    );
    assert_eq!(
        alerts(&h.take_pushes(a)),
        vec![Alert::TransferFailedBack { to: 1002 }]
    );
    assert_eq!(served(&mut h, a), vec![conv]);
}

fn exclusive(h: &mut Harness, agent: usize) {
    configure(h, agent, |s| s.exclusive = true);
}

/// R15: in exclusive mode the first agent to serve a customer owns it; the customer
/// comes back to its owner even when another is less busy, and waits for it while the
/// owner cannot take it.
#[test]
fn r15_exclusive_customers_go_to_their_owner_or_wait_for_it_7_16_7_17() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    exclusive(&mut h, a);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(alice, Request::CloseConversation { conversation: conv });
    let bob = h.customer(ACCOUNT, "bob");
    assert_eq!(open(&mut h, bob).state, assigned(1001));
    let _b = h.agent_with_cap(ACCOUNT, 1002, 5);
    // 1002 serves nobody, 1001 serves bob: alice still goes to 1001.
    let again = open(&mut h, alice);
    assert_eq!(again.state, assigned(1001));
    h.ok(
        alice,
        Request::CloseConversation {
            conversation: again.conversation,
        },
    );
    presence(&mut h, a, Presence::Away);
    assert_eq!(
        open(&mut h, alice).state,
        ConversationState::Queued { target: Some(1001) }
    );
}

/// R12 (issue 12): an agent starts a conversation only with a customer the account has
/// seen (§3.9: from the message records or the CRM): a customer id never used with the
/// account, or a visitor id another account issued, is `UNKNOWN_CUSTOMER` and nothing is
/// created; a contact, a customer with stored messages and one logged in now are fine.
#[test]
fn r12_an_agent_initiates_only_with_a_customer_the_account_has_seen_3_9() {
    const OTHER: u64 = 871_002;
    let mut h = account();
    h.create_account_for_a_year(OTHER);
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    let initiate = |customer: CustomerId| Request::InitiateConversation {
        customer,
        channel: Channel::Desktop,
    };
    // Another account's visitor.
    let visitor = h.connect();
    let request = Request::VisitorLogin {
        account: OTHER,
        token: None,
        channel: Channel::Web,
    };
    let elsewhere = match h.call(visitor, request) {
        Ok(Response::CustomerLoggedIn(s)) => s.customer,
        other => panic!("{other:?}"),
    };
    assert!(matches!(elsewhere, CustomerId::Visitor(_)));
    assert_eq!(
        h.refused(a, initiate(elsewhere.clone())),
        ErrorCode::UNKNOWN_CUSTOMER
    );
    // An id nobody used here.
    let nobody = CustomerId::Identified("nobody".into());
    assert_eq!(
        h.refused(a, initiate(nobody.clone())),
        ErrorCode::UNKNOWN_CUSTOMER
    );
    // Nothing was created, and the customer directory of the other account is untouched.
    assert!(list(&mut h, a, Request::ListConversations).is_empty());
    assert!(h.take_pushes(visitor).is_empty());

    // A contact of the account is fine.
    h.ok(
        a,
        Request::CreateContact {
            customer: CustomerId::Identified("carol".into()),
            state: kefu_wire::crm::ContactState::Friend,
            edit: kefu_wire::crm::ContactEdit::default(),
        },
    );
    let carol = h.ok(a, initiate(CustomerId::Identified("carol".into())));
    assert!(matches!(carol, Response::Conversation(_)), "{carol:?}");
    // So is a customer who wrote to the account and has gone.
    let dave = h.customer(ACCOUNT, "dave");
    let conv = open(&mut h, dave).conversation;
    send_text(&mut h, dave, conv, 1, "hello");
    h.ok(a, Request::CloseConversation { conversation: conv });
    h.disconnect(dave);
    let again = h.ok(a, initiate(CustomerId::Identified("dave".into())));
    assert!(matches!(again, Response::Conversation(_)), "{again:?}");
    // And one logged in now, before any conversation.
    h.customer(ACCOUNT, "erin");
    let erin = h.ok(a, initiate(CustomerId::Identified("erin".into())));
    assert!(matches!(erin, Response::Conversation(_)), "{erin:?}");
    // The other account's visitor is still unknown here.
    assert_eq!(
        h.refused(a, initiate(elsewhere)),
        ErrorCode::UNKNOWN_CUSTOMER
    );
}

/// R16: in exclusive mode an agent without permission 2 cannot open a chat with
/// another's customer.
#[test]
fn r16_others_cannot_initiate_with_an_owned_customer_7_17_c() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    exclusive(&mut h, a);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(a, Request::CloseConversation { conversation: conv });
    let initiate = Request::InitiateConversation {
        customer: CustomerId::Identified("alice".into()),
        channel: Channel::Desktop,
    };
    // The default agent role holds permission 4 (it sees the customer, rule d), so
    // the refusal may say why (without it: NOT_FOUND, `exclusive.rs`).
    assert_eq!(h.refused(b, initiate.clone()), ErrorCode::PERMISSION_DENIED);
    // The owner (administrator) may.
    assert!(matches!(h.ok(a, initiate), Response::Conversation(_)));
}

/// Gives `agent` a new role holding exactly `permissions` (numbered as in §7.13).
fn give_role(h: &mut Harness, by: usize, agent: u32, permissions: &[u16]) {
    let bits = permissions.iter().fold(0u16, |b, p| b | 1 << (p - 1));
    let role = match h.ok(
        by,
        Request::CreateRole {
            name: format!("role {agent} {bits:#06x}"),
            permissions: bits,
        },
    ) {
        Response::Role(r) => r.role,
        other => panic!("{other:?}"),
    };
    h.ok(by, Request::SetAgentRole { agent, role });
}

/// R17: in exclusive mode an agent without permission 4 does not see another's
/// customer in the CRM; with it, it does.
#[test]
fn r17_others_cannot_see_an_owned_customer_7_17_d() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    exclusive(&mut h, a);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    // The default agent role's 4, 5, 8 without 4 (see all customers).
    give_role(&mut h, a, 1002, &[5, 8]);
    let alice = h.customer(ACCOUNT, "alice");
    open(&mut h, alice);
    let get = Request::GetContact {
        customer: CustomerId::Identified("alice".into()),
    };
    match h.ok(a, get.clone()) {
        Response::Contact(c) => assert_eq!(c.owner, Some(1001)),
        other => panic!("{other:?}"),
    }
    assert_eq!(h.refused(b, get.clone()), ErrorCode::NOT_FOUND);
    give_role(&mut h, a, 1002, &[4, 5, 8]);
    assert!(matches!(h.ok(b, get), Response::Contact(_)));
}

/// R18: in exclusive mode a completed transfer moves the ownership.
#[test]
fn r18_a_completed_transfer_moves_the_ownership_7_17_e() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    exclusive(&mut h, a);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    let b = h.agent_with_cap(ACCOUNT, 1002, 5);
    let bob = h.customer(ACCOUNT, "bob");
    assert_eq!(open(&mut h, bob).state, assigned(1002));
    h.ok(
        a,
        Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        },
    );
    h.ok(b, Request::CloseConversation { conversation: conv });
    // 1002 serves bob and 1001 nobody: alice goes to her new owner anyway.
    assert!(served(&mut h, a).is_empty());
    assert_eq!(open(&mut h, alice).state, assigned(1002));
}

/// R15 with ownership's one home: the owner is the contact's. Deleting the contact
/// (the only copy) frees the customer at once: the next conversation routes to the
/// least busy agent instead of waiting for the away former owner.
#[test]
fn r15_the_owner_lives_in_the_contact_and_goes_with_it_7_17() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    exclusive(&mut h, a);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    h.ok(alice, Request::CloseConversation { conversation: conv });
    let _b = h.agent_with_cap(ACCOUNT, 1002, 5);
    presence(&mut h, a, Presence::Away);
    let alice_id = CustomerId::Identified("alice".into());
    match h.ok(
        a,
        Request::GetContact {
            customer: alice_id.clone(),
        },
    ) {
        Response::Contact(c) => assert_eq!(c.owner, Some(1001)),
        other => panic!("{other:?}"),
    }
    h.ok(
        a,
        Request::DeleteContacts {
            customers: vec![alice_id],
        },
    );
    assert_eq!(open(&mut h, alice).state, assigned(1002));
}

/// R19: exclusive mode disables "to agent" entries and the no-response rule.
#[test]
fn r19_exclusive_mode_disables_agent_entries_and_no_response_10_7_7_15() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    let _b = h.agent_with_cap(ACCOUNT, 1002, 5);
    no_response(&mut h, a, 300, 60);
    exclusive(&mut h, a);
    let w = h.customer(ACCOUNT, "warm-up");
    assert_eq!(open(&mut h, w).state, assigned(1001));
    // 1002 is the less busy; the pick of 1001 is ignored.
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open_with(&mut h, alice, Entry::Agent(1001));
    assert_eq!(conv.state, assigned(1002));
    send_text(&mut h, alice, conv.conversation, 1, "hello?");
    h.take_pushes(alice);
    advance(&mut h, 300_000);
    advance(&mut h, MINUTE);
    let got = alerts(&h.take_pushes(alice));
    assert!(got.is_empty(), "{got:?}");
}

/// R20: no reply to the customer's oldest unanswered message: the agent is warned
/// `warn` seconds before the timeout, and at the timeout the customer may choose again.
#[test]
fn r20_no_response_warns_the_agent_then_offers_the_customer_a_choice_7_15() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    let _b = h.agent_with_cap(ACCOUNT, 1002, 0);
    no_response(&mut h, a, 300, 60);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open_with(&mut h, alice, Entry::Agent(1001)).conversation;
    let sent_at = h.clock.now_ms();
    send_text(&mut h, alice, conv, 1, "hello?");
    h.clock.advance(MINUTE);
    send_text(&mut h, alice, conv, 2, "anyone?");
    h.take_pushes(a);
    h.take_pushes(alice);
    // Counted from the first unanswered message: warning at 240 s, offer at 300 s.
    h.clock.set(sent_at + 239_000);
    tick(&mut h);
    assert!(alerts(&h.take_pushes(a)).is_empty());
    h.clock.set(sent_at + 240_000);
    tick(&mut h);
    assert_eq!(
        alerts(&h.take_pushes(a)),
        vec![Alert::NoResponseWarning {
            offer_at: sent_at + 300_000
        }]
    );
    h.clock.set(sent_at + 299_000);
    tick(&mut h);
    assert!(alerts(&h.take_pushes(alice)).is_empty());
    h.clock.set(sent_at + 300_000);
    tick(&mut h);
    let got = alerts(&h.take_pushes(alice));
    assert!(
        matches!(got.as_slice(), [Alert::ChooseAgain { .. }]),
        "{got:?}"
    );
}

/// R20: an agent's reply stops the no-response clock.
#[test]
fn r20_an_agent_reply_stops_the_no_response_clock_7_15() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    no_response(&mut h, a, 300, 60);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open_with(&mut h, alice, Entry::Agent(1001)).conversation;
    send_text(&mut h, alice, conv, 1, "hello?");
    h.clock.advance(MINUTE);
    send_text(&mut h, a, conv, 1, "here");
    h.take_pushes(a);
    h.take_pushes(alice);
    advance(&mut h, 300_000);
    advance(&mut h, MINUTE);
    assert!(alerts(&h.take_pushes(a)).is_empty());
    assert!(alerts(&h.take_pushes(alice)).is_empty());
}

/// R21: re-selection closes the old conversation, tells the old agent, and routes a
/// new conversation to the customer's choice. The list offered leaves offline agents
/// out (the manual's default, §7.15).
#[test]
fn r21_reselection_closes_the_old_and_routes_to_the_choice_7_15() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 5);
    let b = h.agent_with_cap(ACCOUNT, 1002, 0);
    h.add_agent(ACCOUNT, 1003);
    no_response(&mut h, a, 300, 60);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open_with(&mut h, alice, Entry::Agent(1001)).conversation;
    send_text(&mut h, alice, conv, 1, "hello?");
    advance(&mut h, 300_000);
    let got = alerts(&h.take_pushes(alice));
    assert!(
        matches!(got.as_slice(), [Alert::ChooseAgain { agents, .. }]
            if agents.iter().any(|(n, _)| *n == 1002) && !agents.iter().any(|(n, _)| *n == 1003)),
        "{got:?}"
    );
    h.ok(b, Request::SetAutoAccept { cap: 1 });
    h.take_pushes(a);
    let new = match h.ok(
        alice,
        Request::Reselect {
            conversation: conv,
            entry: Entry::Agent(1002),
        },
    ) {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    };
    assert_ne!(new.conversation, conv);
    assert_eq!(new.state, assigned(1002));
    let to_old = h.take_pushes(a);
    assert_eq!(alerts(&to_old), vec![Alert::Reselected]);
    assert!(served(&mut h, a).is_empty());
    assert_eq!(served(&mut h, b), vec![new.conversation]);
}

/// R22: when the serving agent is offline, the customer is offered a new choice as
/// soon as it writes.
#[test]
fn r22_an_offline_agent_means_an_offer_as_soon_as_the_customer_writes_7_15() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 0);
    let b = h.agent_with_cap(ACCOUNT, 1002, 1);
    no_response(&mut h, a, 300, 60);
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open_with(&mut h, alice, Entry::Agent(1002)).conversation;
    h.ok(
        b,
        Request::LogoutWith {
            keep_conversations: true,
        },
    );
    h.take_pushes(alice);
    send_text(&mut h, alice, conv, 1, "still there?");
    let got = alerts(&h.take_pushes(alice));
    assert!(
        matches!(got.as_slice(), [Alert::ChooseAgain { .. }]),
        "{got:?}"
    );
}

fn account_presence(h: &mut Harness, customer: usize) -> Presence {
    match h.ok(customer, Request::GetAccountPresence) {
        Response::AccountPresence { presence, .. } => presence,
        other => panic!("{other:?}"),
    }
}

/// R23: the account shows the best presence of its agents, or always online.
#[test]
fn r23_account_presence_is_the_best_of_its_agents_or_always_online_7_14() {
    let mut h = account();
    let alice = h.customer(ACCOUNT, "alice");
    assert_eq!(account_presence(&mut h, alice), Presence::Offline);
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    let b = h.agent_with_cap(ACCOUNT, 1002, 1);
    presence(&mut h, a, Presence::Away);
    presence(&mut h, b, Presence::Busy);
    assert_eq!(account_presence(&mut h, alice), Presence::Busy);
    h.take_pushes(alice);
    presence(&mut h, b, Presence::Away);
    assert_eq!(account_presence(&mut h, alice), Presence::Away);
    assert!(h
        .take_pushes(alice)
        .contains(&Event::AccountPresenceChanged {
            presence: Presence::Away
        }));
    presence(&mut h, a, Presence::Online);
    assert_eq!(account_presence(&mut h, alice), Presence::Online);
    presence(&mut h, a, Presence::Away);
    h.ok(
        a,
        Request::SetAccountPresenceMode {
            mode: AccountPresenceMode::AlwaysOnline,
        },
    );
    assert_eq!(account_presence(&mut h, alice), Presence::Online);
}

/// R24: the welcome of the period, by weekday and time of day in the account's UTC
/// offset. The harness starts on Monday 2024-01-01 00:00 UTC.
#[test]
fn r24_welcome_by_weekday_and_hour_in_the_accounts_offset_7_2() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 10);
    let monday = 1;
    let sunday = 1 << 6;
    configure(&mut h, a, |s| {
        s.utc_offset_minutes = 8 * 60;
        s.welcome = vec![
            WelcomeRule {
                weekdays: monday,
                start_minute: 9 * 60,
                end_minute: 18 * 60,
                text: "work".into(),
            },
            WelcomeRule {
                weekdays: monday,
                start_minute: 0,
                end_minute: 9 * 60,
                text: "early".into(),
            },
            WelcomeRule {
                weekdays: sunday,
                start_minute: 0,
                end_minute: 1440,
                text: "sunday".into(),
            },
        ];
    });
    // (UTC time, expected text): UTC+8 turns Sunday 23:00 into Monday 07:00.
    let cases = [
        (START_MS - 60 * MINUTE, Some("early")),
        (START_MS + 90 * MINUTE, Some("work")),
        (START_MS + 10 * 60 * MINUTE, None), // Monday 18:00 local: no rule.
        (START_MS - 9 * 60 * MINUTE, Some("sunday")), // Sunday 23:00 local.
    ];
    for (i, (at, want)) in cases.into_iter().enumerate() {
        h.clock.set(at);
        let c = h.customer(ACCOUNT, &format!("customer {i}"));
        open(&mut h, c);
        let got = system_texts(&h.take_pushes(c));
        assert_eq!(
            got,
            want.into_iter().map(String::from).collect::<Vec<_>>(),
            "case {i}"
        );
    }
}

/// R25: the busy text when the serving agent is Busy, at most once per five minutes per
/// conversation; the away text for a queued conversation while nobody is online.
#[test]
fn r25_auto_replies_when_busy_or_away_at_most_once_per_interval_7_3_7_4() {
    let mut h = account();
    let a = h.agent_with_cap(ACCOUNT, 1001, 1);
    configure(&mut h, a, |s| {
        s.busy_reply = Some("忙".into());
        s.away_reply = Some("离开".into());
    });
    let alice = h.customer(ACCOUNT, "alice");
    let conv = open(&mut h, alice).conversation;
    presence(&mut h, a, Presence::Busy);
    h.take_pushes(alice);
    send_text(&mut h, alice, conv, 1, "one");
    assert_eq!(system_texts(&h.take_pushes(alice)), vec!["忙".to_string()]);
    h.clock.advance(5 * MINUTE - 1_000);
    send_text(&mut h, alice, conv, 2, "two");
    assert!(system_texts(&h.take_pushes(alice)).is_empty());
    h.clock.advance(1_000);
    send_text(&mut h, alice, conv, 3, "three");
    assert_eq!(system_texts(&h.take_pushes(alice)), vec!["忙".to_string()]);
    // Bob waits in the queue while the only agent is away.
    presence(&mut h, a, Presence::Away);
    let bob = h.customer(ACCOUNT, "bob");
    let queued = open(&mut h, bob).conversation;
    h.take_pushes(bob);
    send_text(&mut h, bob, queued, 1, "hello?");
    assert_eq!(system_texts(&h.take_pushes(bob)), vec!["离开".to_string()]);
}
