//! The chat window joined to the visitor tracking (W1–W4, M4; manual §4.4, §4.6, §4.9,
//! §10.2, §10.7; PROTOCOL.md 31, 32, 38.3) in headless Chromium over WebDriver
//! (`support/webdriver.rs`), against a real kefud: a small site served by this test on
//! its own loopback port embeds the snippet with `data-code`; the window reports each
//! page, shows an automatic invitation after the dwell (the daemon's clock moved with
//! `AdminClockAdvance`, no sleeps), the visitor accepts it, walks the navigation menu,
//! chats with an agent (a client-library session on the binary port) with typing both
//! ways and an image, and the agent reads the trail (pages, dwell, referrer, menu path)
//! through the protocol. Editing the code re-routes the next visitor of the same page.
//! Screenshots (invitation, menu, image) go to `$KEFU_SCREENSHOTS`.

mod support;

use kefu_wire::chat::{Entry, MessageBody, Party, Signal};
use kefu_wire::menu::{MenuAction, MenuNode, MenuOption, NavigationMenu};
use kefu_wire::web::{AutoInviteSettings, CodeKind, EntryCodeDraft, SiteVisitor};
use kefu_wire::{Client, Event, Request, Response};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;
use support::webdriver::Driver;
use support::*;

const ACCOUNT: u64 = 816_016;
const PUSH_WAIT: Duration = Duration::from_secs(30);

/// The enterprise's site: two pages embedding the snippet with code `code`, and an
/// image. Served by a thread of this test until the process ends.
fn site(web: SocketAddr, code: u32) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/");
            let (kind, body) = page(path, web, code);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\n\
                 Connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

fn page(path: &str, web: SocketAddr, code: u32) -> (&'static str, String) {
    if path.starts_with("/pic.svg") {
        return (
            "image/svg+xml",
            "<svg xmlns='http://www.w3.org/2000/svg' width='160' height='90'>\
             <rect width='160' height='90' fill='#f5a623'/>\
             <text x='20' y='52' font-size='22' fill='#fff'>Kefu image</text></svg>"
                .into(),
        );
    }
    let (title, next) = if path.starts_with("/page2") {
        ("Page two — pricing", "/page1.html?lang=en")
    } else {
        ("Page one — home", "/page2.html?lang=en")
    };
    (
        "text/html; charset=utf-8",
        format!(
            "<!doctype html><html><head><meta charset='utf-8'>\
             <meta name='viewport' content='width=device-width, initial-scale=1'>\
             <title>{title}</title></head><body><h1>{title}</h1>\
             <p><a id='next' href='{next}'>next page</a></p>\
             <script src='http://{web}/chat.js' data-account='{ACCOUNT}' data-code='{code}' \
             async></script></body></html>"
        ),
    )
}

fn opt(label: &str, action: MenuAction) -> MenuOption {
    MenuOption {
        label: label.into(),
        action,
    }
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

fn code_draft(site: SocketAddr, to: u32) -> EntryCodeDraft {
    EntryCodeDraft {
        description: "home page".into(),
        kind: CodeKind::Floating,
        routing: Entry::Agent(to),
        site_url: format!("http://{site}/"),
        style: String::new(),
        anonymous: true,
    }
}

/// A daemon with the web listener, the clock under the operator's control and the
/// site's origin allowed; the account with agents 1001 and 1002; the site with code 1
/// routing to `to`.
fn start(to: u32) -> (TestServer, SocketAddr, Client) {
    let web_port = support::webdriver::free_port();
    let web = SocketAddr::from(([127, 0, 0, 1], web_port));
    let site = site(web, 1);
    let s = TestServer::start_with(|c| {
        c.web_listen = Some(web);
        c.web.allowed_origins = vec![format!("http://{site}")];
        c.test.clock_control = true;
    });
    assert_eq!(s.handle().web_addr(), Some(web));
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut boss = agent(&s, 1001);
    match boss
        .request(&Request::CreateEntryCode {
            draft: code_draft(site, to),
        })
        .unwrap()
    {
        Response::EntryCode(c) => assert_eq!(c.id, 1),
        other => panic!("{other:?}"),
    }
    (s, site, boss)
}

/// The next `VisitorArrived` on a page whose URL ends with `page`.
fn arrived(a: &mut Client, page: &str) -> SiteVisitor {
    loop {
        let push = a.next_push(PUSH_WAIT).unwrap().expect("a push");
        if let Event::VisitorArrived(v) = push.event {
            if v.url.ends_with(page) {
                return v;
            }
        }
    }
}

/// The agent's next message from a customer: its conversation and text.
fn customer_says(a: &mut Client) -> (u64, String) {
    loop {
        let push = a.next_push(PUSH_WAIT).unwrap().expect("a push");
        if let Event::Message(m) = push.event {
            if let (Party::Customer, MessageBody::Text(t)) = (m.from, m.body) {
                return (m.conversation, t);
            }
        }
    }
}

/// Waits for the customer's typing signal on `conversation`.
fn customer_types(a: &mut Client) -> u64 {
    loop {
        let push = a.next_push(PUSH_WAIT).unwrap().expect("a push");
        if let Event::Signal {
            conversation,
            from: Party::Customer,
            signal: Signal::TypingStarted,
        } = push.event
        {
            return conversation;
        }
    }
}

/// Waits in the page (not here) until the JavaScript expression `cond` holds.
fn wait_for(d: &Driver, cond: &str) {
    let script = format!(
        "var done = arguments[0]; var t = setInterval(function () {{
           try {{ if ({cond}) {{ clearInterval(t); done(true); }} }} catch (e) {{}}
         }}, 50);"
    );
    let v = d.call(
        "POST",
        "/execute/async",
        json!({"script": script, "args": []}),
    );
    assert_eq!(v, json!(true), "{cond}");
}

