//! The spam filter, the trash, mute and the blacklist (M6, manual §3.11; PROTOCOL.md
//! section 26) through real sockets to a real kefud with the client library: each
//! strength sends what it should to the trash and lets the rest through; a trashed
//! conversation is neither auto-accepted nor pushed to any agent nor sent a friend
//! request (§7.8 note); taking one out of the trash whitelists its customer; a muted
//! customer's messages arrive without notification (§3.11.3); a blacklisted customer
//! is refused and only permission 7 takes it off the blacklist (§3.11.2–3); a restart
//! keeps the setting, the trash, the whitelist and the mutes.

mod support;

use kefu_daemon::store::spam_records::WhitelistRecord;
use kefu_daemon::store::{
    keys, open_rocks, Batch, Cf, Durability, KvStore, RocksOptions, StoredRecord,
};
use kefu_wire::chat::{ConversationInfo, ConversationState, CustomerId, MessageBody, Party};
use kefu_wire::crm::{ContactNotice, ContactSettings, ContactState};
use kefu_wire::spam::SpamLevel;
use kefu_wire::{Client, ErrorCode, Event, Request, Response};
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 814_014;

fn setup(s: &TestServer) -> [u8; 32] {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    customer_key(&mut admin, ACCOUNT)
}

/// Agent `n`, online with auto-accept on (cap 50): it would take every new conversation.
fn agent(s: &TestServer, n: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, n, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 50 }).unwrap();
    a
}

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, id, now() + 86_400)
}

fn level(c: &mut Client, level: SpamLevel) {
    assert_eq!(
        c.request(&Request::SetSpamFilter { level }).unwrap(),
        Response::Ok
    );
}

fn send(c: &mut Client, conversation: u64, id: u64, body: MessageBody) {
    let r = c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id: id,
            body,
        })
        .unwrap();
    assert!(matches!(r, Response::Sent { .. }), "{r:?}");
}

fn text(t: &str) -> MessageBody {
    MessageBody::Text(t.into())
}

fn conversations(c: &mut Client, r: &Request) -> Vec<ConversationInfo> {
    match c.request(r).unwrap() {
        Response::Conversations(list) => list,
        other => panic!("{other:?}"),
    }
}

fn trash(c: &mut Client) -> Vec<u64> {
    let list = conversations(c, &Request::ListTrash);
    list.iter().map(|c| c.conversation).collect()
}

/// The pushes `c` has had so far: one round trip first, so every turn before it was
/// released (pushes and answers leave in commit order on one connection).
fn pushes(c: &mut Client) -> Vec<Event> {
    c.request(&Request::GetAccountPresence).unwrap();
    let mut out = Vec::new();
    while let Some(p) = c.next_push(Duration::ZERO).unwrap() {
        out.push(p.event);
    }
    out
}

/// Whether any of `events` is about `conversation`.
fn mentions(events: &[Event], conversation: u64) -> bool {
    events.iter().any(|e| match e {
        Event::Message(m) | Event::QuietMessage(m) => m.conversation == conversation,
        Event::ConversationChanged(c) => c.conversation == conversation,
        Event::ConversationAlert {
            conversation: c, ..
        } => *c == conversation,
        _ => false,
    })
}

/// A customer opens a conversation and writes `body` first; returns the conversation.
fn first_message(s: &TestServer, key: &[u8; 32], id: &str, body: MessageBody) -> (Client, u64) {
    let mut c = customer(s, key, id);
    let conversation = open(&mut c).conversation;
    send(&mut c, conversation, 1, body);
    (c, conversation)
}

