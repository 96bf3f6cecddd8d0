//! The account centre (issue 17, PROTOCOL.md "The account centre") in headless
//! Chromium against a real kefud (`support/webdriver.rs`): agent 1001 signs in,
//! creates and edits an entry-point code (a visitor reading the code sees the edit),
//! builds a two-level navigation menu (a visitor walks it), reads points and balance;
//! free text with markup stays text; the page at a narrow width and in Chinese.
//! Agents each lacking one of permissions 13–16 do not see that module, and the
//! daemon refuses its requests (over the protocol too). Screenshots of every module go
//! to `$KEFU_SCREENSHOTS`.

mod support;

use kefu_wire::chat::{Channel, ConversationState, Entry};
use kefu_wire::menu::{MenuAction, MenuStep};
use kefu_wire::web::CodeKind;
use kefu_wire::{AccountCentreModule, Client, ErrorCode, Event, Request, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::Duration;
use support::centre_page::*;
use support::centre_ws::*;
use support::webdriver::Driver;
use support::*;

const ACCOUNT: u64 = 817_001;
/// Markup in every free-text field: it must be shown as these characters.
const XSS: &str = "<img src=x onerror=\"window.pwned=1\"><b class=\"xss\">bold</b>";

fn web_server() -> TestServer {
    TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
}

fn clear_status(d: &Driver) {
    d.script(
        "document.getElementById('status').textContent = '';",
        json!([]),
    );
}

/// No element from the injected markup exists and its handler never ran.
fn assert_no_injection(d: &Driver) {
    let v = d.script(
        "return [document.querySelectorAll('img').length, document.querySelectorAll('b.xss').length,
                 window.pwned === undefined];",
        json!([]),
    );
    assert_eq!(v, json!([0, 0, true]), "markup from data became elements");
}

fn visitor(s: &TestServer) -> Client {
    let mut c = s.client();
    let r = c
        .request(&Request::VisitorLogin {
            account: ACCOUNT,
            token: None,
            channel: Channel::Web,
        })
        .unwrap();
    assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
    c
}

