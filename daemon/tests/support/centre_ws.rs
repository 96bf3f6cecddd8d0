//! The account centre's WebSocket as its page uses it (`/centre/ws`, PROTOCOL.md 39.2),
//! over tungstenite: open it with or without the centre's cookie, sign in with
//! `CentreLogin` + `EnableResume`, call requests in JSON, read the gateway's resume.

use super::{TestServer, PASSWORD};
use serde_json::{json, Value};
use std::time::Duration;

/// The centre's WebSocket.
pub type Ws = tungstenite::WebSocket<std::net::TcpStream>;

/// A plain TCP connection to the gateway (30 s read timeout).
pub fn web_stream(s: &TestServer) -> std::net::TcpStream {
    let t = std::net::TcpStream::connect(s.handle().web_addr().unwrap()).unwrap();
    t.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    t
}

/// The next JSON message (WebSocket pings skipped); `None` once the gateway closed.
pub fn recv_or_closed(ws: &mut Ws) -> Option<Value> {
    loop {
        match ws.read() {
            Ok(tungstenite::Message::Text(t)) => return Some(serde_json::from_str(&t).unwrap()),
            Ok(tungstenite::Message::Ping(_) | tungstenite::Message::Pong(_)) => {}
            Ok(tungstenite::Message::Close(_)) | Err(_) => return None,
            Ok(other) => panic!("unexpected {other:?}"),
        }
    }
}

/// The next JSON message.
pub fn recv(ws: &mut Ws) -> Value {
    recv_or_closed(ws).expect("a message")
}

/// Request `id` and its answer (pushes acked and skipped).
pub fn call(ws: &mut Ws, id: u64, request: Value) -> Value {
    let text = json!({"id": id, "request": request}).to_string();
    ws.send(tungstenite::Message::Text(text)).unwrap();
    loop {
        let v = recv(ws);
        if let Some(seq) = v.get("seq") {
            let ack = json!({ "ack": seq }).to_string();
            ws.send(tungstenite::Message::Text(ack)).unwrap();
            continue;
        }
        if v["id"] == json!(id) {
            return v;
        }
    }
}

/// The error code of an answer, if it is an error.
pub fn error_code(answer: &Value) -> Option<u64> {
    answer["error"]["code"].as_u64()
}

/// The centre's WebSocket with `cookie` (a whole `Cookie` header value): the socket,
/// the cookie it set (if any) and whether the gateway is resuming.
pub fn centre_ws(s: &TestServer, query: &str, cookie: Option<&str>) -> (Ws, Option<String>, bool) {
    use tungstenite::client::IntoClientRequest;
    let url = format!("ws://{}/centre/ws{query}", s.handle().web_addr().unwrap());
    let mut req = url.into_client_request().unwrap();
    if let Some(c) = cookie {
        req.headers_mut().insert("Cookie", c.parse().unwrap());
    }
    let (mut ws, resp) = tungstenite::client::client(req, web_stream(s)).unwrap();
    let set = resp
        .headers()
        .get("Set-Cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    let first = recv(&mut ws);
    let resuming = first["centre"]["resuming"]
        .as_bool()
        .expect("the centre's hello");
    let welcome = recv(&mut ws);
    assert!(welcome.get("welcome").is_some(), "{welcome}");
    (ws, set, resuming)
}

/// The `name=value` part of a `Set-Cookie`.
pub fn cookie_pair(set: &str) -> String {
    set.split(';').next().unwrap().to_owned()
}

/// Signs in with `password` and makes the session resumable (the page's steps).
pub fn centre_sign_in_with(ws: &mut Ws, account: u64, agent: u32, password: &str) {
    let r = call(
        ws,
        1,
        json!({"CentreLogin": {"account": account, "agent": agent, "password": password, "otp": null}}),
    );
    assert!(r["response"]["LoggedIn"].is_object(), "{r}");
    let r = call(ws, 2, json!("EnableResume"));
    assert!(r["response"]["ResumeEnabled"].is_object(), "{r}");
    let secret = &r["response"]["ResumeEnabled"]["token"]["secret"];
    assert_eq!(
        *secret,
        json!(vec![0; 32]),
        "the page never sees the resume secret"
    );
}

/// Signs in with the tests' password.
pub fn centre_sign_in(ws: &mut Ws, account: u64, agent: u32) {
    centre_sign_in_with(ws, account, agent, PASSWORD);
}

/// The correlation of the gateway's own `ResumeSession`.
pub fn centre_resume_id() -> u64 {
    u64::from(u32::MAX)
}

/// The answer to the gateway's own `ResumeSession` for a cookie.
pub fn resume_answer(ws: &mut Ws) -> Value {
    loop {
        let v = recv(ws);
        if v["id"] == json!(centre_resume_id()) {
            return v;
        }
    }
}

/// A signed-in centre connection of `agent@account` and its bound cookie.
pub fn signed_in_with_cookie(s: &TestServer, account: u64, agent: u32) -> (Ws, String) {
    let (mut ws, set, resuming) = centre_ws(s, "?fresh=1", None);
    assert!(!resuming);
    let cookie = cookie_pair(&set.expect("a cookie"));
    centre_sign_in(&mut ws, account, agent);
    (ws, cookie)
}
