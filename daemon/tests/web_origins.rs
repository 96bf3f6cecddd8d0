//! Allowed origins per account (W2; PROTOCOL.md 38.4) through real sockets to a real
//! kefud: WebSocket visitors (`tungstenite`, with the `Origin` a browser would send)
//! of two accounts, each allowing its own site — one through an entry code's site URL,
//! the other through its explicit list set with `SetAllowedOrigins` — are refused
//! `ORIGIN_NOT_ALLOWED` from the other's site and let in from their own; an account
//! with neither leaves it to the gateway; the gateway's own page always works; bad
//! lists and agents without permission 16 are refused and change nothing; the list
//! survives a restart over the same data.

mod support;

use kefu_wire::chat::Entry;
use kefu_wire::web::{AllowedOrigins, CodeKind, EntryCodeDraft};
use kefu_wire::{Client, ErrorCode, Request, Response};
use serde_json::{json, Value};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::*;
use tungstenite::client::IntoClientRequest;
use tungstenite::{Message, WebSocket};

const A: u64 = 816_018;
const B: u64 = 816_019;
const C: u64 = 816_020;
const SITE_A: &str = "https://shop-a.example.com";
const SITE_B: &str = "https://shop-b.example.com";

/// The gateway lets every page through to the login; the accounts decide.
fn web_config(c: &mut kefu_daemon::config::Config) {
    c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
    c.web.allowed_origins = vec!["*".into()];
}

fn server() -> TestServer {
    TestServer::start_with(web_config)
}

fn web_addr(s: &TestServer) -> SocketAddr {
    s.handle().web_addr().expect("web listener")
}

type Ws = WebSocket<TcpStream>;

fn ws(s: &TestServer, origin: &str) -> Ws {
    let t = TcpStream::connect(web_addr(s)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("ws://{}/ws", web_addr(s))
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("Origin", origin.parse().expect("header value"));
    let (mut ws, resp) = tungstenite::client::client(req, t).unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    assert!(recv(&mut ws).get("welcome").is_some());
    ws
}

fn recv(ws: &mut Ws) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// A visitor of `account` logs in from a page of `origin`: `Ok` or the error code.
fn visitor_login(s: &TestServer, account: u64, origin: &str) -> Result<(), u64> {
    let mut ws = ws(s, origin);
    let login = json!({"id": 1, "request":
        {"VisitorLogin": {"account": account, "token": null, "channel": "Web"}}});
    ws.send(Message::Text(login.to_string())).unwrap();
    let v = recv(&mut ws);
    if v["response"]["CustomerLoggedIn"].is_object() {
        Ok(())
    } else {
        Err(v["error"]["code"].as_u64().unwrap_or_else(|| panic!("{v}")))
    }
}

fn boss(s: &TestServer, account: u64) -> Client {
    let mut a = s.client();
    a.login(account, 1001, PASSWORD).unwrap();
    a
}

fn allowed(c: &mut Client) -> AllowedOrigins {
    match c.request(&Request::GetAllowedOrigins).unwrap() {
        Response::AllowedOrigins(o) => o,
        other => panic!("{other:?}"),
    }
}

fn refused(c: &mut Client, r: &Request) -> Option<ErrorCode> {
    c.request(r).unwrap_err().code()
}

#[test]
fn w2_each_account_allows_its_own_sites_only() {
    let mut s = server();
    let mut admin = s.admin();
    for account in [A, B, C] {
        create_account(&mut admin, account);
    }
    add_agent(&mut admin, B, 1002, Some(PASSWORD));
    let mut a = boss(&s, A);
    a.request(&Request::CreateEntryCode {
        draft: EntryCodeDraft {
            description: String::new(),
            kind: CodeKind::Floating,
            routing: Entry::Auto,
            site_url: format!("{SITE_A}/products/index.html"),
            style: String::new(),
            anonymous: false,
        },
    })
    .unwrap();
    let mut b = boss(&s, B);
    let set = Request::SetAllowedOrigins {
        origins: vec![SITE_B.into(), "HTTPS://Shop-B.example.com:443/".into()],
    };
    assert_eq!(b.request(&set).unwrap(), Response::Ok);
    assert_eq!(
        allowed(&mut b),
        AllowedOrigins {
            explicit: vec![SITE_B.into()],
            from_codes: vec![],
        },
        "normalised, each once"
    );
    assert_eq!(
        allowed(&mut a),
        AllowedOrigins {
            explicit: vec![],
            from_codes: vec![SITE_A.into()],
        }
    );

    // Bad lists and agents without permission 16: refused, nothing changed.
    for bad in [
        vec![format!("{SITE_B}/path")],
        vec!["ftp://shop-b.example.com".into()],
        (0..51)
            .map(|i| format!("https://s{i}.example.com"))
            .collect(),
    ] {
        assert_eq!(
            refused(&mut b, &Request::SetAllowedOrigins { origins: bad }),
            Some(ErrorCode::INVALID_ARGUMENT)
        );
    }
    let mut wang = s.client();
    wang.login(B, 1002, PASSWORD).unwrap();
    assert_eq!(refused(&mut wang, &set), Some(ErrorCode::PERMISSION_DENIED));
    assert_eq!(allowed(&mut b).explicit, vec![SITE_B.to_string()]);

    let not_allowed = u64::from(ErrorCode::ORIGIN_NOT_ALLOWED.0);
    assert_eq!(visitor_login(&s, A, SITE_A), Ok(()), "the code's site");
    assert_eq!(visitor_login(&s, A, SITE_B), Err(not_allowed));
    assert_eq!(visitor_login(&s, B, SITE_B), Ok(()), "the explicit list");
    assert_eq!(visitor_login(&s, B, SITE_A), Err(not_allowed));
    assert_eq!(
        visitor_login(&s, C, SITE_A),
        Ok(()),
        "no list: the gateway's"
    );
    let own = format!("http://{}", web_addr(&s));
    assert_eq!(visitor_login(&s, A, &own), Ok(()), "the gateway's own page");

    // Kept over a restart; cleared, B's visitors come from anywhere the gateway allows.
    drop((a, b, wang, admin));
    s.restart_with(web_config);
    let mut b = boss(&s, B);
    assert_eq!(allowed(&mut b).explicit, vec![SITE_B.to_string()]);
    assert_eq!(visitor_login(&s, B, SITE_A), Err(not_allowed));
    b.request(&Request::SetAllowedOrigins { origins: vec![] })
        .unwrap();
    assert_eq!(visitor_login(&s, B, SITE_A), Ok(()));
}
