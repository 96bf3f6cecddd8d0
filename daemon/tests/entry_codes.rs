//! Entry-point codes (W1, manual §10.2, §10.7; PROTOCOL.md section 31) through real
//! sockets to a real kefud with the client library: created, listed, edited and deleted
//! with permission 16 (refused without it, each bad draft refused with its own code and
//! nothing changed); a visitor opening a conversation through a code is routed by the
//! code's routing as it is at that moment (to an agent, to a group, automatically), so
//! an edit takes effect for the next conversation; the public read shows no routing nor
//! description; codes survive a restart with their numbers.

mod support;

use kefu_wire::chat::{ConversationState, CustomerId, Entry};
use kefu_wire::web::{CodeKind, EntryCode, EntryCodeDraft, PublicEntryCode};
use kefu_wire::{AgentProfile, Client, DisplayMode, ErrorCode, Request, Response};
use support::*;

const ACCOUNT: u64 = 816_001;

fn draft(routing: Entry) -> EntryCodeDraft {
    EntryCodeDraft {
        description: "首页右下角".into(),
        kind: CodeKind::Floating,
        routing,
        site_url: "https://shop.example.com/".into(),
        style: "A-03".into(),
        anonymous: true,
    }
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

fn visitor(s: &TestServer) -> (Client, CustomerId) {
    let mut c = s.client();
    match c
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token: None,
            channel: kefu_wire::chat::Channel::Web,
        })
        .unwrap()
    {
        Response::CustomerLoggedIn(session) => (c, session.customer),
        other => panic!("{other:?}"),
    }
}

fn create(c: &mut Client, d: EntryCodeDraft) -> EntryCode {
    match c.request(&Request::CreateEntryCode { draft: d }).unwrap() {
        Response::EntryCode(code) => code,
        other => panic!("{other:?}"),
    }
}

fn list(c: &mut Client) -> Vec<EntryCode> {
    match c.request(&Request::ListEntryCodes).unwrap() {
        Response::EntryCodes(codes) => codes,
        other => panic!("{other:?}"),
    }
}

fn open_by_code(s: &TestServer, id: u32) -> ConversationState {
    let (mut v, _) = visitor(s);
    match v.request(&Request::OpenConversationByCode { id }).unwrap() {
        Response::Conversation(info) => info.state,
        other => panic!("{other:?}"),
    }
}

fn refused(c: &mut Client, r: &Request) -> Option<ErrorCode> {
    c.request(r).unwrap_err().code()
}

fn setup(s: &TestServer) {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    for a in [1002, 1003, 1004] {
        add_agent(&mut admin, ACCOUNT, a, Some(PASSWORD));
    }
}

