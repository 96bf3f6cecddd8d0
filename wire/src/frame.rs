//! Framing: a fixed 12-byte big-endian header followed by a body.
//!
//! ```text
//! 0       4       6       8               12
//! +-------+-------+-------+---------------+----------------+
//! | len   | kind  | flags | correlation   | body (len B)   |
//! | u32   | u16   | u16   | u32           |                |
//! +-------+-------+-------+---------------+----------------+
//! ```
//!
//! The decoder checks `len` against the maximum *before* buffering the body,
//! so a peer cannot make us allocate more than the maximum per connection.

// Decodes peer or file input: no panicking shortcuts (style rule 5); tests may use them.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::error::WireError;
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// Length of the fixed frame header in bytes.
pub const HEADER_LEN: usize = 12;

/// What a frame carries. Numbers are stable; new kinds are appended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u16)]
pub enum FrameKind {
    /// Client → server, first frame: magic, version range, client name.
    Hello = 1,
    /// Server → client: the chosen version and the limits in force.
    Welcome = 2,
    /// Client → server: a request; the correlation id is echoed in the answer.
    Request = 3,
    /// Server → client: the successful answer to a request.
    Response = 4,
    /// Server → client: a typed error; correlation 0 means "about the connection".
    Error = 5,
    /// Server → client: an unsolicited, numbered event.
    Push = 6,
    /// Client → server: cumulative acknowledgement of pushes up to a number.
    PushAck = 7,
    /// Either way: heartbeat; the peer answers `Pong` with the same nonce.
    Ping = 8,
    /// Either way: answer to `Ping`.
    Pong = 9,
    /// Server → client: the server closes this connection, and why.
    GoAway = 10,
    /// Standby → primary, on the replication stream only: "I have up to S" (section 40).
    ReplicaHello = 11,
    /// Primary → standby, replication stream: committed batches.
    ReplicaBatches = 12,
    /// Standby → primary, replication stream: cumulative acknowledgement.
    ReplicaApplied = 13,
    /// Server → client: the server closes this connection and names where to go
    /// instead (the account is served by another appliance; PROTOCOL.md section 40.6).
    GoAwayTo = 14,
}

impl FrameKind {
    /// Every kind, in numeric order.
    pub const ALL: [FrameKind; 14] = [
        FrameKind::Hello,
        FrameKind::Welcome,
        FrameKind::Request,
        FrameKind::Response,
        FrameKind::Error,
        FrameKind::Push,
        FrameKind::PushAck,
        FrameKind::Ping,
        FrameKind::Pong,
        FrameKind::GoAway,
        FrameKind::ReplicaHello,
        FrameKind::ReplicaBatches,
        FrameKind::ReplicaApplied,
        FrameKind::GoAwayTo,
    ];

    /// The kind for a number, or an error for one this version does not define.
    pub fn from_u16(n: u16) -> Result<FrameKind, WireError> {
        FrameKind::ALL
            .iter()
            .copied()
            .find(|k| *k as u16 == n)
            .ok_or(WireError::UnknownKind(n))
    }
}

/// The decoded fixed header of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Body length in bytes.
    pub len: u32,
    /// Frame kind.
    pub kind: FrameKind,
    /// Reserved flag bits: sent as 0 in v1, ignored on receipt.
    pub flags: u16,
    /// Correlation id of a request and its answer; 0 otherwise.
    pub correlation: u32,
}

/// A whole frame: header plus body bytes (body still encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// Frame kind.
    pub kind: FrameKind,
    /// Correlation id (0 where the kind has none).
    pub correlation: u32,
    /// The encoded body: version byte then postcard.
    pub body: Bytes,
}

