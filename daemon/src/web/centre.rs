//! The account centre's page and its session cookie (PROTOCOL.md, "The account
//! centre"): `/centre/` (the page), `/centre/centre.js`, `/centre/centre-csat.js` (the
//! CSAT settings module), `/centre/centre-profile.js` (the enterprise profile and
//! chat-window style modules, section 41) and `/centre/centre.css`,
//! compiled into the binary (`assets/centre.*`), no third-party file, and the centre's
//! WebSocket `/centre/ws`.
//!
//! The page signs in over that WebSocket with `CentreLogin` (or `CentreTicketLogin`),
//! a protocol session checked by the daemon at every request. It then makes the
//! session resumable (`EnableResume`); the gateway keeps the `ResumeToken` and the page
//! never sees its secret. What binds a browser to it is a cookie the gateway set on
//! that connection's own upgrade (`101` with `Set-Cookie: kefu_centre=…; Path=/centre;
//! HttpOnly; SameSite=Strict`, `Secure` under TLS): a later upgrade carrying it (a
//! reload, a second tab) is resumed by the gateway with `ResumeSession`, so the
//! session's life is the protocol's — a closed page's session waits
//! `resume_window_secs` on the daemon's clock, then ends, and the cookie with it.
//!
//! - A cookie the gateway does not hold is never adopted: the connection gets a fresh
//!   random one, and only a cookie issued at a connection's own upgrade is ever bound
//!   (session fixation: a planted cookie names nothing, or a session never re-bound).
//! - `/centre/ws` is opened only from the appliance's own origin, whatever
//!   `allowed_origins` lets the visitors' window do (CSRF), and the cookie is
//!   `SameSite=Strict`; there is no state-changing HTTP request at all (no bodies, `GET`
//!   and `HEAD` only).
//! - A cookie resumes exactly the one session it was bound to, of one agent of one
//!   account; a refused resume forgets it.
//!
//! Every centre response forbids framing and carries a Content-Security-Policy that
//! allows only the appliance's own scripts, styles and WebSocket, and no inline
//! script: text that reaches the page from the network can never run.

use super::assets::{etag, Asset};
use bytes::BytesMut;
use kefu_wire::frame::HEADER_LEN;
use kefu_wire::{Body, FrameKind, Response, ResumeToken};
use std::borrow::Cow;
use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};

/// The cookie's name.
pub const COOKIE: &str = "kefu_centre";
/// The centre's WebSocket.
pub const WS_PATH: &str = "/centre/ws";
/// The correlation of the `ResumeSession` the gateway sends for a cookie.
pub const RESUME_ID: u32 = u32::MAX;
/// Cookies bound at once; past it the oldest binding is forgotten (its page signs in
/// again after its next reload).
pub const MAX_BINDINGS: usize = 10_000;
/// A cookie's value: 32 random bytes in hex.
const SID_LEN: usize = 64;

/// A centre connection's cookie, and whether it was issued at this connection's own
/// upgrade (only such a connection may bind it).
#[derive(Debug)]
pub struct Conn {
    sid: String,
    fresh: bool,
}

/// The gateway's cookies and the sessions they resume (shared by the shards).
#[derive(Debug, Default)]
pub struct Bindings {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    tokens: HashMap<String, ResumeToken>,
    order: VecDeque<String>,
}

/// What a centre upgrade does: its connection's cookie, the `Set-Cookie` header value
/// for a new one, the session to resume.
#[derive(Debug)]
pub struct Upgrade {
    /// The connection's cookie.
    pub conn: Conn,
    /// A new cookie to set.
    pub set_cookie: Option<String>,
    /// The session a presented cookie resumes.
    pub resume: Option<ResumeToken>,
}

impl Bindings {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A centre upgrade presenting `cookie` (the `Cookie` header); `fresh`: the page
    /// asks for a new session (a sign-in), so nothing is resumed. `None`: no randomness.
    pub fn upgrade(&self, cookie: Option<&str>, fresh: bool, tls: bool) -> Option<Upgrade> {
        if let Some(sid) = cookie.and_then(cookie_value).filter(|_| !fresh) {
            if let Some(token) = self.lock().tokens.get(sid).copied() {
                return Some(Upgrade {
                    conn: Conn {
                        sid: sid.to_owned(),
                        fresh: false,
                    },
                    set_cookie: None,
                    resume: Some(token),
                });
            }
        }
        let sid = new_sid()?;
        let secure = if tls { "; Secure" } else { "" };
        Some(Upgrade {
            set_cookie: Some(format!(
                "{COOKIE}={sid}; Path=/centre; HttpOnly; SameSite=Strict{secure}"
            )),
            conn: Conn { sid, fresh: true },
            resume: None,
        })
    }

    fn bind(&self, sid: &str, token: ResumeToken) {
        let mut inner = self.lock();
        if inner.tokens.insert(sid.to_owned(), token).is_some() {
            return;
        }
        inner.order.push_back(sid.to_owned());
        while inner.order.len() > MAX_BINDINGS {
            if let Some(old) = inner.order.pop_front() {
                inner.tokens.remove(&old);
            }
        }
    }

    fn unbind(&self, sid: &str) {
        let mut inner = self.lock();
        if inner.tokens.remove(sid).is_some() {
            inner.order.retain(|s| s != sid);
        }
    }

    /// Cookies bound now.
    pub fn len(&self) -> usize {
        self.lock().tokens.len()
    }

