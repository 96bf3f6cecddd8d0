//! Issue 11's remaining gaps through real sockets to a real kefud with the client
//! library: a transfer to a full agent (C5, §3.5; PROTOCOL.md 12.12.1), a pending
//! friend request that is not a contact (R4, R5, §5.3, §5.5; PROTOCOL.md 17.8.1), read
//! state and the accepted list's order over a restart (C15, §3.10; PROTOCOL.md 12.14)
//! and the exclusive owner on the wire (C7, §7.17; PROTOCOL.md 17.2.1).

mod support;

use kefu_wire::chat::{ConversationInfo, ConversationState, Entry, MessageBody};
use kefu_wire::crm::{ContactEdit, ContactState};
use kefu_wire::{Client, ErrorCode, Plan, Presence, Request, Response};
use support::*;

const ACCOUNT: u64 = 870_001;

/// Logs `agent` in with an auto-accept cap.
fn agent(s: &TestServer, agent: u32, cap: u16) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

/// An account with agents 1001 (administrator) to `last`, all with [`PASSWORD`].
fn setup(s: &TestServer, last: u32) -> [u8; 32] {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    for n in 1002..=last {
        add_agent(&mut admin, ACCOUNT, n, Some(PASSWORD));
    }
    customer_key(&mut admin, ACCOUNT)
}

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, id, now() + 3_600)
}

fn open_to(c: &mut Client, entry: Entry) -> ConversationInfo {
    match c.request(&Request::OpenConversation { entry }).unwrap() {
        Response::Conversation(info) => info,
        other => panic!("{other:?}"),
    }
}

fn conversations(a: &mut Client) -> Vec<ConversationInfo> {
    match a.request(&Request::ListConversations).unwrap() {
        Response::Conversations(list) => list,
        other => panic!("{other:?}"),
    }
}

fn say(c: &mut Client, conversation: u64, n: u64) {
    c.request(&Request::SendMessage {
        conversation,
        client_msg_id: n,
        body: MessageBody::Text(format!("line {n}")),
    })
    .unwrap();
}

/// §3.5 (C5): "当开启了自动接入且接入数未达上限的客服接收到…转接过来的客户时，该客户将被直接转接入
/// 已接入客户列表，如果该客服状态是“离开”或者“忙碌”，则该客户将进入未接入客户列表等待". A
/// transfer to an agent online with auto-accept on and at its cap is `TARGET_FULL`, and
/// nothing changes: the sender keeps the customer; an away or busy target still lets it
/// wait; the same agent below its cap takes it at once.
#[test]
fn s3_5_a_transfer_to_a_full_agent_is_refused_and_the_sender_keeps_the_customer() {
    let s = TestServer::start();
    let key = setup(&s, 1002);
    let mut first = agent(&s, 1001, 5);
    let mut full = agent(&s, 1002, 0);
    let mut dan = customer(&s, &key, "dan");
    let mut carol = customer(&s, &key, "carol");
    // 1002 serves one customer with a cap of one: full.
    let theirs = open_to(&mut dan, Entry::Agent(1002)).conversation;
    full.request(&Request::AcceptConversation {
        conversation: theirs,
    })
    .unwrap();
    full.request(&Request::SetAutoAccept { cap: 1 }).unwrap();
    let conv = open_to(&mut carol, Entry::Agent(1001));
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1001 });
    let conv = conv.conversation;
    let transfer = Request::TransferConversation {
        conversation: conv,
        to_agent: 1002,
    };
    let e = first.request(&transfer).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::TARGET_FULL));
    assert!(e.to_string().contains("1002"), "{e}");
    // Nothing changed: 1001 serves carol, 1002 serves dan only, nothing waits.
    let mine: Vec<u64> = conversations(&mut first)
        .iter()
        .map(|c| c.conversation)
        .collect();
    assert!(mine.contains(&conv), "{mine:?}");
    let theirs_now: Vec<u64> = conversations(&mut full)
        .iter()
        .map(|c| c.conversation)
        .collect();
    assert_eq!(theirs_now, [theirs]);
    match full.request(&Request::ListQueue).unwrap() {
        Response::Conversations(q) => assert!(q.is_empty(), "{q:?}"),
        other => panic!("{other:?}"),
    }
    say(&mut first, conv, 1);
    // Busy while full: it waits for 1002 (§3.5's "离开"或者"忙碌").
    full.request(&Request::SetPresence {
        presence: Presence::Busy,
    })
    .unwrap();
    match first.request(&transfer).unwrap() {
        Response::Conversation(c) => {
            assert_eq!(c.state, ConversationState::Queued { target: Some(1002) })
        }
        other => panic!("{other:?}"),
    }
    // Online with room: taken at once.
    full.request(&Request::SetPresence {
        presence: Presence::Online,
    })
    .unwrap();
    full.request(&Request::SetAutoAccept { cap: 3 }).unwrap();
    let got = conversations(&mut full);
    assert!(
        got.iter()
            .any(|c| c.conversation == conv
                && c.state == ConversationState::Assigned { agent: 1002 }),
        "{got:?}"
    );
    assert_eq!(
        code(first.request(&Request::TransferConversation {
            conversation: conv,
            to_agent: 1002,
        })),
        ErrorCode::NOT_IN_CONVERSATION
    );
}