/// Appends one frame with the given already-encoded body to `out`.
pub fn put_frame(out: &mut BytesMut, kind: FrameKind, correlation: u32, body: &[u8]) {
    out.reserve(HEADER_LEN + body.len());
    // A body longer than u32::MAX cannot be produced by our encoders (they are
    // bounded by the frame maximum); saturate instead of wrapping just in case.
    out.put_u32(u32::try_from(body.len()).unwrap_or(u32::MAX));
    out.put_u16(kind as u16);
    out.put_u16(0);
    out.put_u32(correlation);
    out.put_slice(body);
}

/// Incremental frame decoder: feed it a buffer, take whole frames out.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_body: u32,
}

impl FrameDecoder {
    /// A decoder refusing bodies longer than `max_body` (capped at the ceiling).
    pub fn new(max_body: u32) -> FrameDecoder {
        FrameDecoder {
            max_body: max_body.min(crate::MAX_FRAME_CEILING),
        }
    }

    /// The maximum body length in force.
    pub fn max_body(&self) -> u32 {
        self.max_body
    }

    /// Parses only the header at the front of `buf`, if 12 bytes are there.
    ///
    /// Checks the kind and the length limit, so a caller can refuse a frame
    /// before it has buffered the body.
    pub fn peek_header(&self, buf: &[u8]) -> Result<Option<FrameHeader>, WireError> {
        let Some(mut h) = buf.get(..HEADER_LEN) else {
            return Ok(None);
        };
        let len = h.get_u32();
        let kind_num = h.get_u16();
        let flags = h.get_u16();
        let correlation = h.get_u32();
        if len > self.max_body {
            return Err(WireError::FrameTooLarge {
                len,
                max: self.max_body,
            });
        }
        let kind = FrameKind::from_u16(kind_num)?;
        Ok(Some(FrameHeader {
            len,
            kind,
            flags,
            correlation,
        }))
    }

    /// Takes one whole frame off the front of `buf`.
    ///
    /// `Ok(None)` means more bytes are needed; `Err` means the stream is
    /// unusable and the connection must be closed.
    pub fn decode(&self, buf: &mut BytesMut) -> Result<Option<Frame>, WireError> {
        let Some(h) = self.peek_header(buf)? else {
            return Ok(None);
        };
        let total = HEADER_LEN + h.len as usize;
        if buf.len() < total {
            // Reserve a little ahead, not the declared length: a 12-byte header
            // alone must not make us allocate up to the maximum.
            buf.reserve((total - buf.len()).min(64 * 1024));
            return Ok(None);
        }
        buf.advance(HEADER_LEN);
        let body = buf.split_to(h.len as usize).freeze();
        Ok(Some(Frame {
            kind: h.kind,
            correlation: h.correlation,
            body,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_partial_input() {
        let mut out = BytesMut::new();
        put_frame(&mut out, FrameKind::Request, 7, &[1, 2, 3]);
        assert_eq!(&out[..], &[0, 0, 0, 3, 0, 3, 0, 0, 0, 0, 0, 7, 1, 2, 3]);
        let dec = FrameDecoder::new(16);
        for cut in 0..out.len() {
            let mut part = BytesMut::from(&out[..cut]);
            assert_eq!(dec.decode(&mut part), Ok(None), "cut at {cut}");
        }
        let mut all = out.clone();
        let f = dec.decode(&mut all).unwrap().unwrap();
        assert_eq!(f.kind, FrameKind::Request);
        assert_eq!(f.correlation, 7);
        assert_eq!(&f.body[..], &[1, 2, 3]);
        assert!(all.is_empty());
    }

    #[test]
    fn oversized_frame_refused_from_header_alone() {
        let dec = FrameDecoder::new(100);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 101, 0, 3, 0, 0, 0, 0, 0, 1][..]);
        assert_eq!(
            dec.decode(&mut buf),
            Err(WireError::FrameTooLarge { len: 101, max: 100 })
        );
    }

    #[test]
    fn unknown_kind_refused() {
        let dec = FrameDecoder::new(100);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0][..]);
        assert_eq!(dec.decode(&mut buf), Err(WireError::UnknownKind(99)));
    }
}
