//! Centre sessions on the server (issue 17, PROTOCOL.md 39.5), at the level a user meets
//! them: the centre's JSON WebSocket as its page uses it (with the gateway's cookie) and
//! the client library, against a real kefud on the test's clock (`AdminClockAdvance`
//! for the idle rule, a `ManualClock` where the daemon restarts).
//!
//! - A centre session with no request for 15 minutes is ended by the daemon: its next
//!   request is refused `CENTRE_SESSION_IDLE`, and so is the resume of its cookie; a
//!   request inside the 15 minutes renews it; the heartbeat does not.
//! - A used ticket stays used across a restart over the same data; the expired ones
//!   are dropped from the store.
//! - A password change ends that agent's centre sessions and their cookies.
//! - The CSAT settings page (S1) in Chromium, by keyboard, in English and Chinese; the
//!   page shows its sign-in with why when the daemon ended its idle session.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_wire::{AccountCentreModule, Client, ErrorCode, Request, Response};
use serde_json::json;
use std::net::SocketAddr;
use std::sync::Arc;
use support::centre_page::*;
use support::centre_ws::*;
use support::*;

const ACCOUNT: u64 = 817_301;
const MINUTE: i64 = 60_000;

/// A daemon with the web gateway on `clock`.
fn clocked_web_server(clock: &Arc<ManualClock>) -> TestServer {
    let dir = tempfile::tempdir().unwrap();
    start_clocked_in(dir, clock)
}

fn start_clocked_in(dir: tempfile::TempDir, clock: &Arc<ManualClock>) -> TestServer {
    let mut config = kefu_daemon::config::Config::for_tests(dir.path());
    config.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    let handle = kefu_daemon::server::start_with_clock(config, clock.clone()).unwrap();
    TestServer {
        handle: Some(handle),
        dir,
    }
}

/// Stops `s` and starts it again over the same data directory, on the same clock.
fn restart_clocked(s: TestServer, clock: &Arc<ManualClock>) -> TestServer {
    let TestServer { handle, dir } = s;
    if let Some(h) = handle {
        h.shutdown();
    }
    start_clocked_in(dir, clock)
}

fn test_clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(now() * 1000))
}

fn centre_login(c: &mut Client, request: &Request) -> Result<kefu_wire::SessionInfo, ErrorCode> {
    match c.request(request) {
        Ok(Response::LoggedIn(info)) => Ok(info),
        Ok(other) => panic!("{other:?}"),
        Err(e) => Err(e.code().expect("a refusal")),
    }
}

fn password_login(agent: u32, password: &str) -> Request {
    Request::CentreLogin {
        account: ACCOUNT,
        agent,
        password: password.into(),
        otp: None,
    }
}

fn ticket(a: &mut Client, module: AccountCentreModule) -> Vec<u8> {
    match a.request(&Request::AccountCentreTicket { module }).unwrap() {
        Response::Ticket { ticket, .. } => ticket,
        other => panic!("{other:?}"),
    }
}

/// Moves the daemon's clock with `AdminClockAdvance`.
fn advance(s: &TestServer, ms: i64) {
    let r = s
        .admin()
        .request(&Request::AdminClockAdvance { ms })
        .unwrap();
    assert!(matches!(r, Response::Clock { .. }), "{r:?}");
}

fn code(c: ErrorCode) -> serde_json::Value {
    json!(c.0)
}