/// §3.11.1 "消息过滤的强度分为三个级别": each strength sends to the trash what its
/// rules catch (PROTOCOL.md 26.2) and lets the rest through to the agent, which
/// auto-accepts it as before; off, nothing is filtered.
#[test]
fn m6_3_11_1_each_strength_traps_what_it_should_and_lets_the_rest_through() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    let image = MessageBody::Image {
        reference: "img-7".into(),
    };
    // (first message, the weakest strength that catches it; None: none does)
    let rows: Vec<(MessageBody, Option<SpamLevel>)> = vec![
        (text("你好，请问有货吗？"), None),
        (text("订单 123456 什么时候到"), None),
        (text("专业代开发票 税点低"), Some(SpamLevel::Low)),
        (text("加 微 信 领红包"), Some(SpamLevel::Low)),
        (text("优惠看 http://a.example/x"), Some(SpamLevel::Medium)),
        (text("电话 13800138000"), Some(SpamLevel::Medium)),
        (image, Some(SpamLevel::High)),
        (text("在吗！！！！！！"), Some(SpamLevel::High)),
        (text(&"好问题".repeat(101)), Some(SpamLevel::High)),
    ];
    let strength = |l: SpamLevel| match l {
        SpamLevel::Off => 0,
        SpamLevel::Low => 1,
        SpamLevel::Medium => 2,
        SpamLevel::High => 3,
    };
    let mut n = 0;
    for filter in [
        SpamLevel::Off,
        SpamLevel::Low,
        SpamLevel::Medium,
        SpamLevel::High,
    ] {
        level(&mut boss, filter);
        for (body, weakest) in &rows {
            n += 1;
            let (mut c, conv) = first_message(&s, &key, &format!("c{n}"), body.clone());
            let caught = weakest.is_some_and(|w| strength(filter) >= strength(w));
            let served = conversations(&mut boss, &Request::ListConversations);
            let served = served.iter().any(|i| i.conversation == conv);
            assert_eq!(
                trash(&mut boss).contains(&conv),
                caught,
                "{body:?} at {filter:?}"
            );
            assert_eq!(served, !caught, "{body:?} at {filter:?}");
            c.request(&Request::CloseConversation { conversation: conv })
                .unwrap();
        }
    }
    assert!(
        trash(&mut boss).is_empty(),
        "closed conversations leave the trash"
    );
}

/// §3.11.1 "垃圾箱中的用户不会被自动接入，也不会提醒" and §7.8 "系统不会给垃圾箱中的客户
/// 发送加好友请求 … 不会被添加到陌生人分组": a trashed conversation is not auto-accepted,
/// nothing about it reaches any agent, it is not in the queue, and its customer gets no
/// friend request and no contact; a customer that passes gets both, as before.
#[test]
fn m6_3_11_1_trash_is_not_auto_accepted_notified_queued_nor_sent_a_friend_request() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    let mut other = s.client();
    other.login(ACCOUNT, 1002, PASSWORD).unwrap(); // cap off: would see the queue
    let settings = ContactSettings {
        auto_friend_request: true,
        question: String::new(),
        answer: String::new(),
    };
    boss.request(&Request::SetContactSettings { settings })
        .unwrap();
    level(&mut boss, SpamLevel::Medium);
    pushes(&mut boss);
    pushes(&mut other);

    let (mut spammer, conv) = first_message(&s, &key, "spammer", text("www.spam.cn 刷单"));
    send(&mut spammer, conv, 2, text("还有更多"));
    assert_eq!(trash(&mut boss), vec![conv]);
    assert!(
        !mentions(&pushes(&mut boss), conv),
        "no push to the auto-accepting agent"
    );
    assert!(!mentions(&pushes(&mut other), conv), "no push to any agent");
    for c in [&mut boss, &mut other] {
        assert!(
            conversations(c, &Request::ListQueue).is_empty(),
            "not waiting in the queue"
        );
        assert!(conversations(c, &Request::ListConversations).is_empty());
    }
    let spammer_got = pushes(&mut spammer);
    assert!(
        !spammer_got
            .iter()
            .any(|e| matches!(e, Event::ContactNotice(ContactNotice::FriendRequest { .. }))),
        "no friend request to the trash: {spammer_got:?}"
    );
    let contact = Request::GetContact {
        customer: CustomerId::Identified("spammer".into()),
    };
    assert_eq!(
        boss.request(&contact).unwrap_err().code(),
        Some(ErrorCode::NOT_FOUND),
        "not filed as a stranger either"
    );
    // Any agent may read what the trash holds before taking it.
    match other
        .request(&Request::ConversationMessages {
            conversation: conv,
            after: 0,
            limit: 10,
        })
        .unwrap()
    {
        Response::Messages(m) => {
            assert_eq!(m.iter().filter(|m| m.from == Party::Customer).count(), 2)
        }
        r => panic!("{r:?}"),
    }

    // A customer that passes: auto-accepted, pushed, sent the friend request.
    let (mut fine, ok) = first_message(&s, &key, "fine", text("你好"));
    assert!(mentions(&pushes(&mut boss), ok));
    assert!(pushes(&mut fine)
        .iter()
        .any(|e| matches!(e, Event::ContactNotice(ContactNotice::FriendRequest { .. }))));
}

