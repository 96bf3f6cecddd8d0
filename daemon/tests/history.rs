//! History queries (H1–H3) through real sockets: a customer's messages newest first in
//! pages, the 15-day default window and "all", filters by agent, images, files and
//! keyword (Latin and Chinese), the visibility rules of permissions 4 and 5 with received
//! images and files kept to their receiver, and history surviving a restart.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::Config;
use kefu_daemon::store::Permission;
use kefu_wire::chat::{ConversationState, CustomerId, Entry, MessageBody, Party};
use kefu_wire::crm::{HistoryKind, HistoryPage, HistoryQuery};
use kefu_wire::{Client, ErrorCode, Request, Response};
use std::sync::Arc;
use support::*;

const ACCOUNT: u64 = 840_001;
const DAY_MS: i64 = 86_400_000;

fn key(admin: &mut Client) -> [u8; 32] {
    customer_key(admin, ACCOUNT)
}

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    // Thirty days: the clocked test moves 16 days ahead.
    login_customer(s.client(), key, ACCOUNT, id, now() + 30 * 86_400)
}

/// Opens a conversation; returns its id and the agent it went to.
fn open(c: &mut Client) -> (u64, Option<u32>) {
    match c
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => match info.state {
            ConversationState::Assigned { agent } => (info.conversation, Some(agent)),
            _ => (info.conversation, None),
        },
        other => panic!("{other:?}"),
    }
}

fn close(agent: &mut Client, conversation: u64) {
    agent
        .request(&Request::CloseConversation { conversation })
        .unwrap();
}

/// Sends `body`; returns the stored message id.
fn send(c: &mut Client, conversation: u64, client_msg_id: u64, body: MessageBody) -> u64 {
    match c
        .request(&Request::SendMessage {
            conversation,
            client_msg_id,
            body,
        })
        .unwrap()
    {
        Response::Sent { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

fn text(s: &str) -> MessageBody {
    MessageBody::Text(s.into())
}

fn image(reference: &str) -> MessageBody {
    MessageBody::Image {
        reference: reference.into(),
    }
}

fn file(name: &str) -> MessageBody {
    MessageBody::File {
        reference: format!("f/{name}"),
        name: name.into(),
        size: 1234,
    }
}

/// A query for `customer`'s last 15 days, 50 a page, no filter.
fn query(customer: &str) -> HistoryQuery {
    HistoryQuery {
        customer: CustomerId::Identified(customer.into()),
        all_time: false,
        agent: None,
        kind: HistoryKind::All,
        keyword: String::new(),
        before: None,
        limit: 50,
    }
}

fn history(c: &mut Client, q: &HistoryQuery) -> HistoryPage {
    match c.request(&Request::History(q.clone())).unwrap() {
        Response::History(page) => page,
        other => panic!("{other:?}"),
    }
}

fn ids(c: &mut Client, q: &HistoryQuery) -> Vec<u64> {
    let page = history(c, q);
    assert_eq!(page.next_before, None, "one page holds it all");
    page.messages.iter().map(|m| m.id).collect()
}

/// Every page of `q`, following `next_before`; the ids of each page.
fn all_pages(c: &mut Client, q: &HistoryQuery) -> Vec<Vec<u64>> {
    let mut q = q.clone();
    let mut pages = Vec::new();
    loop {
        let page = history(c, &q);
        pages.push(page.messages.iter().map(|m| m.id).collect());
        match page.next_before {
            Some(before) => q.before = Some(before),
            None => return pages,
        }
    }
}

fn login(s: &TestServer, agent: u32, password: &str, cap: u16) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, agent, password).unwrap();
    c.request(&Request::SetAutoAccept { cap }).unwrap();
    c
}

fn restart_clocked(s: &mut TestServer, clock: &Arc<ManualClock>) {
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    let config = Config::for_tests(s.dir.path());
    s.handle = Some(
        kefu_daemon::server::start_with_clock(config, clock.clone()).expect("daemon restarts"),
    );
}

#[test]
fn pages_newest_first_and_history_survives_a_restart() {
    let now_ms = now() * 1000;
    let clock = Arc::new(ManualClock::new(now_ms));
    let mut s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = login(&s, 1001, PASSWORD, 5);
    let mut alice = customer(&s, &k, "alice");
    let (conv, agent) = open(&mut alice);
    assert_eq!(agent, Some(1001));
    let mut sent = Vec::new();
    for i in 1..=25u64 {
        sent.push(send(&mut alice, conv, i, text(&format!("question {i}"))));
        clock.advance(1_000);
        if i % 5 == 0 {
            sent.push(send(&mut a, conv, i, text(&format!("answer {i}"))));
        }
    }
    let newest_first: Vec<u64> = sent.iter().rev().copied().collect();
    let q = HistoryQuery {
        limit: 10,
        ..query("alice")
    };
    let pages = all_pages(&mut a, &q);
    assert_eq!(
        pages.iter().map(Vec::len).collect::<Vec<_>>(),
        vec![10, 10, 10]
    );
    assert_eq!(pages.concat(), newest_first);
    // The first page's messages carry their content and author.
    let first = history(&mut a, &q);
    assert_eq!(first.next_before, Some(newest_first[9]));
    assert_eq!(first.messages[0].from, Party::Agent(1001));
    assert_eq!(first.messages[0].body, text("answer 25"));
    assert_eq!(first.messages[1].from, Party::Customer);
    assert_eq!(first.messages[1].body, text("question 25"));
    // Another customer's history is empty.
    assert_eq!(ids(&mut a, &query("bob")), Vec::<u64>::new());
    // Limits: 1..=200, keywords up to 100 characters.
    for bad in [
        HistoryQuery {
            limit: 0,
            ..query("alice")
        },
        HistoryQuery {
            limit: 201,
            ..query("alice")
        },
        HistoryQuery {
            keyword: "上".repeat(101),
            ..query("alice")
        },
    ] {
        let e = a.request(&Request::History(bad)).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::INVALID_ARGUMENT));
    }
    let max = HistoryQuery {
        limit: 200,
        keyword: "问".repeat(100),
        ..query("alice")
    };
    assert_eq!(ids(&mut a, &max), Vec::<u64>::new());
    // A customer cannot read history.
    let e = alice
        .request(&Request::History(query("alice")))
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::PERMISSION_DENIED));

    drop((a, alice, admin));
    restart_clocked(&mut s, &clock);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert_eq!(all_pages(&mut a, &q).concat(), newest_first);
}