#[test]
fn a_centre_session_idle_for_15_minutes_is_ended_by_the_daemon() {
    // The daemon's clock moved from outside, as an operator's test would.
    let s = TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.test.clock_control = true;
    });
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();

    // The page's session: 14:59 without a request is fine, and each request renews it.
    let (mut a, cookie_a) = signed_in_with_cookie(&s, ACCOUNT, 1001);
    advance(&s, 15 * MINUTE - 1_000);
    let r = call(&mut a, 3, json!("ListEntryCodes"));
    assert!(r["response"]["EntryCodes"].is_array(), "{r}");
    advance(&s, 15 * MINUTE - 1_000);
    let r = call(&mut a, 4, json!("WhoAmI"));
    assert!(r["response"]["Session"].is_object(), "{r}");
    // 15:01 later: the daemon ended it; the request is refused with its own code and
    // the connection is signed out.
    advance(&s, 15 * MINUTE + 1_000);
    let r = call(&mut a, 5, json!("ListEntryCodes"));
    assert_eq!(
        r["error"]["code"],
        code(ErrorCode::CENTRE_SESSION_IDLE),
        "{r}"
    );
    let r = call(&mut a, 6, json!("ListEntryCodes"));
    assert_eq!(r["error"]["code"], code(ErrorCode::NOT_LOGGED_IN), "{r}");
    drop(a);
    // Its cookie resumes nothing, and is forgotten.
    let (mut again, _, resuming) = centre_ws(&s, "", Some(&cookie_a));
    assert!(resuming);
    let r = resume_answer(&mut again);
    assert_eq!(r["error"]["code"], code(ErrorCode::RESUME_REJECTED), "{r}");
    drop(again);
    let (_, set, resuming) = centre_ws(&s, "", Some(&cookie_a));
    assert!(!resuming && set.is_some());

    // A page left open 15:01 (only the heartbeat in between: not a request): a second
    // tab's resume of its cookie is refused as idle, and the open page's next request too.
    let (mut b, cookie_b) = signed_in_with_cookie(&s, ACCOUNT, 1001);
    advance(&s, 10 * MINUTE);
    b.send(tungstenite::Message::Text(json!({"ping": 7}).to_string()))
        .unwrap();
    loop {
        let v = recv(&mut b);
        if v.get("pong").is_some() {
            break;
        }
    }
    advance(&s, 5 * MINUTE + 1_000);
    let (mut tab, set, resuming) = centre_ws(&s, "", Some(&cookie_b));
    assert!(resuming && set.is_none());
    let r = resume_answer(&mut tab);
    assert_eq!(
        r["error"]["code"],
        code(ErrorCode::CENTRE_SESSION_IDLE),
        "{r}"
    );
    let mut told = None;
    while let Some(v) = recv_or_closed(&mut b) {
        told = v.get("goaway").cloned().or(told);
    }
    let told = told.expect("the open page is told");
    assert_eq!(told["code"], code(ErrorCode::CENTRE_SESSION_IDLE), "{told}");
    drop(tab);
    let (_, set, resuming) = centre_ws(&s, "", Some(&cookie_b));
    assert!(
        !resuming && set.is_some(),
        "the refused cookie is forgotten"
    );

    // A reload inside the 15 minutes resumes, and renews the session.
    let (c, cookie_c) = signed_in_with_cookie(&s, ACCOUNT, 1001);
    drop(c);
    advance(&s, 30_000);
    let (mut c2, _, resuming) = centre_ws(&s, "", Some(&cookie_c));
    assert!(resuming);
    let r = resume_answer(&mut c2);
    assert!(r["response"]["Resumed"].is_object(), "{r}");
    advance(&s, 14 * MINUTE + 59_000);
    let r = call(&mut c2, 3, json!("WhoAmI"));
    assert!(r["response"]["Session"].is_object(), "{r}");

    // Over the client library: the same rule; the desktop session has no such limit.
    let mut lib = s.client();
    centre_login(&mut lib, &password_login(1001, PASSWORD)).unwrap();
    advance(&s, 15 * MINUTE);
    let e = lib.request(&Request::ListEntryCodes).unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::CENTRE_SESSION_IDLE));
    assert_eq!(
        lib.request(&Request::ListEntryCodes).unwrap_err().code(),
        Some(ErrorCode::NOT_LOGGED_IN)
    );
    // It signs in again on the same connection.
    centre_login(&mut lib, &password_login(1001, PASSWORD)).unwrap();
    assert!(matches!(
        lib.request(&Request::ListEntryCodes).unwrap(),
        Response::EntryCodes(_)
    ));
    assert!(desk.request(&Request::WhoAmI).is_ok(), "the desktop stays");
}

/// The used-ticket entries of `ACCOUNT` in the stopped daemon's store.
fn used_ticket_entries(dir: &std::path::Path) -> usize {
    use kefu_daemon::store::{keys, open_rocks, Cf, KvStore, RocksOptions};
    let store = open_rocks(&dir.join("db"), &RocksOptions::default()).unwrap();
    let mut prefix = ACCOUNT.to_be_bytes().to_vec();
    prefix.push(b'U');
    store
        .scan(Cf::TicketKeys, &prefix, &keys::AFTER_ALL_KEYS, 1_000)
        .unwrap()
        .into_iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .count()
}

