//! Issue 11's remaining gaps through real sockets to a real kefud with the client
//! library: a transfer to a full agent (C5, §3.5; PROTOCOL.md 12.12.1), a pending
//! friend request that is not a contact (R4, R5, §5.3, §5.5; PROTOCOL.md 17.8.1), read
//! state and the accepted list's order over a restart (C15, §3.10; PROTOCOL.md 12.14)
//! and the exclusive owner on the wire (C7, §7.17; PROTOCOL.md 17.2.1).

mod support;

use kefu_wire::chat::{ConversationInfo, ConversationState, Entry, MessageBody};
use kefu_wire::{Client, ErrorCode, Presence, Request, Response};
use support::*;

const ACCOUNT: u64 = 870_001;

fn code<T: std::fmt::Debug>(r: Result<T, kefu_wire::ClientError>) -> ErrorCode {
    r.expect_err("refused").code().expect("a server error")
}

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
