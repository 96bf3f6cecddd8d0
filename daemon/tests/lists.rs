//! Issue 11, points 4, 6 and 10, through real sockets and the client library: how a
//! customer is shown an agent (display mode, A5, §7.10, §7.18), agent lists by agent
//! group with "ungrouped" (§3.1), the accepted list's read state and order (C15, §3.10:
//! `MarkRead`, the new-message flag, `OrderConversations`, unread counts across a
//! reconnect) and the "online now" search filter (R6, §5.6).

mod support;

use std::time::Duration;

use kefu_wire::chat::{ConversationInfo, CustomerId, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactQuery, ContactState};
use kefu_wire::{
    AgentProfile, Client, DisplayMode, ErrorCode, Event, Request, Response, ShownAgent,
};
use support::*;

const ACCOUNT: u64 = 870_001;

fn setup() -> (TestServer, [u8; 32], Client) {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    add_agent(&mut admin, ACCOUNT, 1003, Some(PASSWORD));
    let key = customer_key(&mut admin, ACCOUNT);
    let boss = agent(&s, 1001);
    (s, key, boss)
}

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

fn say(c: &mut Client, conversation: u64, id: u64, text: &str) {
    c.request(&Request::SendMessage {
        conversation,
        client_msg_id: id,
        body: MessageBody::Text(text.into()),
    })
    .unwrap();
}

fn conversations(c: &mut Client) -> Vec<ConversationInfo> {
    match c.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => list,
        other => panic!("{other:?}"),
    }
}

fn profile(c: &mut Client, agent: u32, nickname: &str, group: &str, display: DisplayMode) {
    c.request(&Request::SetAgentProfile {
        agent,
        profile: AgentProfile {
            nickname: nickname.into(),
            group: group.into(),
            display,
            phone: String::new(),
        },
    })
    .unwrap();
}

fn shown(c: &mut Client) -> Option<ShownAgent> {
    match c.request(&Request::ServingAgent).unwrap() {
        Response::ServingAgent(a) => a,
        other => panic!("{other:?}"),
    }
}

/// A5, §7.18 ("在 QQ 侧默认展现客服昵称 … 勾选上'聊天时显示员工工号'"), §7.10: the customer
/// is shown its agent's nickname by default and the agent number when the agent's
/// display setting says so; with no open conversation, nobody. Agents may not ask.
#[test]
fn display_mode_7_18_names_the_agent_to_the_customer() {
    let (s, key, mut boss) = setup();
    profile(&mut boss, 1002, "小王", "", DisplayMode::Nickname);
    let _w = serving(&s, 1002);
    let mut kate = customer(&s, &key, "kate");
    assert_eq!(shown(&mut kate), None, "no conversation yet");
    let conv = open(&mut kate);
    assert_eq!(
        conv.state,
        kefu_wire::chat::ConversationState::Assigned { agent: 1002 }
    );
    assert_eq!(
        shown(&mut kate),
        Some(ShownAgent {
            agent: 1002,
            shown_as: "小王".into()
        })
    );
    profile(&mut boss, 1002, "小王", "", DisplayMode::AgentNumber);
    assert_eq!(
        shown(&mut kate),
        Some(ShownAgent {
            agent: 1002,
            shown_as: "1002".into()
        })
    );
    assert_eq!(
        boss.request(&Request::ServingAgent).unwrap_err().code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
}

/// §3.1 ("客服将根据客服分组在会话列表中展现 … 未分组为系统保留分组,如果当该组中没有任何客服
/// 时,分组将不在会话列表中展现"): agents are listed by agent group, the ungrouped last and
/// only while it has agents.
#[test]
fn agent_groups_3_1_list_agents_by_group_with_ungrouped() {
    let (_s, _key, mut boss) = setup();
    profile(&mut boss, 1002, "agent 1002", "售前", DisplayMode::Nickname);
    profile(&mut boss, 1003, "agent 1003", "售后", DisplayMode::Nickname);
    let groups = |c: &mut Client| match c.request(&Request::ListAgentGroups).unwrap() {
        Response::AgentGroups(g) => g
            .into_iter()
            .map(|g| (g.name, g.agents.iter().map(|a| a.agent).collect::<Vec<_>>()))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let mut named = [
        ("售前".to_string(), vec![1002]),
        ("售后".to_string(), vec![1003]),
    ];
    named.sort();
    let mut want = named.to_vec();
    want.push((String::new(), vec![1001]));
    assert_eq!(groups(&mut boss), want);
    profile(&mut boss, 1001, "boss", "售前", DisplayMode::Nickname);
    let mut want: Vec<(String, Vec<u32>)> = named.to_vec();
    for (name, agents) in &mut want {
        if name == "售前" {
            *agents = vec![1001, 1002];
        }
    }
    assert_eq!(
        groups(&mut boss),
        want,
        "no agent left ungrouped: no such group"
    );
}

/// C15, §3.10 ("已接入客户列表中会有色块提醒客服 … 有客户发新消息来"): a customer message sets
/// the new-message flag (`unread > 0`); `MarkRead` by the serving agent clears it and
/// the agent is pushed the conversation again; another agent may not mark it.
#[test]
fn read_state_3_10_mark_read_clears_the_new_message_flag() {
    let (s, key, _boss) = setup();
    let mut w = serving(&s, 1002);
    let mut kate = customer(&s, &key, "kate");
    let conv = open(&mut kate).conversation;
    say(&mut kate, conv, 1, "在吗");
    say(&mut kate, conv, 2, "发票的问题");
    let list = conversations(&mut w);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].unread, 2, "two new messages: the flag is set");
    let mut other = agent(&s, 1003);
    assert_eq!(
        other
            .request(&Request::MarkRead { conversation: conv })
            .unwrap_err()
            .code(),
        Some(ErrorCode::NOT_IN_CONVERSATION)
    );
    assert_eq!(
        w.request(&Request::MarkRead { conversation: 999 })
            .unwrap_err()
            .code(),
        Some(ErrorCode::NOT_FOUND)
    );
    assert_eq!(
        conversations(&mut w)[0].unread,
        2,
        "refusals change nothing"
    );
    w.request(&Request::MarkRead { conversation: conv })
        .unwrap();
    assert_eq!(conversations(&mut w)[0].unread, 0);
    loop {
        let p = w
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("the conversation, read");
        if let Event::ConversationChanged(c) = p.event {
            if c.conversation == conv && c.unread == 0 {
                break;
            }
        }
    }
}