fn silver_account(s: &TestServer) -> [u8; 32] {
    let mut admin = s.admin();
    admin
        .request(&Request::AdminCreateAccount {
            account: ACCOUNT,
            name: "silver".into(),
            plan: Plan::Silver,
            expires_at: now() + 365 * 86_400,
            password_1001: PASSWORD.into(),
            super_password: SUPER.into(),
        })
        .unwrap();
    customer_key(&mut admin, ACCOUNT)
}

fn ask(boss: &mut Client, who: &str) -> Result<Response, ErrorCode> {
    boss.request(&Request::RequestContact {
        customer: id(who),
        note: "加个好友".into(),
    })
    .map_err(|e| e.code().expect("a server error"))
}

fn add(boss: &mut Client, who: &str) -> Result<Response, ErrorCode> {
    boss.request(&Request::CreateContact {
        customer: id(who),
        state: ContactState::Friend,
        edit: ContactEdit::default(),
    })
    .map_err(|e| e.code().expect("a server error"))
}

fn state_of(boss: &mut Client, who: &str) -> Option<ContactState> {
    match boss.request(&Request::GetContact { customer: id(who) }) {
        Ok(Response::Contact(c)) => Some(c.state),
        Ok(other) => panic!("{other:?}"),
        Err(e) => {
            assert_eq!(e.code(), Some(ErrorCode::NOT_FOUND));
            None
        }
    }
}

fn answer(s: &TestServer, key: &[u8; 32], who: &str, accept: bool) -> Result<(), ErrorCode> {
    customer(s, key, who)
        .request(&Request::AnswerContactRequest { accept })
        .map(|_| ())
        .map_err(|e| e.code().expect("a server error"))
}

