//! The web gateway (PROTOCOL.md, "The web gateway and the JSON encoding"): HTTP/1.1
//! for the chat window's assets and a WebSocket carrying the protocol in JSON.
//!
//! [`WebState`] is sans-IO, like the protocol's `ServerConnection` it sits under:
//! the loop hands it the bytes a web connection's socket gave (`input`), takes the
//! binary protocol frames they stand for (`take_up`) and feeds them to the
//! connection's `ServerConnection` as if a binary client had sent them; the frames
//! the protocol writes come back through `from_protocol` as JSON text frames, and
//! the socket gets `down`. So a web connection is an ordinary connection of its
//! shard (same handshake, correlation rules, timeouts, dispatch, authority, pushes),
//! and only its transport differs (`conn.rs`, `Transport::Web`).
//!
//! Bounds: a request head at most `max_head_bytes` (431) with a request line of at
//! most [`http::MAX_REQUEST_LINE`] (414); no bodies; a WebSocket message at most
//! `max_message_bytes` (close 1009), measured on each frame's header before it is
//! buffered; connections per source address ([`WebShared::admit`], 429); the
//! handshake deadline of the protocol (`timeouts.handshake_timeout_secs`) runs from
//! the TCP accept until the upgrade, so a stalled head costs at most that long; after
//! it the protocol's login and idle deadlines apply (the window pings).

pub mod assets;
pub mod centre;
pub mod http;
pub mod json;
pub mod ws;

use bytes::BytesMut;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Output waiting for the socket past which no more is taken from the protocol
/// (the protocol's own output bound then applies, as for a slow binary client).
pub const MAX_DOWN_BYTES: usize = 256 * 1024;

/// The gateway's settings (config `[web]`).
#[derive(Debug, Clone)]
pub struct WebSettings {
    /// The listener speaks TLS (the client port's certificate).
    pub tls: bool,
    /// Origins allowed to open the WebSocket (`"*"`: any); empty: the gateway's own.
    pub allowed_origins: Vec<String>,
    /// Open web connections per source address.
    pub max_connections_per_address: u32,
    /// The longest request head.
    pub max_head_bytes: usize,
    /// The longest WebSocket message (and frame).
    pub max_message_bytes: usize,
}

/// What every shard's web connections share: the settings and the count of open
/// connections per source address.
#[derive(Debug)]
pub struct WebShared {
    /// The settings.
    pub settings: WebSettings,
    counts: Mutex<HashMap<IpAddr, u32>>,
    /// The account centre's cookies and the sessions they resume (`centre.rs`).
    pub centre: centre::Bindings,
}

/// One open web connection counted against its address; dropping it uncounts it.
#[derive(Debug)]
pub struct AddrSlot {
    shared: Arc<WebShared>,
    ip: IpAddr,
}

impl WebShared {
    /// The shared state for `settings`.
    pub fn new(settings: WebSettings) -> Arc<WebShared> {
        Arc::new(WebShared {
            settings,
            counts: Mutex::new(HashMap::new()),
            centre: centre::Bindings::default(),
        })
    }

    /// Counts a new connection from `ip`, or `None` when the address has its limit.
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<AddrSlot> {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let n = counts.entry(ip).or_insert(0);
        if *n >= self.settings.max_connections_per_address {
            return None;
        }
        *n += 1;
        Some(AddrSlot {
            shared: Arc::clone(self),
            ip,
        })
    }
}

impl Drop for AddrSlot {
    fn drop(&mut self) {
        let mut counts = self.shared.counts.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = counts.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                counts.remove(&self.ip);
            }
        }
    }
}

/// Where a web connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Reading request heads.
    Http,
    /// Upgraded: WebSocket frames carrying JSON.
    Ws,
    /// Finished: input is dropped; the connection closes once `down` is out.
    Done,
}