#[test]
fn the_default_window_is_fifteen_days_and_all_time_shows_everything() {
    let start = now() * 1000;
    let clock = Arc::new(ManualClock::new(start));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    let mut a = login(&s, 1001, PASSWORD, 5);
    let mut carol = customer(&s, &k, "carol");
    let (first, _) = open(&mut carol);
    let old = send(&mut carol, first, 1, text("sixteen days ago"));
    let old_reply = send(&mut a, first, 1, text("old answer"));
    close(&mut a, first);

    clock.advance(16 * DAY_MS);
    let (second, _) = open(&mut carol);
    let new = send(&mut carol, second, 2, text("today"));
    let recent = query("carol");
    assert_eq!(ids(&mut a, &recent), vec![new]);
    let all = HistoryQuery {
        all_time: true,
        ..query("carol")
    };
    assert_eq!(ids(&mut a, &all), vec![new, old_reply, old]);
    // Paging through "all" crosses the window's edge.
    let pages = all_pages(&mut a, &HistoryQuery { limit: 1, ..all });
    assert_eq!(pages, vec![vec![new], vec![old_reply], vec![old]]);
    // One page of the window ends where the window does.
    let page = history(&mut a, &HistoryQuery { limit: 1, ..recent });
    assert_eq!(page.next_before, None);

    // 14 days later the old messages are still out, the new one still in.
    clock.advance(14 * DAY_MS);
    assert_eq!(ids(&mut a, &query("carol")), vec![new]);
    clock.advance(2 * DAY_MS);
    assert_eq!(ids(&mut a, &query("carol")), Vec::<u64>::new());
}

/// Two agents served alice: conversation 1 with A (1002), conversation 2 with B (1003).
struct Scene {
    /// Keeps the daemon running.
    _daemon: TestServer,
    boss: Client,
    a: Client,
    b: Client,
    /// The "plain" role: no permission at all.
    plain_role: u32,
    // Conversation 1 (A).
    hello_a: u64,
    img_to_a: u64,
    reply_a: u64,
    file_to_a: u64,
    // Conversation 2 (B).
    shanghai: u64,
    reply_b: u64,
    img_from_b: u64,
    img_to_b: u64,
}