fn public_code(c: &mut Client, id: u32) -> (CodeKind, String) {
    match c.request(&Request::GetEntryCode { id }).unwrap() {
        Response::PublicEntryCode(p) => (p.kind, p.style),
        other => panic!("{other:?}"),
    }
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

/// Entry-point codes: created with markup in its description, shown as text, edited;
/// a visitor's page reading the code sees the edit.
fn entry_codes(d: &Driver, s: &TestServer) {
    d.click("#nav-codes");
    d.type_in(".f-desc", XSS);
    d.find(".f-site").clear_and_type(d, "https://shop.example/");
    d.click(".f-save");
    await_text(d, "tr[data-code='1'] .c-desc", "<b class=");
    let shown = d.script(
        "return document.querySelector(\"tr[data-code='1'] .c-desc\").textContent",
        json!([]),
    );
    assert_eq!(shown, json!(XSS));
    assert_no_injection(d);
    let snippet = d.script(
        "return document.querySelector('textarea.snippet').value",
        json!([]),
    );
    assert!(
        snippet
            .as_str()
            .is_some_and(|t| t.contains(&format!("data-account=\"{ACCOUNT}\" data-code=\"1\""))),
        "{snippet}"
    );
    d.screenshot("centre-codes.png");

    let mut v = visitor(s);
    assert_eq!(public_code(&mut v, 1), (CodeKind::Fixed, "A-01".into()));
    d.click("tr[data-code='1'] .c-edit");
    d.find(".f-style").clear_and_type(d, "B-07");
    choose_in(d, ".f-kind", "Floating");
    clear_status(d);
    d.click(".f-save");
    await_text(d, "#status", "Saved");
    assert_eq!(public_code(&mut v, 1), (CodeKind::Floating, "B-07".into()));
}

/// The navigation menu: a root with a sub-menu and human service, the sub-menu with an
/// automatic reply; saved, read back over the protocol, walked by a visitor.
fn navigation_menu(d: &Driver, s: &TestServer, a: &mut Client) {
    d.click("#nav-menu");
    d.type_in(".menu-prompt", XSS);
    d.click(".add-opt");
    type_last(d, ".opt-label", "Sales");
    choose_in(d, ".opt-type", "SubMenu");
    type_last(d, ".sub .menu-prompt", "Which product?");
    d.click(".sub .add-opt");
    type_last(d, ".sub .opt-label", "Prices");
    type_last(d, ".sub .opt-value", "Prices are on the site.");
    // The root's own "add option" is its last one.
    d.script(
        "var b = document.querySelectorAll('.add-opt'); b[b.length - 1].click();",
        json!([]),
    );
    type_last(d, ".menu > .opt .opt-label", "Human");
    choose_in(d, ".menu > .opt .opt-type", "HumanService");
    d.click(".menu-enabled");
    clear_status(d);
    d.click(".menu-save");
    await_text(d, "#status", "Saved");
    let prompt = d.script(
        "return document.querySelector('.menu-prompt').value",
        json!([]),
    );
    assert_eq!(prompt, json!(XSS));
    assert_no_injection(d);
    d.screenshot("centre-menu.png");

    let menu = match a.request(&Request::GetNavigationMenu).unwrap() {
        Response::NavigationMenu(m) => m,
        other => panic!("{other:?}"),
    };
    assert!(menu.enabled);
    assert_eq!(menu.nodes.len(), 2, "{menu:?}");
    assert_eq!(menu.nodes[0].prompt, XSS);
    assert_eq!(menu.nodes[0].options[0].action, MenuAction::SubMenu(1));
    assert_eq!(menu.nodes[0].options[1].action, MenuAction::HumanService);

    // A visitor walks it (a client-library session: the chat window's menu is not
    // joined to the centre's test).
    let mut v = visitor(s);
    let info = match v
        .request(&Request::OpenConversation { entry: Entry::Auto })
        .unwrap()
    {
        Response::Conversation(info) => info,
        other => panic!("{other:?}"),
    };
    assert_eq!(info.state, ConversationState::InMenu);
    loop {
        let p = v.next_push(Duration::from_secs(10)).unwrap().expect("menu");
        if let Event::MenuShown(m) = p.event {
            assert_eq!(m.prompt, XSS);
            assert_eq!(m.options, ["Sales", "Human"]);
            break;
        }
    }
    match choose(&mut v, info.conversation, 0, 0) {
        MenuStep::Prompt(p) => assert_eq!((p.node, p.prompt.as_str()), (1, "Which product?")),
        other => panic!("{other:?}"),
    }
    match choose(&mut v, info.conversation, 1, 0) {
        MenuStep::AutoReply { text } => assert_eq!(text, "Prices are on the site."),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        choose(&mut v, info.conversation, 0, 1),
        MenuStep::Routed(_)
    ));
}