/// One web connection's gateway state (module docs). Idle, it holds no buffer.
#[derive(Debug)]
pub struct WebState {
    shared: Arc<WebShared>,
    _slot: Option<AddrSlot>,
    mode: Mode,
    /// Input not parsed yet (a partial head or frame).
    inbuf: Vec<u8>,
    /// Binary frames for the protocol.
    up: BytesMut,
    /// Bytes for the socket.
    down: Vec<u8>,
    /// The text message being assembled from fragments.
    message: Option<Vec<u8>>,
    /// The handshake's `Origin` when it is not the gateway's own (the account's list
    /// decides at the login: PROTOCOL.md 38.4).
    origin: Option<Arc<str>>,
    /// An account centre's connection: its cookie (`centre.rs`).
    centre: Option<centre::Conn>,
}

impl WebState {
    /// A fresh connection, counted by `slot`.
    pub fn new(shared: Arc<WebShared>, slot: Option<AddrSlot>) -> WebState {
        WebState {
            shared,
            _slot: slot,
            mode: Mode::Http,
            inbuf: Vec::new(),
            up: BytesMut::new(),
            down: Vec::new(),
            message: None,
            origin: None,
            centre: None,
        }
    }

    /// Takes bytes the socket gave.
    pub fn input(&mut self, bytes: &[u8]) {
        if self.mode == Mode::Done {
            return;
        }
        let mut inbuf = std::mem::take(&mut self.inbuf);
        inbuf.extend_from_slice(bytes);
        let mut used = 0;
        while self.mode != Mode::Done {
            let rest = inbuf.get(used..).unwrap_or_default();
            let step = match self.mode {
                Mode::Http => self.http_step(rest),
                _ => self.ws_step(rest),
            };
            match step {
                Some(n) => used += n,
                None => break,
            }
        }
        if self.mode != Mode::Done && used < inbuf.len() {
            inbuf.drain(..used);
            self.inbuf = inbuf;
        }
    }

    /// One request head from the front of `rest`: the bytes it took, or `None` if
    /// incomplete (or the connection is done).
    fn http_step(&mut self, rest: &[u8]) -> Option<usize> {
        match http::parse(rest, self.shared.settings.max_head_bytes) {
            Ok(None) => None,
            Err(http::Refusal(status)) => {
                http::refuse(&mut self.down, status);
                self.mode = Mode::Done;
                None
            }
            Ok(Some((head, used))) => {
                self.serve(&head);
                Some(used)
            }
        }
    }

    fn serve(&mut self, head: &http::Head) {
        let get = head.method == "GET";
        if !get && head.method != "HEAD" {
            return self.refuse(405);
        }
        if head.has_body {
            return self.refuse(400);
        }
        if head.path == "/ws" || head.path == centre::WS_PATH {
            return self.upgrade(head);
        }
        let centre = centre::is_centre(&head.path);
        let found = if centre {
            centre::find(&head.path)
        } else {
            assets::find(&head.path, &head.query)
        };
        let Some(asset) = found else {
            return self.refuse(404);
        };
        let fresh = asset.etag.is_some() && head.if_none_match.as_deref() == asset.etag.as_deref();
        let mut headers = vec![
            ("Content-Type", asset.content_type),
            ("Cache-Control", asset.cache_control),
        ];
        if let Some(etag) = asset.etag.as_deref() {
            headers.push(("ETag", etag));
        }
        if centre {
            headers.extend(centre::SECURITY_HEADERS);
        }
        let (status, body) = if fresh {
            (304, &[][..])
        } else {
            (200, asset.body.as_bytes())
        };
        http::respond(&mut self.down, status, &headers, body, head.close, !get);
        if head.close {
            self.mode = Mode::Done;
        }
    }

    fn refuse(&mut self, status: u16) {
        http::refuse(&mut self.down, status);
        self.mode = Mode::Done;
    }

    /// The handshake's foreign `Origin`, if any (after the upgrade).
    pub fn origin(&self) -> Option<Arc<str>> {
        self.origin.clone()
    }

