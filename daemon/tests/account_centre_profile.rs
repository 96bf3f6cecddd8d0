//! The enterprise profile (E1) and the chat window's style (E2) under review, in the
//! account centre and the visitors' window (PROTOCOL.md section 41), in headless
//! Chromium against a real kefud (`support/webdriver.rs`): agent 1001 edits the
//! profile in the page and sees it wait for review; the operator approves it (the admin
//! request; `kefuctl profile review` is tested as a process in `tools/tests/profile.rs`)
//! and the page shows it in force; a full-name change is refused (in the page and over
//! the protocol); a rejection's reason is shown. The style is edited with its live
//! preview following the fields, a `javascript:` link refused, approved, and a visitor's
//! chat window shows the title, colour, greeting and link. Markup (`<script>`,
//! `<img onerror>`) in the enterprise name, the greeting and the link text stays text in
//! the centre and in the window. Agents lacking permission 13 or 16 have no such
//! module and the daemon refuses their requests. Screenshots go to `$KEFU_SCREENSHOTS`.

mod support;

use kefu_wire::chat::Channel;
use kefu_wire::profile::{ChatWindowStyle, EnterpriseProfile, ReviewKind};
use kefu_wire::{Client, ErrorCode, Plan, Request, Response};
use serde_json::{json, Value};
use std::net::SocketAddr;
use support::centre_page::*;
use support::webdriver::Driver;
use support::*;

const ACCOUNT: u64 = 817_041;
/// The account's name, fixed at opening: markup that must stay text.
const NAME: &str =
    "示例 <script>window.pwned=1</script><img src=x onerror=\"window.pwned=1\"> 企业";
const SHORT: &str = "<img src=x onerror=pwned=1>短名";
const TITLE: &str = "示例商城客服";
const GREETING: &str = "<script>window.pwned=1</script>欢迎光临！";
const LINK_TEXT: &str = "<img src=x onerror=pwned=1>逛逛";
const LINK: &str = "https://shop.example.com/";

fn web_server() -> TestServer {
    TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    })
}

fn open_account(s: &TestServer) -> Client {
    let mut admin = s.admin();
    let r = admin
        .request(&Request::AdminCreateAccount {
            account: ACCOUNT,
            name: NAME.into(),
            plan: Plan::Gold,
            expires_at: now() + 365 * 86_400,
            password_1001: PASSWORD.into(),
            super_password: SUPER.into(),
        })
        .unwrap();
    assert!(matches!(r, Response::Account(_)), "{r:?}");
    admin
}

/// No element from the injected markup exists and its handlers never ran.
fn assert_no_injection(d: &Driver) {
    let v = d.script(
        "return [document.querySelectorAll('img[src=\"x\"]').length,
                 window.pwned === undefined];",
        json!([]),
    );
    assert_eq!(v, json!([0, true]), "markup from data became elements");
}

fn admin_review(admin: &mut Client, kind: ReviewKind, approve: bool, reason: &str) {
    let r = admin
        .request(&Request::AdminReviewProfile {
            account: ACCOUNT,
            kind,
            approve,
            reason: reason.into(),
        })
        .unwrap();
    assert_eq!(r, Response::Ok);
}

fn visitor_style(s: &TestServer) -> Option<ChatWindowStyle> {
    let mut v = s.client();
    v.request(&Request::VisitorLogin {
        account: ACCOUNT,
        token: None,
        channel: Channel::Web,
    })
    .unwrap();
    match v.request(&Request::GetWindowStyle).unwrap() {
        Response::WindowStyle(s) => s,
        other => panic!("{other:?}"),
    }
}

