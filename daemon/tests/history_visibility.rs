//! Issue 11, point 3: who sees which messages of a customer's history (H3; manual §3.1
//! "历史记录留存", §5.1, §6.1, §7.13 permissions 4 and 5), and the own-customer owner (R2)
//! kept apart from the exclusive owner (C7, §7.17 rule e), through real sockets and the
//! client library, across a restart.

mod support;

use kefu_wire::chat::{ConversationState, CustomerId, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactState, HistoryKind, HistoryQuery};
use kefu_wire::{Client, Request, Response};
use support::*;

const ACCOUNT: u64 = 880_001;

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, agent, PASSWORD).unwrap();
    c
}

fn serving(s: &TestServer, agent_no: u32) -> Client {
    let mut c = agent(s, agent_no);
    c.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    c
}

fn customer(s: &TestServer, key: &[u8; 32], who: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, who, now() + 3_600)
}

fn send(c: &mut Client, conversation: u64, id: u64, body: MessageBody) {
    c.request(&Request::SendMessage {
        conversation,
        client_msg_id: id,
        body,
    })
    .unwrap();
}

fn text(s: &str) -> MessageBody {
    MessageBody::Text(s.into())
}

fn set_exclusive(boss: &mut Client, on: bool) {
    let mut settings = match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    settings.exclusive = on;
    boss.request(&Request::SetRoutingSettings { settings })
        .unwrap();
}

/// The texts of `who`'s history `c` sees, oldest first; images as "[image]".
fn history(c: &mut Client, who: &str) -> Vec<String> {
    let page = match c
        .request(&Request::History(HistoryQuery {
            customer: CustomerId::Identified(who.into()),
            all_time: true,
            agent: None,
            kind: HistoryKind::All,
            keyword: String::new(),
            before: None,
            limit: 100,
        }))
        .unwrap()
    {
        Response::History(p) => p,
        other => panic!("{other:?}"),
    };
    let mut out: Vec<String> = page
        .messages
        .into_iter()
        .map(|m| match m.body {
            MessageBody::Text(t) => t,
            MessageBody::Image { .. } => "[image]".into(),
            MessageBody::File { name, .. } => name,
        })
        .collect();
    out.reverse();
    out
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

/// Boss 1001 with every permission; 1002 and 1003 with only "manage groups" (8): no
/// permission 4 nor 5.
fn setup() -> (TestServer, [u8; 32], Client) {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    add_agent(&mut admin, ACCOUNT, 1003, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let mut boss = agent(&s, 1001);
    give_role(&mut boss, 1002, &[8]);
    give_role(&mut boss, 1003, &[8]);
    (s, key, boss)
}

/// §3.1 历史记录留存 ("这些历史消息记录也可以让其他的工号看到，保证客户服务的延续性"): with
/// exclusive customers off, every agent sees the account's history with a customer,
/// whatever its permissions — except the images and files the customer sent, which only
/// the agent who received them sees (§6.1).
#[test]
fn history_3_1_is_shared_with_exclusive_customers_off() {
    let (s, key, _boss) = setup();
    let mut w = serving(&s, 1002);
    let mut kate = customer(&s, &key, "kate");
    let conv = open(&mut kate).conversation;
    send(&mut kate, conv, 1, text("发票开错了"));
    send(
        &mut kate,
        conv,
        2,
        MessageBody::Image {
            reference: "img/1".into(),
        },
    );
    send(&mut w, conv, 1, text("马上处理"));
    let mut stranger = agent(&s, 1003);
    assert_eq!(
        history(&mut stranger, "kate"),
        vec!["发票开错了", "马上处理"],
        "shared, the received image excepted"
    );
    assert_eq!(
        history(&mut w, "kate"),
        vec!["发票开错了", "[image]", "马上处理"]
    );
}

/// §5.1 ("开启了独占客户之后，默认权限的工号仅能查看自己客户及自己客户与自己的消息记录") and
/// §5.1/§7.13 permission 5 ("工号将某客户转接之后，普通权限工号仅能看到该客户与自己聊天的相应
/// 部分内容"): with exclusive customers on, an agent without permissions 4 and 5 sees only
/// the part of a conversation it served — the customer's messages in it included — even
/// after transferring it; with permission 5 it sees its own customer's whole history; an
/// agent that never served the customer sees none of it; permission 4 sees everything.
#[test]
fn history_5_1_exclusive_on_shows_the_part_served() {
    let (s, key, mut boss) = setup();
    set_exclusive(&mut boss, true);
    boss.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    let mut w = serving(&s, 1002);
    // 1002's own customer (added by it: R2, and exclusive to it: rule b).
    w.request(&Request::CreateContact {
        customer: CustomerId::Identified("mine".into()),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    })
    .unwrap();
    let mut mine = customer(&s, &key, "mine");
    let conv = open(&mut mine);
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1002 });
    let conv = conv.conversation;
    send(&mut mine, conv, 1, text("第一段"));
    send(&mut w, conv, 1, text("您好"));
    w.request(&Request::TransferConversation {
        conversation: conv,
        to_agent: 1001,
    })
    .unwrap();
    send(&mut mine, conv, 2, text("第二段"));
    send(&mut boss, conv, 1, text("我来处理"));
    let first_part = vec!["第一段", "您好"];
    let all = vec!["第一段", "您好", "第二段", "我来处理"];
    assert_eq!(history(&mut w, "mine"), first_part, "1002 without 4 and 5");
    assert_eq!(history(&mut boss, "mine"), all, "1001: permission 4");
    let mut stranger = agent(&s, 1003);
    assert!(history(&mut stranger, "mine").is_empty(), "never served it");
    give_role(&mut boss, 1002, &[5, 8]);
    let mut w = agent(&s, 1002);
    assert_eq!(
        history(&mut w, "mine"),
        all,
        "1002 with 5: its own customer"
    );
    give_role(&mut boss, 1003, &[5, 8]);
    let mut stranger = agent(&s, 1003);
    assert!(
        history(&mut stranger, "mine").is_empty(),
        "permission 5 is about one's own customers"
    );
    // Switched off again: shared with every agent.
    set_exclusive(&mut boss, false);
    assert_eq!(history(&mut stranger, "mine"), all);
}