/// C15: unread counts belong to the conversation, not the connection: an agent that
/// logs out keeping its conversations (§3.12) and logs in again finds them, messages
/// that came meanwhile counted.
#[test]
fn read_state_c15_unread_counts_survive_a_reconnect() {
    let (s, key, _boss) = setup();
    let mut w = serving(&s, 1002);
    let mut kate = customer(&s, &key, "kate");
    let conv = open(&mut kate).conversation;
    say(&mut kate, conv, 1, "一");
    w.request(&Request::LogoutWith {
        keep_conversations: true,
    })
    .unwrap();
    say(&mut kate, conv, 2, "二");
    say(&mut kate, conv, 3, "三");
    let mut w = agent(&s, 1002);
    let list = conversations(&mut w);
    assert_eq!(
        list.iter()
            .map(|c| (c.conversation, c.unread))
            .collect::<Vec<_>>(),
        vec![(conv, 3)]
    );
}

/// §3.10 ("客服还可根据需要直接拖动客户改变排列次序"): the agent orders its accepted list;
/// conversations it did not place follow, oldest first; a bad order changes nothing.
#[test]
fn list_order_3_10_is_the_agents_own() {
    let (s, key, _boss) = setup();
    let mut w = serving(&s, 1002);
    let mut customers: Vec<Client> = ["a", "b", "c"]
        .iter()
        .map(|who| customer(&s, &key, who))
        .collect();
    let ids: Vec<u64> = customers.iter_mut().map(|c| open(c).conversation).collect();
    let order =
        |w: &mut Client| -> Vec<u64> { conversations(w).iter().map(|c| c.conversation).collect() };
    assert_eq!(
        order(&mut w),
        ids,
        "oldest first until the agent orders them"
    );
    w.request(&Request::OrderConversations {
        order: vec![ids[2], ids[0]],
    })
    .unwrap();
    assert_eq!(order(&mut w), vec![ids[2], ids[0], ids[1]]);
    assert_eq!(
        w.request(&Request::OrderConversations {
            order: vec![ids[1], ids[1]],
        })
        .unwrap_err()
        .code(),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    assert_eq!(
        w.request(&Request::OrderConversations {
            order: vec![ids[1], 999],
        })
        .unwrap_err()
        .code(),
        Some(ErrorCode::NOT_IN_CONVERSATION)
    );
    assert_eq!(order(&mut w), vec![ids[2], ids[0], ids[1]], "unchanged");
    // A closed conversation leaves the order; the rest keep it.
    customers[2]
        .request(&Request::CloseConversation {
            conversation: ids[2],
        })
        .unwrap();
    assert_eq!(order(&mut w), vec![ids[0], ids[1]]);
}

/// R6, §5.6 (高级查找, the "online" filter): `SearchOnlineContacts` finds only contacts
/// logged in now, with the keyword and filters of `SearchContacts`.
#[test]
fn search_r6_online_now() {
    let (s, key, mut boss) = setup();
    for who in ["zhang-1", "zhang-2", "li-3"] {
        boss.request(&Request::CreateContact {
            customer: CustomerId::Identified(who.into()),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })
        .unwrap();
    }
    let query = |text: &str| ContactQuery {
        text: text.into(),
        ..ContactQuery::everything(30)
    };
    let found = |c: &mut Client, text: &str| match c
        .request(&Request::SearchOnlineContacts(query(text)))
        .unwrap()
    {
        Response::Contacts(page) => (
            page.total,
            page.contacts
                .into_iter()
                .map(|c| c.customer)
                .collect::<Vec<_>>(),
        ),
        other => panic!("{other:?}"),
    };
    let id = |s: &str| CustomerId::Identified(s.into());
    assert_eq!(found(&mut boss, ""), (0, vec![]), "nobody online");
    let _z2 = customer(&s, &key, "zhang-2");
    let _l3 = customer(&s, &key, "li-3");
    assert_eq!(found(&mut boss, ""), (2, vec![id("li-3"), id("zhang-2")]));
    assert_eq!(found(&mut boss, "zhang"), (1, vec![id("zhang-2")]));
    // Without the filter, all three.
    match boss
        .request(&Request::SearchContacts(query("zhang")))
        .unwrap()
    {
        Response::Contacts(page) => assert_eq!(page.total, 2),
        other => panic!("{other:?}"),
    }
}
