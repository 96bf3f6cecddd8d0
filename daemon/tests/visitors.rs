//! Visitors on the site, their trail and invitations (W3, W4; manual §4.6, §4.9;
//! PROTOCOL.md section 32) through real sockets to a real kefud with the client
//! library and an injected clock: page views with their dwell and the keywords of a
//! search engine's referrer (Chinese, percent-encoded UTF-8), the list of visitors on
//! the site, the menu path with the trail; a manual invitation accepted opens a
//! conversation with the inviting agent, and no second invitation follows; the
//! automatic one comes at exactly the dwell time, not before, and once; the trail is
//! pruned by count and by age.

mod support;

use kefu_daemon::clock::{Clock, ManualClock};
use kefu_wire::chat::{Channel, ConversationState, CustomerId, Entry};
use kefu_wire::menu::{MenuAction, MenuNode, MenuOption, NavigationMenu};
use kefu_wire::web::{
    AutoInviteSettings, Invitation, PageView, SiteVisitor, VisitorTrail, MAX_TRAIL_PAGES,
};
use kefu_wire::{Client, ErrorCode, Event, Request, Response};
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 816_002;
const SECOND: i64 = 1000;
const DAY: i64 = 86_400_000;
const BAIDU: &str = "https://www.baidu.com/s?ie=utf-8&wd=%E5%AE%A2%E6%9C%8D%E8%BD%AF%E4%BB%B6";

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

fn visitor(s: &TestServer) -> (Client, CustomerId) {
    visitor_with(s, None)
}

fn visitor_with(s: &TestServer, token: Option<[u8; 32]>) -> (Client, CustomerId) {
    visitor_token(s, token).0
}

/// A visitor logs in (with the token of an earlier login, to be the same visitor).
fn visitor_token(s: &TestServer, token: Option<[u8; 32]>) -> ((Client, CustomerId), [u8; 32]) {
    let mut c = s.client();
    match c
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token,
            channel: Channel::Web,
        })
        .unwrap()
    {
        Response::CustomerLoggedIn(session) => {
            let t = session.visitor_token.expect("a visitor token");
            ((c, session.customer), t)
        }
        other => panic!("{other:?}"),
    }
}

fn view(c: &mut Client, url: &str, title: &str, referrer: &str) {
    let r = c
        .request(&Request::PageView(PageView {
            url: url.into(),
            title: title.into(),
            referrer: referrer.into(),
        }))
        .unwrap();
    assert_eq!(r, Response::Ok);
}

fn trail(c: &mut Client, visitor: &CustomerId) -> VisitorTrail {
    match c
        .request(&Request::GetVisitorTrail {
            visitor: visitor.clone(),
        })
        .unwrap()
    {
        Response::VisitorTrail(t) => t,
        other => panic!("{other:?}"),
    }
}

fn on_site(c: &mut Client) -> Vec<SiteVisitor> {
    match c.request(&Request::ListSiteVisitors).unwrap() {
        Response::SiteVisitors(v) => v,
        other => panic!("{other:?}"),
    }
}

/// Two round trips on `c`: the first one's turn ends with a commit that advances the
/// timers to the clock's time; pushes it released come before the second answer.
fn settle(c: &mut Client) {
    c.request(&Request::GetAccountPresence).unwrap();
    c.request(&Request::GetAccountPresence).unwrap();
}

/// The invitations received so far (without waiting: call after `settle`).
fn invitations(c: &mut Client) -> Vec<Invitation> {
    let mut out = Vec::new();
    while let Some(p) = c.next_push(Duration::ZERO).unwrap() {
        if let Event::Invitation(i) = p.event {
            out.push(i);
        }
    }
    out
}

fn setup(s: &TestServer) {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
}

fn refused(c: &mut Client, r: &Request) -> Option<ErrorCode> {
    c.request(r).unwrap_err().code()
}

