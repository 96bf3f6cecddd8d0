//! The navigation menu (M4, manual §4.4; PROTOCOL.md section 25) through real sockets
//! to a real kefud with the client library: a customer walks the menu before it is
//! routed (sub-menu, open URL, automatic reply, to an agent, to a group, human
//! service, a typed message, the timeout on the injected clock), the accepting agent
//! sees the labels it clicked, a disabled menu routes as before, every bad menu is
//! refused with its own code and changes nothing, permission 16 sets it, and a restart
//! keeps the menu, a walk half done and a conversation's path.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_wire::chat::{Channel, ConversationInfo, ConversationState, Entry, MessageBody, Party};
use kefu_wire::menu::{
    MenuAction, MenuNode, MenuOption, MenuPath, MenuPrompt, MenuStep, NavigationMenu,
};
use kefu_wire::{AgentProfile, Client, DisplayMode, ErrorCode, Event, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 814_404;
const MINUTE: i64 = 60_000;

fn opt(label: &str, action: MenuAction) -> MenuOption {
    MenuOption {
        label: label.into(),
        action,
    }
}

/// The manual's menu (图 56–60): a root prompt, a sub-menu with "to agent 1002" and
/// "to the sales group", an open-URL option, an automatic reply and human service.
fn manual_menu(enabled: bool) -> NavigationMenu {
    NavigationMenu {
        enabled,
        nodes: vec![
            MenuNode {
                prompt: "请选择您需要的服务".into(),
                options: vec![
                    opt("售前咨询", MenuAction::SubMenu(1)),
                    opt("官网", MenuAction::OpenUrl("https://example.com/".into())),
                    opt("营业时间", MenuAction::AutoReply("每天 9:00-18:00".into())),
                    opt("人工服务", MenuAction::HumanService),
                ],
            },
            MenuNode {
                prompt: "请选择产品".into(),
                options: vec![
                    opt("找小王", MenuAction::ToAgent(1002)),
                    opt("销售组", MenuAction::ToGroup("sales".into())),
                ],
            },
        ],
    }
}

fn setup(s: &TestServer) -> [u8; 32] {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    add_agent(&mut admin, ACCOUNT, 1003, Some(PASSWORD));
    customer_key(&mut admin, ACCOUNT)
}

fn agent(s: &TestServer, agent: u32, cap: u16) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap }).unwrap();
    a
}

fn customer(s: &TestServer, key: &[u8; 32], id: &str) -> Client {
    login_customer(s.client(), key, ACCOUNT, id, now() + 30 * 86_400)
}

/// Boss 1001 sets the menu and puts 1002 in the sales group.
fn boss_with_menu(s: &TestServer, menu: NavigationMenu) -> Client {
    let mut boss = agent(s, 1001, 0);
    boss.request(&Request::SetAgentProfile {
        agent: 1002,
        profile: AgentProfile {
            nickname: "小王".into(),
            group: "sales".into(),
            display: DisplayMode::AgentNumber,
            phone: String::new(),
        },
    })
    .unwrap();
    assert_eq!(
        boss.request(&Request::SetNavigationMenu { menu }).unwrap(),
        Response::Ok
    );
    boss
}

fn open_in_menu(c: &mut Client) -> ConversationInfo {
    let info = open(c);
    assert_eq!(info.state, ConversationState::InMenu, "{info:?}");
    info
}

fn choose(c: &mut Client, conversation: u64, node: u16, option: u8) -> MenuStep {
    match c
        .request(&Request::ChooseMenuOption {
            conversation,
            node,
            option,
        })
        .unwrap()
    {
        Response::MenuStep(step) => step,
        other => panic!("{other:?}"),
    }
}

fn code(c: &mut Client, r: &Request) -> Option<ErrorCode> {
    c.request(r).unwrap_err().code()
}

/// The next push `pick` accepts, skipping others.
fn push_where<T>(c: &mut Client, what: &str, pick: impl Fn(Event) -> Option<T>) -> T {
    loop {
        let p = c
            .next_push(Duration::from_secs(10))
            .unwrap()
            .unwrap_or_else(|| panic!("no {what} push"));
        if let Some(t) = pick(p.event) {
            return t;
        }
    }
}