/// §3.11.1 "也可以从垃圾箱中直接将他们接入，下次这些客户再度来访时，不会再被自动过滤":
/// an agent takes a conversation out of the trash (with its history), and the customer
/// is never filtered again; a conversation not in the trash is `NOT_IN_TRASH`.
#[test]
fn m6_3_11_1_accepting_from_the_trash_whitelists_the_customer() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    level(&mut boss, SpamLevel::High);
    let (mut c, conv) = first_message(&s, &key, "misjudged", text("加微信"));
    assert_eq!(trash(&mut boss), vec![conv]);
    let mut taker = s.client();
    taker.login(ACCOUNT, 1002, PASSWORD).unwrap(); // cap off: the trash ignores caps
    match taker
        .request(&Request::AcceptFromTrash { conversation: conv })
        .unwrap()
    {
        Response::Accepted {
            conversation,
            history,
        } => {
            assert_eq!(
                conversation.state,
                ConversationState::Assigned { agent: 1002 }
            );
            assert_eq!(history.last().map(|m| &m.body), Some(&text("加微信")));
        }
        r => panic!("{r:?}"),
    }
    assert!(trash(&mut boss).is_empty());
    for bad in [conv, 999_999] {
        assert_eq!(
            taker
                .request(&Request::AcceptFromTrash { conversation: bad })
                .unwrap_err()
                .code(),
            Some(ErrorCode::NOT_IN_TRASH)
        );
    }
    // The accepting agent receives what follows, as for any conversation.
    send(&mut c, conv, 2, text("谢谢"));
    assert!(mentions(&pushes(&mut taker), conv));
    c.request(&Request::CloseConversation { conversation: conv })
        .unwrap();
    // Next visit: the same spammy words pass (whitelisted), auto-accepted.
    let again = open(&mut c).conversation;
    send(&mut c, again, 3, text("加微信"));
    assert!(trash(&mut boss).is_empty());
    assert!(conversations(&mut boss, &Request::ListConversations)
        .iter()
        .any(|i| i.conversation == again));
}

/// §3.11.3 "来消息不提示": the agent's muted customer's messages still arrive (as
/// `QuietMessage`, stored, unread counted) but not as a notifying `Message`; unmuting
/// restores them; the list is the agent's own; bad ids and a full list are refused.
#[test]
fn m6_3_11_3_muted_customer_messages_arrive_without_notification() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    let mut c = customer(&s, &key, "noisy");
    let conv = open(&mut c).conversation;
    let noisy = CustomerId::Identified("noisy".into());
    let mute = |muted| Request::MuteCustomer {
        customer: noisy.clone(),
        muted,
    };
    assert_eq!(boss.request(&mute(true)).unwrap(), Response::Ok);
    assert_eq!(
        boss.request(&mute(true)).unwrap(),
        Response::Ok,
        "idempotent"
    );
    assert_eq!(
        boss.request(&Request::ListMuted).unwrap(),
        Response::Muted(vec![noisy.clone()])
    );
    pushes(&mut boss);
    send(&mut c, conv, 1, text("在吗"));
    let got = pushes(&mut boss);
    assert!(got
        .iter()
        .any(|e| matches!(e, Event::QuietMessage(m) if m.body == text("在吗"))));
    assert!(
        !got.iter().any(|e| matches!(e, Event::Message(_))),
        "{got:?}"
    );
    // A shake is a notification: not relayed to the agent that muted the customer.
    let shake = Request::Signal {
        conversation: conv,
        signal: kefu_wire::chat::Signal::Shake,
    };
    assert_eq!(c.request(&shake).unwrap(), Response::Ok);
    let got = pushes(&mut boss);
    assert!(
        !got.iter().any(|e| matches!(e, Event::Signal { .. })),
        "{got:?}"
    );
    let listed = conversations(&mut boss, &Request::ListConversations);
    assert_eq!(
        listed.first().map(|i| i.unread),
        Some(1),
        "still a new message"
    );
    match boss
        .request(&Request::ConversationMessages {
            conversation: conv,
            after: 0,
            limit: 10,
        })
        .unwrap()
    {
        Response::Messages(m) => assert!(m.iter().any(|m| m.body == text("在吗"))),
        r => panic!("{r:?}"),
    }
    // Another agent's list is its own.
    let mut other = s.client();
    other.login(ACCOUNT, 1002, PASSWORD).unwrap();
    assert_eq!(
        other.request(&Request::ListMuted).unwrap(),
        Response::Muted(vec![])
    );
    // Unmuted: notifying again.
    boss.request(&mute(false)).unwrap();
    send(&mut c, conv, 2, text("人呢"));
    assert!(pushes(&mut boss)
        .iter()
        .any(|e| matches!(e, Event::Message(m) if m.body == text("人呢"))));
    let bad = Request::MuteCustomer {
        customer: CustomerId::Identified(String::new()),
        muted: true,
    };
    assert_eq!(
        boss.request(&bad).unwrap_err().code(),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    for i in 0..1_000 {
        let r = Request::MuteCustomer {
            customer: CustomerId::Identified(format!("m{i}")),
            muted: true,
        };
        boss.request(&r).unwrap();
    }
    let full = Request::MuteCustomer {
        customer: CustomerId::Identified("one-more".into()),
        muted: true,
    };
    assert_eq!(
        boss.request(&full).unwrap_err().code(),
        Some(ErrorCode::MUTE_LIST_FULL)
    );
}