fn scene() -> Scene {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let k = key(&mut admin);
    add_agent(&mut admin, ACCOUNT, 1002, Some("agent password"));
    add_agent(&mut admin, ACCOUNT, 1003, Some("agent password"));
    let mut boss = login(&s, 1001, PASSWORD, 0);
    let mut a = login(&s, 1002, "agent password", 5);
    let mut b = login(&s, 1003, "agent password", 0);

    let mut alice = customer(&s, &k, "alice");
    let (c1, agent) = open(&mut alice);
    assert_eq!(agent, Some(1002));
    let hello_a = send(&mut alice, c1, 1, text("Hello A, are you there?"));
    let img_to_a = send(&mut alice, c1, 2, image("img/1"));
    let reply_a = send(&mut a, c1, 1, text("reply from A: 上海 office"));
    let file_to_a = send(&mut alice, c1, 3, file("合同.pdf"));
    close(&mut a, c1);

    a.request(&Request::SetAutoAccept { cap: 0 }).unwrap();
    b.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    let (c2, agent) = open(&mut alice);
    assert_eq!(agent, Some(1003));
    let shanghai = send(&mut alice, c2, 4, text("我在上海等你"));
    let reply_b = send(&mut b, c2, 1, text("ok from B"));
    let img_from_b = send(&mut b, c2, 2, image("img/2"));
    let img_to_b = send(&mut alice, c2, 5, image("img/3"));

    let plain_role = match boss
        .request(&Request::CreateRole {
            name: "plain".into(),
            permissions: 0,
        })
        .unwrap()
    {
        Response::Role(r) => r.role,
        other => panic!("{other:?}"),
    };
    Scene {
        _daemon: s,
        boss,
        a,
        b,
        plain_role,
        hello_a,
        img_to_a,
        reply_a,
        file_to_a,
        shanghai,
        reply_b,
        img_from_b,
        img_to_b,
    }
}

impl Scene {
    /// Exclusive customers on: permissions 4 and 5 decide what an agent sees (off, the
    /// history is shared, §3.1; `history_visibility.rs`).
    fn set_exclusive(&mut self) {
        let mut settings = match self.boss.request(&Request::GetRoutingSettings).unwrap() {
            Response::RoutingSettings(r) => r,
            other => panic!("{other:?}"),
        };
        settings.exclusive = true;
        self.boss
            .request(&Request::SetRoutingSettings { settings })
            .unwrap();
    }

    fn set_role(&mut self, agent: u32, role: u32) {
        self.boss
            .request(&Request::SetAgentRole { agent, role })
            .unwrap();
    }

    fn set_plain_permissions(&mut self, permissions: &[Permission]) {
        let bits = permissions.iter().fold(0, |acc, p| acc | p.bit());
        self.boss
            .request(&Request::UpdateRole {
                role: self.plain_role,
                name: "plain".into(),
                permissions: bits,
            })
            .unwrap();
    }
}

#[test]
fn filters_by_agent_images_files_and_keyword_in_any_script() {
    // A and B keep the default agent role (permissions 4, 5 and 8).
    let mut sc = scene();
    let a = &mut sc.a;
    let by = |agent| HistoryQuery {
        agent: Some(agent),
        ..query("alice")
    };
    // A's own conversation in full, received image and file included.
    assert_eq!(
        ids(a, &by(1002)),
        vec![sc.file_to_a, sc.reply_a, sc.img_to_a, sc.hello_a]
    );
    // B's conversation as A sees it with permission 4: not the image B received.
    assert_eq!(
        ids(a, &by(1003)),
        vec![sc.img_from_b, sc.reply_b, sc.shanghai]
    );
    assert_eq!(ids(a, &by(1001)), Vec::<u64>::new());
    let kind = |kind| HistoryQuery {
        kind,
        ..query("alice")
    };
    assert_eq!(
        ids(a, &kind(HistoryKind::Images)),
        vec![sc.img_from_b, sc.img_to_a]
    );
    assert_eq!(ids(a, &kind(HistoryKind::Files)), vec![sc.file_to_a]);
    assert_eq!(ids(&mut sc.b, &kind(HistoryKind::Files)), Vec::<u64>::new());
    assert_eq!(
        ids(&mut sc.b, &kind(HistoryKind::Images)),
        vec![sc.img_to_b, sc.img_from_b]
    );
    let word = |w: &str| HistoryQuery {
        keyword: w.into(),
        ..query("alice")
    };
    assert_eq!(ids(a, &word("上海")), vec![sc.shanghai, sc.reply_a]);
    assert_eq!(ids(a, &word("我在上海等你")), vec![sc.shanghai]);
    assert_eq!(ids(a, &word("北京")), Vec::<u64>::new());
    // Latin keywords ignore case; file names are searched too.
    assert_eq!(ids(a, &word("HELLO a")), vec![sc.hello_a]);
    assert_eq!(ids(a, &word("合同")), vec![sc.file_to_a]);
    assert_eq!(ids(a, &word("OK FROM")), vec![sc.reply_b]);
    // Filters combine.
    let combined = HistoryQuery {
        keyword: "上海".into(),
        ..by(1003)
    };
    assert_eq!(ids(a, &combined), vec![sc.shanghai]);
    // Keyword pages newest first too.
    let pages = all_pages(
        a,
        &HistoryQuery {
            limit: 1,
            ..word("上海")
        },
    );
    assert_eq!(pages.concat(), vec![sc.shanghai, sc.reply_a]);
}

