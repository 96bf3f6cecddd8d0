//! Data outlives versions: a data directory written by an earlier kefud
//! (`tests/data/store-23e6938`, see its README) opens with this version, keeps every
//! account, agent, password, role and message, and takes the features that came later
//! (column families this version added are created on open).

mod support;

use kefu_wire::chat::{CustomerId, MessageBody, Party};
use kefu_wire::crm::{ContactEdit, ContactQuery, ContactSort, ContactState};
use kefu_wire::{Request, Response};
use std::path::Path;
use support::*;

#[test]
fn a_data_directory_of_an_earlier_version_opens_and_keeps_everything() {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/store-23e6938");
    let dir = tempfile::tempdir().expect("tempdir");
    copy_dir(&fixture, dir.path());
    let mut s = TestServer::start_over(dir);

    // The demo account: its super admin, a custom role and an agent in it.
    let mut boss = s.client();
    boss.login(800_000, 1001, "kefu-demo-1001")
        .expect("old password");
    match boss.request(&Request::ListRoles).unwrap() {
        Response::Roles(roles) => {
            let lead = roles
                .iter()
                .find(|r| r.name == "组长")
                .expect("custom role");
            assert_eq!(lead.permissions, (1 << 1) | (1 << 2) | (1 << 3));
        }
        other => panic!("{other:?}"),
    }
    let mut wang = s.client();
    let session = wang
        .login(800_000, 1002, "old-agent-pw")
        .expect("agent 1002");
    assert_eq!(session.nickname, "小王");
    // A data directory from before the navigation menu reads "no menu" (section 25).
    assert_eq!(
        wang.request(&Request::GetNavigationMenu).unwrap(),
        Response::NavigationMenu(kefu_wire::menu::NavigationMenu::default())
    );

    // The load-test account: its agents and the messages of its conversations.
    let mut agent = s.client();
    agent
        .login(800_001, 1001, "load-test-pw")
        .expect("load agent");
    let mut total = 0;
    for i in 0..3 {
        let page = match agent
            .request(&whole_history(
                CustomerId::Identified(format!("kefu-load-{i}")),
                200,
            ))
            .unwrap()
        {
            Response::History(p) => p,
            other => panic!("{other:?}"),
        };
        assert!(page
            .messages
            .iter()
            .all(|m| m.from == Party::Customer && matches!(m.body, MessageBody::Text(_))));
        total += page.messages.len();
    }
    assert_eq!(total, 60, "every stored message");

    // Features of later versions work on the old data, and survive a restart.
    boss.request(&Request::CreateContact {
        customer: CustomerId::Identified("张三".into()),
        state: ContactState::Friend,
        edit: ContactEdit {
            remark: Some("上海".into()),
            ..Default::default()
        },
    })
    .expect("a contact in the new column family");
    drop((boss, wang, agent));
    s.restart();
    let mut boss = s.client();
    boss.login(800_000, 1001, "kefu-demo-1001").unwrap();
    match boss
        .request(&Request::SearchContacts(ContactQuery {
            text: "上海".into(),
            groups: vec![],
            tags: vec![],
            owner: None,
            state: None,
            last_contact: None,
            sort: ContactSort::Name,
            offset: 0,
            limit: 10,
        }))
        .unwrap()
    {
        Response::Contacts(page) => assert_eq!(page.total, 1),
        other => panic!("{other:?}"),
    }
}
