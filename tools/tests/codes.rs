//! `kefuctl code create|edit|list|delete` end to end (W1, manual §10.2, §10.7;
//! wire/PROTOCOL.md section 31): the real binary run as a process against a daemon
//! started in-process; a visitor opening a conversation through the code (client
//! library) is routed as the code says now, an edit by kefuctl included; refusals exit
//! 1 with the code's name; codes kept over a restart; `kefuctl code origins` (allowed
//! origins, PROTOCOL.md 38.4).

mod support;

use kefu_wire::chat::{Channel, ConversationState};
use kefu_wire::{Client, ClientOptions, Request, Response};
use support::{assert_contains, Daemon, PASSWORD};

const ACCOUNT: u64 = 800_001;

fn open_by_code(d: &Daemon, id: u32) -> ConversationState {
    let addr: std::net::SocketAddr = d.tcp_addr().parse().unwrap();
    let mut v = Client::connect(addr, ClientOptions::default()).unwrap();
    v.request(&Request::VisitorLogin {
        account: ACCOUNT,
        token: None,
        channel: Channel::Web,
    })
    .unwrap();
    match v.request(&Request::OpenConversationByCode { id }).unwrap() {
        Response::Conversation(info) => info.state,
        other => panic!("{other:?}"),
    }
}

#[test]
fn codes_through_kefuctl_route_visitors_and_survive_a_restart() {
    let mut d = Daemon::start();
    d.create_account(ACCOUNT, "Alpha Ltd");
    let addr: std::net::SocketAddr = d.tcp_addr().parse().unwrap();
    let mut boss = Client::connect(addr, ClientOptions::default()).unwrap();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    boss.request(&Request::SetAutoAccept { cap: 5 }).unwrap();

    let id = d
        .kefuctl(&[
            "code",
            "create",
            "--account",
            "800001",
            "--kind",
            "floating",
            "--routing",
            "agent:1001",
            "--site-url",
            "https://shop.example.com/",
            "--description",
            "首页右下角",
            "--style",
            "A-03",
        ])
        .ok();
    assert_eq!(id.trim(), "1");
    let table = d.kefuctl(&["code", "list", "--account", "800001"]).ok();
    assert_contains(&table, "floating");
    assert_contains(&table, "agent:1001");
    assert_contains(&table, "首页右下角");
    assert_eq!(
        open_by_code(&d, 1),
        ConversationState::Assigned { agent: 1001 }
    );

    // Edited to automatic routing and a link: the next visitor follows it.
    d.kefuctl(&[
        "code",
        "edit",
        "--account",
        "800001",
        "--id",
        "1",
        "--routing",
        "auto",
        "--kind",
        "link",
    ])
    .ok();
    let json = d
        .kefuctl(&["code", "list", "--account", "800001", "--json"])
        .ok();
    assert_contains(&json, "\"routing\":\"auto\"");
    assert_contains(&json, "\"kind\":\"link\"");
    assert_contains(&json, "\"site_url\":\"https://shop.example.com/\"");
    assert!(matches!(
        open_by_code(&d, 1),
        ConversationState::Assigned { agent: 1001 }
    ));

    // Refusals: exit status 1 and the code's name.
    let bad = d
        .kefuctl(&[
            "code",
            "create",
            "--account",
            "800001",
            "--kind",
            "fixed",
            "--routing",
            "auto",
            "--site-url",
            "ftp://x",
        ])
        .run()
        .expect_code(1);
    assert_contains(&bad.stderr, "BAD_SITE_URL");
    let missing = d
        .kefuctl(&["code", "delete", "--account", "800001", "--id", "7"])
        .run()
        .expect_code(1);
    assert_contains(&missing.stderr, "UNKNOWN_ENTRY_CODE");
    d.kefuctl(&["code", "create", "--account", "800001", "--kind", "fixed"])
        .run()
        .expect_code(1);

    drop(boss);
    d.restart();
    let json = d
        .kefuctl(&["code", "list", "--account", "800001", "--json"])
        .ok();
    assert_contains(&json, "\"id\":1");
    d.kefuctl(&["code", "delete", "--account", "800001", "--id", "1"])
        .ok();
    let json = d
        .kefuctl(&["code", "list", "--account", "800001", "--json"])
        .ok();
    assert_eq!(json.trim(), "[]");
}

/// PROTOCOL.md 38.4: `kefuctl code origins` sets, shows and clears the account's
/// explicit allowed origins beside its codes' sites; a bad origin exits 1.
#[test]
fn allowed_origins_through_kefuctl() {
    let d = Daemon::start();
    d.create_account(ACCOUNT, "Alpha Ltd");
    d.kefuctl(&[
        "code",
        "create",
        "--account",
        "800001",
        "--kind",
        "fixed",
        "--routing",
        "auto",
        "--site-url",
        "https://shop.example.com/index.html",
    ])
    .ok();
    let shown = d
        .kefuctl(&[
            "code",
            "origins",
            "--account",
            "800001",
            "--set",
            "https://m.example.com",
            "--set",
            "http://127.0.0.1:8080/",
        ])
        .ok();
    assert_contains(&shown, "https://m.example.com");
    assert_contains(&shown, "http://127.0.0.1:8080");
    assert_contains(&shown, "https://shop.example.com");
    let bad = d
        .kefuctl(&[
            "code",
            "origins",
            "--account",
            "800001",
            "--set",
            "https://m.example.com/path",
        ])
        .run()
        .expect_code(1);
    assert_contains(&bad.stderr, "INVALID_ARGUMENT");
    let cleared = d
        .kefuctl(&["code", "origins", "--account", "800001", "--clear"])
        .ok();
    assert!(!cleared.contains("m.example.com"), "{cleared}");
    assert_contains(&cleared, "https://shop.example.com");
}