fn menu_shown(c: &mut Client) -> MenuPrompt {
    push_where(c, "MenuShown", |e| match e {
        Event::MenuShown(p) => Some(p),
        _ => None,
    })
}

fn path_push(c: &mut Client) -> MenuPath {
    push_where(c, "MenuPath", |e| match e {
        Event::MenuPath(p) => Some(p),
        _ => None,
    })
}

fn path_of(c: &mut Client, conversation: u64) -> Vec<String> {
    match c.request(&Request::GetMenuPath { conversation }).unwrap() {
        Response::MenuPath(p) => {
            assert_eq!(p.conversation, conversation);
            p.labels
        }
        other => panic!("{other:?}"),
    }
}

fn queue(c: &mut Client) -> Vec<ConversationInfo> {
    match c.request(&Request::ListQueue).unwrap() {
        Response::Conversations(list) => list,
        other => panic!("{other:?}"),
    }
}

fn labels(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

/// §4.4: a customer is shown the root prompt and is not routed; it walks two levels
/// to "to an agent group"; the group's agent sees the queued conversation with the
/// labels clicked, accepts it and sees them again, and the path can be asked for.
#[test]
fn menu_4_4_two_levels_to_a_group_and_the_accepting_agent_sees_the_path() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = boss_with_menu(&s, manual_menu(true));
    let mut wang = agent(&s, 1002, 0); // online, auto-accept off: it accepts by hand
    let mut ivy = customer(&s, &key, "ivy");
    let conv = open_in_menu(&mut ivy).conversation;
    let root = menu_shown(&mut ivy);
    assert_eq!(
        root,
        MenuPrompt {
            conversation: conv,
            node: 0,
            prompt: "请选择您需要的服务".into(),
            options: labels(&["售前咨询", "官网", "营业时间", "人工服务"]),
        }
    );
    assert!(queue(&mut wang).is_empty(), "not routed while in the menu");
    assert!(queue(&mut boss).is_empty());

    match choose(&mut ivy, conv, 0, 0) {
        MenuStep::Prompt(p) => {
            assert_eq!((p.node, p.prompt.as_str()), (1, "请选择产品"));
            assert_eq!(p.options, labels(&["找小王", "销售组"]));
        }
        other => panic!("{other:?}"),
    }
    let routed = match choose(&mut ivy, conv, 1, 1) {
        MenuStep::Routed(info) => info,
        other => panic!("{other:?}"),
    };
    assert_eq!(routed.conversation, conv, "the number it had in the menu");
    assert!(matches!(routed.state, ConversationState::Queued { .. }));
    // The sales agent is shown it waiting, with the path.
    let shown = path_push(&mut wang);
    assert_eq!(shown.conversation, conv);
    assert_eq!(shown.labels, labels(&["售前咨询", "销售组"]));
    assert_eq!(queue(&mut wang)[0].conversation, conv);
    match wang
        .request(&Request::AcceptConversation { conversation: conv })
        .unwrap()
    {
        Response::Accepted { conversation, .. } => {
            assert_eq!(
                conversation.state,
                ConversationState::Assigned { agent: 1002 }
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(path_push(&mut wang).labels, labels(&["售前咨询", "销售组"]));
    assert_eq!(path_of(&mut wang, conv), labels(&["售前咨询", "销售组"]));
    // No longer in the menu.
    assert_eq!(
        code(
            &mut ivy,
            &Request::ChooseMenuOption {
                conversation: conv,
                node: 0,
                option: 3
            }
        ),
        Some(ErrorCode::NOT_IN_MENU)
    );
}

/// §4.4 options 1 and 2: open URL answers the URL and automatic reply sends its text
/// (stored in the conversation as the appliance's message); the customer stays in the
/// menu, unrouted. Bad choices are refused with their codes. A customer that writes
/// instead of choosing is routed by human service and its message kept; the agent
/// sees everything it clicked.
#[test]
fn menu_4_4_open_url_and_automatic_reply_keep_the_customer_in_the_menu() {
    let s = TestServer::start();
    let key = setup(&s);
    let _boss = boss_with_menu(&s, manual_menu(true));
    let mut ivy = customer(&s, &key, "ivy");
    let conv = open_in_menu(&mut ivy).conversation;
    menu_shown(&mut ivy);
    assert_eq!(
        choose(&mut ivy, conv, 0, 1),
        MenuStep::OpenUrl {
            url: "https://example.com/".into()
        }
    );
    assert_eq!(
        choose(&mut ivy, conv, 0, 2),
        MenuStep::AutoReply {
            text: "每天 9:00-18:00".into()
        }
    );
    let reply = push_where(&mut ivy, "Message", |e| match e {
        Event::Message(m) => Some(m),
        _ => None,
    });
    assert_eq!((reply.from, reply.conversation), (Party::System, conv));
    // Still in the menu: opening again shows where it is, same number.
    assert_eq!(open_in_menu(&mut ivy).conversation, conv);
    assert_eq!(menu_shown(&mut ivy).node, 0);
    for (node, option, want) in [
        (0, 9, ErrorCode::NO_SUCH_MENU_OPTION),
        (1, 0, ErrorCode::NO_SUCH_MENU_OPTION), // not on its way down
        (7, 0, ErrorCode::NO_SUCH_MENU_OPTION),
    ] {
        let r = Request::ChooseMenuOption {
            conversation: conv,
            node,
            option,
        };
        assert_eq!(code(&mut ivy, &r), Some(want), "{node}/{option}");
    }
    let other = Request::ChooseMenuOption {
        conversation: conv + 100,
        node: 0,
        option: 0,
    };
    assert_eq!(code(&mut ivy, &other), Some(ErrorCode::NOT_IN_MENU));
    // Another customer cannot choose in ivy's menu.
    let mut bob = customer(&s, &key, "bob");
    let theirs = Request::ChooseMenuOption {
        conversation: conv,
        node: 0,
        option: 0,
    };
    assert_eq!(code(&mut bob, &theirs), Some(ErrorCode::NOT_IN_MENU));

    // Nobody online with a cap: writing routes it by human service into the queue.
    let mut li = agent(&s, 1003, 0);
    let r = ivy
        .request(&Request::SendMessage {
            conversation: conv,
            client_msg_id: 1,
            body: MessageBody::Text("我想问一下价格".into()),
        })
        .unwrap();
    assert!(matches!(r, Response::Sent { .. }), "{r:?}");
    let queued = queue(&mut li);
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].conversation, conv);
    assert_eq!(path_of(&mut li, conv), labels(&["官网", "营业时间"]));
    match li
        .request(&Request::AcceptConversation { conversation: conv })
        .unwrap()
    {
        Response::Accepted { history, .. } => {
            let texts: Vec<_> = history.iter().map(|m| (m.from, m.body.clone())).collect();
            assert!(texts.contains(&(Party::System, MessageBody::Text("每天 9:00-18:00".into()))));
            assert!(texts.contains(&(Party::Customer, MessageBody::Text("我想问一下价格".into()))));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(path_push(&mut li).labels, labels(&["官网", "营业时间"]));
}

/// §4.4 option 3 (指定到工号): routed to that agent at once when it can take it; an
/// offline designated agent's customer waits for it, as routing does for designated
/// agents (§7.15), and gets it when it comes. Human service routes as `Auto`.
#[test]
fn menu_4_4_to_a_designated_agent_online_and_offline_and_human_service() {
    let s = TestServer::start();
    let key = setup(&s);
    let _boss = boss_with_menu(&s, manual_menu(true));
    {
        let mut wang = agent(&s, 1002, 5);
        let mut ivy = customer(&s, &key, "ivy");
        let conv = open_in_menu(&mut ivy).conversation;
        choose(&mut ivy, conv, 0, 0);
        match choose(&mut ivy, conv, 1, 0) {
            MenuStep::Routed(info) => {
                assert_eq!(info.state, ConversationState::Assigned { agent: 1002 })
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(path_push(&mut wang).labels, labels(&["售前咨询", "找小王"]));
        wang.request(&Request::CloseConversation { conversation: conv })
            .unwrap();
        wang.request(&Request::Logout).unwrap();
    }
    // 1002 is offline now: the customer waits for it.
    let mut bob = customer(&s, &key, "bob");
    let conv = open_in_menu(&mut bob).conversation;
    choose(&mut bob, conv, 0, 0);
    match choose(&mut bob, conv, 1, 0) {
        MenuStep::Routed(info) => {
            assert_eq!(info.state, ConversationState::Queued { target: Some(1002) })
        }
        other => panic!("{other:?}"),
    }
    let mut wang = agent(&s, 1002, 5);
    let mut got = path_push(&mut wang);
    if got.conversation != conv {
        got = path_push(&mut wang);
    }
    assert_eq!(got.labels, labels(&["售前咨询", "找小王"]));
    // Human service: the least busy agent, at once.
    let mut cat = customer(&s, &key, "cat");
    let conv = open_in_menu(&mut cat).conversation;
    match choose(&mut cat, conv, 0, 3) {
        MenuStep::Routed(info) => {
            assert_eq!(info.state, ConversationState::Assigned { agent: 1002 })
        }
        other => panic!("{other:?}"),
    }
}

/// The switch: a disabled menu (kept as set) routes customers as before, and so does
/// an account that never set one; mobile customers are routed as before too.
#[test]
fn menu_4_4_disabled_or_mobile_routes_as_before() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = agent(&s, 1001, 5);
    assert_eq!(
        boss.request(&Request::GetNavigationMenu).unwrap(),
        Response::NavigationMenu(NavigationMenu::default())
    );
    let mut ivy = customer(&s, &key, "ivy");
    let info = open(&mut ivy);
    assert_eq!(info.state, ConversationState::Assigned { agent: 1001 });
    ivy.request(&Request::CloseConversation {
        conversation: info.conversation,
    })
    .unwrap();
    boss.request(&Request::SetNavigationMenu {
        menu: manual_menu(false),
    })
    .unwrap();
    assert_eq!(
        boss.request(&Request::GetNavigationMenu).unwrap(),
        Response::NavigationMenu(manual_menu(false))
    );
    let info = open(&mut ivy);
    assert_eq!(info.state, ConversationState::Assigned { agent: 1001 });
    assert!(path_of(&mut boss, info.conversation).is_empty());

    boss.request(&Request::SetNavigationMenu {
        menu: manual_menu(true),
    })
    .unwrap();
    let mut mobile = s.client();
    let expires_at = now() + 86_400;
    mobile
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: "m".into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(&key, ACCOUNT, "m", expires_at),
            channel: Channel::Mobile,
        })
        .unwrap();
    assert_eq!(
        open(&mut mobile).state,
        ConversationState::Assigned { agent: 1001 }
    );
    // A customer that names an agent itself (designated agent) is not shown the menu.
    let mut dan = customer(&s, &key, "dan");
    match dan
        .request(&Request::OpenConversation {
            entry: Entry::Agent(1001),
        })
        .unwrap()
    {
        Response::Conversation(info) => {
            assert_eq!(info.state, ConversationState::Assigned { agent: 1001 })
        }
        other => panic!("{other:?}"),
    }
}

/// Every kind of bad menu is refused with its own code and the stored menu is
/// unchanged; only permission 16 (§7.13 "为营销 QQ 设置导航菜单") sets it; customers
/// neither read nor set it.
#[test]
fn menu_bad_menus_refused_typed_and_permission_16() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = boss_with_menu(&s, manual_menu(true));
    let with = |f: &dyn Fn(&mut NavigationMenu)| {
        let mut m = manual_menu(true);
        f(&mut m);
        Request::SetNavigationMenu { menu: m }
    };
    let cases: Vec<(Request, ErrorCode)> = vec![
        (
            Request::SetNavigationMenu {
                menu: NavigationMenu {
                    enabled: true,
                    nodes: vec![],
                },
            },
            ErrorCode::MENU_EMPTY,
        ),
        (
            with(&|m| {
                let n = m.nodes[1].clone();
                m.nodes.resize(65, n);
            }),
            ErrorCode::MENU_TOO_MANY_NODES,
        ),
        (
            with(&|m| m.nodes[1].options.clear()),
            ErrorCode::MENU_BAD_OPTION_COUNT,
        ),
        (
            with(&|m| {
                let o = m.nodes[1].options[0].clone();
                m.nodes[1].options.resize(11, o);
            }),
            ErrorCode::MENU_BAD_OPTION_COUNT,
        ),
        (
            with(&|m| {
                // 0 → 1 → 2 → 3 → 4 → 5: six levels.
                for i in 1..5u16 {
                    m.nodes[usize::from(i)].options[0].action = MenuAction::SubMenu(i + 1);
                    let n = m.nodes[1].clone();
                    m.nodes.push(n);
                }
                m.nodes[5].options[0].action = MenuAction::HumanService;
            }),
            ErrorCode::MENU_TOO_DEEP,
        ),
        (
            with(&|m| m.nodes[0].prompt = "问".repeat(501)),
            ErrorCode::MENU_BAD_TEXT,
        ),
        (
            with(&|m| m.nodes[0].options[0].label = String::new()),
            ErrorCode::MENU_BAD_TEXT,
        ),
        (
            with(&|m| m.nodes[0].options[2].action = MenuAction::AutoReply(" ".into())),
            ErrorCode::MENU_BAD_TEXT,
        ),
        (
            with(&|m| m.nodes[0].options[1].action = MenuAction::OpenUrl("ftp://x".into())),
            ErrorCode::MENU_BAD_URL,
        ),
        (
            with(&|m| m.nodes[0].options[3].action = MenuAction::SubMenu(9)),
            ErrorCode::MENU_NOT_A_TREE,
        ),
        (
            with(&|m| m.nodes[0].options[3].action = MenuAction::SubMenu(1)),
            ErrorCode::MENU_NOT_A_TREE,
        ),
        (
            with(&|m| m.nodes[1].options[0].action = MenuAction::ToAgent(4242)),
            ErrorCode::MENU_UNKNOWN_AGENT,
        ),
    ];
    for (request, want) in &cases {
        assert_eq!(code(&mut boss, request), Some(*want), "{request:?}");
        assert_eq!(
            boss.request(&Request::GetNavigationMenu).unwrap(),
            Response::NavigationMenu(manual_menu(true)),
            "unchanged after {want:?}"
        );
    }
    // Permission 16, not 12.
    let mut wang = agent(&s, 1002, 0);
    give_role(&mut boss, 1002, &[11, 12]);
    let set = Request::SetNavigationMenu {
        menu: manual_menu(false),
    };
    assert_eq!(code(&mut wang, &set), Some(ErrorCode::PERMISSION_DENIED));
    assert_eq!(
        wang.request(&Request::GetNavigationMenu).unwrap(),
        Response::NavigationMenu(manual_menu(true)),
        "any agent reads it"
    );
    give_role(&mut boss, 1002, &[16]);
    assert_eq!(wang.request(&set).unwrap(), Response::Ok);
    let mut ivy = customer(&s, &key, "ivy");
    assert_eq!(code(&mut ivy, &set), Some(ErrorCode::PERMISSION_DENIED));
    assert_eq!(
        code(&mut ivy, &Request::GetNavigationMenu),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    assert_eq!(
        code(
            &mut wang,
            &Request::ChooseMenuOption {
                conversation: 1,
                node: 0,
                option: 0
            }
        ),
        Some(ErrorCode::PERMISSION_DENIED)
    );
}

/// A restart keeps the menu, a walk half done (same conversation number, same node)
/// and a routed conversation's path, which the agent that accepts it after the
/// restart sees.
#[test]
fn menu_restart_keeps_menu_walk_and_path() {
    let mut s = TestServer::start();
    let key = setup(&s);
    let conv;
    {
        let _boss = boss_with_menu(&s, manual_menu(true));
        let mut ivy = customer(&s, &key, "ivy");
        conv = open_in_menu(&mut ivy).conversation;
        choose(&mut ivy, conv, 0, 0);
    }
    s.restart();
    {
        let mut ivy = customer(&s, &key, "ivy");
        assert_eq!(open_in_menu(&mut ivy).conversation, conv);
        assert_eq!(menu_shown(&mut ivy).node, 1, "where it was");
        match choose(&mut ivy, conv, 1, 1) {
            MenuStep::Routed(info) => assert_eq!(info.conversation, conv),
            other => panic!("{other:?}"),
        }
        // A new customer after the restart gets a new number.
        let mut bob = customer(&s, &key, "bob");
        assert!(open_in_menu(&mut bob).conversation > conv);
    }
    s.restart();
    let mut boss = agent(&s, 1001, 0);
    assert_eq!(
        boss.request(&Request::GetNavigationMenu).unwrap(),
        Response::NavigationMenu(manual_menu(true))
    );
    let mut wang = agent(&s, 1002, 0);
    assert_eq!(path_of(&mut wang, conv), labels(&["售前咨询", "销售组"]));
    assert!(queue(&mut wang).iter().any(|c| c.conversation == conv));
    wang.request(&Request::AcceptConversation { conversation: conv })
        .unwrap();
    assert_eq!(path_push(&mut wang).labels, labels(&["售前咨询", "销售组"]));
    wang.request(&Request::CloseConversation { conversation: conv })
        .unwrap();
    assert_eq!(
        path_of(&mut wang, conv),
        labels(&["售前咨询", "销售组"]),
        "kept with the closed conversation"
    );
}

/// A conversation never waits in the menu for ever: ten minutes after the menu was
/// shown or the last choice, with the clock moved through the admin clock control,
/// it is routed by human service — not a millisecond before.
#[test]
fn menu_walk_times_out_into_human_service() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    let key = setup(&s);
    let mut boss = boss_with_menu(&s, manual_menu(true));
    let mut ivy = customer(&s, &key, "ivy");
    let conv = open_in_menu(&mut ivy).conversation;
    clock.advance(5 * MINUTE);
    choose(&mut ivy, conv, 0, 1); // a choice restarts the ten minutes
    clock.advance(10 * MINUTE - 1);
    boss.request(&Request::GetServerTime).unwrap();
    boss.request(&Request::GetServerTime).unwrap();
    assert!(queue(&mut boss).is_empty(), "still in the menu");
    clock.advance(1);
    boss.request(&Request::GetServerTime).unwrap();
    let changed = push_where(&mut ivy, "ConversationChanged", |e| match e {
        Event::ConversationChanged(info) => Some(info),
        _ => None,
    });
    assert_eq!(changed.conversation, conv);
    assert!(matches!(changed.state, ConversationState::Queued { .. }));
    assert_eq!(path_of(&mut boss, conv), labels(&["官网"]));
}

/// A menu replaced while a customer walks it shows the customer the new root; a menu
/// switched off routes it by human service; closing the conversation in the menu ends
/// the walk without routing anything.
#[test]
fn menu_changed_or_switched_off_while_walking_and_closed_in_the_menu() {
    let s = TestServer::start();
    let key = setup(&s);
    let mut boss = boss_with_menu(&s, manual_menu(true));
    let mut ivy = customer(&s, &key, "ivy");
    let conv = open_in_menu(&mut ivy).conversation;
    menu_shown(&mut ivy);
    choose(&mut ivy, conv, 0, 0);
    let mut renamed = manual_menu(true);
    renamed.nodes[0].prompt = "您好，请选择".into();
    boss.request(&Request::SetNavigationMenu { menu: renamed })
        .unwrap();
    let shown = menu_shown(&mut ivy);
    assert_eq!((shown.node, shown.prompt.as_str()), (0, "您好，请选择"));
    let stale = Request::ChooseMenuOption {
        conversation: conv,
        node: 1,
        option: 0,
    };
    assert_eq!(code(&mut ivy, &stale), Some(ErrorCode::NO_SUCH_MENU_OPTION));

    let mut bob = customer(&s, &key, "bob");
    let bobs = open_in_menu(&mut bob).conversation;
    assert_eq!(
        bob.request(&Request::CloseConversation { conversation: bobs })
            .unwrap(),
        Response::Ok
    );
    let gone = Request::ChooseMenuOption {
        conversation: bobs,
        node: 0,
        option: 0,
    };
    assert_eq!(code(&mut bob, &gone), Some(ErrorCode::NOT_IN_MENU));

    boss.request(&Request::SetNavigationMenu {
        menu: manual_menu(false),
    })
    .unwrap();
    let changed = push_where(&mut ivy, "ConversationChanged", |e| match e {
        Event::ConversationChanged(info) => Some(info),
        _ => None,
    });
    assert_eq!(changed.conversation, conv);
    assert!(matches!(changed.state, ConversationState::Queued { .. }));
    let waiting: Vec<u64> = queue(&mut boss).iter().map(|c| c.conversation).collect();
    assert_eq!(
        waiting,
        vec![conv],
        "bob closed his in the menu: nothing of his waits"
    );
}
