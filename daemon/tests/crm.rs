//! The CRM through real sockets: contacts, search in Chinese and Latin, tags (16),
//! groups (two levels), the import rule (10,000, then 1,000 a day), 1,000 additions a
//! day, the plan limit with its 14-day grace, 30 per online-status page, exclusive
//! visibility, friend requests and verification, recently contacted, restarts.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_wire::chat::{CustomerId, Entry};
use kefu_wire::crm::{
    ContactEdit, ContactInfo, ContactNotice, ContactQuery, ContactSettings, ContactSort,
    ContactState, GroupEdit, GroupNode, ImportReport, TagEdit,
};
use kefu_wire::{Client, ErrorCode, Event, Plan, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 840_001;
/// 2030-01-01 00:00 UTC: a fixed test clock.
const T0_MS: i64 = 1_893_456_000_000;
const DAY_MS: i64 = 86_400_000;

fn boss(s: &TestServer) -> Client {
    let mut c = s.client();
    c.login(ACCOUNT, 1001, PASSWORD).unwrap();
    c
}

fn create(c: &mut Client, who: &str, edit: ContactEdit) -> ContactInfo {
    match c
        .request(&Request::CreateContact {
            customer: id(who),
            state: ContactState::Friend,
            edit,
        })
        .unwrap()
    {
        Response::Contact(info) => *info,
        other => panic!("{other:?}"),
    }
}

fn search(c: &mut Client, text: &str, adjust: impl FnOnce(&mut ContactQuery)) -> Vec<String> {
    let mut q = ContactQuery {
        text: text.into(),
        groups: vec![],
        tags: vec![],
        owner: None,
        state: None,
        last_contact: None,
        sort: ContactSort::Name,
        offset: 0,
        limit: 100,
    };
    adjust(&mut q);
    match c.request(&Request::SearchContacts(q)).unwrap() {
        Response::Contacts(page) => {
            assert_eq!(
                page.total as usize,
                page.contacts.len(),
                "one page holds all"
            );
            let mut ids: Vec<String> = page
                .contacts
                .into_iter()
                .map(|c| match c.customer {
                    CustomerId::Identified(s) => s,
                    CustomerId::Visitor(_) => "visitor".into(),
                })
                .collect();
            ids.sort();
            ids
        }
        other => panic!("{other:?}"),
    }
}

fn import(c: &mut Client, csv: &[u8]) -> ImportReport {
    let mut last = None;
    let chunks: Vec<&[u8]> = csv.chunks(100_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let r = c
            .request(&Request::ImportContacts {
                chunk: chunk.to_vec(),
                first: i == 0,
                last: i + 1 == chunks.len(),
            })
            .unwrap();
        match r {
            Response::Import(report) => last = Some(report),
            other => panic!("{other:?}"),
        }
    }
    let report = last.expect("a report");
    assert!(report.finished);
    report
}

fn rows(prefix: &str, n: usize) -> Vec<u8> {
    let mut csv = String::from("id,real_name,remark\n");
    for i in 0..n {
        csv.push_str(&format!("{prefix}{i},客户{i},row {i}\n"));
    }
    csv.into_bytes()
}

fn total(c: &mut Client) -> u64 {
    let q = ContactQuery::everything(1);
    match c.request(&Request::SearchContacts(q)).unwrap() {
        Response::Contacts(page) => page.total,
        other => panic!("{other:?}"),
    }
}

fn customer(s: &TestServer, key: &[u8; 32], who: &str, now_s: i64) -> Client {
    login_customer(s.client(), key, ACCOUNT, who, now_s + 30 * 86_400)
}

fn notice(c: &mut Client) -> ContactNotice {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .expect("a push");
        if let Event::ContactNotice(n) = p.event {
            return n;
        }
    }
}