/// R4/R5, §5.3 "在弹出的“添加客户”对话框中…点击“确定”即可完成添加操作。在对方同意以后，会被自动添加
/// 到相应的分组" and §5.5 "营销 QQ 好友的总人数上限是 10 万人(含陌生人与黑名单)": a friend request
/// waiting for the customer's answer is not a contact. A silver account (25,000) with
/// three requests outstanding still takes contacts up to 25,000; at the limit agents
/// may not add (§5.5 "企业将不能再主动添加 QQ 客户为好友"), and an acceptance is refused with
/// `ACCOUNT_FULL` and stays pending until there is room; across a restart the counts are
/// the same (recounted at load).
#[test]
fn s5_5_a_pending_request_is_not_a_contact() {
    let mut s = TestServer::start();
    let key = silver_account(&s);
    operator_import(&mut s.admin(), ACCOUNT, &id_rows("m", 24_998));
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    for who in ["k1", "k2", "k3"] {
        ask(&mut boss, who).unwrap();
    }
    // 24,998 contacts and 3 requests: two more contacts fit, the third does not.
    add(&mut boss, "a1").unwrap();
    add(&mut boss, "a2").unwrap();
    assert_eq!(add(&mut boss, "a3"), Err(ErrorCode::CONTACT_LIMIT));
    assert_eq!(ask(&mut boss, "k4"), Err(ErrorCode::CONTACT_LIMIT));
    // Full: k1's acceptance waits for room; nothing changed.
    assert_eq!(answer(&s, &key, "k1", true), Err(ErrorCode::ACCOUNT_FULL));
    assert_eq!(state_of(&mut boss, "k1"), Some(ContactState::Pending));
    // k2 declines: never talked to us, nothing is left of it.
    answer(&s, &key, "k2", false).unwrap();
    assert_eq!(state_of(&mut boss, "k2"), None);
    // The same over a restart: still full, k1 and k3 still pending, not counted.
    drop(boss);
    s.restart();
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(state_of(&mut boss, "k1"), Some(ContactState::Pending));
    assert_eq!(state_of(&mut boss, "k3"), Some(ContactState::Pending));
    assert_eq!(add(&mut boss, "a3"), Err(ErrorCode::CONTACT_LIMIT));
    assert_eq!(answer(&s, &key, "k1", true), Err(ErrorCode::ACCOUNT_FULL));
    // Room for one: k1's acceptance takes it, and the account is full again.
    match boss
        .request(&Request::DeleteContacts {
            customers: vec![id("a1")],
        })
        .unwrap()
    {
        Response::Deleted { count } => assert_eq!(count, 1),
        other => panic!("{other:?}"),
    }
    answer(&s, &key, "k1", true).unwrap();
    assert_eq!(state_of(&mut boss, "k1"), Some(ContactState::Friend));
    assert_eq!(add(&mut boss, "a3"), Err(ErrorCode::CONTACT_LIMIT));
    // Deleting a pending request frees no contact's place (it held none).
    match boss
        .request(&Request::DeleteContacts {
            customers: vec![id("k3")],
        })
        .unwrap()
    {
        Response::Deleted { count } => assert_eq!(count, 1),
        other => panic!("{other:?}"),
    }
    assert_eq!(add(&mut boss, "a3"), Err(ErrorCode::CONTACT_LIMIT));
    // Room made by a contact: agents may ask again, and the request holds no place.
    match boss
        .request(&Request::DeleteContacts {
            customers: vec![id("a2")],
        })
        .unwrap()
    {
        Response::Deleted { count } => assert_eq!(count, 1),
        other => panic!("{other:?}"),
    }
    ask(&mut boss, "k5").unwrap();
    add(&mut boss, "a4").unwrap();
    drop(boss);
    s.restart();
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(add(&mut boss, "a5"), Err(ErrorCode::CONTACT_LIMIT));
    assert_eq!(state_of(&mut boss, "k5"), Some(ContactState::Pending));
}

fn owners(a: &mut Client, who: &str) -> Result<(Option<u32>, Option<u32>), ErrorCode> {
    match a.request(&Request::GetContactOwners { customer: id(who) }) {
        Ok(Response::ContactOwners {
            owner,
            exclusive_owner,
        }) => Ok((owner, exclusive_owner)),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code().expect("a server error")),
    }
}