fn text_of(d: &Driver, css: &str) -> Value {
    d.script(
        "var e = document.querySelector(arguments[0]); return e && e.textContent;",
        json!([css]),
    )
}

fn advance(s: &TestServer, ms: i64) {
    let r = s
        .admin()
        .request(&Request::AdminClockAdvance { ms })
        .unwrap();
    assert!(matches!(r, Response::Clock { .. }), "{r:?}");
}

/// W3–W4, M4, §4.6.2, §4.9: two pages, the dwell, the automatic invitation shown and
/// accepted, the menu walked in the window, typing both ways, an image, and the trail
/// the agent reads.
#[test]
fn w4_invitation_menu_typing_image_and_the_trail_in_chromium() {
    let (s, site, mut boss) = start(1001);
    let auto = AutoInviteSettings {
        enabled: true,
        after_secs: 30,
        text: "Need help? 需要帮助吗？".into(),
    };
    boss.request(&Request::SetAutoInvite { settings: auto })
        .unwrap();
    let menu = NavigationMenu {
        enabled: true,
        nodes: vec![
            MenuNode {
                prompt: "Please choose / 请选择".into(),
                options: vec![
                    opt("Sales 售前咨询", MenuAction::SubMenu(1)),
                    opt("Hours 营业时间", MenuAction::AutoReply("9:00-18:00".into())),
                ],
            },
            MenuNode {
                prompt: "Which product? / 请选择产品".into(),
                options: vec![opt("Agent 1001 找客服", MenuAction::ToAgent(1001))],
            },
        ],
    };
    assert_eq!(
        boss.request(&Request::SetNavigationMenu { menu }).unwrap(),
        Response::Ok
    );

    let d = Driver::start();
    d.window(1280, 800);
    let page1 = format!("http://{site}/page1.html?lang=en");
    d.go(&page1);
    let first = arrived(&mut boss, "/page1.html?lang=en");
    assert_eq!(first.title, "Page one — home");
    advance(&s, 12_000);
    d.click("#next");
    let second = arrived(&mut boss, "/page2.html?lang=en");
    assert_eq!(second.visitor, first.visitor, "the same visitor over pages");

    // Not yet due: no invitation; then the dwell passes and it is shown.
    advance(&s, 29_000);
    boss.request(&Request::GetAccountPresence).unwrap();
    boss.request(&Request::GetAccountPresence).unwrap();
    let shown = d.script(
        "return document.querySelector('.kefu-root').classList.contains('kefu-invited')",
        json!([]),
    );
    assert_eq!(shown, json!(false), "no invitation before after_secs");
    advance(&s, 1_000);
    boss.request(&Request::GetAccountPresence).unwrap();
    boss.request(&Request::GetAccountPresence).unwrap();
    wait_for(
        &d,
        "document.querySelector('.kefu-root').classList.contains('kefu-invited')",
    );
    assert_eq!(
        text_of(&d, ".kefu-invite-text"),
        json!("Need help? 需要帮助吗？")
    );
    d.screenshot("invitation.png");

    // Accepted: routed Auto, so the menu comes first; walked in the window.
    d.click(".kefu-yes");
    wait_for(&d, "document.querySelectorAll('.kefu-option').length === 2");
    assert_eq!(text_of(&d, ".kefu-prompt"), json!("Please choose / 请选择"));
    d.screenshot("menu.png");
    d.click(".kefu-option");
    wait_for(
        &d,
        "document.querySelector('.kefu-prompt').textContent === 'Which product? / 请选择产品'",
    );
    d.click(".kefu-option");
    wait_for(&d, "document.querySelectorAll('.kefu-option').length === 0");

    // Typing, visitor → agent, then the message.
    d.type_in(".kefu-input", "I would like a quote");
    let conversation = customer_types(&mut boss);
    d.click(".kefu-send");
    let (said_in, text) = customer_says(&mut boss);
    assert_eq!(
        (said_in, text.as_str()),
        (conversation, "I would like a quote")
    );
    // Typing, agent → visitor.
    boss.request(&Request::Signal {
        conversation,
        signal: Signal::TypingStarted,
    })
    .unwrap();
    wait_for(
        &d,
        "document.querySelector('.kefu-status').textContent === 'typing…'",
    );
    boss.request(&Request::SendMessage {
        conversation,
        client_msg_id: 1,
        body: MessageBody::Image {
            reference: format!("http://{site}/pic.svg"),
        },
    })
    .unwrap();
    wait_for(
        &d,
        "document.querySelector('.kefu-agent img.kefu-img') && \
         document.querySelector('.kefu-agent img.kefu-img').naturalWidth === 160",
    );
    assert_eq!(text_of(&d, ".kefu-status"), json!(""), "typing cleared");
    d.screenshot("image.png");

    // The trail the agent reads through the protocol.
    let trail = match boss
        .request(&Request::GetVisitorTrail {
            visitor: first.visitor.clone(),
        })
        .unwrap()
    {
        Response::VisitorTrail(t) => t,
        other => panic!("{other:?}"),
    };
    let pages: Vec<_> = trail
        .pages
        .iter()
        .map(|p| (p.url.as_str(), p.title.as_str(), p.referrer.as_str()))
        .collect();
    let page2 = format!("http://{site}/page2.html?lang=en");
    assert_eq!(
        pages,
        [
            (page1.as_str(), "Page one — home", ""),
            (page2.as_str(), "Page two — pricing", page1.as_str()),
        ]
    );
    // The test clock runs on from where it was moved: at least the 12 s moved, and
    // closed before the next move (29 s).
    let dwell = trail.pages[0].dwell_ms.expect("page one's dwell closed");
    assert!(
        (12_000..41_000).contains(&dwell),
        "page one's dwell: {dwell}"
    );
    assert_eq!(trail.menu_path, ["Sales 售前咨询", "Agent 1001 找客服"]);
}