/// §4.6.1, §4.9, W3–W4: pages with dwell, keywords from a baidu referrer, the visitor
/// on the site, and the menu path it clicked before its conversation was routed.
#[test]
fn w3_trail_dwell_keywords_and_menu_path() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    setup(&s);
    let mut boss = agent(&s, 1001);
    let (mut v, id) = visitor(&s);
    let arrived = clock.now_ms();
    view(&mut v, "https://shop.example.com/", "首页", BAIDU);
    let arrival = loop {
        let p = boss.next_push(Duration::from_secs(10)).unwrap().unwrap();
        if let Event::VisitorArrived(a) = p.event {
            break a;
        }
    };
    assert_eq!(arrival.visitor, id);
    assert_eq!(arrival.keywords.as_deref(), Some("客服软件"));
    clock.advance(5 * SECOND);
    view(
        &mut v,
        "https://shop.example.com/price",
        "价格",
        "https://shop.example.com/",
    );
    clock.advance(7 * SECOND);
    v.request(&Request::PageLeft).unwrap();

    let listed = on_site(&mut boss);
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].visitor, id);
    assert_eq!(listed[0].pages, 2);
    assert_eq!(listed[0].url, "https://shop.example.com/price");
    assert_eq!(listed[0].keywords.as_deref(), Some("客服软件"));
    assert_eq!(listed[0].region, None);

    let t = trail(&mut boss, &id);
    assert_eq!(t.keywords, vec!["客服软件".to_string()]);
    assert_eq!(t.pages.len(), 2);
    assert_eq!(
        (t.pages[0].at, t.pages[0].dwell_ms),
        (arrived, Some(5 * SECOND))
    );
    assert_eq!(t.pages[0].title, "首页");
    assert_eq!(t.pages[0].referrer, BAIDU);
    assert_eq!(t.pages[1].dwell_ms, Some(7 * SECOND));
    assert!(t.menu_path.is_empty());

    // Bad page views are refused and change nothing.
    assert_eq!(
        refused(
            &mut v,
            &Request::PageView(PageView {
                url: "javascript:void(0)".into(),
                title: String::new(),
                referrer: String::new(),
            })
        ),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    assert_eq!(trail(&mut boss, &id).pages.len(), 2);

    // The menu path travels with the trail (M4, §4.9).
    boss.request(&Request::SetNavigationMenu {
        menu: NavigationMenu {
            enabled: true,
            nodes: vec![MenuNode {
                prompt: "请选择".into(),
                options: vec![MenuOption {
                    label: "售前咨询".into(),
                    action: MenuAction::ToAgent(1001),
                }],
            }],
        },
    })
    .unwrap();
    let conversation = match v
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => info.conversation,
        other => panic!("{other:?}"),
    };
    v.request(&Request::ChooseMenuOption {
        conversation,
        node: 0,
        option: 0,
    })
    .unwrap();
    assert_eq!(
        trail(&mut boss, &id).menu_path,
        vec!["售前咨询".to_string()]
    );

    // Gone from the site when its session ends; the trail stays.
    drop(v);
    let gone = (0..5_000).any(|_| on_site(&mut boss).is_empty());
    assert!(gone, "the visitor left the list");
    assert_eq!(trail(&mut boss, &id).pages.len(), 2);
}

/// §4.6.1–4.6.2: a manual invitation accepted opens a conversation with the inviting
/// agent; no second invitation, manual or automatic, to a visitor who accepted.
#[test]
fn w3_manual_invitation_accepted_routes_to_the_inviter_and_no_second_one() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    setup(&s);
    let mut boss = agent(&s, 1001);
    let mut wang = agent(&s, 1002);
    let ((mut v, id), token) = visitor_token(&s, None);
    assert_eq!(
        refused(
            &mut wang,
            &Request::InviteVisitor {
                visitor: id.clone(),
                text: "您好".into()
            }
        ),
        Some(ErrorCode::VISITOR_NOT_ON_SITE)
    );
    view(&mut v, "https://shop.example.com/", "首页", "");
    assert_eq!(
        refused(
            &mut wang,
            &Request::InviteVisitor {
                visitor: id.clone(),
                text: " ".into()
            }
        ),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    // A declined invitation may be followed by another.
    wang.request(&Request::InviteVisitor {
        visitor: id.clone(),
        text: "需要帮忙吗？".into(),
    })
    .unwrap();
    settle(&mut v);
    let first = invitations(&mut v);
    assert_eq!(first.len(), 1);
    assert_eq!((first[0].agent, first[0].automatic), (1002, false));
    assert_eq!(
        v.request(&Request::AnswerInvitation {
            invitation: first[0].invitation,
            accept: false
        })
        .unwrap(),
        Response::Ok
    );
    let invited = match wang
        .request(&Request::InviteVisitor {
            visitor: id.clone(),
            text: "新品八折，了解一下？".into(),
        })
        .unwrap()
    {
        Response::Invited { invitation } => invitation,
        other => panic!("{other:?}"),
    };
    settle(&mut v);
    let second = invitations(&mut v);
    assert_eq!(second[0].invitation, invited);
    assert_eq!(second[0].text, "新品八折，了解一下？");
    // Someone else's answer, or an unknown number, is refused.
    assert_eq!(
        refused(
            &mut v,
            &Request::AnswerInvitation {
                invitation: first[0].invitation,
                accept: true
            }
        ),
        Some(ErrorCode::UNKNOWN_INVITATION)
    );
    // Accepted: the conversation goes to 1002, the inviter (1001 is as free).
    match v
        .request(&Request::AnswerInvitation {
            invitation: invited,
            accept: true,
        })
        .unwrap()
    {
        Response::Conversation(info) => {
            assert_eq!(info.state, ConversationState::Assigned { agent: 1002 })
        }
        other => panic!("{other:?}"),
    }
    // No second invitation, by anyone.
    for c in [&mut boss, &mut wang] {
        assert_eq!(
            refused(
                c,
                &Request::InviteVisitor {
                    visitor: id.clone(),
                    text: "再聊聊？".into()
                }
            ),
            Some(ErrorCode::ALREADY_ACCEPTED_INVITATION)
        );
    }
    assert!(on_site(&mut boss)[0].accepted_invitation);
    // Nor an automatic one, in a later visit either (same visitor, by its token).
    boss.request(&Request::SetAutoInvite {
        settings: AutoInviteSettings {
            enabled: true,
            after_secs: 10,
            text: "欢迎光临".into(),
        },
    })
    .unwrap();
    drop(v);
    let (mut again, same) = visitor_with(&s, Some(token));
    assert_eq!(same, id);
    view(&mut again, "https://shop.example.com/", "首页", "");
    clock.advance(60 * SECOND);
    settle(&mut again);
    assert!(invitations(&mut again).is_empty());
    assert_eq!(
        refused(
            &mut boss,
            &Request::InviteVisitor {
                visitor: id,
                text: "再聊聊？".into()
            }
        ),
        Some(ErrorCode::ALREADY_ACCEPTED_INVITATION)
    );
}