/// §3.11.2 and the note of §3.11.3: a blacklisted customer's conversation closes and it
/// may not open another (`CUSTOMER_BLACKLISTED`); it stays in the CRM's blacklist; an
/// agent without permission 7 cannot take it off (`PERMISSION_DENIED`), 1001 can.
#[test]
fn m6_3_11_2_blacklisted_customers_are_refused_and_only_permission_7_unblocks() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    let mut c = customer(&s, &key, "troll");
    let conv = open(&mut c).conversation;
    send(&mut c, conv, 1, text("骚扰"));
    let troll = CustomerId::Identified("troll".into());
    let set = |state| Request::SetContactState {
        customer: troll.clone(),
        state,
    };
    match boss.request(&set(ContactState::Blacklisted)).unwrap() {
        Response::Contact(info) => assert_eq!(info.state, ContactState::Blacklisted),
        r => panic!("{r:?}"),
    }
    assert!(
        conversations(&mut boss, &Request::ListConversations).is_empty(),
        "closed"
    );
    let open_again = Request::OpenConversation {
        entry: kefu_wire::chat::Entry::Auto,
    };
    assert_eq!(
        c.request(&open_again).unwrap_err().code(),
        Some(ErrorCode::CUSTOMER_BLACKLISTED)
    );
    // Found in the blacklist group (§3.11.2 "在客户管理的黑名单组中找到该客户").
    match boss
        .request(&Request::GetContact {
            customer: troll.clone(),
        })
        .unwrap()
    {
        Response::Contact(info) => assert_eq!(info.state, ContactState::Blacklisted),
        r => panic!("{r:?}"),
    }
    // Agent 1002 with every permission but 7 may not take it off, nor re-add it.
    give_role(&mut boss, 1002, &[1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12]);
    let mut other = s.client();
    other.login(ACCOUNT, 1002, PASSWORD).unwrap();
    for r in [
        set(ContactState::Friend),
        set(ContactState::Stranger),
        Request::RequestContact {
            customer: troll.clone(),
            note: "加个好友".into(),
        },
    ] {
        assert_eq!(
            other.request(&r).unwrap_err().code(),
            Some(ErrorCode::PERMISSION_DENIED),
            "{r:?}"
        );
    }
    assert_eq!(
        c.request(&open_again).unwrap_err().code(),
        Some(ErrorCode::CUSTOMER_BLACKLISTED),
        "still blacklisted"
    );
    // 1001 (permission 7) may.
    boss.request(&set(ContactState::Friend)).unwrap();
    assert!(matches!(
        c.request(&open_again).unwrap(),
        Response::Conversation(_)
    ));
}

