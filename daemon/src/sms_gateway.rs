//! The SMS gateway behind a trait ([`SmsGateway`]) and its one real adapter,
//! [`HttpGateway`]: an HTTP/1.1 POST of one JSON object per SMS to a configured URL
//! (`[sms] url`; the JSON is in `wire/PROTOCOL.md` section 27).
//!
//! Blocking: called only on the worker pool, never on a shard loop (`centre/sms.rs`
//! hands each attempt to a worker and takes the outcome back through the mailbox).
//! Plain `std::net::TcpStream` rather than an HTTP crate: one request shape, a status
//! line to read, bounded in time (connect, write and read timeouts) and in bytes (the
//! reply is read up to 8 KiB), so a dependency would bring more than it saves. Plain
//! HTTP only: the gateway bridge runs on the appliance or its LAN.
//!
//! Pure of the daemon: no `crate::` path, so every layer may use it.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Most bytes of a gateway's reply read (the status line is all that counts).
const MAX_REPLY_BYTES: usize = 8 * 1024;

/// One SMS as the gateway is given it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundSms {
    /// Account number.
    pub account: u64,
    /// The SMS's number within the account (what a phone reply names).
    pub sms: u64,
    /// The agent it is for.
    pub agent: u32,
    /// The agent's bound phone.
    pub to: String,
    /// The text.
    pub text: String,
    /// Units (segments) it was charged.
    pub segments: u32,
    /// Which attempt this is, from 1.
    pub attempt: u32,
}

impl OutboundSms {
    /// The JSON body of the POST.
    pub fn json(&self) -> String {
        format!(
            "{{\"id\":\"{}-{}\",\"account\":{},\"sms\":{},\"agent\":{},\"to\":{},\"text\":{},\"segments\":{},\"attempt\":{}}}",
            self.account,
            self.sms,
            self.account,
            self.sms,
            self.agent,
            json_string(&self.to),
            json_string(&self.text),
            self.segments,
            self.attempt,
        )
    }
}

/// A JSON string literal of `s`.
pub fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Sends SMS. An `Err` is retried later (the outbox keeps the SMS and its units).
pub trait SmsGateway: Send + Sync {
    /// Hands one SMS to the gateway; `Ok` once the gateway has taken it.
    fn send(&self, sms: &OutboundSms) -> Result<(), String>;
}

/// Where an HTTP gateway listens: `http://host[:port]/path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpTarget {
    /// Host name or address.
    pub host: String,
    /// Port (80 by default).
    pub port: u16,
    /// Path and query, from `/`.
    pub path: String,
}

impl HttpTarget {
    /// Parses a URL; only plain `http://` is taken.
    pub fn parse(url: &str) -> Result<HttpTarget, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("{url:?}: bad port {p:?}"))?,
            ),
            _ => (authority, 80),
        };
        if host.is_empty() || host.contains(|c: char| c.is_whitespace()) {
            return Err(format!("{url:?}: no host"));
        }
        if path.contains(|c: char| c.is_whitespace() || c.is_control()) {
            return Err(format!("{url:?}: bad path"));
        }
        Ok(HttpTarget {
            host: host.to_owned(),
            port,
            path: path.to_owned(),
        })
    }
}

/// The HTTP adapter: POST `application/json`, success on a `2xx` status.
#[derive(Debug, Clone)]
pub struct HttpGateway {
    target: HttpTarget,
    timeout: Duration,
}

impl HttpGateway {
    /// A gateway at `url` with `timeout` for each of connect, write and read.
    pub fn new(url: &str, timeout: Duration) -> Result<HttpGateway, String> {
        Ok(HttpGateway {
            target: HttpTarget::parse(url)?,
            timeout,
        })
    }
}

impl SmsGateway for HttpGateway {
    fn send(&self, sms: &OutboundSms) -> Result<(), String> {
        let t = &self.target;
        let addr = (t.host.trim_matches(|c| c == '[' || c == ']'), t.port)
            .to_socket_addrs()
            .map_err(|e| format!("resolve {}: {e}", t.host))?
            .next()
            .ok_or_else(|| format!("resolve {}: no address", t.host))?;
        let mut stream = TcpStream::connect_timeout(&addr, self.timeout)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(self.timeout))
            .and_then(|()| stream.set_write_timeout(Some(self.timeout)))
            .map_err(|e| format!("socket: {e}"))?;
        let body = sms.json();
        let head = format!(
            "POST {} HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            t.path,
            t.host,
            t.port,
            body.len()
        );
        stream
            .write_all(head.as_bytes())
            .and_then(|()| stream.write_all(body.as_bytes()))
            .and_then(|()| stream.flush())
            .map_err(|e| format!("write: {e}"))?;
        let mut reply = Vec::new();
        let mut buf = [0u8; 1024];
        while reply.len() < MAX_REPLY_BYTES && !reply.windows(2).any(|w| w == b"\r\n") {
            match stream.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => reply.extend_from_slice(buf.get(..n).unwrap_or_default()),
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        let line = String::from_utf8_lossy(&reply);
        let line = line.lines().next().unwrap_or("");
        let status = line
            .strip_prefix("HTTP/1.")
            .and_then(|r| r.get(2..5))
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("no HTTP status line (got {:?})", line))?;
        if (200..300).contains(&status) {
            Ok(())
        } else {
            Err(format!("gateway answered {}", line.trim()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_or_are_refused() {
        let t = HttpTarget::parse("http://127.0.0.1:8025/sms").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("127.0.0.1", 8025, "/sms")
        );
        let t = HttpTarget::parse("http://gw.example").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("gw.example", 80, "/")
        );
        assert!(HttpTarget::parse("https://gw.example/").is_err());
        assert!(HttpTarget::parse("http://:80/").is_err());
        assert!(HttpTarget::parse("http://h:99999/").is_err());
    }

    #[test]
    fn json_escapes_text() {
        let sms = OutboundSms {
            account: 1,
            sms: 2,
            agent: 1001,
            to: "+86 1".into(),
            text: "a\"b\\\n你".into(),
            segments: 1,
            attempt: 1,
        };
        assert_eq!(
            sms.json(),
            r#"{"id":"1-2","account":1,"sms":2,"agent":1001,"to":"+86 1","text":"a\"b\\\n你","segments":1,"attempt":1}"#
        );
    }
}