/// C7 and R2, §7.17 "独占规则 … e) 如果客服将自己独占的客户转接给其他客服, 那么这个客户就转为由第二个
/// 客服独占" and §5.1 (own customers): the exclusive owner is on the wire beside the
/// own-customer owner. After a transfer in exclusive mode the customer is exclusive to
/// the receiving agent while it stays the first agent's own customer; the first agent,
/// without permission 4, no longer sees it (`NOT_FOUND`, §7.17 d), the receiving one and
/// an administrator see both owners.
#[test]
fn s7_17_e_the_exclusive_owner_is_on_the_wire_after_a_transfer() {
    let s = TestServer::start();
    let key = setup(&s, 1003);
    let mut boss = agent(&s, 1001, 0);
    for n in [1002, 1003] {
        give_role(&mut boss, n, &[1]);
    }
    let mut settings = match boss.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    settings.exclusive = true;
    boss.request(&Request::SetRoutingSettings { settings })
        .unwrap();
    let mut li = agent(&s, 1002, 5);
    let mut wang = agent(&s, 1003, 0);
    let mut eve = customer(&s, &key, "eve");
    let conv = open_to(&mut eve, Entry::Auto);
    assert_eq!(conv.state, ConversationState::Assigned { agent: 1002 });
    // First served by 1002: its own customer and exclusive to it.
    assert_eq!(owners(&mut li, "eve"), Ok((Some(1002), Some(1002))));
    assert_eq!(owners(&mut wang, "eve"), Err(ErrorCode::NOT_FOUND));
    assert_eq!(owners(&mut li, "nobody"), Err(ErrorCode::NOT_FOUND));
    wang.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    li.request(&Request::TransferConversation {
        conversation: conv.conversation,
        to_agent: 1003,
    })
    .unwrap();
    // Rule e: exclusive to 1003 now; still 1002's own customer (R2).
    assert_eq!(owners(&mut wang, "eve"), Ok((Some(1002), Some(1003))));
    assert_eq!(owners(&mut boss, "eve"), Ok((Some(1002), Some(1003))));
    assert_eq!(owners(&mut li, "eve"), Err(ErrorCode::NOT_FOUND));
    // GetContact tells the same story with its one owner field (R2).
    match wang
        .request(&Request::GetContact {
            customer: id("eve"),
        })
        .unwrap()
    {
        Response::Contact(c) => assert_eq!(c.owner, Some(1002)),
        other => panic!("{other:?}"),
    }
}

/// C15, §3.10 "已接入客户列表中会有色块提醒客服，下面或上面有客户发新消息来" and "客服还可根据需要直接
/// 拖动客户改变排列次序": unread counts (the new-message flag is `unread > 0`) and the
/// agent's order of its accepted list survive a restart of the daemon over the same
/// data; a message after the restart counts on from the restored count.
#[test]
fn s3_10_read_state_and_order_survive_a_restart() {
    let mut s = TestServer::start();
    let key = setup(&s, 1001);
    let mut boss = agent(&s, 1001, 5);
    let mut ids = Vec::new();
    for (who, lines) in [("amy", 2), ("bob", 1), ("cat", 3)] {
        let mut c = customer(&s, &key, who);
        let conv = open_to(&mut c, Entry::Auto);
        assert_eq!(conv.state, ConversationState::Assigned { agent: 1001 });
        for n in 0..lines {
            say(&mut c, conv.conversation, n + 1);
        }
        ids.push(conv.conversation);
    }
    let (amy, bob, cat) = (ids[0], ids[1], ids[2]);
    boss.request(&Request::MarkRead { conversation: bob })
        .unwrap();
    boss.request(&Request::OrderConversations {
        order: vec![cat, amy],
    })
    .unwrap();
    let before: Vec<(u64, u32)> = conversations(&mut boss)
        .iter()
        .map(|c| (c.conversation, c.unread))
        .collect();
    assert_eq!(before, [(cat, 3), (amy, 2), (bob, 0)]);
    drop(boss);
    s.restart();
    let mut boss = agent(&s, 1001, 5);
    let after: Vec<(u64, u32)> = conversations(&mut boss)
        .iter()
        .map(|c| (c.conversation, c.unread))
        .collect();
    assert_eq!(
        after, before,
        "the same counts, flags and order after a restart"
    );
    // Counting on: amy writes again; 1001 answers cat, which reads it.
    let mut c = customer(&s, &key, "amy");
    say(&mut c, amy, 10);
    say(&mut boss, cat, 1);
    let now: Vec<(u64, u32)> = conversations(&mut boss)
        .iter()
        .map(|c| (c.conversation, c.unread))
        .collect();
    assert_eq!(now, [(cat, 0), (amy, 3), (bob, 0)]);
    drop((boss, c));
    s.restart();
    let mut boss = agent(&s, 1001, 5);
    let again: Vec<(u64, u32)> = conversations(&mut boss)
        .iter()
        .map(|c| (c.conversation, c.unread))
        .collect();
    assert_eq!(again, now);
}