/// The setting is a business setting (permission 12); the default is off; a restart
/// keeps the setting, the trash (still not auto-accepted), the whitelist and the mutes.
#[test]
fn m6_setting_is_a_business_setting_and_a_restart_keeps_trash_whitelist_and_mutes() {
    let mut s = TestServer::start();
    let key = setup(&s);
    let (trashed, whitelisted_conv);
    {
        let mut boss = agent(&s, 1001);
        assert_eq!(
            boss.request(&Request::GetSpamFilter).unwrap(),
            Response::SpamFilter(SpamLevel::Off)
        );
        give_role(&mut boss, 1002, &[1]);
        let mut other = s.client();
        other.login(ACCOUNT, 1002, PASSWORD).unwrap();
        assert_eq!(
            other
                .request(&Request::SetSpamFilter {
                    level: SpamLevel::Low
                })
                .unwrap_err()
                .code(),
            Some(ErrorCode::PERMISSION_DENIED)
        );
        level(&mut boss, SpamLevel::Medium);
        trashed = first_message(&s, &key, "spam1", text("看 www.x.cn")).1;
        let (_c, w) = first_message(&s, &key, "spam2", text("看 www.y.cn"));
        whitelisted_conv = w;
        boss.request(&Request::AcceptFromTrash { conversation: w })
            .unwrap();
        boss.request(&Request::CloseConversation { conversation: w })
            .unwrap();
        boss.request(&Request::MuteCustomer {
            customer: CustomerId::Identified("spam2".into()),
            muted: true,
        })
        .unwrap();
    }
    s.restart();
    let mut boss = agent(&s, 1001);
    assert_eq!(
        boss.request(&Request::GetSpamFilter).unwrap(),
        Response::SpamFilter(SpamLevel::Medium)
    );
    assert_eq!(
        trash(&mut boss),
        vec![trashed],
        "the trash survives, still not accepted"
    );
    assert!(conversations(&mut boss, &Request::ListConversations).is_empty());
    assert!(conversations(&mut boss, &Request::ListQueue).is_empty());
    assert_eq!(
        boss.request(&Request::ListMuted).unwrap(),
        Response::Muted(vec![CustomerId::Identified("spam2".into())])
    );
    // Whitelisted before the restart: passes now, and muted, so quiet.
    pushes(&mut boss);
    let mut c = customer(&s, &key, "spam2");
    let again = open(&mut c).conversation;
    // (client message ids are the customer's own, over all its conversations)
    send(&mut c, again, 2, text("看 www.y.cn"));
    assert_ne!(again, whitelisted_conv);
    assert!(trash(&mut boss) == vec![trashed]);
    let got = pushes(&mut boss);
    assert!(
        got.iter()
            .any(|e| matches!(e, Event::QuietMessage(m) if m.conversation == again)),
        "{got:?}"
    );
    // A new spammer is still caught after the restart.
    let caught = first_message(&s, &key, "spam3", text("加微信")).1;
    assert_eq!(trash(&mut boss), vec![trashed, caught]);
}

/// The whitelist is bounded (PROTOCOL.md sections 14 and 26.3: 100,000 customers per
/// account): taking one more customer out of the trash is refused with its own code,
/// `WHITELIST_FULL`, and the conversation stays in the trash. The whitelist is filled
/// in the stopped daemon's store (100,000 trash rescues through the protocol would be
/// the same records, written slowly).
#[test]
fn m6_a_full_whitelist_refuses_one_more_with_its_own_code() {
    let mut s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001);
    level(&mut boss, SpamLevel::High);
    let (_c, conv) = first_message(&s, &key, "one-too-many", text("加微信"));
    assert_eq!(trash(&mut boss), vec![conv]);
    drop(boss);
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    {
        let store = open_rocks(&s.dir.path().join("db"), &RocksOptions::default()).unwrap();
        for chunk in 0..10 {
            let mut batch = Batch::new();
            for i in 0..10_000 {
                let customer = CustomerId::Identified(format!("w-{chunk}-{i}"));
                let key = keys::whitelist(ACCOUNT, &customer);
                let record = WhitelistRecord {
                    account: ACCOUNT,
                    customer,
                    by: 1001,
                    at: 0,
                };
                batch.put(Cf::RoutingSettings, &key, record.encode());
            }
            store.write(&batch, Durability::Fsync).unwrap();
        }
    }
    s.restart();
    let mut taker = agent(&s, 1002);
    assert_eq!(
        taker
            .request(&Request::AcceptFromTrash { conversation: conv })
            .unwrap_err()
            .code(),
        Some(ErrorCode::WHITELIST_FULL)
    );
    let mut boss = agent(&s, 1001);
    assert_eq!(trash(&mut boss), vec![conv], "still in the trash");
}