#[test]
fn a_used_ticket_stays_used_across_a_restart() {
    let clock = test_clock();
    let s = clocked_web_server(&clock);
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let used = ticket(&mut desk, AccountCentreModule::ServiceConfig);
    let unused = ticket(&mut desk, AccountCentreModule::AccountInfo);
    let used = Request::CentreTicketLogin { ticket: used };
    let unused = Request::CentreTicketLogin { ticket: unused };
    centre_login(&mut s.client(), &used).unwrap();
    drop(desk);

    // Restarted over the same data within its 300 seconds: still used.
    clock.advance(60_000);
    let s = restart_clocked(s, &clock);
    assert_eq!(
        centre_login(&mut s.client(), &used),
        Err(ErrorCode::TICKET_USED)
    );
    // A ticket that never signed in still does, once.
    centre_login(&mut s.client(), &unused).unwrap();
    assert_eq!(
        centre_login(&mut s.client(), &unused),
        Err(ErrorCode::TICKET_USED)
    );

    // Once expired, the next ticket sign-in of the account drops them from the store.
    clock.advance(301_000);
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let fresh = Request::CentreTicketLogin {
        ticket: ticket(&mut desk, AccountCentreModule::ServiceConfig),
    };
    centre_login(&mut s.client(), &fresh).unwrap();
    assert_eq!(
        centre_login(&mut s.client(), &used),
        Err(ErrorCode::TICKET_EXPIRED)
    );
    drop(desk);
    let TestServer { handle, dir } = s;
    handle.unwrap().shutdown();
    assert_eq!(
        used_ticket_entries(dir.path()),
        1,
        "only the fresh one is kept"
    );
}

#[test]
fn a_password_change_ends_the_agents_centre_sessions() {
    let clock = test_clock();
    let s = clocked_web_server(&clock);
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();

    // 1001 in the centre twice (a page with its cookie, a client), 1002 once.
    let (mut page, cookie) = signed_in_with_cookie(&s, ACCOUNT, 1001);
    let mut lib = s.client();
    centre_login(&mut lib, &password_login(1001, PASSWORD)).unwrap();
    let (mut other, other_cookie) = signed_in_with_cookie(&s, ACCOUNT, 1002);

    // 1001 changes its own password from the desktop client.
    desk.request(&Request::ChangeOwnPassword {
        old_password: PASSWORD.into(),
        new_password: "a brand new one".into(),
    })
    .unwrap();
    // The page is told why and closed; the client's session is over.
    let mut told = None;
    while let Some(v) = recv_or_closed(&mut page) {
        told = v.get("goaway").cloned().or(told);
    }
    let told = told.expect("a goaway");
    assert_eq!(told["code"], code(ErrorCode::LOGGED_OUT), "{told}");
    assert!(lib.request(&Request::ListEntryCodes).is_err());
    // Its cookie resumes nothing.
    let (mut reload, _, resuming) = centre_ws(&s, "", Some(&cookie));
    assert!(resuming);
    let r = resume_answer(&mut reload);
    assert_eq!(r["error"]["code"], code(ErrorCode::RESUME_REJECTED), "{r}");
    // The old password no longer signs in to the centre; the new one does.
    assert_eq!(
        centre_login(&mut s.client(), &password_login(1001, PASSWORD)),
        Err(ErrorCode::WRONG_PASSWORD)
    );
    centre_login(&mut s.client(), &password_login(1001, "a brand new one")).unwrap();
    // Another agent's centre session stays.
    let r = call(&mut other, 3, json!("WhoAmI"));
    assert!(r["response"]["Session"].is_object(), "{r}");

    // An administrator's reset does the same to 1002's sessions.
    admin
        .request(&Request::AdminSetAgentPassword {
            account: ACCOUNT,
            agent: 1002,
            new_password: "reset by the admin".into(),
        })
        .unwrap();
    while recv_or_closed(&mut other).is_some() {}
    let (mut reload, _, resuming) = centre_ws(&s, "", Some(&other_cookie));
    assert!(resuming);
    let r = resume_answer(&mut reload);
    assert_eq!(r["error"]["code"], code(ErrorCode::RESUME_REJECTED), "{r}");
}

// --- The CSAT settings page (S1) in headless Chromium ---

/// Sends `keys` (WebDriver key codes allowed) to the element `css`, as a keyboard does.
fn keys(d: &support::webdriver::Driver, css: &str, keys: &str) {
    let id = d.find(css);
    d.call(
        "POST",
        &format!("/element/{id}/value"),
        json!({ "text": keys }),
    );
}

fn csat_settings(c: &mut Client) -> kefu_wire::csat::CsatSettings {
    match c.request(&Request::GetCsatSettings).unwrap() {
        Response::CsatSettings(s) => s,
        other => panic!("{other:?}"),
    }
}

/// The page's form as it shows it: enabled, style, reasons on, reasons, subscribers.
fn csat_form(d: &support::webdriver::Driver) -> serde_json::Value {
    d.script(
        "var q = function (c) { return document.querySelector(c); };
         var st = q('input[name=cs-style]:checked');
         return [q('.cs-enabled').checked, st ? st.value : null, q('.cs-reasons-enabled').checked,
                 q('.cs-reasons').value, q('.cs-subscribers').value,
                 Array.prototype.map.call(document.querySelectorAll('.cs-labels li'),
                   function (l) { return l.textContent; })];",
        json!([]),
    )
}

