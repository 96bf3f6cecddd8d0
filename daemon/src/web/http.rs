//! HTTP/1.1 request heads (parsed by `httparse`) and the few responses the gateway
//! writes. No request bodies: the gateway serves `GET`/`HEAD` only, so a head is all
//! it reads, and its size is bounded before it is parsed.

// Parses peer input: no panicking shortcuts.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

/// At most this many header lines in a request head.
const MAX_HEADERS: usize = 48;

/// The longest request line accepted (method, target, version).
pub const MAX_REQUEST_LINE: usize = 2048;

/// What a request head asks for, in the fields the gateway looks at.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Head {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The target's path, without the query.
    pub path: String,
    /// The target's query, without `?` (empty if none).
    pub query: String,
    /// `Connection: close` or HTTP/1.0 without keep-alive.
    pub close: bool,
    /// `Upgrade: websocket` with `Connection: upgrade`.
    pub upgrade: bool,
    /// `Sec-WebSocket-Key`.
    pub ws_key: Option<String>,
    /// `Sec-WebSocket-Version`.
    pub ws_version: Option<String>,
    /// `Origin`.
    pub origin: Option<String>,
    /// `Host`.
    pub host: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `Cookie` (the account centre's session, `centre.rs`).
    pub cookie: Option<String>,
    /// A body is announced (`Content-Length` > 0 or `Transfer-Encoding`).
    pub has_body: bool,
}

/// A head that cannot be served: the status to answer before closing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal(pub u16);

/// Parses the head at the front of `buf`: `Ok(None)` while incomplete (and within
/// `max_head` bytes), `Ok(Some((head, length)))`, or the status to refuse with.
pub fn parse(buf: &[u8], max_head: usize) -> Result<Option<(Head, usize)>, Refusal> {
    let line_end = buf.windows(2).position(|w| w == b"\r\n");
    if line_end.unwrap_or(buf.len()) > MAX_REQUEST_LINE {
        return Err(Refusal(414));
    }
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    let used = match req.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > max_head {
                Err(Refusal(431))
            } else {
                Ok(None)
            };
        }
        Err(httparse::Error::TooManyHeaders) => return Err(Refusal(431)),
        Err(_) => return Err(Refusal(400)),
    };
    if used > max_head {
        return Err(Refusal(431));
    }
    let target = req.path.unwrap_or("/");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut head = Head {
        method: req.method.unwrap_or("").to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        close: req.version == Some(0),
        ..Head::default()
    };
    let mut connection_upgrade = false;
    let mut upgrade_ws = false;
    for h in req.headers.iter() {
        let Ok(value) = std::str::from_utf8(h.value) else {
            continue;
        };
        let value = value.trim();
        let name = h.name.to_ascii_lowercase();
        let has = |token: &str| {
            value
                .split(',')
                .any(|t| t.trim().eq_ignore_ascii_case(token))
        };
        match name.as_str() {
            "connection" => {
                connection_upgrade |= has("upgrade");
                if has("close") {
                    head.close = true;
                } else if has("keep-alive") {
                    head.close = false;
                }
            }
            "upgrade" => upgrade_ws |= has("websocket"),
            "sec-websocket-key" => head.ws_key = Some(value.to_owned()),
            "sec-websocket-version" => head.ws_version = Some(value.to_owned()),
            "origin" => head.origin = Some(value.to_owned()),
            "host" => head.host = Some(value.to_owned()),
            "if-none-match" => head.if_none_match = Some(value.to_owned()),
            "cookie" => head.cookie = Some(value.to_owned()),
            "content-length" => head.has_body |= value != "0",
            "transfer-encoding" => head.has_body = true,
            _ => {}
        }
    }
    head.upgrade = connection_upgrade && upgrade_ws;
    Ok(Some((head, used)))
}

/// The reason phrase of the statuses the gateway uses.
pub fn reason(status: u16) -> &'static str {
    match status {
        101 => "Switching Protocols",
        200 => "OK",
        304 => "Not Modified",
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        414 => "URI Too Long",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

/// Appends a whole response: status line, `headers` (each `Name: value`), the length
/// and connection headers, then `body` (left out when `head_only`).
pub fn respond(
    out: &mut Vec<u8>,
    status: u16,
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
    head_only: bool,
) {
    let mut text = format!("HTTP/1.1 {status} {}\r\n", reason(status));
    for (name, value) in headers {
        text.push_str(name);
        text.push_str(": ");
        text.push_str(value);
        text.push_str("\r\n");
    }
    text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    text.push_str("X-Content-Type-Options: nosniff\r\n");
    if close {
        text.push_str("Connection: close\r\n");
    }
    text.push_str("\r\n");
    out.extend_from_slice(text.as_bytes());
    if !head_only {
        out.extend_from_slice(body);
    }
}

/// A refusal's whole response (plain text, then the connection closes).
pub fn refuse(out: &mut Vec<u8>, status: u16) {
    let body = format!("{status} {}\n", reason(status));
    respond(
        out,
        status,
        &[("Content-Type", "text/plain; charset=utf-8")],
        body.as_bytes(),
        true,
        false,
    );
}

/// Whether a WebSocket handshake from `origin` may go on: no `Origin` (not a
/// browser), an origin on the allowed list (`"*"` allows all), or, with an empty
/// list, the gateway's own origin (the `Origin`'s host is the `Host` asked for).
pub fn origin_allowed(origin: Option<&str>, host: Option<&str>, allowed: &[String]) -> bool {
    let Some(origin) = origin else { return true };
    if allowed
        .iter()
        .any(|a| a == "*" || a.eq_ignore_ascii_case(origin))
    {
        return true;
    }
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    allowed.is_empty() && origin_host.is_some() && origin_host == host
}

/// The `Origin` of a handshake when it is another site's: `None` without one or when
/// its host is the `Host` asked for (the gateway's own pages).
pub fn foreign_origin(origin: Option<&str>, host: Option<&str>) -> Option<String> {
    let origin = origin?;
    let origin_host = origin.split_once("://").map(|(_, h)| h);
    if origin_host.is_some() && origin_host == host {
        return None;
    }
    Some(origin.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_and_refuse() {
        let req = b"GET /ws?x=1 HTTP/1.1\r\nHost: a:1\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\nOrigin: http://a:1\r\n\r\nrest";
        let (head, used) = parse(req, 8192).unwrap().unwrap();
        assert_eq!((head.path.as_str(), head.query.as_str()), ("/ws", "x=1"));
        assert!(head.upgrade && !head.close);
        assert_eq!(&req[used..], b"rest");
        assert_eq!(parse(b"GET / HTTP/1.1\r\nHost", 8192), Ok(None));
        assert_eq!(parse(b"GET / HTTP/1.1\r\nX: y\r\n", 10), Err(Refusal(431)));
        assert_eq!(parse(b"\x01\x02 nonsense\r\n\r\n", 8192), Err(Refusal(400)));
        assert_eq!(parse(&[b'G'; 3000], 8192), Err(Refusal(414)));
    }

    #[test]
    fn origins() {
        assert!(origin_allowed(None, Some("h:1"), &[]));
        assert!(origin_allowed(Some("http://h:1"), Some("h:1"), &[]));
        assert!(!origin_allowed(Some("http://evil"), Some("h:1"), &[]));
        let list = vec!["https://shop.example".to_owned()];
        assert!(origin_allowed(
            Some("https://shop.example"),
            Some("h:1"),
            &list
        ));
        assert!(!origin_allowed(Some("http://h:1"), Some("h:1"), &list));
    }
}
