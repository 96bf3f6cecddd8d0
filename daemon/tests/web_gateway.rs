//! The web gateway (PROTOCOL.md, "The web gateway and the JSON encoding") through
//! real sockets to a real kefud: raw TCP for what a broken or hostile peer sends
//! (malformed HTTP 400, an oversized head 431, a bad origin 403, too many connections
//! from one address 429, a WebSocket message over the limit closed 1009, a thousand
//! stalled heads closed by the handshake deadline while a visitor chats on), the
//! assets with their validators, and the JSON encoding end to end with `tungstenite`'s
//! blocking client: a visitor logs in, opens a conversation an agent on the binary
//! port serves, sends, gets an error response and the agent's message as a push.

mod support;

use kefu_wire::chat::MessageBody;
use kefu_wire::{Event, Request};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use support::*;
use tungstenite::{Message, WebSocket};

const ACCOUNT: u64 = 816_001;

fn web_server(adjust: impl FnOnce(&mut kefu_daemon::config::Config)) -> TestServer {
    TestServer::start_with(|c| {
        c.web_listen = Some(SocketAddr::from(([127, 0, 0, 1], 0)));
        adjust(c);
    })
}

fn web_addr(s: &TestServer) -> SocketAddr {
    s.handle().web_addr().expect("web listener")
}

fn raw(s: &TestServer) -> TcpStream {
    let t = TcpStream::connect(web_addr(s)).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    t
}

/// Sends `bytes` and reads until the gateway closes.
fn exchange(s: &TestServer, bytes: &[u8]) -> String {
    let mut t = raw(s);
    t.write_all(bytes).unwrap();
    let mut out = Vec::new();
    let _ = t.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

type Ws = WebSocket<TcpStream>;

fn ws_connect(s: &TestServer) -> Ws {
    let url = format!("ws://{}/ws", web_addr(s));
    let (mut ws, resp) = tungstenite::client::client(url, raw(s)).unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    let welcome = recv(&mut ws);
    assert!(welcome.get("welcome").is_some(), "{welcome}");
    ws
}

fn recv(ws: &mut WebSocket<impl Read + Write>) -> Value {
    loop {
        match ws.read().unwrap() {
            Message::Text(t) => return serde_json::from_str(&t).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

fn send(ws: &mut Ws, v: Value) {
    ws.send(Message::Text(v.to_string())).unwrap();
}

/// Sends request `id` and returns its answer (acking pushes that come first).
fn call(ws: &mut Ws, id: u32, request: Value) -> Value {
    send(ws, json!({"id": id, "request": request}));
    loop {
        let v = recv(ws);
        if let Some(seq) = v.get("seq") {
            send(ws, json!({"ack": seq}));
            continue;
        }
        assert_eq!(v["id"], json!(id), "{v}");
        return v;
    }
}

/// An account with agent 1001 online on the binary port, auto-accepting.
fn agent(s: &TestServer) -> kefu_wire::Client {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut a = s.client();
    a.login(ACCOUNT, 1001, PASSWORD).unwrap();
    a.request(&Request::SetAutoAccept { cap: 50 }).unwrap();
    a
}

/// A visitor through the gateway with its conversation open; returns its id.
fn visitor(ws: &mut Ws) -> u64 {
    let r = call(
        ws,
        1,
        json!({"VisitorLogin": {"account": ACCOUNT, "token": null, "channel": "Web"}}),
    );
    let session = &r["response"]["CustomerLoggedIn"];
    assert!(session["visitor_token"].is_array(), "{r}");
    let r = call(ws, 2, json!({"OpenConversation": {"entry": "Auto"}}));
    r["response"]["Conversation"]["conversation"]
        .as_u64()
        .unwrap_or_else(|| panic!("{r}"))
}

#[test]
fn a_visitor_chats_in_json_errors_and_pushes_included() {
    let s = web_server(|_| {});
    let mut a = agent(&s);
    let mut ws = ws_connect(&s);
    let conversation = visitor(&mut ws);
    let r = call(
        &mut ws,
        3,
        json!({"SendMessage": {"conversation": conversation, "client_msg_id": 1, "body": {"Text": "你好"}}}),
    );
    assert_eq!(r["response"]["Sent"]["duplicate"], json!(false), "{r}");
    // The same client id again is stored once.
    let r = call(
        &mut ws,
        4,
        json!({"SendMessage": {"conversation": conversation, "client_msg_id": 1, "body": {"Text": "你好"}}}),
    );
    assert_eq!(r["response"]["Sent"]["duplicate"], json!(true), "{r}");
    // A request the centre refuses comes back as an error with its code.
    let r = call(
        &mut ws,
        5,
        json!({"SendMessage": {"conversation": 999_999, "client_msg_id": 2, "body": {"Text": "x"}}}),
    );
    assert!(r["error"]["code"].as_u64().is_some_and(|c| c > 0), "{r}");
    // The agent sees the message and answers; the answer is pushed to the visitor.
    let mut seen = false;
    while !seen {
        let push = a.next_push(Duration::from_secs(20)).unwrap().expect("push");
        seen =
            matches!(push.event, Event::Message(m) if m.body == MessageBody::Text("你好".into()));
    }
    a.request(&Request::SendMessage {
        conversation,
        client_msg_id: 1,
        body: MessageBody::Text("welcome".into()),
    })
    .unwrap();
    loop {
        let v = recv(&mut ws);
        let Some(seq) = v.get("seq") else { continue };
        send(&mut ws, json!({"ack": seq}));
        if v["event"]["Message"]["body"]["Text"] == json!("welcome") {
            assert!(v["event"]["Message"]["from"]["Agent"].is_u64(), "{v}");
            break;
        }
    }
    // A ping is answered with its nonce.
    send(&mut ws, json!({"ping": 42}));
    loop {
        let v = recv(&mut ws);
        if v.get("pong").is_some() {
            assert_eq!(v["pong"], json!(42));
            break;
        }
    }
}

#[test]
fn malformed_http_is_refused_400() {
    let s = web_server(|_| {});
    let answer = exchange(&s, b"\x01\x02 what\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    let answer = exchange(&s, b"POST / HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    assert!(answer.starts_with("HTTP/1.1 405 "), "{answer}");
    // The daemon goes on serving.
    let answer = exchange(&s, b"GET /nothing HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 404 "), "{answer}");
}

#[test]
fn an_oversized_head_is_refused_431_and_a_long_line_414() {
    let s = web_server(|_| {});
    let mut req = b"GET / HTTP/1.1\r\nX-Filler: ".to_vec();
    req.extend(std::iter::repeat_n(b'a', 9000));
    let answer = exchange(&s, &req);
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 3000));
    let answer = exchange(&s, &req);
    assert!(answer.starts_with("HTTP/1.1 414 "), "{answer}");
}

#[test]
fn assets_carry_type_cache_and_etag() {
    let s = web_server(|_| {});
    let answer = exchange(&s, b"GET /chat.js HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert!(answer.contains("Content-Type: text/javascript; charset=utf-8\r\n"));
    assert!(answer.contains("Cache-Control: public, max-age=300\r\n"));
    let etag = answer
        .lines()
        .find_map(|l| l.strip_prefix("ETag: "))
        .unwrap();
    let again = exchange(
        &s,
        format!("GET /chat.js HTTP/1.1\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n")
            .as_bytes(),
    );
    assert!(again.starts_with("HTTP/1.1 304 "), "{again}");
    let page = exchange(
        &s,
        b"GET /?account=816001 HTTP/1.1\r\nConnection: close\r\n\r\n",
    );
    assert!(page.contains("<script src=\"/chat.js\" data-account=\"816001\" async>"));
    let css = exchange(&s, b"GET /kefu.css HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(css.contains("Content-Type: text/css"), "{css}");
}

fn upgrade_from(origin: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
         Origin: {origin}\r\n\r\n"
    )
}

#[test]
fn a_bad_origin_is_refused_403_and_an_allowed_one_upgrades() {
    let s = web_server(|c| c.web.allowed_origins = vec!["https://shop.example".into()]);
    let answer = exchange(&s, upgrade_from("https://evil.example").as_bytes());
    assert!(answer.starts_with("HTTP/1.1 403 "), "{answer}");
    let mut t = raw(&s);
    t.write_all(upgrade_from("https://shop.example").as_bytes())
        .unwrap();
    let mut buf = [0u8; 512];
    let n = t.read(&mut buf).unwrap();
    let head = String::from_utf8_lossy(&buf[..n]);
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
}

#[test]
fn a_message_over_the_limit_is_closed_1009() {
    let s = web_server(|c| c.web.max_message_bytes = 4096);
    let mut ws = ws_connect(&s);
    ws.send(Message::Text("x".repeat(5000))).unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1009);
                break;
            }
            Ok(Message::Close(None)) => panic!("close without a code"),
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
    // Not JSON of the protocol: closed 1007.
    let mut ws = ws_connect(&s);
    ws.send(Message::Text("{\"nonsense\":1}".into())).unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(Some(frame))) => {
                assert_eq!(u16::from(frame.code), 1007);
                break;
            }
            Ok(_) => {}
            Err(e) => panic!("no close frame: {e}"),
        }
    }
}