#[test]
fn agents_see_their_own_chats_all_with_permission_4_but_never_files_others_received() {
    let mut sc = scene();
    sc.set_exclusive();
    let plain = sc.plain_role;
    sc.set_role(1002, plain);
    sc.set_role(1003, plain);
    let conv1 = vec![sc.file_to_a, sc.reply_a, sc.img_to_a, sc.hello_a];
    let conv2 = vec![sc.img_to_b, sc.img_from_b, sc.reply_b, sc.shanghai];
    // No permission 4 or 5: each sees only the conversation it served.
    assert_eq!(ids(&mut sc.a, &query("alice")), conv1);
    assert_eq!(ids(&mut sc.b, &query("alice")), conv2);
    // A keyword does not reach past visibility.
    let shanghai = HistoryQuery {
        keyword: "上海".into(),
        ..query("alice")
    };
    assert_eq!(ids(&mut sc.b, &shanghai), vec![sc.shanghai]);
    assert_eq!(ids(&mut sc.a, &shanghai), vec![sc.reply_a]);
    // Permission 5 alone shows nothing more of a customer B does not own.
    sc.set_plain_permissions(&[Permission::SeeOwnCustomersChats]);
    assert_eq!(ids(&mut sc.b, &query("alice")), conv2);

    // Permission 4: everything, except the image and file A received.
    sc.set_plain_permissions(&[Permission::SeeAllCustomers]);
    assert_eq!(
        ids(&mut sc.b, &query("alice")),
        vec![
            sc.img_to_b,
            sc.img_from_b,
            sc.reply_b,
            sc.shanghai,
            sc.reply_a,
            sc.hello_a
        ]
    );
    let images = HistoryQuery {
        kind: HistoryKind::Images,
        ..query("alice")
    };
    assert_eq!(ids(&mut sc.b, &images), vec![sc.img_to_b, sc.img_from_b]);
    assert_eq!(ids(&mut sc.a, &images), vec![sc.img_from_b, sc.img_to_a]);
    // Not even the super admin sees a file or an image another agent received.
    let boss = ids(&mut sc.boss, &query("alice"));
    assert_eq!(
        boss,
        vec![
            sc.img_from_b,
            sc.reply_b,
            sc.shanghai,
            sc.reply_a,
            sc.hello_a
        ]
    );
    // Revoked: back to its own chats at once.
    sc.set_plain_permissions(&[]);
    assert_eq!(ids(&mut sc.b, &query("alice")), conv2);
}

#[test]
fn permission_5_shows_chats_of_customers_the_agent_owns() {
    let mut sc = scene();
    sc.set_exclusive();
    let plain = sc.plain_role;
    sc.set_role(1002, plain);
    sc.set_role(1003, plain);
    sc.set_plain_permissions(&[Permission::SeeOwnCustomersChats]);
    // A served alice first, so A owns her contact (R2): with permission 5 it sees B's
    // chat with her too, but not the image B received.
    assert_eq!(
        ids(&mut sc.a, &query("alice")),
        vec![
            sc.img_from_b,
            sc.reply_b,
            sc.shanghai,
            sc.file_to_a,
            sc.reply_a,
            sc.img_to_a,
            sc.hello_a
        ]
    );
    // B does not own alice: its own chat only.
    assert_eq!(
        ids(&mut sc.b, &query("alice")),
        vec![sc.img_to_b, sc.img_from_b, sc.reply_b, sc.shanghai]
    );
    // Without permission 5 ownership alone does not widen the view.
    sc.set_plain_permissions(&[]);
    assert_eq!(
        ids(&mut sc.a, &query("alice")),
        vec![sc.file_to_a, sc.reply_a, sc.img_to_a, sc.hello_a]
    );
}