/// The bytes of the file the page offers at `css` (a `blob:` link), read in the page.
fn file_bytes(d: &Driver, css: &str) -> Vec<u8> {
    d.find(css);
    let v = d.call(
        "POST",
        "/execute/async",
        json!({"script": "var a = document.querySelector(arguments[0]), done = arguments[1];
            fetch(a.href).then(function (r) { return r.arrayBuffer(); }).then(function (b) {
              done(Array.prototype.slice.call(new Uint8Array(b)));
            });", "args": [css]}),
    );
    serde_json::from_value(v).unwrap()
}

/// The .xlsx behind the page's download link `css`, read back with calamine.
fn xlsx_rows(d: &Driver, css: &str) -> Vec<Vec<calamine::Data>> {
    use calamine::{Reader, Xlsx};
    let xlsx = file_bytes(d, css);
    let mut book = Xlsx::new(std::io::Cursor::new(xlsx)).expect("an .xlsx");
    let name = book.sheet_names()[0].clone();
    let range = book.worksheet_range(&name).unwrap();
    range.rows().map(|r| r.to_vec()).collect()
}

/// Each report over a range: a table or a plain "no data", an SVG chart, exported as
/// Excel (read back with calamine: the report's header); the work report also as CSV.
/// A range over the manual's bound is refused by the page before it asks.
fn reports(d: &Driver) {
    use calamine::Data;
    d.click("#nav-reports");
    d.find(".r-kind");
    let headers = [
        ("csat", "agent"),
        ("work", "日期"),
        ("trend", "日期"),
        ("site", "日期"),
    ];
    for (kind, first_column) in headers {
        choose_in(d, ".r-kind", kind);
        d.script(
            "document.querySelector('.r-from').value = '2030-03-01';
             document.querySelector('.r-to').value = '2030-03-07';
             var o = document.querySelector('.r-out'); o.textContent = '';",
            json!([]),
        );
        d.click(".r-show");
        d.find(".r-out svg.r-chart");
        d.find(".r-out .r-export");
        d.screenshot(&format!("centre-report-{kind}.png"));
        click_centred(d, ".r-export-xlsx");
        let rows = xlsx_rows(d, ".r-file-xlsx");
        assert_eq!(
            rows[0][0],
            Data::String(first_column.into()),
            "{kind}: {rows:?}"
        );
    }
    choose_in(d, ".r-kind", "work");
    d.click(".r-show");
    click_centred(d, ".r-export-csv");
    let csv = file_bytes(d, ".r-file-csv");
    assert!(String::from_utf8_lossy(&csv).contains("日期"));
    d.screenshot("centre-report-export.png");
    // CSAT: at most 180 days.
    choose_in(d, ".r-kind", "csat");
    d.script(
        "document.querySelector('.r-from').value = '2030-01-01';
         document.querySelector('.r-to').value = '2030-12-31';",
        json!([]),
    );
    d.click(".r-show");
    await_text(d, "#view .err", "180");
}

trait Clear {
    fn clear_and_type(&self, d: &Driver, text: &str);
}

impl Clear for String {
    /// Clears the element with this WebDriver id and types `text` into it.
    fn clear_and_type(&self, d: &Driver, text: &str) {
        d.call("POST", &format!("/element/{self}/clear"), json!({}));
        d.call(
            "POST",
            &format!("/element/{self}/value"),
            json!({ "text": text }),
        );
    }
}

#[test]
fn agent_1001_runs_every_module_in_chromium() {
    let s = web_server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    admin
        .request(&Request::AdminBalanceTopUp {
            account: ACCOUNT,
            units: 5_000,
        })
        .unwrap();
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    // At the default level (medium) points need a token code, which the page asks for
    // (and this account has no token): level low for this test.
    a.request(&Request::SetSecurityLevel {
        level: kefu_wire::SecurityLevel::Low,
    })
    .unwrap();

    let d = Driver::start();
    d.window(1280, 900);
    d.go(&centre_url(&s, "en"));
    d.screenshot("centre-signin.png");
    // A wrong password is the daemon's refusal, shown as such.
    sign_in_fails(&d, "wrong");
    sign_in(&d, ACCOUNT, 1001, PASSWORD);
    assert_eq!(
        modules(&d),
        [
            "codes",
            "menu",
            "reports",
            "csat",
            "points",
            "account",
            "space",
            "campaigns",
            "profile",
            "style"
        ]
    );
    // The desktop session of 1001 is not replaced by the centre's.
    assert!(a.request(&Request::WhoAmI).is_ok(), "the desktop stays");
    // A reload keeps the session: the gateway resumes it for the page's cookie.
    d.call("POST", "/refresh", json!({}));
    d.find("#logout:not([hidden])");
    assert_eq!(modules(&d).len(), 10);
    let cookie_seen = d.script("return document.cookie", json!([]));
    assert_eq!(cookie_seen, json!(""), "the session cookie is HttpOnly");
    entry_codes(&d, &s);
    navigation_menu(&d, &s, &mut a);

    reports(&d);

    d.click("#nav-points");
    await_text(&d, ".b-available", "5000");
    d.screenshot("centre-points.png");
    for module in ["account", "space", "campaigns"] {
        d.click(&format!("#nav-{module}"));
        d.find(&format!("#view[data-module='{module}'] .notice"));
        d.screenshot(&format!("centre-{module}.png"));
    }

    // Keyboard: the modules are buttons in tab order; Enter on one opens it.
    open_by_keyboard(&d, "codes");
    d.find("#view[data-module='codes'] .f-desc");

    // A narrow width: nothing wider than the viewport.
    d.window(390, 844);
    d.click("#nav-menu");
    d.find(".menu-prompt");
    assert_fits_width(&d, "the centre");
    d.screenshot("centre-mobile.png");

    // Chinese.
    d.click("#lang");
    await_text(&d, "#nav-menu", "导航菜单");
    d.window(1280, 900);
    d.click("#nav-codes");
    await_text(&d, "#view > h3", "生成过的代码");
    d.screenshot("centre-codes-zh.png");

    // Weight and first render, reported (not asserted: timing depends on the machine).
    let perf = d.script(
        "var n = performance.getEntriesByType('navigation')[0];
         var p = performance.getEntriesByName('first-contentful-paint')[0];
         var bytes = performance.getEntriesByType('resource').reduce(function (s, r) {
           return s + (r.transferSize || 0); }, n.transferSize || 0);
         return {bytes: bytes, dcl_ms: n.domContentLoadedEventEnd, fcp_ms: p ? p.startTime : null};",
        json!([]),
    );
    eprintln!("centre page: {perf}");

    d.click("#logout");
    d.find("#signin:not([hidden])");

    // The desktop client's "open the account centre": a ticket in the address signs in
    // once and leaves the address; the same address again is refused.
    let t = ticket(&mut a, AccountCentreModule::ServiceConfig);
    let hex: String = t.iter().map(|b| format!("{b:02x}")).collect();
    let with_ticket = format!("{}&ticket={hex}", centre_url(&s, "en"));
    d.go(&with_ticket);
    d.find("#logout:not([hidden])");
    let address = d.script("return location.search", json!([]));
    assert_eq!(address, json!("?lang=en"), "the ticket left the address");
    d.go(&with_ticket);
    await_text(&d, "#si-err", "Refused by the appliance");
    let refusal = d.script(
        "return document.getElementById('si-err').textContent",
        json!([]),
    );
    assert!(
        refusal
            .as_str()
            .is_some_and(|t| t.contains(&format!("({})", ErrorCode::TICKET_USED.0))),
        "{refusal}"
    );
    assert!(a.request(&Request::WhoAmI).is_ok(), "the desktop stays");
}

fn sign_in_fails(d: &Driver, password: &str) {
    d.type_in("#si-user", &format!("1001@{ACCOUNT}"));
    d.type_in("#si-pass", password);
    d.click("#si-go");
    await_text(d, "#si-err", "Refused by the appliance");
    d.script("document.getElementById('si-user').value = '';", json!([]));
}

/// The request of each permission's module that the daemon must refuse without it.
fn refused_without(p: u16) -> Vec<Request> {
    let module = match p {
        13 => AccountCentreModule::AccountInfo,
        14 => AccountCentreModule::EnterpriseSpace,
        15 => AccountCentreModule::Campaigns,
        _ => AccountCentreModule::ServiceConfig,
    };
    let mut r = vec![Request::AccountCentreTicket { module }];
    if p == 16 {
        r.push(Request::ListEntryCodes);
        r.push(Request::SetNavigationMenu {
            menu: kefu_wire::menu::NavigationMenu {
                enabled: false,
                nodes: Vec::new(),
            },
        });
    }
    r
}

#[test]
fn an_agent_lacking_one_of_13_to_16_has_no_such_module_and_is_refused() {
    let s = web_server();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let d = Driver::start();
    d.window(1280, 900);
    for (i, lacking) in (13u16..=16).enumerate() {
        let agent = 1002 + i as u32;
        add_agent(&mut admin, ACCOUNT, agent, Some(PASSWORD));
        let perms: Vec<u16> = (1..=16).filter(|p| *p != lacking).collect();
        give_role(&mut boss, agent, &perms);

        d.go(&centre_url(&s, "en"));
        sign_in(&d, ACCOUNT, agent, PASSWORD);
        let shown = modules(&d);
        let absent: &[&str] = match lacking {
            13 => &["account", "points", "profile"],
            14 => &["space"],
            15 => &["campaigns"],
            _ => &["codes", "menu", "reports", "csat", "style"],
        };
        for m in absent {
            assert!(!shown.iter().any(|s| s == m), "{lacking}: {shown:?}");
        }
        assert_eq!(shown.len(), 10 - absent.len(), "{lacking}: {shown:?}");
        d.screenshot(&format!("centre-without-{lacking}.png"));
        d.click("#logout");
        d.find("#signin:not([hidden])");

        // The daemon refuses, whatever the page shows.
        let mut c = s.client();
        c.login(ACCOUNT, agent, PASSWORD).unwrap();
        for r in refused_without(lacking) {
            let e = c.request(&r).unwrap_err();
            assert_eq!(
                e.code(),
                Some(ErrorCode::PERMISSION_DENIED),
                "{lacking}: {r:?}"
            );
        }
    }
}

fn ticket(a: &mut Client, module: AccountCentreModule) -> Vec<u8> {
    match a.request(&Request::AccountCentreTicket { module }).unwrap() {
        Response::Ticket { ticket, .. } => ticket,
        other => panic!("{other:?}"),
    }
}

fn centre_login(c: &mut Client, request: &Request) -> Result<kefu_wire::SessionInfo, ErrorCode> {
    match c.request(request) {
        Ok(Response::LoggedIn(info)) => Ok(info),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code().expect("a refusal")),
    }
}

#[test]
fn a_centre_session_leaves_the_desktop_alone_and_does_only_the_centre() {
    let clock = std::sync::Arc::new(kefu_daemon::clock::ManualClock::new(now() * 1000));
    let s = TestServer::start_clocked(clock.clone());
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut desk = s.client();
    let desk_info = desk.login(ACCOUNT, 1001, PASSWORD).unwrap();

    // The password sign-in: a session without a token, the desktop untouched.
    let mut c = s.client();
    let login = Request::CentreLogin {
        account: ACCOUNT,
        agent: 1001,
        password: PASSWORD.into(),
        otp: None,
    };
    let info = centre_login(&mut c, &login).unwrap();
    assert_eq!((info.agent, info.token), (1001, [0; 16]));
    assert!(desk.request(&Request::WhoAmI).is_ok(), "the desktop stays");
    let wrong = Request::CentreLogin {
        account: ACCOUNT,
        agent: 1001,
        password: "wrong".into(),
        otp: None,
    };
    assert_eq!(
        centre_login(&mut s.client(), &wrong),
        Err(ErrorCode::WRONG_PASSWORD)
    );

    // Only the centre's requests; the rest is refused and changes nothing.
    assert!(matches!(
        c.request(&Request::ListEntryCodes).unwrap(),
        Response::EntryCodes(_)
    ));
    for r in [
        Request::SetPresence {
            presence: kefu_wire::Presence::Away,
        },
        Request::SetAutoAccept { cap: 5 },
        Request::ChangeOwnPassword {
            old_password: PASSWORD.into(),
            new_password: "another one".into(),
        },
    ] {
        let e = c.request(&r).unwrap_err();
        assert_eq!(e.code(), Some(ErrorCode::CENTRE_SESSION_ONLY), "{r:?}");
    }
    // Its logout ends it alone: the desktop's session and token stay.
    c.request(&Request::Logout).unwrap();
    assert_eq!(
        c.request(&Request::ListEntryCodes).unwrap_err().code(),
        Some(ErrorCode::NOT_LOGGED_IN)
    );
    assert!(desk.request(&Request::WhoAmI).is_ok());
    let mut again = s.client();
    let resumed = again.request(&Request::Resume {
        account: ACCOUNT,
        agent: 1001,
        token: desk_info.token,
    });
    assert!(matches!(resumed, Ok(Response::LoggedIn(_))), "{resumed:?}");
    drop(again);
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();

    // A ticket signs in once; altered it is invalid; after 300 seconds expired.
    let t = ticket(&mut desk, AccountCentreModule::ServiceConfig);
    let by_ticket = Request::CentreTicketLogin { ticket: t.clone() };
    let info = centre_login(&mut s.client(), &by_ticket).unwrap();
    assert_eq!((info.account, info.agent), (ACCOUNT, 1001));
    assert_eq!(
        centre_login(&mut s.client(), &by_ticket),
        Err(ErrorCode::TICKET_USED)
    );
    let mut altered = ticket(&mut desk, AccountCentreModule::ServiceConfig);
    altered[30] ^= 1;
    let altered = Request::CentreTicketLogin { ticket: altered };
    assert_eq!(
        centre_login(&mut s.client(), &altered),
        Err(ErrorCode::TICKET_INVALID)
    );
    let short = Request::CentreTicketLogin {
        ticket: vec![1; 10],
    };
    assert_eq!(
        centre_login(&mut s.client(), &short),
        Err(ErrorCode::TICKET_INVALID)
    );
    let late = ticket(&mut desk, AccountCentreModule::AccountInfo);
    clock.advance(301_000);
    let late = Request::CentreTicketLogin { ticket: late };
    assert_eq!(
        centre_login(&mut s.client(), &late),
        Err(ErrorCode::TICKET_EXPIRED)
    );
    assert!(desk.request(&Request::WhoAmI).is_ok(), "the desktop stays");
}

// --- The centre's cookie and WebSocket, over raw HTTP and WebSocket ---

/// Sends `bytes` to the gateway and reads until it closes.
fn exchange(s: &TestServer, bytes: &[u8]) -> String {
    use std::io::{Read, Write};
    let mut t = web_stream(s);
    t.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

fn who(ws: &mut Ws, id: u64) -> Value {
    call(ws, id, json!("WhoAmI"))
}

#[test]
fn the_centre_cookie_resists_csrf_fixation_other_accounts_and_expires() {
    let clock = std::sync::Arc::new(kefu_daemon::clock::ManualClock::new(now() * 1000));
    let dir = tempfile::tempdir().unwrap();
    let mut config = kefu_daemon::config::Config::for_tests(dir.path());
    config.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    // Visitors' pages may open the window's WebSocket from anywhere; not the centre's.
    config.web.allowed_origins = vec!["*".into()];
    let handle = kefu_daemon::server::start_with_clock(config, clock.clone()).unwrap();
    let s = TestServer {
        handle: Some(handle),
        dir,
    };
    let other = ACCOUNT + 1;
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    create_account(&mut admin, other);

    // The page: policy headers, no cookie; no state-changing HTTP at all.
    let page = exchange(
        &s,
        b"GET /centre/ HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    );
    assert!(page.starts_with("HTTP/1.1 200 "), "{page}");
    assert!(page.contains("Content-Security-Policy: default-src 'none'; script-src 'self'"));
    assert!(page.contains("X-Frame-Options: DENY\r\n"));
    assert!(!page.contains("Set-Cookie"));
    let post = exchange(
        &s,
        b"POST /centre/ HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(post.starts_with("HTTP/1.1 405 "), "{post}");

    // CSRF: a foreign page cannot open the centre's WebSocket (the window's it may).
    let upgrade = |path: &str, origin: &str| {
        format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Origin: {origin}\r\nCookie: kefu_centre={}\r\n\r\n",
            "a".repeat(64)
        )
    };
    let foreign = exchange(&s, upgrade("/centre/ws", "https://evil.example").as_bytes());
    assert!(foreign.starts_with("HTTP/1.1 403 "), "{foreign}");
    let mut t = web_stream(&s);
    std::io::Write::write_all(&mut t, upgrade("/ws", "https://evil.example").as_bytes()).unwrap();
    let mut buf = [0u8; 256];
    let n = std::io::Read::read(&mut t, &mut buf).unwrap();
    assert!(
        buf[..n].starts_with(b"HTTP/1.1 101 "),
        "the window's WebSocket is open to all"
    );

    // Sign in: the cookie is set at the connection's own upgrade, HttpOnly, SameSite=Strict.
    let (mut a, set, resuming) = centre_ws(&s, "?fresh=1", None);
    assert!(!resuming);
    let set = set.expect("a cookie");
    assert!(
        set.ends_with("; Path=/centre; HttpOnly; SameSite=Strict") && !set.contains("Secure"),
        "{set}"
    );
    let cookie_a = cookie_pair(&set);
    centre_sign_in(&mut a, ACCOUNT, 1001);
    drop(a);

    // A reload with the cookie resumes that session; no new cookie.
    let (mut b, set, resuming) = centre_ws(&s, "", Some(&cookie_a));
    assert!(resuming && set.is_none());
    let r = resume_answer(&mut b);
    assert!(r["response"]["Resumed"].is_object(), "{r}");
    assert_eq!(
        who(&mut b, 3)["response"]["Session"]["account"],
        json!(ACCOUNT)
    );

    // Fixation: a planted cookie is never adopted; the connection gets its own.
    let planted = format!("kefu_centre={}", "b".repeat(64));
    let (mut f, set, resuming) = centre_ws(&s, "", Some(&planted));
    assert!(!resuming);
    assert_ne!(cookie_pair(&set.expect("a new cookie")), planted);
    let r = call(&mut f, 1, json!("ListEntryCodes"));
    assert_eq!(r["error"]["code"], json!(ErrorCode::NOT_LOGGED_IN.0), "{r}");
    // A cookie of a session someone resumed is never re-bound to a later sign-in on
    // that connection: the victim's session is not reachable through it.
    let r = call(&mut b, 4, json!("Logout"));
    assert!(
        r["response"].is_string() || r["response"].is_object(),
        "{r}"
    );
    centre_sign_in(&mut b, other, 1001);
    drop(b);
    let (mut g, _, resuming) = centre_ws(&s, "", Some(&cookie_a));
    assert!(resuming);
    let r = resume_answer(&mut g);
    assert_eq!(
        r["error"]["code"],
        json!(ErrorCode::RESUME_REJECTED.0),
        "{r}"
    );
    let r = call(&mut g, 5, json!("ListEntryCodes"));
    assert_eq!(r["error"]["code"], json!(ErrorCode::NOT_LOGGED_IN.0), "{r}");
    drop(g);
    // And the refused cookie is forgotten: the next upgrade is given a new one.
    let (_, set, resuming) = centre_ws(&s, "", Some(&cookie_a));
    assert!(!resuming && set.is_some());

    // A cookie of another account acts as its own session only.
    let (mut o, set, _) = centre_ws(&s, "?fresh=1", None);
    let cookie_o = cookie_pair(&set.unwrap());
    centre_sign_in(&mut o, other, 1001);
    drop(o);
    let (mut o2, _, resuming) = centre_ws(&s, "", Some(&cookie_o));
    assert!(resuming);
    assert!(resume_answer(&mut o2)["response"]["Resumed"].is_object());
    assert_eq!(
        who(&mut o2, 6)["response"]["Session"]["account"],
        json!(other)
    );
    drop(o2);

    // Idle: a closed page's session waits the resume window on the daemon's clock,
    // then ends, and its cookie with it.
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let (mut e, set, _) = centre_ws(&s, "?fresh=1", None);
    let cookie_e = cookie_pair(&set.unwrap());
    centre_sign_in(&mut e, ACCOUNT, 1001);
    drop(e);
    // Past the window twice, each followed by a turn of the account's shard (a request
    // of the desktop session), so the window is over whenever the drop was seen.
    for _ in 0..2 {
        clock.advance(61_000);
        desk.request(&Request::WhoAmI).unwrap();
    }
    let (mut e2, _, resuming) = centre_ws(&s, "", Some(&cookie_e));
    assert!(resuming);
    let r = resume_answer(&mut e2);
    assert_eq!(
        r["error"]["code"],
        json!(ErrorCode::RESUME_REJECTED.0),
        "{r}"
    );
}