/// §10.7 and W1: CRUD with permission 16, the bounds, and the public read.
#[test]
fn w1_codes_are_created_listed_edited_deleted_with_permission_16_only() {
    let mut s = TestServer::start();
    setup(&s);
    let mut boss = agent(&s, 1001);
    let first = create(&mut boss, draft(Entry::Auto));
    let second = create(&mut boss, draft(Entry::Agent(1002)));
    assert_eq!((first.id, second.id), (1, 2));
    assert_eq!(first.created_at, first.edited_at);
    assert_eq!(list(&mut boss), vec![first.clone(), second.clone()]);

    // Agent 1002 has the default agent role: no permission 16.
    let mut plain = agent(&s, 1002);
    for r in [
        Request::ListEntryCodes,
        Request::CreateEntryCode {
            draft: draft(Entry::Auto),
        },
        Request::EditEntryCode {
            id: 1,
            draft: draft(Entry::Auto),
        },
        Request::DeleteEntryCode { id: 1 },
    ] {
        assert_eq!(
            refused(&mut plain, &r),
            Some(ErrorCode::PERMISSION_DENIED),
            "{r:?}"
        );
    }
    // With a role holding 16 it may.
    give_role(&mut boss, 1002, &[16]);
    assert_eq!(list(&mut plain).len(), 2);

    // Bad drafts: each its own code, nothing changed.
    let mut bad = draft(Entry::Auto);
    bad.site_url = "javascript:alert(1)".into();
    assert_eq!(
        refused(&mut boss, &Request::CreateEntryCode { draft: bad }),
        Some(ErrorCode::BAD_SITE_URL)
    );
    let mut long = draft(Entry::Auto);
    long.description = "字".repeat(201);
    assert_eq!(
        refused(&mut boss, &Request::CreateEntryCode { draft: long }),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    assert_eq!(
        refused(
            &mut boss,
            &Request::CreateEntryCode {
                draft: draft(Entry::Agent(1999))
            }
        ),
        Some(ErrorCode::UNKNOWN_AGENT)
    );
    assert_eq!(
        refused(
            &mut boss,
            &Request::EditEntryCode {
                id: 9,
                draft: draft(Entry::Auto)
            }
        ),
        Some(ErrorCode::UNKNOWN_ENTRY_CODE)
    );
    assert_eq!(list(&mut boss), vec![first.clone(), second.clone()]);

    // Edit, delete, and the number is never reused.
    let mut linked = draft(Entry::Auto);
    linked.kind = CodeKind::Link;
    let edited = match boss
        .request(&Request::EditEntryCode {
            id: 1,
            draft: linked.clone(),
        })
        .unwrap()
    {
        Response::EntryCode(c) => c,
        other => panic!("{other:?}"),
    };
    assert_eq!((edited.id, edited.created_at), (1, first.created_at));
    assert_eq!(edited.draft, linked);
    boss.request(&Request::DeleteEntryCode { id: 2 }).unwrap();
    assert_eq!(
        refused(&mut boss, &Request::DeleteEntryCode { id: 2 }),
        Some(ErrorCode::UNKNOWN_ENTRY_CODE)
    );
    assert_eq!(create(&mut boss, draft(Entry::Auto)).id, 3);

    // The visitor's page reads how to show it: no routing, no description.
    let (mut v, _) = visitor(&s);
    assert_eq!(
        v.request(&Request::GetEntryCode { id: 1 }).unwrap(),
        Response::PublicEntryCode(PublicEntryCode {
            id: 1,
            kind: CodeKind::Link,
            style: "A-03".into(),
            anonymous: true,
        })
    );
    assert_eq!(
        refused(&mut v, &Request::GetEntryCode { id: 2 }),
        Some(ErrorCode::UNKNOWN_ENTRY_CODE)
    );
    // A visitor may not manage codes; an agent may not open by code.
    assert_eq!(
        refused(&mut v, &Request::ListEntryCodes),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    assert_eq!(
        refused(&mut boss, &Request::OpenConversationByCode { id: 1 }),
        Some(ErrorCode::PERMISSION_DENIED)
    );

    // Kept over a restart, numbers included.
    let before = list(&mut boss);
    drop((boss, plain, v));
    s.restart();
    let mut boss = agent(&s, 1001);
    assert_eq!(list(&mut boss), before);
    assert_eq!(create(&mut boss, draft(Entry::Auto)).id, 4);
}

/// §10.7.1–10.7.3: the code's routing decides, as it is when the conversation opens.
#[test]
fn w1_routing_follows_the_code_and_an_edit_applies_to_the_next_conversation() {
    let s = TestServer::start();
    setup(&s);
    let mut boss = agent(&s, 1001);
    let _a2 = agent(&s, 1002);
    let _a3 = agent(&s, 1003);
    let _a4 = agent(&s, 1004);
    boss.request(&Request::SetAgentProfile {
        agent: 1004,
        profile: AgentProfile {
            nickname: "售后小张".into(),
            group: "售后服务".into(),
            display: DisplayMode::Nickname,
            phone: String::new(),
        },
    })
    .unwrap();
    let to_agent = create(&mut boss, draft(Entry::Agent(1003))).id;
    let to_group = create(&mut boss, draft(Entry::Group("售后服务".into()))).id;
    let auto = create(&mut boss, draft(Entry::Auto)).id;

    assert_eq!(
        open_by_code(&s, to_agent),
        ConversationState::Assigned { agent: 1003 }
    );
    assert_eq!(
        open_by_code(&s, to_group),
        ConversationState::Assigned { agent: 1004 }
    );
    // Automatic: the least busy of the others (1001 and 1002 serve none).
    let st = open_by_code(&s, auto);
    assert!(
        matches!(st, ConversationState::Assigned { agent } if agent == 1001 || agent == 1002),
        "{st:?}"
    );

    // Edited: the same code now goes to 1002, from the next conversation on.
    boss.request(&Request::EditEntryCode {
        id: to_agent,
        draft: draft(Entry::Agent(1002)),
    })
    .unwrap();
    assert_eq!(
        open_by_code(&s, to_agent),
        ConversationState::Assigned { agent: 1002 }
    );
    // Deleted: refused with its own code.
    boss.request(&Request::DeleteEntryCode { id: to_group })
        .unwrap();
    let (mut v, _) = visitor(&s);
    assert_eq!(
        refused(&mut v, &Request::OpenConversationByCode { id: to_group }),
        Some(ErrorCode::UNKNOWN_ENTRY_CODE)
    );
}
