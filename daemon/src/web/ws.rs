//! WebSocket framing (RFC 6455), the small part the gateway needs: the handshake's
//! accept key, reading masked client frames out of a buffer, writing unmasked server
//! frames into one.
//!
//! A codec of our own over the loop's buffers rather than `tungstenite`'s
//! `WebSocket`: that one owns a `Read + Write` stream and buffers of its own per
//! connection, while the loop reads every socket into one shared scratch buffer and
//! keeps no buffer for an idle connection. Framing is forty lines; the rules that
//! matter (mask required, control frames short and whole, lengths bounded before
//! anything is buffered) are here and unit-tested.

// Decodes peer input: no panicking shortcuts.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

/// Continuation frame.
pub const OP_CONT: u8 = 0x0;
/// Text frame.
pub const OP_TEXT: u8 = 0x1;
/// Binary frame.
pub const OP_BINARY: u8 = 0x2;
/// Close frame.
pub const OP_CLOSE: u8 = 0x8;
/// Ping frame.
pub const OP_PING: u8 = 0x9;
/// Pong frame.
pub const OP_PONG: u8 = 0xA;

/// Close code: normal closure.
pub const CLOSE_NORMAL: u16 = 1000;
/// Close code: going away (the server shuts down or ends the session).
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// Close code: protocol error.
pub const CLOSE_PROTOCOL: u16 = 1002;
/// Close code: a data type the endpoint does not accept (binary frames).
pub const CLOSE_UNSUPPORTED: u16 = 1003;
/// Close code: a message that is not what it should be (bad JSON, bad UTF-8).
pub const CLOSE_INVALID: u16 = 1007;
/// Close code: a message too big to process.
pub const CLOSE_TOO_BIG: u16 = 1009;

/// One frame read from a client, its payload unmasked.
#[derive(Debug, PartialEq, Eq)]
pub struct Frame {
    /// Last frame of its message.
    pub fin: bool,
    /// Opcode.
    pub opcode: u8,
    /// Payload, unmasked.
    pub payload: Vec<u8>,
}

/// Reads one client frame from the front of `buf`: `Ok(None)` until it is whole,
/// `Ok(Some((frame, consumed)))`, or `Err(close code)` for a frame the connection
/// must be closed for. A payload over `max` is refused from its header alone.
pub fn read_frame(buf: &[u8], max: usize) -> Result<Option<(Frame, usize)>, u16> {
    let (Some(&b0), Some(&b1)) = (buf.first(), buf.get(1)) else {
        return Ok(None);
    };
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0F;
    if b0 & 0x70 != 0 || b1 & 0x80 == 0 {
        // Reserved bits (no extension negotiated) or an unmasked client frame.
        return Err(CLOSE_PROTOCOL);
    }
    let control = opcode & 0x8 != 0;
    if !matches!(
        opcode,
        OP_CONT | OP_TEXT | OP_BINARY | OP_CLOSE | OP_PING | OP_PONG
    ) {
        return Err(CLOSE_PROTOCOL);
    }
    let (len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4).and_then(|b| <[u8; 2]>::try_from(b).ok()) {
            Some(b) => (u64::from(u16::from_be_bytes(b)), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
            Some(b) => (u64::from_be_bytes(b), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if control && (len > 125 || !fin) {
        return Err(CLOSE_PROTOCOL);
    }
    let Ok(len) = usize::try_from(len) else {
        return Err(CLOSE_TOO_BIG);
    };
    if len > max {
        return Err(CLOSE_TOO_BIG);
    }
    let Some(mask) = buf
        .get(at..at + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
    else {
        return Ok(None);
    };
    at += 4;
    let Some(body) = buf.get(at..at + len) else {
        return Ok(None);
    };
    let payload = body
        .iter()
        .zip(mask.iter().cycle())
        .map(|(b, m)| b ^ m)
        .collect();
    Ok(Some((
        Frame {
            fin,
            opcode,
            payload,
        },
        at + len,
    )))
}

/// Appends one whole, unmasked server frame.
pub fn write_frame(out: &mut Vec<u8>, opcode: u8, payload: &[u8]) {
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(n as u8),
        n if n <= usize::from(u16::MAX) => {
            out.push(126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(payload);
}

/// Appends a close frame with `code` and a short reason.
pub fn write_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let mut payload = code.to_be_bytes().to_vec();
    // A control frame's payload is at most 125 bytes.
    payload.extend(reason.bytes().take(120));
    write_frame(out, OP_CLOSE, &payload);
}

/// `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`.
pub fn accept_key(key: &str) -> String {
    const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(key.trim().as_bytes());
    ctx.update(GUID.as_bytes());
    base64(ctx.finish().as_ref())
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let sym = |i: u32| char::from(ALPHABET.get((i & 63) as usize).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (b(0) << 16) | (b(1) << 8) | b(2);
        out.push(sym(n >> 18));
        out.push(sym(n >> 12));
        out.push(if chunk.len() > 1 { sym(n >> 6) } else { '=' });
        out.push(if chunk.len() > 2 { sym(n) } else { '=' });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(opcode: u8, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mask = [1u8, 2, 3, 4];
        let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
        if payload.len() < 126 {
            out.push(0x80 | payload.len() as u8);
        } else {
            out.push(0x80 | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        out
    }

    #[test]
    fn the_rfc_example_key() {
        assert_eq!(
            accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn frames_read_whole_or_wait() {
        let bytes = masked(OP_TEXT, true, b"hello");
        for cut in 0..bytes.len() {
            assert_eq!(read_frame(&bytes[..cut], 100), Ok(None));
        }
        let (frame, used) = read_frame(&bytes, 100).unwrap().unwrap();
        assert_eq!(
            (frame.payload.as_slice(), used),
            (&b"hello"[..], bytes.len())
        );
        let long = masked(OP_TEXT, true, &[b'x'; 300]);
        assert_eq!(read_frame(&long, 299), Err(CLOSE_TOO_BIG));
        assert_eq!(read_frame(&long[..4], 299), Err(CLOSE_TOO_BIG));
    }

    #[test]
    fn unmasked_and_long_control_frames_are_refused() {
        assert_eq!(read_frame(&[0x81, 0x01, b'a'], 100), Err(CLOSE_PROTOCOL));
        assert_eq!(
            read_frame(&masked(OP_PING, false, b""), 100),
            Err(CLOSE_PROTOCOL)
        );
        assert_eq!(
            read_frame(&masked(0x3, true, b""), 100),
            Err(CLOSE_PROTOCOL)
        );
    }
}