/// §4.6.2: the automatic invitation comes at exactly `after_secs` on the site, not a
/// millisecond before, once; settings need permission 16 and are checked.
#[test]
fn w3_automatic_invitation_after_the_dwell_time_not_before_and_once() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    setup(&s);
    let mut boss = agent(&s, 1001);
    let mut wang = agent(&s, 1002);
    assert_eq!(
        boss.request(&Request::GetAutoInvite).unwrap(),
        Response::AutoInviteSettings(AutoInviteSettings::default())
    );
    let settings = AutoInviteSettings {
        enabled: true,
        after_secs: 30,
        text: "您好，有什么可以帮您？".into(),
    };
    assert_eq!(
        refused(
            &mut wang,
            &Request::SetAutoInvite {
                settings: settings.clone()
            }
        ),
        Some(ErrorCode::PERMISSION_DENIED)
    );
    assert_eq!(
        refused(
            &mut boss,
            &Request::SetAutoInvite {
                settings: AutoInviteSettings {
                    after_secs: 0,
                    ..settings.clone()
                }
            }
        ),
        Some(ErrorCode::INVALID_ARGUMENT)
    );
    boss.request(&Request::SetAutoInvite {
        settings: settings.clone(),
    })
    .unwrap();
    assert_eq!(
        wang.request(&Request::GetAutoInvite).unwrap(),
        Response::AutoInviteSettings(settings.clone())
    );

    let (mut v, _) = visitor(&s);
    view(&mut v, "https://shop.example.com/", "首页", "");
    clock.advance(10 * SECOND);
    view(&mut v, "https://shop.example.com/a", "A", "");
    clock.advance(20 * SECOND - 1);
    settle(&mut v);
    assert!(
        invitations(&mut v).is_empty(),
        "invited before the dwell time"
    );
    clock.advance(1);
    settle(&mut v);
    let got = invitations(&mut v);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].agent, got[0].automatic), (0, true));
    assert_eq!(got[0].text, settings.text);
    clock.advance(600 * SECOND);
    settle(&mut v);
    assert!(invitations(&mut v).is_empty(), "sent once");
    // Accepted: routed automatically.
    match v
        .request(&Request::AnswerInvitation {
            invitation: got[0].invitation,
            accept: true,
        })
        .unwrap()
    {
        Response::Conversation(info) => {
            assert!(matches!(info.state, ConversationState::Assigned { .. }))
        }
        other => panic!("{other:?}"),
    }
}

/// Retention: a trail keeps its newest pages up to the bound, and none older than
/// the retention days.
#[test]
fn w3_trail_is_pruned_by_count_and_by_age() {
    let clock = Arc::new(ManualClock::new((now() + 86_400) * 1000));
    let s = TestServer::start_clocked(clock.clone());
    setup(&s);
    let mut boss = agent(&s, 1001);
    let (mut v, id) = visitor(&s);
    for i in 0..(MAX_TRAIL_PAGES + 5) {
        view(&mut v, &format!("https://shop.example.com/p{i}"), "", "");
        clock.advance(SECOND);
    }
    let t = trail(&mut boss, &id);
    assert_eq!(t.pages.len(), MAX_TRAIL_PAGES);
    assert_eq!(t.pages[0].url, "https://shop.example.com/p5");
    assert_eq!(
        t.pages.last().unwrap().url,
        format!("https://shop.example.com/p{}", MAX_TRAIL_PAGES + 4)
    );
    clock.advance(31 * DAY);
    view(&mut v, "https://shop.example.com/back", "", "");
    let t = trail(&mut boss, &id);
    assert_eq!(t.pages.len(), 1);
    assert_eq!(t.pages[0].url, "https://shop.example.com/back");
    // The expired pages were deleted, not only hidden.
    assert_eq!(trail(&mut boss, &id).pages.len(), 1);
}