#[test]
fn contacts_crud_and_search_in_chinese_and_latin_survive_a_restart() {
    let mut s = TestServer::start();
    create_account(&mut s.admin(), ACCOUNT);
    let mut c = boss(&s);
    let tags = match c.request(&Request::ListTags).unwrap() {
        Response::Tags(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(tags.len(), 5, "the preset tags");
    let vip = tags[0].id;
    let region = match c
        .request(&Request::EditGroups(GroupEdit::CreateGroup {
            name: "上海客户".into(),
            category: None,
        }))
        .unwrap()
    {
        Response::Groups(g) => match &g[0] {
            GroupNode::Group(g) => g.id,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    create(
        &mut c,
        "zhangsan",
        ContactEdit {
            real_name: Some("张三".into()),
            remark: Some("上海 浦东".into()),
            email: Some("zs@example.com".into()),
            groups: Some(vec![region]),
            tags: Some(vec![vip]),
            ..Default::default()
        },
    );
    create(
        &mut c,
        "lisi",
        ContactEdit {
            real_name: Some("李四".into()),
            remark: Some("北京".into()),
            phone: Some("13800138000".into()),
            tags: Some(vec![vip]),
            ..Default::default()
        },
    );
    create(
        &mut c,
        "wang",
        ContactEdit {
            real_name: Some("Wang Wu".into()),
            remark: Some("上海".into()),
            ..Default::default()
        },
    );
    assert_eq!(
        code(c.request(&Request::CreateContact {
            customer: id("lisi"),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })),
        ErrorCode::ALREADY_EXISTS
    );
    assert_eq!(search(&mut c, "张三", |_| {}), ["zhangsan"]);
    assert_eq!(search(&mut c, "上海", |_| {}), ["wang", "zhangsan"]);
    assert_eq!(search(&mut c, "wan", |_| {}), ["wang"]);
    assert_eq!(search(&mut c, "13800", |_| {}), ["lisi"]);
    assert_eq!(search(&mut c, "example.com", |_| {}), ["zhangsan"]);
    assert_eq!(
        search(&mut c, "", |q| {
            q.tags = vec![vip];
            q.groups = vec![region];
        }),
        ["zhangsan"]
    );
    assert_eq!(
        search(&mut c, "", |q| q.tags = vec![vip]),
        ["lisi", "zhangsan"]
    );
    // Update: the index follows.
    c.request(&Request::UpdateContact {
        customer: id("lisi"),
        edit: ContactEdit {
            remark: Some("上海 静安".into()),
            ..Default::default()
        },
    })
    .unwrap();
    assert_eq!(search(&mut c, "上海", |_| {}), ["lisi", "wang", "zhangsan"]);
    assert_eq!(search(&mut c, "北京", |_| {}), Vec::<String>::new());
    // Blacklist and delete.
    c.request(&Request::SetContactState {
        customer: id("wang"),
        state: ContactState::Blacklisted,
    })
    .unwrap();
    assert_eq!(
        search(&mut c, "", |q| q.state = Some(ContactState::Blacklisted)),
        ["wang"]
    );
    // An agent of the default role (no permission 7) may not delete.
    let mut admin = s.admin();
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    let delete = Request::DeleteContacts {
        customers: vec![id("wang")],
    };
    assert_eq!(code(agent.request(&delete)), ErrorCode::PERMISSION_DENIED);
    assert!(matches!(
        c.request(&delete).unwrap(),
        Response::Deleted { count: 1 }
    ));
    assert_eq!(
        code(c.request(&Request::GetContact {
            customer: id("wang")
        })),
        ErrorCode::NOT_FOUND
    );
    drop((c, agent, admin));
    s.restart();
    let mut c = boss(&s);
    assert_eq!(search(&mut c, "上海", |_| {}), ["lisi", "zhangsan"]);
    match c
        .request(&Request::GetContact {
            customer: id("zhangsan"),
        })
        .unwrap()
    {
        Response::Contact(info) => {
            assert_eq!(info.real_name, "张三");
            assert_eq!(info.owner, Some(1001));
            assert_eq!(info.groups, [region]);
            assert_eq!(info.tags, [vip]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn at_most_16_tags_and_deleting_one_untags_its_contacts() {
    let s = TestServer::start();
    create_account(&mut s.admin(), ACCOUNT);
    let mut c = boss(&s);
    for i in 5..16 {
        c.request(&Request::EditTags(TagEdit::Create {
            name: format!("tag {i}"),
            colour: 0x00ff00,
        }))
        .unwrap();
    }
    let sixteenth = TagEdit::Create {
        name: "one too many".into(),
        colour: 0x00ff00,
    };
    assert_eq!(
        code(c.request(&Request::EditTags(sixteenth))),
        ErrorCode::INVALID_ARGUMENT
    );
    let tags = match c.request(&Request::ListTags).unwrap() {
        Response::Tags(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(tags.len(), 16);
    let t = tags[15].id;
    create(
        &mut c,
        "kate",
        ContactEdit {
            tags: Some(vec![t]),
            ..Default::default()
        },
    );
    c.request(&Request::EditTags(TagEdit::Recolour {
        id: t,
        colour: 0xff0000,
    }))
    .unwrap();
    c.request(&Request::EditTags(TagEdit::Delete { id: t }))
        .unwrap();
    match c
        .request(&Request::GetContact {
            customer: id("kate"),
        })
        .unwrap()
    {
        Response::Contact(info) => assert!(info.tags.is_empty()),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        code(c.request(&Request::EditTags(TagEdit::Create {
            name: "bad colour".into(),
            colour: 0x0100_0000,
        }))),
        ErrorCode::INVALID_ARGUMENT
    );
}

#[test]
fn groups_are_two_levels_and_need_permission_8() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut c = boss(&s);
    let cat = match c
        .request(&Request::EditGroups(GroupEdit::CreateCategory {
            name: "地区".into(),
        }))
        .unwrap()
    {
        Response::Groups(g) => match &g[0] {
            GroupNode::Category { id, .. } => *id,
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    };
    for name in ["上海", "北京"] {
        c.request(&Request::EditGroups(GroupEdit::CreateGroup {
            name: name.into(),
            category: Some(cat),
        }))
        .unwrap();
    }
    let tree = match c.request(&Request::ListGroups).unwrap() {
        Response::Groups(g) => g,
        other => panic!("{other:?}"),
    };
    let GroupNode::Category { groups, .. } = &tree[0] else {
        panic!("{tree:?}")
    };
    let (shanghai, beijing) = (groups[0].id, groups[1].id);
    // Move 北京 out of the category, to the top level.
    let tree = match c
        .request(&Request::EditGroups(GroupEdit::MoveGroup {
            id: beijing,
            category: None,
            position: 0,
        }))
        .unwrap()
    {
        Response::Groups(g) => g,
        other => panic!("{other:?}"),
    };
    assert!(
        matches!(&tree[0], GroupNode::Group(g) if g.id == beijing),
        "{tree:?}"
    );
    create(
        &mut c,
        "kate",
        ContactEdit {
            groups: Some(vec![shanghai, beijing]),
            ..Default::default()
        },
    );
    assert_eq!(search(&mut c, "", |q| q.groups = vec![shanghai]), ["kate"]);
    c.request(&Request::EditGroups(GroupEdit::DeleteCategory { id: cat }))
        .unwrap();
    assert_eq!(search(&mut c, "", |q| q.groups = vec![beijing]), ["kate"]);
    match c
        .request(&Request::GetContact {
            customer: id("kate"),
        })
        .unwrap()
    {
        Response::Contact(info) => assert_eq!(info.groups, [beijing]),
        other => panic!("{other:?}"),
    }
    // Without permission 8: no group edits, no moving contacts between groups.
    give_role(&mut c, 1002, &[4]);
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    assert_eq!(
        code(
            agent.request(&Request::EditGroups(GroupEdit::CreateCategory {
                name: "x".into()
            }))
        ),
        ErrorCode::PERMISSION_DENIED
    );
    assert_eq!(
        code(agent.request(&Request::UpdateContact {
            customer: id("kate"),
            edit: ContactEdit {
                groups: Some(vec![]),
                ..Default::default()
            },
        })),
        ErrorCode::PERMISSION_DENIED
    );
    // Other edits are fine.
    agent
        .request(&Request::UpdateContact {
            customer: id("kate"),
            edit: ContactEdit {
                remark: Some("ok".into()),
                ..Default::default()
            },
        })
        .unwrap();
}

#[test]
fn import_is_free_up_to_10000_then_1000_a_day_and_reports_bad_rows_by_line() {
    let clock = Arc::new(ManualClock::new(T0_MS));
    let s = TestServer::start_clocked(Arc::clone(&clock));
    let mut admin = s.admin();
    // Valid for a year of the daemon's (test) clock, which agents' logins follow too.
    create_account_expiring(&mut admin, ACCOUNT, T0_MS / 1000 + 365 * 86_400);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut c = boss(&s);
    // A small file first: a bad row and a repeated row never stop the good ones.
    let csv = "id,visitor,real_name\n\
               a1,,张三\n\
               ,zz,bad visitor\n\
               a2,,李四\n\
               a1,,again\n";
    let r = import(&mut c, csv.as_bytes());
    assert_eq!((r.imported, r.skipped_existing, r.invalid_total), (2, 1, 1));
    assert_eq!(r.invalid[0].line, 3);
    // A bad header refuses the whole file and stores nothing.
    assert_eq!(
        code(c.request(&Request::ImportContacts {
            chunk: b"nonsense,columns\nx,y\n".to_vec(),
            first: true,
            last: true,
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    // Without permission 6 no import at all.
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    assert_eq!(
        code(agent.request(&Request::ImportContacts {
            chunk: rows("x", 1),
            first: true,
            last: true,
        })),
        ErrorCode::PERMISSION_DENIED
    );
    // 3 rows counted so far (2 new + 1 existing); 10,500 more: free up to 10,000 in all,
    // and on this day the 1,000 are used by then.
    let r = import(&mut c, &rows("b", 10_500));
    assert_eq!(r.imported, 9_997);
    assert_eq!(r.refused_daily, 503);
    assert_eq!(total(&mut c), 9_999);
    // The next day: 1,000 more, existing rows count too.
    clock.advance(DAY_MS);
    let mut csv = rows("c", 900);
    csv.extend_from_slice(b"b0,again,x\nb1,again,x\n");
    csv.extend_from_slice(&rows("d", 200)[b"id,real_name,remark\n".len()..]);
    let r = import(&mut c, &csv);
    assert_eq!(r.imported + r.skipped_existing, 1_000);
    assert_eq!(r.skipped_existing, 2);
    assert_eq!(r.refused_daily, 102);
    assert_eq!(total(&mut c), 9_999 + 998);
}

#[test]
fn additions_are_1000_a_day() {
    let clock = Arc::new(ManualClock::new(T0_MS));
    let s = TestServer::start_clocked(Arc::clone(&clock));
    create_account_expiring(&mut s.admin(), ACCOUNT, T0_MS / 1000 + 365 * 86_400);
    let mut c = boss(&s);
    for i in 0..1_000 {
        c.request(&Request::RequestContact {
            customer: id(&format!("p{i}")),
            note: "hi".into(),
        })
        .unwrap();
    }
    let next = Request::RequestContact {
        customer: id("p1000"),
        note: "hi".into(),
    };
    assert_eq!(code(c.request(&next)), ErrorCode::DAILY_LIMIT);
    assert_eq!(
        search(&mut c, "p1000", |_| {}),
        Vec::<String>::new(),
        "a refused addition stores nothing"
    );
    clock.advance(DAY_MS);
    c.request(&next).unwrap();
    assert_eq!(
        search(&mut c, "p1000", |q| q.state = Some(ContactState::Pending)),
        ["p1000"]
    );
    assert_eq!(total(&mut c), 1_001);
}

#[test]
fn plan_limit_grace_of_14_days_and_warnings_to_1001() {
    let clock = Arc::new(ManualClock::new(T0_MS));
    let s = TestServer::start_clocked(Arc::clone(&clock));
    let mut admin = s.admin();
    admin
        .request(&Request::AdminCreateAccount {
            account: ACCOUNT,
            name: "silver".into(),
            plan: Plan::Silver,
            expires_at: T0_MS / 1000 + 365 * 86_400,
            password_1001: PASSWORD.into(),
            super_password: SUPER.into(),
        })
        .unwrap();
    let key = customer_key(&mut admin, ACCOUNT);
    let mut c = boss(&s);
    // The operator fills the account to its 25,000 (operator imports are a migration:
    // the daily import rule does not apply, the plan limit does).
    let mut csv = rows("m", 25_001);
    match operator_import(&mut admin, ACCOUNT, &csv) {
        Response::Import(r) => {
            assert_eq!((r.imported, r.refused_plan), (25_000, 1));
        }
        other => panic!("{other:?}"),
    }
    csv.clear();
    // 1001 hears it is near the limit (90 %) — pushed while online.
    let mut warned = false;
    while let Some(p) = c.next_push(Duration::from_millis(500)).unwrap() {
        if let Event::Notice { text } = p.event {
            warned |= text.contains("25000") || text.contains("25,000");
        }
    }
    assert!(warned, "1001 was warned about the limit");
    // Agents may not add at the limit.
    assert_eq!(
        code(c.request(&Request::CreateContact {
            customer: id("one more"),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })),
        ErrorCode::CONTACT_LIMIT
    );
    // Customers still may, for 14 days after going over.
    let now_s = T0_MS / 1000;
    customer(&s, &key, "over1", now_s)
        .request(&Request::AddAccount {
            answer: String::new(),
        })
        .unwrap();
    assert_eq!(total(&mut c), 25_001);
    clock.advance(13 * DAY_MS);
    customer(&s, &key, "over2", now_s)
        .request(&Request::AddAccount {
            answer: String::new(),
        })
        .unwrap();
    clock.advance(2 * DAY_MS);
    let mut late = customer(&s, &key, "over3", now_s);
    assert_eq!(
        code(late.request(&Request::AddAccount {
            answer: String::new(),
        })),
        ErrorCode::CONTACT_LIMIT
    );
    assert_eq!(total(&mut c), 25_002);
}

#[test]
fn online_status_comes_30_at_a_time() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut c = boss(&s);
    let _kate = customer(&s, &key, "kate", now());
    let mut asked: Vec<CustomerId> = (0..29).map(|i| id(&format!("c{i}"))).collect();
    asked.push(id("kate"));
    match c
        .request(&Request::ContactsOnline {
            customers: asked.clone(),
        })
        .unwrap()
    {
        Response::Online(flags) => {
            assert_eq!(flags.len(), 30);
            assert_eq!(flags.iter().filter(|f| **f).count(), 1);
            assert!(flags[29]);
        }
        other => panic!("{other:?}"),
    }
    asked.push(id("c31"));
    assert_eq!(
        code(c.request(&Request::ContactsOnline { customers: asked })),
        ErrorCode::INVALID_ARGUMENT
    );
}

#[test]
fn exclusive_mode_hides_other_agents_contacts_without_permission_4() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut c = boss(&s);
    create(&mut c, "mine-1001", ContactEdit::default());
    give_role(&mut c, 1002, &[5, 6, 8]);
    let mut agent = s.client();
    agent.login(ACCOUNT, 1002, PASSWORD).unwrap();
    create(&mut agent, "mine-1002", ContactEdit::default());
    // Not exclusive: everyone sees every contact.
    assert_eq!(
        search(&mut agent, "mine", |_| {}),
        ["mine-1001", "mine-1002"]
    );
    let mut settings = match c.request(&Request::GetRoutingSettings).unwrap() {
        Response::RoutingSettings(r) => r,
        other => panic!("{other:?}"),
    };
    settings.exclusive = true;
    c.request(&Request::SetRoutingSettings { settings })
        .unwrap();
    assert_eq!(search(&mut agent, "mine", |_| {}), ["mine-1002"]);
    assert_eq!(
        code(agent.request(&Request::GetContact {
            customer: id("mine-1001")
        })),
        ErrorCode::NOT_FOUND
    );
    // Nor in an export (permission 6 without 4).
    match agent
        .request(&Request::ExportContacts {
            after: 0,
            limit: 100,
        })
        .unwrap()
    {
        Response::Export { csv, next_after } => {
            let text = String::from_utf8(csv).unwrap();
            assert!(
                text.contains("mine-1002") && !text.contains("mine-1001"),
                "{text}"
            );
            assert_eq!(next_after, None);
        }
        other => panic!("{other:?}"),
    }
    // 1001 holds permission 4 and sees both.
    assert_eq!(search(&mut c, "mine", |_| {}), ["mine-1001", "mine-1002"]);
}

#[test]
fn friend_requests_verification_and_notifications() {
    let s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut c = boss(&s);
    let mut kate = customer(&s, &key, "kate", now());
    c.request(&Request::RequestContact {
        customer: id("kate"),
        note: "我们是上海的公司".into(),
    })
    .unwrap();
    assert_eq!(
        notice(&mut kate),
        ContactNotice::FriendRequest {
            account: ACCOUNT,
            note: "我们是上海的公司".into()
        }
    );
    assert_eq!(
        search(&mut c, "kate", |q| q.state = Some(ContactState::Pending)),
        ["kate"]
    );
    kate.request(&Request::AnswerContactRequest { accept: true })
        .unwrap();
    assert_eq!(
        notice(&mut c),
        ContactNotice::Answered {
            customer: id("kate"),
            accepted: true
        }
    );
    assert_eq!(
        search(&mut c, "kate", |q| q.state = Some(ContactState::Friend)),
        ["kate"]
    );
    // A request made while the customer is offline is shown at its next login.
    c.request(&Request::RequestContact {
        customer: id("offline"),
        note: "later".into(),
    })
    .unwrap();
    let mut offline = customer(&s, &key, "offline", now());
    assert_eq!(
        notice(&mut offline),
        ContactNotice::FriendRequest {
            account: ACCOUNT,
            note: "later".into()
        }
    );
    // A declined request of someone who never talked to us leaves nothing.
    let mut tom = customer(&s, &key, "tom", now());
    c.request(&Request::RequestContact {
        customer: id("tom"),
        note: String::new(),
    })
    .unwrap();
    tom.request(&Request::AnswerContactRequest { accept: false })
        .unwrap();
    assert_eq!(
        notice(&mut c),
        ContactNotice::Answered {
            customer: id("tom"),
            accepted: false
        }
    );
    assert_eq!(search(&mut c, "tom", |_| {}), Vec::<String>::new());
    // Verification question (M7): a question needs an answer.
    assert_eq!(
        code(c.request(&Request::SetContactSettings {
            settings: ContactSettings {
                auto_friend_request: false,
                question: "我们在哪个城市？".into(),
                answer: " ".into(),
            },
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    c.request(&Request::SetContactSettings {
        settings: ContactSettings {
            auto_friend_request: false,
            question: "我们在哪个城市？".into(),
            answer: "上海".into(),
        },
    })
    .unwrap();
    assert_eq!(
        code(tom.request(&Request::AddAccount {
            answer: "北京".into()
        })),
        ErrorCode::INVALID_ARGUMENT
    );
    // §7.22: told of customers adding the account only when asked for (off by default).
    c.request(&Request::SetAgentPrefs {
        prefs: kefu_wire::prefs::AgentPrefs {
            notify_customer_added: true,
            ..Default::default()
        },
    })
    .unwrap();
    tom.request(&Request::AddAccount {
        answer: " 上海 ".into(),
    })
    .unwrap();
    assert_eq!(
        notice(&mut c),
        ContactNotice::AddedUs {
            customer: id("tom")
        }
    );
    // Customers cannot use agents' CRM requests, nor agents customers'.
    assert_eq!(
        code(tom.request(&Request::ListTags)),
        ErrorCode::PERMISSION_DENIED
    );
    assert_eq!(
        code(c.request(&Request::AddAccount {
            answer: String::new()
        })),
        ErrorCode::PERMISSION_DENIED
    );
}

#[test]
fn served_customers_become_owned_contacts_and_recently_contacted() {
    let mut s = TestServer::start();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let key = customer_key(&mut admin, ACCOUNT);
    let mut c = boss(&s);
    c.request(&Request::SetContactSettings {
        settings: ContactSettings {
            auto_friend_request: true,
            question: String::new(),
            answer: String::new(),
        },
    })
    .unwrap();
    c.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    for who in ["amy", "bob"] {
        let mut cust = customer(&s, &key, who, now());
        cust.request(&Request::OpenConversation { entry: Entry::Auto })
            .unwrap();
        // M7: a visiting non-contact gets a friend request when served.
        assert!(matches!(
            notice(&mut cust),
            ContactNotice::FriendRequest { .. }
        ));
    }
    let recent = |c: &mut Client| match c
        .request(&Request::RecentContacts {
            offset: 0,
            limit: 30,
        })
        .unwrap()
    {
        Response::Contacts(p) => p
            .contacts
            .into_iter()
            .map(|c| (c.customer, c.owner, c.state))
            .collect::<Vec<_>>(),
        other => panic!("{other:?}"),
    };
    let got = recent(&mut c);
    assert_eq!(got.len(), 2, "{got:?}");
    for (_, owner, state) in &got {
        assert_eq!(*owner, Some(1001), "R2: the first agent to serve owns it");
        assert_eq!(*state, ContactState::Pending);
    }
    drop((c, admin));
    s.restart();
    let mut c = boss(&s);
    assert_eq!(recent(&mut c).len(), 2, "rebuilt from stored conversations");
}
