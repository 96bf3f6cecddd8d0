//! The JSON encoding of the protocol (PROTOCOL.md, "The web gateway and the JSON
//! encoding"): the same serde types as the binary frames, through `serde_json`.
//! The gateway turns each JSON text message into the binary frame it stands for and
//! each binary frame the protocol writes into its JSON message, so everything
//! between (handshake, correlation, acks, limits, dispatch, authority) is the binary
//! port's own code.
//!
//! Client → server: `{"id":N,"request":R}`, `{"ack":S}`, `{"ping":N}`, `{"pong":N}`.
//! Server → client: `{"welcome":W}`, `{"id":N,"response":R}`, `{"id":N,"error":E}`,
//! `{"seq":S,"event":E}`, `{"ping":N}`, `{"pong":N}`, `{"goaway":G}`.

// Decodes peer input: no panicking shortcuts.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use bytes::BytesMut;
use kefu_wire::frame::HEADER_LEN;
use kefu_wire::{
    Body, ErrorBody, FrameKind, GoAway, GoAwayTo, Ping, Pong, Push, PushAck, Request, Response,
    Welcome,
};
use serde::Deserialize;

/// One client message. Exactly one of its fields says what it is.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Incoming {
    id: Option<u32>,
    request: Option<Request>,
    ack: Option<u64>,
    ping: Option<u64>,
    pong: Option<u64>,
}

/// Appends the binary frame a client's JSON message stands for; `Err` with a short
/// reason for a message that is not one of the forms (the connection closes 1007).
pub fn to_frame(text: &[u8], out: &mut BytesMut) -> Result<(), &'static str> {
    let msg: Incoming = serde_json::from_slice(text).map_err(|_| "not a protocol message")?;
    match msg {
        Incoming {
            id: Some(id),
            request: Some(request),
            ack: None,
            ping: None,
            pong: None,
        } => request.write_frame(id, out),
        Incoming {
            id: None,
            request: None,
            ack: Some(up_to),
            ping: None,
            pong: None,
        } => PushAck { up_to }.write_frame(0, out),
        Incoming {
            id: None,
            request: None,
            ack: None,
            ping: Some(nonce),
            pong: None,
        } => Ping { nonce }.write_frame(0, out),
        Incoming {
            id: None,
            request: None,
            ack: None,
            ping: None,
            pong: Some(nonce),
        } => Pong { nonce }.write_frame(0, out),
        _ => return Err("a message has exactly one of request (with id), ack, ping, pong"),
    }
    Ok(())
}

/// What one binary frame from the protocol becomes.
pub enum Down {
    /// A JSON text message.
    Text(String),
    /// A JSON text message, then the WebSocket closes (`GoAway`).
    Last(String),
}

/// Takes the whole frames at the front of `bytes` (the protocol writes whole frames)
/// and gives their JSON forms to `each`; returns the bytes taken.
pub fn from_frames(bytes: &[u8], mut each: impl FnMut(Down)) -> usize {
    let mut at = 0;
    while let Some(header) = bytes.get(at..at + HEADER_LEN) {
        let field = |r: std::ops::Range<usize>| header.get(r).unwrap_or_default();
        let be32 = |b: &[u8]| <[u8; 4]>::try_from(b).map_or(0, u32::from_be_bytes);
        let len = be32(field(0..4)) as usize;
        let kind = <[u8; 2]>::try_from(field(4..6)).map_or(0, u16::from_be_bytes);
        let correlation = be32(field(8..12));
        let Some(body) = bytes.get(at + HEADER_LEN..at + HEADER_LEN + len) else {
            break;
        };
        at += HEADER_LEN + len;
        if let Some(down) = to_json(kind, correlation, body) {
            each(down);
        }
    }
    at
}

fn to_json(kind: u16, correlation: u32, body: &[u8]) -> Option<Down> {
    fn json<T: serde::Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_else(|_| "null".into())
    }
    let kind = FrameKind::from_u16(kind).ok()?;
    let text = match kind {
        FrameKind::Welcome => format!("{{\"welcome\":{}}}", json(&Welcome::decode(body).ok()?)),
        FrameKind::Response => format!(
            "{{\"id\":{correlation},\"response\":{}}}",
            json(&Response::decode(body).ok()?)
        ),
        FrameKind::Error => format!(
            "{{\"id\":{correlation},\"error\":{}}}",
            json(&ErrorBody::decode(body).ok()?)
        ),
        FrameKind::Push => {
            let push = Push::decode(body).ok()?;
            format!("{{\"seq\":{},\"event\":{}}}", push.seq, json(&push.event))
        }
        FrameKind::Ping => format!("{{\"ping\":{}}}", Ping::decode(body).ok()?.nonce),
        FrameKind::Pong => format!("{{\"pong\":{}}}", Pong::decode(body).ok()?.nonce),
        FrameKind::GoAway => {
            return Some(Down::Last(format!(
                "{{\"goaway\":{}}}",
                json(&GoAway::decode(body).ok()?)
            )))
        }
        FrameKind::GoAwayTo => {
            return Some(Down::Last(format!(
                "{{\"goaway_to\":{}}}",
                json(&GoAwayTo::decode(body).ok()?)
            )))
        }
        // Client-to-server kinds never come from the protocol.
        FrameKind::Hello
        | FrameKind::Request
        | FrameKind::PushAck
        | FrameKind::ReplicaHello
        | FrameKind::ReplicaBatches
        | FrameKind::ReplicaApplied => return None,
    };
    Some(Down::Text(text))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_wire::chat::Channel;
    use kefu_wire::{ErrorCode, Event};

    #[test]
    fn requests_become_their_frames() {
        let mut out = BytesMut::new();
        to_frame(
            br#"{"id":7,"request":{"VisitorLogin":{"account":5,"token":null,"channel":"Web"}}}"#,
            &mut out,
        )
        .unwrap();
        let mut want = BytesMut::new();
        Request::VisitorLogin {
            account: 5,
            token: None,
            channel: Channel::Web,
        }
        .write_frame(7, &mut want);
        assert_eq!(out, want);
        assert!(to_frame(br#"{"id":1}"#, &mut out).is_err());
        assert!(to_frame(br#"{"ack":1,"ping":2}"#, &mut out).is_err());
        assert!(to_frame(b"\xff", &mut out).is_err());
    }

    #[test]
    fn frames_become_json() {
        let mut bytes = BytesMut::new();
        ErrorBody {
            code: ErrorCode(3),
            message: "no".into(),
        }
        .write_frame(9, &mut bytes);
        Push {
            seq: 4,
            event: Event::Notice { text: "hi".into() },
        }
        .write_frame(0, &mut bytes);
        let whole = bytes.len();
        bytes.extend_from_slice(&[0, 0]);
        let mut got = Vec::new();
        let used = from_frames(&bytes, |d| match d {
            Down::Text(t) | Down::Last(t) => got.push(t),
        });
        assert_eq!(used, whole);
        assert_eq!(
            got,
            [
                r#"{"id":9,"error":{"code":3,"message":"no"}}"#,
                r#"{"seq":4,"event":{"Notice":{"text":"hi"}}}"#
            ]
        );
    }
}