/// §5.1 / §7.17 rule e: the own-customer owner (R2: who first served, added or imported
/// the customer) and the exclusive owner (C7) are separate: a transfer in exclusive mode
/// moves the customer to the receiving agent (it comes back to that agent) while the
/// contact's `owner` stays the agent who brought it — and both survive a restart.
#[test]
fn owners_7_17_e_a_transfer_moves_the_exclusive_owner_not_the_own_customer() {
    let (mut s, key, mut boss) = setup();
    set_exclusive(&mut boss, true);
    boss.request(&Request::SetAutoAccept { cap: 10 }).unwrap();
    let mut w = serving(&s, 1002);
    w.request(&Request::CreateContact {
        customer: CustomerId::Identified("mine".into()),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    })
    .unwrap();
    let mut mine = customer(&s, &key, "mine");
    let conv = open(&mut mine).conversation;
    w.request(&Request::TransferConversation {
        conversation: conv,
        to_agent: 1001,
    })
    .unwrap();
    assert_eq!(
        owner(&mut boss, "mine"),
        Some(1002),
        "own customer unchanged"
    );
    mine.request(&Request::CloseConversation { conversation: conv })
        .unwrap();
    let again = open(&mut mine);
    assert_eq!(
        again.state,
        ConversationState::Assigned { agent: 1001 },
        "exclusive to the receiving agent (rule e), though 1002 is online and idle"
    );
    mine.request(&Request::CloseConversation {
        conversation: again.conversation,
    })
    .unwrap();
    drop((boss, w, mine));
    s.restart();
    let mut boss = serving(&s, 1001);
    let _w = serving(&s, 1002);
    assert_eq!(owner(&mut boss, "mine"), Some(1002));
    let mut mine = customer(&s, &key, "mine");
    assert_eq!(
        open(&mut mine).state,
        ConversationState::Assigned { agent: 1001 }
    );
}