#[test]
fn connections_per_address_are_bounded_429() {
    let s = web_server(|c| c.web.max_connections_per_address = 3);
    let held: Vec<TcpStream> = (0..3).map(|_| raw(&s)).collect();
    // The held ones are accepted before the next: each answers an asset request.
    for mut t in held.iter() {
        t.write_all(b"GET /kefu.css HTTP/1.1\r\n\r\n").unwrap();
        let mut buf = [0u8; 64];
        let n = t.read(&mut buf).unwrap();
        assert!(buf[..n].starts_with(b"HTTP/1.1 200 "));
    }
    let answer = exchange(&s, b"GET / HTTP/1.1\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 429 "), "{answer}");
    drop(held);
}

#[test]
fn a_thousand_stalled_heads_are_closed_while_a_visitor_chats() {
    let s = web_server(|c| {
        c.timeouts.handshake_timeout_secs = 2;
        c.web.max_connections_per_address = 2000;
    });
    let _agent = agent(&s);
    let mut stalled: Vec<TcpStream> = (0..1000)
        .map(|_| {
            let mut t = raw(&s);
            t.write_all(b"GET /chat.js HT").unwrap();
            t
        })
        .collect();
    // Meanwhile a visitor chats.
    let mut ws = ws_connect(&s);
    let conversation = visitor(&mut ws);
    let r = call(
        &mut ws,
        3,
        json!({"SendMessage": {"conversation": conversation, "client_msg_id": 1, "body": {"Text": "hi"}}}),
    );
    assert!(r["response"]["Sent"].is_object(), "{r}");
    // Every stalled one is closed by the handshake deadline, with nothing served.
    for t in stalled.iter_mut() {
        let mut out = Vec::new();
        match t.read_to_end(&mut out) {
            Ok(_) => assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out)),
            Err(e) => assert_ne!(e.kind(), std::io::ErrorKind::WouldBlock, "not closed"),
        }
    }
    // The daemon is unaffected.
    let answer = exchange(&s, b"GET /kefu.css HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
}