/// W1, §10.7: the page's code routes to agent 1002; the code edited to agent 1001, a new
/// visitor of the same page is routed to 1001 — nothing on the page changed.
#[test]
fn w1_editing_the_code_reroutes_the_next_visitor_of_the_same_page() {
    let (s, site, mut boss) = start(1002);
    let mut wang = agent(&s, 1002);
    let d = Driver::start();
    d.window(390, 844);
    let page = format!("http://{site}/page1.html?lang=zh");
    d.go(&page);
    d.click(".kefu-open");
    d.type_in(".kefu-input", "第一位访客");
    d.click(".kefu-send");
    let (_, text) = customer_says(&mut wang);
    assert_eq!(text, "第一位访客");

    let edited = boss
        .request(&Request::EditEntryCode {
            id: 1,
            draft: code_draft(site, 1001),
        })
        .unwrap();
    assert!(matches!(edited, Response::EntryCode(_)), "{edited:?}");
    // A new visitor (nothing kept in the browser) on the same page.
    d.script("localStorage.clear(); return null;", json!([]));
    d.go(&page);
    d.click(".kefu-open");
    d.type_in(".kefu-input", "第二位访客");
    d.click(".kefu-send");
    let (_, text) = customer_says(&mut boss);
    assert_eq!(text, "第二位访客", "routed by the edited code");
    d.screenshot("code-rerouted-mobile.png");
}