/// E1 in the page: submitted (pending), approved (current), the full name refused,
/// a rejection's reason shown.
fn profile(d: &Driver, admin: &mut Client, a: &mut Client) {
    d.click("#nav-profile");
    d.find(".p-form .f-short_name");
    await_text(d, ".rv-current .v-full_name", "企业");
    assert_eq!(text_of(d, ".rv-current .v-full_name"), json!(NAME));
    let fixed = d.script(
        "var f = document.querySelector('.f-full_name'); return [f.value, f.readOnly];",
        json!([]),
    );
    assert_eq!(fixed, json!([NAME, true]));
    d.type_in(".f-short_name", SHORT);
    d.type_in(".f-industry", "批发零售");
    d.type_in(".f-address", "上海市徐汇区虹梅路 1801 号");
    d.type_in(".f-phone", "021-54569595");
    d.type_in(".f-web_site", "https://shop.example.com");
    d.type_in(".f-description", "第一行\n第二行");
    click_centred(d, ".p-submit");
    await_text(d, ".rv-pending", "Waiting for review");
    assert_eq!(text_of(d, ".rv-pending .v-short_name"), json!(SHORT));
    assert_no_injection(d);
    d.screenshot("centre-profile-pending.png");

    admin_review(admin, ReviewKind::Profile, true, "");
    d.click("#nav-profile");
    await_text(d, ".rv-current .v-short_name", "短名");
    assert_eq!(text_of(d, ".rv-pending"), Value::Null);
    assert_eq!(text_of(d, ".rv-current .v-short_name"), json!(SHORT));
    assert_no_injection(d);
    d.screenshot("centre-profile-current.png");

    // The full name: read-only in the page; forced, the daemon refuses it.
    d.script(
        "var f = document.querySelector('.f-full_name'); f.readOnly = false; f.value = 'Other Ltd';",
        json!([]),
    );
    click_centred(d, ".p-submit");
    await_text(d, ".p-err", &format!("({})", ErrorCode::FULL_NAME_FIXED.0));
    let e = a
        .request(&Request::SubmitEnterpriseProfile {
            profile: EnterpriseProfile {
                full_name: "Other Ltd".into(),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::FULL_NAME_FIXED));

    // A rejected edit: the reason is shown, the approved profile stays in force.
    d.click("#nav-profile");
    retype(d, ".f-phone", "12345");
    click_centred(d, ".p-submit");
    await_text(d, ".rv-pending", "Waiting for review");
    admin_review(admin, ReviewKind::Profile, false, "电话号码有误");
    d.click("#nav-profile");
    await_text(d, ".rv-rejected .rv-reason", "电话号码有误");
    assert_eq!(text_of(d, ".rv-current .v-phone"), json!("021-54569595"));
    d.screenshot("centre-profile-rejected.png");
}

/// E2 in the page: the preview follows the fields, a `javascript:` link is refused,
/// the style waits, is approved, and a visitor's window shows it.
fn style(d: &Driver, s: &TestServer, admin: &mut Client, a: &mut Client) {
    d.click("#nav-style");
    d.find(".s-form .f-title");
    assert_eq!(text_of(d, ".pv-title"), json!("Customer service"));
    d.type_in(".f-title", TITLE);
    d.type_in(".f-greeting", GREETING);
    choose_in(d, ".f-theme", "purple");
    d.type_in(".f-link_text", LINK_TEXT);
    d.type_in(".f-link_url", "javascript:window.pwned=1");
    assert_eq!(text_of(d, ".pv-title"), json!(TITLE));
    assert_eq!(text_of(d, ".pv-greeting"), json!(GREETING));
    assert_eq!(text_of(d, ".pv-link"), json!(LINK_TEXT));
    let pv = d.script(
        "var w = document.querySelector('.pv-window');
         return [w.getAttribute('data-colour'),
                 getComputedStyle(document.querySelector('.pv-head')).backgroundColor,
                 document.querySelector('.pv-link').hasAttribute('href')];",
        json!([]),
    );
    assert_eq!(pv, json!(["#722ed1", "rgb(114, 46, 209)", false]));
    assert_no_injection(d);
    d.screenshot("centre-style-preview.png");
    // The page does not send a javascript: link; the daemon refuses one anyway.
    click_centred(d, ".s-submit");
    await_text(d, ".s-err", "http");
    let e = a
        .request(&Request::SubmitChatWindowStyle {
            style: ChatWindowStyle {
                link_text: "x".into(),
                link_url: "javascript:alert(1)".into(),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::UNSAFE_LINK));
    // A custom colour that is not one, refused by the daemon with its own code.
    let e = a
        .request(&Request::SubmitChatWindowStyle {
            style: ChatWindowStyle {
                theme: "red;background:url(x)".into(),
                ..Default::default()
            },
        })
        .unwrap_err();
    assert_eq!(e.code(), Some(ErrorCode::BAD_COLOUR));

    retype(d, ".f-link_url", LINK);
    let href = d.script(
        "return document.querySelector('.pv-link').getAttribute('href')",
        json!([]),
    );
    assert_eq!(href, json!(LINK));
    click_centred(d, ".s-submit");
    await_text(d, ".rv-pending", "Waiting for review");
    assert_no_injection(d);
    d.screenshot("centre-style-pending.png");
    assert_eq!(visitor_style(s), None, "not shown before it is approved");

    admin_review(admin, ReviewKind::Style, true, "");
    d.click("#nav-style");
    await_text(d, ".rv-current .v-title", TITLE);
    d.screenshot("centre-style-current.png");
    let shown = visitor_style(s).expect("the approved style");
    assert_eq!(shown.theme, "#722ed1");
    assert_eq!(shown.greeting, GREETING);
}

/// A visitor's chat window shows the approved style; markup stays text.
fn styled_window(d: &Driver, s: &TestServer) {
    let web = s.handle().web_addr().unwrap();
    d.go(&format!("http://{web}/?account={ACCOUNT}&lang=en"));
    d.click(".kefu-open");
    await_text(d, ".kefu-title", TITLE);
    await_text(d, ".kefu-greeting", "欢迎光临");
    let v = d.script(
        "var a = document.querySelector('.kefu-link');
         return [getComputedStyle(document.querySelector('.kefu-head')).backgroundColor,
                 document.querySelector('.kefu-greeting').textContent,
                 a.textContent, a.getAttribute('href'), a.rel];",
        json!([]),
    );
    assert_eq!(
        v,
        json!([
            "rgb(114, 46, 209)",
            GREETING,
            LINK_TEXT,
            LINK,
            "noopener noreferrer"
        ])
    );
    assert_no_injection(d);
    d.screenshot("window-styled.png");
}

#[test]
fn profile_and_style_are_edited_reviewed_and_shown_in_chromium() {
    let s = web_server();
    let mut admin = open_account(&s);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();

    let d = Driver::start();
    d.window(1280, 900);
    d.go(&centre_url(&s, "en"));
    sign_in(&d, ACCOUNT, 1001, PASSWORD);
    let shown = modules(&d);
    assert!(
        shown.contains(&"profile".to_string()) && shown.contains(&"style".to_string()),
        "{shown:?}"
    );
    profile(&d, &mut admin, &mut a);
    style(&d, &s, &mut admin, &mut a);

    // Keyboard: Enter on the module's button opens it.
    open_by_keyboard(&d, "profile");
    d.find("#view[data-module='profile'] .p-form");
    // 390 px: nothing wider than the viewport.
    d.window(390, 844);
    d.click("#nav-style");
    d.find(".pv-window");
    assert_fits_width(&d, "the style page");
    d.screenshot("centre-style-mobile.png");
    // Chinese.
    d.window(1280, 900);
    d.click("#lang");
    await_text(&d, "#nav-profile", "企业资料");
    d.click("#nav-profile");
    await_text(&d, ".rv-current h3", "当前生效");
    d.screenshot("centre-profile-zh.png");
    d.click("#nav-style");
    await_text(&d, ".s-side h3", "预览");
    d.screenshot("centre-style-zh.png");

    styled_window(&d, &s);
}

#[test]
fn agents_lacking_13_or_16_have_no_such_module_and_are_refused() {
    let s = web_server();
    let mut admin = open_account(&s);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let d = Driver::start();
    d.window(1280, 900);
    for (agent, lacking) in [(1002u32, 13u16), (1003, 16)] {
        add_agent(&mut admin, ACCOUNT, agent, Some(PASSWORD));
        let perms: Vec<u16> = (1..=16).filter(|p| *p != lacking).collect();
        give_role(&mut boss, agent, &perms);
        d.go(&centre_url(&s, "en"));
        sign_in(&d, ACCOUNT, agent, PASSWORD);
        let shown = modules(&d);
        let (absent, present) = if lacking == 13 {
            ("profile", "style")
        } else {
            ("style", "profile")
        };
        assert!(!shown.iter().any(|m| m == absent), "{lacking}: {shown:?}");
        assert!(shown.iter().any(|m| m == present), "{lacking}: {shown:?}");
        d.screenshot(&format!("centre-profile-without-{lacking}.png"));
        d.click("#logout");
        d.find("#signin:not([hidden])");

        let mut c = s.client();
        c.login(ACCOUNT, agent, PASSWORD).unwrap();
        let refused = if lacking == 13 {
            vec![
                Request::GetEnterpriseProfile,
                Request::SubmitEnterpriseProfile {
                    profile: EnterpriseProfile {
                        full_name: NAME.into(),
                        ..Default::default()
                    },
                },
            ]
        } else {
            vec![
                Request::GetChatWindowStyle,
                Request::SubmitChatWindowStyle {
                    style: ChatWindowStyle::default(),
                },
            ]
        };
        for r in refused {
            let e = c.request(&r).unwrap_err();
            assert_eq!(e.code(), Some(ErrorCode::PERMISSION_DENIED), "{r:?}");
        }
    }
    // Nothing was submitted by the refused requests.
    let page = admin
        .request(&Request::AdminProfileReviewQueue {
            after: None,
            limit: 20,
        })
        .unwrap();
    assert!(
        matches!(page, Response::ProfileReviews(ref p) if p.items.is_empty()),
        "{page:?}"
    );
}
