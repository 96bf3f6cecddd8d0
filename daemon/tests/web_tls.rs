//! The web listener over TLS (`[web] tls = true`, PROTOCOL.md 38.1 "TLS") through real
//! sockets to a real kefud, with a test certificate made by `rcgen` as the client
//! port's TLS test does: a WebSocket client over rustls does a JSON round trip (a
//! visitor logs in and chats with an agent on the binary port); plain HTTP to the TLS
//! port is refused without an HTTP answer and the daemon serves on; headless Chromium
//! loads the page over `https://` (`--ignore-certificate-errors`) and the window talks
//! over `wss://`.

mod support;

use kefu_wire::chat::{MessageBody, Party};
use kefu_wire::{Client, Event, Request};
use rustls::pki_types::ServerName;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;
use support::webdriver::Driver;
use support::*;
use tungstenite::{Message, WebSocket};

const ACCOUNT: u64 = 816_017;

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// A daemon whose web listener speaks TLS with a fresh self-signed certificate for
/// `localhost`; the client configuration trusting it.
fn tls_server() -> (TestServer, Arc<rustls::ClientConfig>) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), cert.cert.pem()).unwrap();
    std::fs::write(dir.path().join("key.pem"), cert.key_pair.serialize_pem()).unwrap();
    let s = TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        c.web.tls = true;
        c.tls_cert = Some(dir.path().join("cert.pem"));
        c.tls_key = Some(dir.path().join("key.pem"));
    });
    let tls = kefu_wire::tls_config_with_ca_pem(cert.cert.pem().as_bytes()).unwrap();
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    (s, tls)
}

fn web_addr(s: &TestServer) -> SocketAddr {
    s.handle().web_addr().expect("web listener")
}

fn tcp(s: &TestServer) -> TcpStream {
    let t = TcpStream::connect(web_addr(s)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    t
}

fn wss(s: &TestServer, tls: &Arc<rustls::ClientConfig>) -> WebSocket<Tls> {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls.clone(), name).unwrap();
    let stream = rustls::StreamOwned::new(conn, tcp(s));
    let url = format!("wss://localhost:{}/ws", web_addr(s).port());
    let (mut ws, resp) = tungstenite::client::client(url, stream).unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    let welcome = recv(&mut ws);
    assert!(welcome.get("welcome").is_some(), "{welcome}");
    ws
}

fn recv(ws: &mut WebSocket<Tls>) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Sends request `id` and returns its answer (acking pushes that come first).
fn call(ws: &mut WebSocket<Tls>, id: u32, request: Value) -> Value {
    let text = json!({"id": id, "request": request}).to_string();
    ws.send(Message::Text(text)).unwrap();
    loop {
        let v = recv(ws);
        if let Some(seq) = v.get("seq") {
            let ack = json!({ "ack": seq }).to_string();
            ws.send(Message::Text(ack)).unwrap();
            continue;
        }
        assert_eq!(v["id"], json!(id), "{v}");
        return v;
    }
}

fn agent(s: &TestServer) -> Client {
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 5 }).unwrap();
    a
}

fn customer_says(a: &mut Client) -> String {
    loop {
        let push = a.next_push(Duration::from_secs(30)).unwrap().expect("push");
        if let Event::Message(m) = push.event {
            if let (Party::Customer, MessageBody::Text(t)) = (m.from, m.body) {
                return t;
            }
        }
    }
}

/// A JSON round trip over `wss://`: login, a conversation, a message the agent reads.
fn visitor_chats(s: &TestServer, tls: &Arc<rustls::ClientConfig>, agent: &mut Client, text: &str) {
    let mut ws = wss(s, tls);
    let r = call(
        &mut ws,
        1,
        json!({"VisitorLogin": {"account": ACCOUNT, "token": null, "channel": "Web"}}),
    );
    assert!(r["response"]["CustomerLoggedIn"].is_object(), "{r}");
    let r = call(&mut ws, 2, json!({"OpenConversation": {"entry": "Auto"}}));
    let conversation = r["response"]["Conversation"]["conversation"].clone();
    assert!(conversation.is_u64(), "{r}");
    let r = call(
        &mut ws,
        3,
        json!({"SendMessage": {"conversation": conversation, "client_msg_id": 1,
            "body": {"Text": text}}}),
    );
    assert!(r["response"]["Sent"].is_object(), "{r}");
    assert_eq!(customer_says(agent), text);
}

#[test]
fn web_listener_over_tls_round_trip_and_plain_http_refused() {
    let (s, tls) = tls_server();
    let mut a = agent(&s);
    visitor_chats(&s, &tls, &mut a, "over wss");

    // The files over https too.
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(tls.clone(), name).unwrap();
    let mut https = rustls::StreamOwned::new(conn, tcp(&s));
    https
        .write_all(b"GET /chat.js HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = https.read_to_end(&mut out);
    let out = String::from_utf8_lossy(&out);
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");

    // Plain HTTP to the TLS port: no HTTP answer, the connection closed.
    let mut plain = tcp(&s);
    plain
        .write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = plain.read_to_end(&mut out);
    assert!(
        !String::from_utf8_lossy(&out).contains("HTTP/1."),
        "plain HTTP got an HTTP answer: {out:?}"
    );
    // A client without the test CA is refused at the handshake.
    let untrusted = kefu_wire::tls_config_with_ca_pem(
        rcgen::generate_simple_self_signed(vec!["localhost".into()])
            .unwrap()
            .cert
            .pem()
            .as_bytes(),
    )
    .unwrap();
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(untrusted, name).unwrap();
    let mut bad = rustls::StreamOwned::new(conn, tcp(&s));
    assert!(
        bad.write_all(b"GET / HTTP/1.1\r\n\r\n").is_err() || {
            let mut b = Vec::new();
            bad.read_to_end(&mut b).is_err()
        }
    );

    // The daemon serves on.
    visitor_chats(&s, &tls, &mut a, "still served");
}

#[test]
fn chromium_loads_the_window_over_https_and_chats_over_wss() {
    let (s, _) = tls_server();
    let mut a = agent(&s);
    let d = Driver::start_with_args(&["--ignore-certificate-errors"]);
    d.window(1280, 800);
    let port = web_addr(&s).port();
    d.go(&format!(
        "https://localhost:{port}/?account={ACCOUNT}&lang=en"
    ));
    d.click(".kefu-open");
    d.type_in(".kefu-input", "Hello over https");
    d.click(".kefu-send");
    assert_eq!(customer_says(&mut a), "Hello over https");
    let shown = d.await_messages(1);
    assert_eq!(shown.last().map(String::as_str), Some("Hello over https"));
    d.screenshot("https.png");
}
