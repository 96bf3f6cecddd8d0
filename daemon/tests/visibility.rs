//! The three permissions that govern what an agent sees rather than which requests it
//! may send (§7.13): 3 (the whole waiting list), 4 (all customers' profiles and
//! messages) and 5 (its own customers' chats with other agents). The authorisation
//! table (`auth::required_access`, walked in `security.rs`) covers the other thirteen;
//! here each of these three is shown denied to a role without it and allowed with it,
//! through the requests whose answers it changes.

mod support;

use kefu_wire::chat::{ConversationState, CustomerId, Entry, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactState, HistoryKind, HistoryQuery};
use kefu_wire::{Client, ErrorCode, Presence, Request, Response};
use support::*;

const ACCOUNT: u64 = 860_001;

/// Every permission except `missing` (manual numbers).
fn all_but(missing: u16) -> Vec<u16> {
    (1..=16).filter(|p| *p != missing).collect()
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, agent, PASSWORD).unwrap();
    c
}

fn exclusive(boss: &mut Client) {
    let mut settings = match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    settings.exclusive = true;
    boss.request(&Request::SetRoutingSettings { settings })
        .unwrap();
}

fn setup() -> (TestServer, [u8; 32], Client) {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let boss = agent(&s, 1001);
    (s, key, boss)
}

/// Permission 3: another agent's exclusive customer waiting for its away owner is in
/// the waiting list only of agents holding it.
#[test]
fn permission_3_shows_the_whole_waiting_list() {
    let (s, key, mut boss) = setup();
    exclusive(&mut boss);
    boss.request(&Request::CreateContact {
        customer: CustomerId::Identified("vip".into()),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    })
    .unwrap();
    boss.request(&Request::SetPresence {
        presence: Presence::Away,
    })
    .unwrap();
    let mut vip = login_customer(s.client(), &key, ACCOUNT, "vip", now() + 3_600);
    let conv = match vip
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(c) => c.conversation,
        other => panic!("{other:?}"),
    };
    for (permissions, sees) in [(all_but(3), false), (vec![3], true)] {
        give_role(&mut boss, 1002, &permissions);
        let mut other = agent(&s, 1002);
        let queue = match other.request(&Request::ListQueue).unwrap() {
            Response::Conversations(list) => list,
            r => panic!("{r:?}"),
        };
        assert_eq!(
            queue.iter().any(|c| c.conversation == conv),
            sees,
            "with permissions {permissions:?}: {queue:?}"
        );
    }
}

/// Permission 4: another agent's exclusive contact is found and read only by agents
/// holding it.
#[test]
fn permission_4_shows_all_customers() {
    let (s, _key, mut boss) = setup();
    exclusive(&mut boss);
    boss.request(&Request::CreateContact {
        customer: CustomerId::Identified("vip".into()),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    })
    .unwrap();
    for (permissions, sees) in [(all_but(4), false), (vec![4], true)] {
        give_role(&mut boss, 1002, &permissions);
        let mut other = agent(&s, 1002);
        let answer = other.request(&Request::GetContact {
            customer: CustomerId::Identified("vip".into()),
        });
        match (sees, answer) {
            (true, Ok(Response::Contact(c))) => assert_eq!(c.owner, Some(1001)),
            (false, Err(e)) => assert_eq!(e.code(), Some(ErrorCode::NOT_FOUND)),
            (_, other) => panic!("with permissions {permissions:?}: {other:?}"),
        }
    }
}

/// Permission 5: an agent sees its own customer's chat with another agent only when it
/// holds it (and not 4, which would show everything anyway). It matters with exclusive
/// customers on: off, the history is shared (§3.1; `history_visibility.rs`).
#[test]
fn permission_5_shows_own_customers_chats_with_others() {
    let (s, key, mut boss) = setup();
    exclusive(&mut boss);
    // 1002 owns the customer (it added it) and transfers it to 1001, which serves it.
    give_role(&mut boss, 1002, &[6, 8]);
    boss.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let mut first = agent(&s, 1002);
    first.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    first
        .request(&Request::CreateContact {
            customer: CustomerId::Identified("mine".into()),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })
        .unwrap();
    let mut mine = login_customer(s.client(), &key, ACCOUNT, "mine", now() + 3_600);
    let info = match mine
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!(info.state, ConversationState::Assigned { agent: 1002 });
    first
        .request(&Request::TransferConversation {
            conversation: info.conversation,
            to_agent: 1001,
        })
        .unwrap();
    drop(first);
    mine.request(&Request::SendMessage {
        conversation: info.conversation,
        client_msg_id: 1,
        body: MessageBody::Text("你好".into()),
    })
    .unwrap();
    let query = Request::History(HistoryQuery {
        customer: CustomerId::Identified("mine".into()),
        all_time: false,
        agent: None,
        kind: HistoryKind::All,
        keyword: String::new(),
        before: None,
        limit: 30,
    });
    let mut without_4_and_5 = all_but(4);
    without_4_and_5.retain(|p| *p != 5);
    for (permissions, sees) in [(without_4_and_5, false), (vec![5], true)] {
        give_role(&mut boss, 1002, &permissions);
        let mut owner = agent(&s, 1002);
        let page = match owner.request(&query).unwrap() {
            Response::History(p) => p,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            page.messages
                .iter()
                .any(|m| m.body == MessageBody::Text("你好".into())),
            sees,
            "with permissions {permissions:?}: {page:?}"
        );
    }
}
