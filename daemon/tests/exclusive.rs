//! Exclusive customers (§7.17, rules a–e) through real sockets: owners come from the
//! CRM (import, add, first service), owned customers go to their owner or wait for it,
//! others may not open chats with them (without permission 2) nor see them (without
//! permission 4), and a transfer moves ownership. Owners survive a restart.

mod support;

use kefu_wire::chat::{Channel, ConversationInfo, ConversationState, CustomerId};
use kefu_wire::crm::{ContactEdit, ContactState};
use kefu_wire::{Client, ErrorCode, Presence, Request, Response};
use support::*;

const ACCOUNT: u64 = 850_001;

fn key(admin: &mut Client) -> [u8; 32] {
    customer_key(admin, ACCOUNT)
}

fn customer(s: &TestServer, key: &[u8; 32], who: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, who, now() + 3_600)
}

fn served_by(info: &ConversationInfo) -> Option<u32> {
    match info.state {
        ConversationState::Assigned { agent } => Some(agent),
        _ => None,
    }
}

/// Logs `agent` in with an auto-accept cap.
fn agent(s: &TestServer, agent: u32, cap: u16) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

fn owner(c: &mut Client, who: &str) -> Option<u32> {
    match c
        .request(&Request::GetContact {
            customer: CustomerId::Identified(who.into()),
        })
        .unwrap()
    {
        Response::Contact(info) => info.owner,
        other => panic!("{other:?}"),
    }
}

fn exclusive(c: &mut Client) {
    let mut settings = match c.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    settings.exclusive = true;
    c.request(&Request::SetRoutingSettings { settings })
        .unwrap();
}

fn queue(c: &mut Client) -> Vec<u64> {
    match c.request(&Request::ListQueue).unwrap() {
        Response::Conversations(list) => list.into_iter().map(|c| c.conversation).collect(),
        other => panic!("{other:?}"),
    }
}

fn setup() -> (TestServer, [u8; 32], Client, Client) {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let k = key(&mut admin);
    let mut boss = agent(&s, 1001, 5);
    exclusive(&mut boss);
    // 1002: default rights but without permission 4 (see all customers) nor 2 (grab).
    give_role(&mut boss, 1002, &[5, 6, 8]);
    let other = agent(&s, 1002, 5);
    (s, k, boss, other)
}

/// Rule a: an imported contact belongs to the agent who imported it, and its
/// conversations go to that agent even when another is less busy.
#[test]
fn rule_a_imported_customers_go_to_the_importing_agent() {
    let (s, k, mut boss, mut other) = setup();
    // 1002 serves two conversations (1001 was away), 1001 none: 1001 is the less busy.
    let away = |c: &mut Client, presence| {
        c.request(&Request::SetPresence { presence }).unwrap();
    };
    away(&mut boss, Presence::Away);
    let mut busy: Vec<Client> = ["w1", "w2"].iter().map(|w| customer(&s, &k, w)).collect();
    for c in &mut busy {
        assert_eq!(served_by(&open(c)), Some(1002));
    }
    away(&mut boss, Presence::Online);
    let csv = b"id,real_name\nimported,Imported One\n".to_vec();
    other
        .request(&Request::ImportContacts {
            chunk: csv,
            first: true,
            last: true,
        })
        .unwrap();
    assert_eq!(owner(&mut boss, "imported"), Some(1002));
    // 1002 is busier than 1001, yet its own customer goes to it.
    let mut imported = customer(&s, &k, "imported");
    assert_eq!(served_by(&open(&mut imported)), Some(1002));
}

/// Rule b, and routing to the owner: an added contact belongs to the adding agent;
/// while the owner is away the customer waits for it, unseen by others.
#[test]
fn rule_b_added_customers_wait_for_their_away_owner() {
    let (s, k, mut boss, mut other) = setup();
    other
        .request(&Request::CreateContact {
            customer: CustomerId::Identified("added".into()),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })
        .unwrap();
    other
        .request(&Request::SetPresence {
            presence: Presence::Away,
        })
        .unwrap();
    let mut added = customer(&s, &k, "added");
    let conv = open(&mut added);
    assert_eq!(
        served_by(&conv),
        None,
        "not given to 1001 while its owner is away"
    );
    assert!(!queue(&mut other).is_empty(), "waits in its owner's queue");
    // 1001 holds permission 3 (whole queue) and sees it; an agent without it would not.
    assert!(queue(&mut boss).contains(&conv.conversation));
    other
        .request(&Request::SetPresence {
            presence: Presence::Online,
        })
        .unwrap();
    match other.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => {
            assert!(list.iter().any(|c| c.conversation == conv.conversation))
        }
        r => panic!("{r:?}"),
    }
}

/// Rule c: no opening a chat with another agent's exclusive customer without
/// permission 2; rule d: not even seeing it in the CRM without permission 4.
#[test]
fn rules_c_and_d_others_may_not_open_nor_see_an_exclusive_customer() {
    let (_s, _k, mut boss, mut other) = setup();
    boss.request(&Request::CreateContact {
        customer: CustomerId::Identified("vip".into()),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    })
    .unwrap();
    let initiate = Request::InitiateConversation {
        customer: CustomerId::Identified("vip".into()),
        channel: Channel::Desktop,
    };
    // Without permission 4 the customer does not exist for it (PROTOCOL.md 12.12).
    assert_eq!(
        other.request(&initiate).unwrap_err().code(),
        Some(ErrorCode::NOT_FOUND)
    );
    assert_eq!(
        other
            .request(&Request::GetContact {
                customer: CustomerId::Identified("vip".into()),
            })
            .unwrap_err()
            .code(),
        Some(ErrorCode::NOT_FOUND)
    );
    // With permission 2 (grab) it may open the chat; with 4 it sees the contact.
    give_role(&mut boss, 1002, &[2, 4]);
    assert!(matches!(
        other.request(&initiate).unwrap(),
        Response::Conversation(_)
    ));
    assert_eq!(owner(&mut other, "vip"), Some(1001));
}

/// First service makes an owner; rule e: a transfer moves the exclusive ownership (not
/// the own-customer owner); the owners survive a restart and keep routing.
#[test]
fn rule_e_a_transfer_moves_ownership_and_owners_survive_a_restart() {
    let (mut s, k, mut boss, mut other) = setup();
    other
        .request(&Request::SetPresence {
            presence: Presence::Away,
        })
        .unwrap();
    let mut walk_in = customer(&s, &k, "walk-in");
    let conv = open(&mut walk_in);
    assert_eq!(served_by(&conv), Some(1001));
    assert_eq!(owner(&mut boss, "walk-in"), Some(1001), "first service");
    other
        .request(&Request::SetPresence {
            presence: Presence::Online,
        })
        .unwrap();
    boss.request(&Request::TransferConversation {
        conversation: conv.conversation,
        to_agent: 1002,
    })
    .unwrap();
    // Rule e moves the exclusive owner (where it goes below); the own-customer owner
    // (R2, `ContactInfo.owner`: who first served it) is not rewritten (issue 11).
    assert_eq!(owner(&mut boss, "walk-in"), Some(1001), "rule e keeps R2");
    walk_in
        .request(&Request::CloseConversation {
            conversation: conv.conversation,
        })
        .unwrap();
    drop((boss, other, walk_in));
    s.restart();
    let _boss = agent(&s, 1001, 5);
    let _other = agent(&s, 1002, 5);
    let mut walk_in = customer(&s, &k, "walk-in");
    assert_eq!(
        served_by(&open(&mut walk_in)),
        Some(1002),
        "back to its owner"
    );
}