    /// Whether none is bound.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The centre's cookie in a `Cookie` header, if well formed.
fn cookie_value(header: &str) -> Option<&str> {
    header
        .split(';')
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
        .filter(|v| v.len() == SID_LEN && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn new_sid() -> Option<String> {
    let mut bytes = [0u8; SID_LEN / 2];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// The first JSON message of a centre connection: whether the gateway is resuming a
/// session for its cookie (then `RESUME_ID`'s answer follows the welcome).
pub fn hello_text(resuming: bool) -> String {
    format!("{{\"centre\":{{\"resuming\":{resuming}}}}}")
}

/// Looks at the whole frames at the front of `frames` the protocol wrote for centre
/// connection `conn`: a `ResumeEnabled` binds its cookie (when issued at its own
/// upgrade) and goes on without its secret; a refusal of the gateway's resume forgets
/// the cookie. Returns the bytes taken and the frames to encode for the page.
pub fn rewrite(bindings: &Bindings, conn: &Conn, frames: &[u8]) -> (usize, BytesMut) {
    let mut out = BytesMut::new();
    let mut at = 0;
    while let Some(header) = frames.get(at..at + HEADER_LEN) {
        let field = |r: std::ops::Range<usize>| header.get(r).unwrap_or_default();
        let be32 = |b: &[u8]| <[u8; 4]>::try_from(b).map_or(0, u32::from_be_bytes);
        let len = be32(field(0..4)) as usize;
        let kind = <[u8; 2]>::try_from(field(4..6)).map_or(0, u16::from_be_bytes);
        let correlation = be32(field(8..12));
        let Some(whole) = frames.get(at..at + HEADER_LEN + len) else {
            break;
        };
        at += HEADER_LEN + len;
        let body = whole.get(HEADER_LEN..).unwrap_or_default();
        match FrameKind::from_u16(kind) {
            Ok(FrameKind::Response) => {
                if let Ok(Response::ResumeEnabled { token, window_secs }) = Response::decode(body) {
                    if conn.fresh {
                        bindings.bind(&conn.sid, token);
                    }
                    let shown = ResumeToken {
                        session: token.session,
                        secret: [0; 32],
                    };
                    let answer = Response::ResumeEnabled {
                        token: shown,
                        window_secs,
                    };
                    answer.write_frame(correlation, &mut out);
                    continue;
                }
            }
            Ok(FrameKind::Error) if correlation == RESUME_ID => bindings.unbind(&conn.sid),
            _ => {}
        }
        out.extend_from_slice(whole);
    }
    (at, out)
}

const PAGE: &str = include_str!("assets/centre.html");
const SCRIPT: &str = include_str!("assets/centre.js");
const STYLE: &str = include_str!("assets/centre.css");
/// The CSAT settings module (S1), in its own file.
const CSAT_SCRIPT: &str = include_str!("assets/centre-csat.js");
/// The enterprise profile and chat-window style modules (E1, E2), in their own file.
const PROFILE_SCRIPT: &str = include_str!("assets/centre-profile.js");

/// The headers every centre response carries besides the asset's own.
pub const SECURITY_HEADERS: [(&str, &str); 3] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self' blob:; \
         img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    ),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
];

/// Whether `path` is the centre's.
pub fn is_centre(path: &str) -> bool {
    path == "/centre" || path.starts_with("/centre/")
}

/// The centre's file at `path`, if there is one.
pub fn find(path: &str) -> Option<Asset> {
    static TAGS: OnceLock<[String; 5]> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        [
            etag(PAGE),
            etag(SCRIPT),
            etag(STYLE),
            etag(CSAT_SCRIPT),
            etag(PROFILE_SCRIPT),
        ]
    });
    let (body, content_type, tag) = match path {
        "/centre" | "/centre/" | "/centre/index.html" => {
            (PAGE, "text/html; charset=utf-8", &tags[0])
        }
        "/centre/centre.js" => (SCRIPT, "text/javascript; charset=utf-8", &tags[1]),
        "/centre/centre.css" => (STYLE, "text/css; charset=utf-8", &tags[2]),
        "/centre/centre-csat.js" => (CSAT_SCRIPT, "text/javascript; charset=utf-8", &tags[3]),
        "/centre/centre-profile.js" => (PROFILE_SCRIPT, "text/javascript; charset=utf-8", &tags[4]),
        _ => return None,
    };
    Some(Asset {
        body: Cow::Borrowed(body),
        content_type,
        cache_control: "no-cache",
        etag: Some(tag.clone()),
    })
}

/// The bytes of the page and its files: what a first visit downloads.
pub fn weight() -> usize {
    PAGE.len() + SCRIPT.len() + STYLE.len() + CSAT_SCRIPT.len() + PROFILE_SCRIPT.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_centre_is_served_with_its_policy() {
        assert!(find("/centre/").is_some_and(|a| a.content_type.starts_with("text/html")));
        assert!(find("/centre/centre.js").is_some());
        assert!(find("/centre/centre-csat.js").is_some());
        assert!(find("/centre/centre-profile.js").is_some());
        assert!(find("/centre/nope").is_none());
        assert!(is_centre("/centre/x") && !is_centre("/centrex"));
        assert!(SECURITY_HEADERS[0].1.contains("script-src 'self'"));
        // Light: the page and its files stay well under 64 KiB.
        assert!(weight() < 64 * 1024, "{}", weight());
        // No remote file and no HTML made from data.
        for text in [PAGE, SCRIPT, STYLE, CSAT_SCRIPT, PROFILE_SCRIPT] {
            assert!(!text.contains("src=\"http") && !text.contains("href=\"http"));
        }
        for script in [SCRIPT, CSAT_SCRIPT, PROFILE_SCRIPT] {
            assert!(!script.contains("innerHTML") && !script.contains("insertAdjacentHTML"));
        }
    }
}