const ENTER: &str = "\u{E007}";
const ARROW_RIGHT: &str = "\u{E014}";
const XSS_REASON: &str = "<b class=\"xss\">too slow</b>";

#[test]
fn the_csat_settings_page_saves_and_shows_back_by_keyboard_in_both_languages() {
    use support::webdriver::Driver;
    let clock = test_clock();
    let s = clocked_web_server(&clock);
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut desk = s.client();
    desk.login(ACCOUNT, 1001, PASSWORD).unwrap();
    assert!(!csat_settings(&mut desk).enabled);

    let d = Driver::start();
    d.window(1280, 900);
    let web = s.handle().web_addr().unwrap();
    d.go(&format!("http://{web}/centre/?lang=en"));
    d.type_in("#si-user", &format!("1001@{ACCOUNT}"));
    d.type_in("#si-pass", PASSWORD);
    keys(&d, "#si-pass", ENTER);
    d.find("#logout:not([hidden])");
    d.click("#nav-csat");
    d.find(".cs-enabled");
    assert_eq!(
        csat_form(&d),
        json!([
            false,
            "Words",
            false,
            "",
            "",
            ["很满意", "满意", "一般", "不满意", "很不满意"]
        ])
    );

    // By keyboard only: space toggles the boxes, an arrow moves the style, Enter saves.
    keys(&d, ".cs-enabled", " ");
    keys(&d, "input[name=cs-style]:checked", ARROW_RIGHT);
    keys(&d, ".cs-reasons-enabled", " ");
    keys(
        &d,
        ".cs-reasons",
        &format!("Waited too long\n{XSS_REASON}\n"),
    );
    keys(&d, ".cs-subscribers", "boss@shop.example");
    keys(&d, ".cs-save", ENTER);
    await_text(&d, "#status", "Saved");
    let saved = csat_settings(&mut desk);
    assert!(saved.enabled && saved.reasons_enabled, "{saved:?}");
    assert_eq!(saved.style, kefu_wire::csat::CsatStyle::Stars);
    assert_eq!(saved.reasons, ["Waited too long", XSS_REASON]);
    assert_eq!(saved.subscribers, ["boss@shop.example"]);
    // Shown back as the daemon keeps it, markup as text.
    let shown = json!([
        true,
        "Stars",
        true,
        format!("Waited too long\n{XSS_REASON}"),
        "boss@shop.example",
        ["★★★★★", "★★★★", "★★★", "★★", "★"]
    ]);
    assert_eq!(csat_form(&d), shown);
    let injected = d.script(
        "return document.querySelectorAll('b.xss').length",
        json!([]),
    );
    assert_eq!(injected, json!(0));
    d.screenshot("centre-csat.png");

    // A reason over 50 characters is refused by the page; nothing changes.
    d.script(
        "document.getElementById('status').textContent = '';",
        json!([]),
    );
    keys(&d, ".cs-reasons", &"x".repeat(51));
    keys(&d, ".cs-save", ENTER);
    await_text(&d, "#view .err", "1 to 50");
    assert_eq!(csat_settings(&mut desk), saved);

    // The settings changed elsewhere (the desktop client) are what the page shows.
    let mut faces = saved.clone();
    faces.style = kefu_wire::csat::CsatStyle::Faces;
    faces.enabled = false;
    desk.request(&Request::SetCsatSettings(faces)).unwrap();

    // In Chinese, after a reload (the session resumed by the cookie).
    d.go(&format!("http://{web}/centre/?lang=zh"));
    d.find("#logout:not([hidden])");
    await_text(&d, "#nav-csat", "满意度调查设置");
    d.click("#nav-csat");
    d.find(".cs-enabled");
    let form = csat_form(&d);
    assert_eq!(form[0], json!(false));
    assert_eq!(form[1], json!("Faces"));
    await_text(&d, ".cs-style legend", "调查样式");
    d.screenshot("centre-csat-zh.png");

    // 15 minutes without a request on the daemon's clock: the page's next request is
    // refused as idle and the page shows its sign-in with why.
    clock.advance(15 * MINUTE + 1_000);
    d.click("#nav-codes");
    await_text(&d, "#si-err", "15 分钟无操作");
    d.find("#app[hidden]");

    // An agent without permission 16 has no such module, and the daemon refuses it.
    add_agent(&mut admin, ACCOUNT, 1002, Some(PASSWORD));
    let mut c = s.client();
    centre_login(&mut c, &password_login(1002, PASSWORD)).unwrap();
    assert_eq!(
        c.request(&Request::GetCsatSettings).unwrap_err().code(),
        Some(ErrorCode::PERMISSION_DENIED)
    );
}