    /// The WebSocket handshake; on success the protocol's `Hello` goes up, so a JSON
    /// client's first message is its `Welcome`.
    fn upgrade(&mut self, head: &http::Head) {
        if !head.upgrade {
            return self.refuse(426);
        }
        let Some(key) = head.ws_key.as_deref().filter(|_| head.method == "GET") else {
            return self.refuse(400);
        };
        if head.ws_version.as_deref() != Some("13") {
            return self.refuse(400);
        }
        let settings = &self.shared.settings;
        let is_centre = head.path == centre::WS_PATH;
        // The centre's WebSocket carries a cookie: the appliance's own pages only.
        let allowed: &[String] = if is_centre {
            &[]
        } else {
            &settings.allowed_origins
        };
        if !http::origin_allowed(head.origin.as_deref(), head.host.as_deref(), allowed) {
            return self.refuse(403);
        }
        self.origin =
            http::foreign_origin(head.origin.as_deref(), head.host.as_deref()).map(Arc::from);
        let centre_upgrade = if is_centre {
            let fresh = head.query.split('&').any(|kv| kv == "fresh=1");
            let up = self
                .shared
                .centre
                .upgrade(head.cookie.as_deref(), fresh, settings.tls);
            let Some(up) = up else {
                return self.refuse(503);
            };
            Some(up)
        } else {
            None
        };
        let accept = ws::accept_key(key);
        let set_cookie = centre_upgrade
            .as_ref()
            .and_then(|u| u.set_cookie.as_deref())
            .map_or_else(String::new, |c| format!("Set-Cookie: {c}\r\n"));
        let text = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n{set_cookie}\r\n"
        );
        self.down.extend_from_slice(text.as_bytes());
        self.mode = Mode::Ws;
        let mut resume = None;
        if let Some(up) = centre_upgrade {
            let hello = centre::hello_text(up.resume.is_some());
            ws::write_frame(&mut self.down, ws::OP_TEXT, hello.as_bytes());
            resume = up.resume;
            self.centre = Some(up.conn);
        }
        let hello = kefu_wire::Hello {
            magic: kefu_wire::MAGIC,
            min_version: *kefu_wire::PROTOCOL_VERSIONS.start(),
            max_version: *kefu_wire::PROTOCOL_VERSIONS.end(),
            client: "web".into(),
        };
        kefu_wire::Body::write_frame(&hello, 0, &mut self.up);
        if let Some(token) = resume {
            let request = kefu_wire::Request::ResumeSession { token, last_ack: 0 };
            kefu_wire::Body::write_frame(&request, centre::RESUME_ID, &mut self.up);
        }
    }

    /// One WebSocket frame from the front of `rest`.
    fn ws_step(&mut self, rest: &[u8]) -> Option<usize> {
        let max = self.shared.settings.max_message_bytes;
        match ws::read_frame(rest, max) {
            Ok(None) => None,
            Err(code) => {
                self.close(code, "bad frame");
                None
            }
            Ok(Some((frame, used))) => {
                self.on_frame(frame);
                Some(used)
            }
        }
    }

    fn on_frame(&mut self, frame: ws::Frame) {
        let max = self.shared.settings.max_message_bytes;
        match frame.opcode {
            ws::OP_PING => ws::write_frame(&mut self.down, ws::OP_PONG, &frame.payload),
            ws::OP_PONG => {}
            ws::OP_CLOSE => self.close(ws::CLOSE_NORMAL, ""),
            ws::OP_BINARY => self.close(ws::CLOSE_UNSUPPORTED, "text frames only"),
            opcode => {
                let message = match (opcode, self.message.take()) {
                    (ws::OP_TEXT, None) => frame.payload,
                    (ws::OP_CONT, Some(mut m)) => {
                        m.extend_from_slice(&frame.payload);
                        m
                    }
                    _ => return self.close(ws::CLOSE_PROTOCOL, "bad fragment"),
                };
                if message.len() > max {
                    return self.close(ws::CLOSE_TOO_BIG, "message too big");
                }
                if !frame.fin {
                    self.message = Some(message);
                } else if json::to_frame(&message, &mut self.up).is_err() {
                    self.close(ws::CLOSE_INVALID, "not a protocol message");
                }
            }
        }
    }

    /// Says goodbye with a close frame; the connection ends once it is out.
    fn close(&mut self, code: u16, reason: &str) {
        ws::write_close(&mut self.down, code, reason);
        self.mode = Mode::Done;
        self.message = None;
    }

    /// Moves protocol frames for the peer to the front of `buf`; returns how many bytes.
    pub fn take_up(&mut self, buf: &mut [u8]) -> usize {
        let n = self.up.len().min(buf.len());
        let chunk = self.up.split_to(n);
        if let Some(dst) = buf.get_mut(..n) {
            dst.copy_from_slice(&chunk);
        }
        if self.up.is_empty() {
            self.up = BytesMut::new();
        }
        n
    }

    /// Whether protocol frames wait to be taken.
    pub fn has_up(&self) -> bool {
        !self.up.is_empty()
    }

    /// Takes whole frames the protocol wrote and queues their JSON text frames;
    /// returns the bytes taken (none while `down` is over [`MAX_DOWN_BYTES`]). Before
    /// the upgrade and after the end they are dropped (an HTTP client reads none).
    pub fn from_protocol(&mut self, frames: &[u8]) -> usize {
        if self.mode != Mode::Ws {
            return frames.len();
        }
        if self.down.len() > MAX_DOWN_BYTES {
            return 0;
        }
        // A centre connection's frames pass its cookie's binding first (`centre.rs`).
        let rewritten = self
            .centre
            .as_ref()
            .map(|conn| centre::rewrite(&self.shared.centre, conn, frames));
        let input = rewritten.as_ref().map_or(frames, |(_, b)| &b[..]);
        let (down, mode) = (&mut self.down, &mut self.mode);
        let used = json::from_frames(input, |d| match d {
            json::Down::Text(t) => ws::write_frame(down, ws::OP_TEXT, t.as_bytes()),
            json::Down::Last(t) => {
                ws::write_frame(down, ws::OP_TEXT, t.as_bytes());
                ws::write_close(down, ws::CLOSE_GOING_AWAY, "");
                *mode = Mode::Done;
            }
        });
        rewritten.map_or(used, |(taken, _)| taken)
    }

    /// Bytes for the socket.
    pub fn down(&self) -> &[u8] {
        &self.down
    }

    /// `n` bytes of `down` went out.
    pub fn consume_down(&mut self, n: usize) {
        if n >= self.down.len() {
            self.down = Vec::new();
        } else {
            self.down.drain(..n);
        }
    }

    /// The connection has said all it will: close it once `down` is out.
    pub fn finished(&self) -> bool {
        self.mode == Mode::Done && self.down.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> WebState {
        let shared = WebShared::new(WebSettings {
            tls: false,
            allowed_origins: Vec::new(),
            max_connections_per_address: 2,
            max_head_bytes: 1024,
            max_message_bytes: 64,
        });
        WebState::new(shared, None)
    }

    #[test]
    fn assets_are_served_and_revalidated() {
        let mut web = state();
        web.input(b"GET /chat.js HTTP/1.1\r\nHost: h\r\n\r\n");
        let text = String::from_utf8_lossy(web.down()).into_owned();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        let etag = text
            .lines()
            .find_map(|l| l.strip_prefix("ETag: "))
            .unwrap()
            .to_owned();
        web.consume_down(web.down().len());
        web.input(format!("GET /chat.js HTTP/1.1\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes());
        assert!(web.down().starts_with(b"HTTP/1.1 304 "));
        assert!(!web.finished());
    }

    #[test]
    fn slots_count_per_address() {
        let shared = state().shared;
        let ip: IpAddr = [127, 0, 0, 9].into();
        let a = shared.admit(ip).unwrap();
        let _b = shared.admit(ip).unwrap();
        assert!(shared.admit(ip).is_none());
        drop(a);
        assert!(shared.admit(ip).is_some());
    }
}
