//! The account centre's acceptance in headless Chromium (issue 17; W1, M4; manual
//! §10.2, §4.4; PROTOCOL.md 39.3, 38.5), against a real kefud:
//!
//! - An entry-point code is created in the centre page, its snippet copied from the
//!   page and embedded in a page this test serves itself (a std `TcpListener` on
//!   127.0.0.1:0; the gateway's `[web] allowed_origins` is `*`, so its origin is allowed
//!   through the account's allowed origins alone, 38.4).
//!   Chromium opens that page: the window routes as the code says (to agent 1002, who
//!   answers; the window names it). The code is edited in the centre page (to agent
//!   1003); the page reloaded routes the next visitor there.
//! - A two-level navigation menu is built in the centre page, then walked by a visitor
//!   in the chat window of the embedding page down to a leaf (to an agent); the agent
//!   reads the path in the visitor's trail.
//!
//! Screenshots `embed-*.png` go to `$KEFU_SCREENSHOTS`.

mod support;

use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::web::SiteVisitor;
use kefu_wire::{Client, Event, Request, Response};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use support::centre_page::*;
use support::webdriver::Driver;
use support::*;

const ACCOUNT: u64 = 817_401;
const PUSH_WAIT: Duration = Duration::from_secs(30);

/// The enterprise's page: `/embed.html` with whatever snippet `snippet` holds now
/// (`/blank.html`: none).
/// Served by a thread of this test until the process ends.
fn site(snippet: Arc<Mutex<String>>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
            }
            // `/blank.html`: the same origin without the window, where the test clears
            // the visitor's storage with no chat.js running that could write it back.
            let code = if line.starts_with("GET /blank") {
                String::new()
            } else {
                snippet.lock().unwrap().clone()
            };
            let body = format!(
                "<!doctype html><html><head><meta charset='utf-8'>\
                 <meta name='viewport' content='width=device-width, initial-scale=1'>\
                 <title>Shop — home</title></head><body><h1>Shop — home</h1>\
                 <p>Our products.</p>{code}</body></html>"
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// A daemon with the web gateway; the account with agents 1001–1003 online (each
/// accepting), the test's site allowed as an origin of the account.
fn start(site: SocketAddr) -> (TestServer, Client, Client, Client) {
    let s = TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        // The deployment's gate lets every page on; the account's list decides (38.4).
        c.web.allowed_origins = vec!["*".into()];
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    add_agent(&mut admin, ACCOUNT, 1003, Some(PASSWORD));
    let mut boss = agent(&s, 1001);
    let r = boss
        .request(&Request::SetAllowedOrigins {
            origins: vec![format!("http://{site}")],
        })
        .unwrap();
    assert_eq!(r, Response::Ok);
    let (wang, li) = (agent(&s, 1002), agent(&s, 1003));
    (s, boss, wang, li)
}

fn agent(s: &TestServer, agent: u32) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, agent, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

/// Waits in the page (not here) until the JavaScript expression `cond` holds.
fn wait_for(d: &Driver, cond: &str) {
    let script = format!(
        "var done = arguments[0], n = 0; var t = setInterval(function () {{
           try {{ if ({cond}) {{ clearInterval(t); done(true); return; }} }} catch (e) {{}}
           if (++n > 600) {{ clearInterval(t); done(document.body.textContent.slice(0, 400)); }}
         }}, 50);"
    );
    let v = d.call(
        "POST",
        "/execute/async",
        json!({"script": script, "args": []}),
    );
    assert_eq!(v, json!(true), "{cond}");
}

fn saved(d: &Driver) {
    wait_for(
        d,
        "document.getElementById('status').textContent.indexOf('Saved') >= 0",
    );
    d.script(
        "document.getElementById('status').textContent = '';",
        json!([]),
    );
}

/// Opens the centre at `module`: signing in the first time, later resumed by the cookie.
fn centre_at(d: &Driver, s: &TestServer, module: &str, sign_in: bool) {
    d.go(&centre_url(s, "en"));
    if sign_in {
        d.type_in("#si-user", &format!("1001@{ACCOUNT}"));
        d.type_in("#si-pass", PASSWORD);
        d.click("#si-go");
    }
    d.find("#logout:not([hidden])");
    d.click(&format!("#nav-{module}"));
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

/// A new visitor (nothing kept in the browser) opens the page's window and writes.
fn visitor_writes(d: &Driver, page: &str, text: &str) {
    // A new visitor: its storage cleared on a page of the site without the window (on
    // the embedding page itself the loading chat.js could store the old token again).
    let blank = page.replacen("/embed.html", "/blank.html", 1);
    assert_ne!(blank, page);
    d.go(&blank);
    d.script("localStorage.clear(); return null;", json!([]));
    d.go(page);
    d.find(".kefu-open");
    d.click(".kefu-open");
    d.type_in(".kefu-input", text);
    d.click(".kefu-send");
}

#[test]
fn an_entry_code_from_the_centre_embedded_in_a_page_routes_as_edited_in_chromium() {
    let snippet = Arc::new(Mutex::new(String::new()));
    let site = site(snippet.clone());
    let (s, _boss, mut wang, mut li) = start(site);
    let d = Driver::start();
    d.window(1280, 900);

    // The code, made in the centre: floating, to agent 1002, for another site (the test
    // page's origin is allowed by the account's list, not by the code's site).
    centre_at(&d, &s, "codes", true);
    d.type_in(".f-desc", "Shop home page");
    choose_in(&d, ".f-kind", "Floating");
    choose_in(&d, ".f-route", "Agent");
    retype(&d, ".f-route-value", "1002");
    retype(&d, ".f-site", "https://shop.example/");
    d.click(".f-save");
    d.find("tr[data-code='1'] .c-edit");
    click_centred(&d, "tr[data-code='1'] .c-edit");
    let copied = d.script(
        "return document.querySelector('textarea.snippet').value",
        json!([]),
    );
    let copied = copied.as_str().expect("the snippet").to_owned();
    let web = s.handle().web_addr().unwrap();
    assert_eq!(
        copied,
        format!(
            "<script src=\"http://{web}/chat.js\" data-account=\"{ACCOUNT}\" \
             data-code=\"1\" async></script>"
        )
    );
    d.screenshot("embed-centre-snippet.png");
    *snippet.lock().unwrap() = copied;

    // The page embedding it: the window opens, the visitor writes, 1002 answers.
    let page = format!("http://{site}/embed.html?lang=en");
    visitor_writes(&d, &page, "Is the blue one in stock?");
    let (conversation, text) = customer_says(&mut wang);
    assert_eq!(text, "Is the blue one in stock?");
    wait_for(
        &d,
        "document.querySelector('.kefu-agent-name').textContent.indexOf('1002') >= 0",
    );
    wang.request(&Request::SendMessage {
        conversation,
        client_msg_id: 1,
        body: MessageBody::Text("Yes, it is.".into()),
    })
    .unwrap();
    wait_for(
        &d,
        "document.querySelector('.kefu-log').textContent.indexOf('Yes, it is.') >= 0",
    );
    d.screenshot("embed-before-edit.png");

    // Edited in the centre page (the session resumed by its cookie): to agent 1003.
    centre_at(&d, &s, "codes", false);
    d.find("tr[data-code='1'] .c-edit");
    click_centred(&d, "tr[data-code='1'] .c-edit");
    retype(&d, ".f-route-value", "1003");
    d.click(".f-save");
    saved(&d);

    // The page reloaded (a new visitor, the page unchanged): routed to 1003.
    visitor_writes(&d, &page, "And the red one?");
    let (_, text) = customer_says(&mut li);
    assert_eq!(text, "And the red one?", "routed by the edited code");
    wait_for(
        &d,
        "document.querySelector('.kefu-agent-name').textContent.indexOf('1003') >= 0",
    );
    assert!(
        text_of(&d, ".kefu-log")
            .as_str()
            .is_some_and(|t| !t.contains("Yes, it is.")),
        "a new visitor's window"
    );
    d.screenshot("embed-after-edit.png");
}

/// The next `VisitorArrived` of the boss.
fn arrived(a: &mut Client) -> SiteVisitor {
    loop {
        let push = a.next_push(PUSH_WAIT).unwrap().expect("a push");
        if let Event::VisitorArrived(v) = push.event {
            return v;
        }
    }
}

#[test]
fn a_menu_built_in_the_centre_is_walked_in_the_chat_window_in_chromium() {
    let snippet = Arc::new(Mutex::new(String::new()));
    let site = site(snippet.clone());
    let (s, mut boss, _wang, _li) = start(site);
    let d = Driver::start();
    d.window(1280, 900);

    // Two levels, built in the centre page: "Sales" opens "Which product?", whose
    // "Talk to 1001" goes to agent 1001; "Hours" replies by itself.
    centre_at(&d, &s, "menu", true);
    d.type_in(".menu-prompt", "Please choose / 请选择");
    d.click(".add-opt");
    type_last(&d, ".opt-label", "Sales 售前");
    choose_in(&d, ".opt-type", "SubMenu");
    type_last(&d, ".sub .menu-prompt", "Which product?");
    d.click(".sub .add-opt");
    type_last(&d, ".sub .opt-label", "Talk to 1001");
    choose_in(&d, ".sub .opt-type", "ToAgent");
    type_last(&d, ".sub .opt-value", "1001");
    d.script(
        "var b = document.querySelectorAll('.add-opt'); b[b.length - 1].click();",
        json!([]),
    );
    type_last(&d, ".menu > .opt .opt-label", "Hours");
    type_last(&d, ".menu > .opt .opt-value", "9:00-18:00");
    d.click(".menu-enabled");
    d.click(".menu-save");
    saved(&d);
    d.screenshot("embed-menu-centre.png");

    // An automatic code made in the centre, its snippet on the page.
    d.click("#nav-codes");
    d.type_in(".f-desc", "Automatic");
    retype(&d, ".f-site", "https://shop.example/");
    d.click(".f-save");
    d.find("tr[data-code='1'] .c-edit");
    click_centred(&d, "tr[data-code='1'] .c-edit");
    let copied = d.script(
        "return document.querySelector('textarea.snippet').value",
        json!([]),
    );
    *snippet.lock().unwrap() = copied.as_str().expect("the snippet").to_owned();

    // The visitor walks it in the window: the root, the sub-menu, a leaf.
    let page = format!("http://{site}/embed.html?lang=en");
    d.go(&page);
    let visitor = arrived(&mut boss);
    d.find(".kefu-open");
    d.click(".kefu-open");
    wait_for(&d, "document.querySelectorAll('.kefu-option').length === 2");
    assert_eq!(text_of(&d, ".kefu-prompt"), json!("Please choose / 请选择"));
    d.click(".kefu-option");
    wait_for(
        &d,
        "document.querySelector('.kefu-prompt').textContent === 'Which product?'",
    );
    d.screenshot("embed-menu-window.png");
    d.click(".kefu-option");
    wait_for(&d, "document.querySelectorAll('.kefu-option').length === 0");
    d.type_in(".kefu-input", "I chose sales");
    d.click(".kefu-send");
    let (_, text) = customer_says(&mut boss);
    assert_eq!(text, "I chose sales", "the leaf routed to agent 1001");

    // The path in the visitor's trail, as the agent reads it.
    let trail = match boss
        .request(&Request::GetVisitorTrail {
            visitor: visitor.visitor.clone(),
        })
        .unwrap()
    {
        Response::VisitorTrail(t) => t,
        other => panic!("{other:?}"),
    };
    assert_eq!(trail.menu_path, ["Sales 售前", "Talk to 1001"]);
    assert!(trail.pages[0].url.ends_with("/embed.html?lang=en"));
}
