//! Target `frame_decoder`: a byte stream from a peer, cut into reads of chosen sizes.
//!
//! Input layout (so that libFuzzer mutates the cuts and the bytes alike):
//!
//! ```text
//! [n] [size_1 .. size_n] [stream ...]
//! ```
//!
//! `n` is the first byte modulo 16; the next `n` bytes are read sizes, used in turn and
//! then cycled, 0 meaning an empty read; everything after them is the stream. With
//! `n = 0` (or only zero sizes) the stream arrives in one read.
//!
//! The stream goes to `FrameDecoder::decode` (max body [`MAX_BODY`]) and to a
//! `ClientConnection` (same maximum), once whole and once in the chosen reads. Checked:
//! - nothing panics, and every error is a [`kefu_wire::WireError`] with a known code;
//! - frames and errors do not depend on how the reads were cut;
//! - a decoded frame is exactly the bytes it was taken from (flags aside), and the decoder
//!   never waits for more than one header plus one maximum body;
//! - the connection's events match the frames it was given, and everything it wrote
//!   itself (its `Hello`, the `Pong`s answering pings) is well-formed.

use crate::check_error;
use bytes::BytesMut;
use kefu_wire::frame::{put_frame, HEADER_LEN};
use kefu_wire::{
    Body, ClientConnection, ClientEvent, ErrorBody, Frame, FrameDecoder, FrameKind, Hello, Ping,
    Pong, Response, WireError, DEFAULT_MAX_FRAME,
};

/// The maximum body length configured on both the decoder and the connection: small, so
/// the fuzzer easily writes headers on both sides of it.
pub const MAX_BODY: u32 = 4096;

/// Largest number of read-size bytes at the front of an input.
const MAX_SIZES: u8 = 15;

/// Runs every check on one input. Panics on a violated property.
pub fn check(data: &[u8]) {
    let (sizes, stream) = split_input(data);

    let whole = decode_stream(Reads::whole(stream));
    let cut = decode_stream(Reads::new(sizes, stream));
    assert_eq!(
        whole, cut,
        "FrameDecoder output depends on how reads are cut"
    );
    check_frames_match_stream(&whole.frames, stream);

    let whole_conn = drive_connection(Reads::whole(stream));
    let cut_conn = drive_connection(Reads::new(sizes, stream));
    assert_eq!(
        whole_conn, cut_conn,
        "ClientConnection behaviour depends on how reads are cut"
    );
    check_connection_matches_frames(&whole_conn, &whole);
}

/// Builds an input for [`check`] from read sizes and a stream (used by the seeds).
pub fn input(sizes: &[u8], stream: &[u8]) -> Vec<u8> {
    let n = sizes.len().min(usize::from(MAX_SIZES));
    let mut out = Vec::with_capacity(1 + n + stream.len());
    out.push(u8::try_from(n).unwrap_or(MAX_SIZES));
    out.extend_from_slice(&sizes[..n]);
    out.extend_from_slice(stream);
    out
}

/// Splits an input into its read sizes and its stream.
fn split_input(data: &[u8]) -> (&[u8], &[u8]) {
    let Some((&n, rest)) = data.split_first() else {
        return (&[], &[]);
    };
    let n = usize::from(n % (MAX_SIZES + 1)).min(rest.len());
    rest.split_at(n)
}

/// The reads a stream arrives in: sizes used in turn and cycled, 0 an empty read.
struct Reads<'a> {
    sizes: &'a [u8],
    next_size: usize,
    rest: &'a [u8],
    done: bool,
}

impl<'a> Reads<'a> {
    fn new(sizes: &'a [u8], stream: &'a [u8]) -> Reads<'a> {
        // Only zero sizes would never make progress: read the whole stream at once.
        let sizes = if sizes.iter().all(|&s| s == 0) {
            &[]
        } else {
            sizes
        };
        Reads {
            sizes,
            next_size: 0,
            rest: stream,
            done: false,
        }
    }

    fn whole(stream: &'a [u8]) -> Reads<'a> {
        Reads::new(&[], stream)
    }
}

impl<'a> Iterator for Reads<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.done {
            return None;
        }
        let Some(&size) = self.sizes.get(self.next_size % self.sizes.len().max(1)) else {
            self.done = true;
            return Some(self.rest);
        };
        self.next_size += 1;
        let (read, rest) = self.rest.split_at(usize::from(size).min(self.rest.len()));
        self.rest = rest;
        self.done = rest.is_empty() && size != 0;
        Some(read)
    }
}

/// What a bare `FrameDecoder` made of a stream.
#[derive(Debug, PartialEq)]
struct Decoded {
    /// Whole frames, in order.
    frames: Vec<Frame>,
    /// The error that ended decoding, or the bytes still buffered at the end.
    end: Result<Vec<u8>, WireError>,
}

fn decode_stream(reads: Reads<'_>) -> Decoded {
    let decoder = FrameDecoder::new(MAX_BODY);
    let limit = HEADER_LEN + MAX_BODY as usize;
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(frame)) => {
                    assert!(
                        frame.body.len() <= MAX_BODY as usize,
                        "frame body of {} bytes passed a maximum of {MAX_BODY}",
                        frame.body.len()
                    );
                    frames.push(frame);
                }
                Ok(None) => {
                    // Whatever is buffered is less than one whole frame: a peer cannot
                    // make the decoder wait on more than header + maximum body.
                    assert!(
                        buf.len() < limit,
                        "decoder wants more with {} bytes buffered (limit {limit})",
                        buf.len()
                    );
                    break;
                }
                Err(e) => {
                    check_error(&e);
                    return Decoded {
                        frames,
                        end: Err(e),
                    };
                }
            }
        }
    }
    Decoded {
        frames,
        end: Ok(buf.to_vec()),
    }
}

/// Re-encodes the frames and compares them with the front of the stream they came from.
/// The flags are reserved and ignored on receipt, so they are not compared.
fn check_frames_match_stream(frames: &[Frame], stream: &[u8]) {
    let mut at = 0;
    for (i, frame) in frames.iter().enumerate() {
        let mut encoded = BytesMut::new();
        put_frame(&mut encoded, frame.kind, frame.correlation, &frame.body);
        let original = stream
            .get(at..at + encoded.len())
            .unwrap_or_else(|| panic!("frame {i} is longer than the bytes left in the stream"));
        let mut original = original.to_vec();
        original[6..8].fill(0);
        assert_eq!(
            &encoded[..],
            &original[..],
            "frame {i} differs from the bytes it was decoded from"
        );
        at += encoded.len();
    }
}

/// What a `ClientConnection` made of a stream.
#[derive(Debug, PartialEq)]
struct Driven {
    /// Events polled, in order.
    events: Vec<ClientEvent>,
    /// Every byte the connection asked to be written.
    written: Vec<u8>,
    /// The error that closed the connection, if any.
    end: Result<(), WireError>,
    /// `is_ready` at the end.
    ready: bool,
    /// `last_push_seq` at the end.
    last_push_seq: u64,
}

fn drive_connection(reads: Reads<'_>) -> Driven {
    let mut conn = ClientConnection::new("kefu-wire-fuzz", MAX_BODY);
    let mut events = Vec::new();
    let mut written = Vec::new();
    let mut end = Ok(());
    for read in reads {
        let result = conn.handle_input(read);
        while let Some(event) = conn.poll_event() {
            events.push(event);
        }
        written.extend_from_slice(conn.transmit());
        conn.consume_transmit(usize::MAX);
        assert!(conn.transmit().is_empty(), "consume_transmit left bytes");
        if let Err(e) = result {
            check_error(&e);
            // The stream is unusable: a transport closes here, and so do we.
            end = Err(e);
            break;
        }
    }
    Driven {
        events,
        written,
        end,
        ready: conn.is_ready(),
        last_push_seq: conn.last_push_seq(),
    }
}

/// The connection must have turned the frames the bare decoder found into the events a
/// reading of `wire/PROTOCOL.md` predicts, up to the first frame it refused, answered
/// every ping before that, and written nothing else but its `Hello`.
fn check_connection_matches_frames(conn: &Driven, decoded: &Decoded) {
    let mut events = conn.events.iter();
    let mut pongs = Vec::new();
    let mut refused_at = None;
    for (i, frame) in decoded.frames.iter().enumerate() {
        match expected_reaction(frame) {
            Reaction::Pong(nonce) => pongs.push(nonce),
            Reaction::Event(expected) => match events.next() {
                Some(event) => assert_eq!(event, &expected, "event for frame {i}"),
                None => {
                    refused_at = Some(i);
                    break;
                }
            },
            Reaction::Close => {
                refused_at = Some(i);
                break;
            }
        }
    }
    assert!(
        events.next().is_none(),
        "the connection reported events no frame explains"
    );
    match (&conn.end, refused_at, &decoded.end) {
        // Every frame accepted and the stream ended cleanly, or a frame refused.
        (Ok(()), None, Ok(_)) | (Err(_), Some(_), _) => {}
        // Every whole frame accepted, then the same framing error.
        (Err(e), None, Err(d)) => assert_eq!(e, d, "connection and decoder failed differently"),
        (end, refused_at, decoder_end) => panic!(
            "connection ended with {end:?}, frame {refused_at:?} should have been refused, \
             decoder ended with {decoder_end:?}"
        ),
    }

    let welcomed = conn
        .events
        .iter()
        .any(|e| matches!(e, ClientEvent::Welcome(_)));
    assert_eq!(conn.ready, welcomed, "is_ready disagrees with the events");
    let max_push = conn
        .events
        .iter()
        .filter_map(|e| match e {
            ClientEvent::Push(p) => Some(p.seq),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    assert_eq!(
        conn.last_push_seq, max_push,
        "last_push_seq is not the highest push"
    );

    // What the connection wrote: its Hello, then one Pong per ping, in order.
    let out = FrameDecoder::new(DEFAULT_MAX_FRAME);
    let mut written = BytesMut::from(&conn.written[..]);
    let mut frames = Vec::new();
    while let Some(frame) = out
        .decode(&mut written)
        .unwrap_or_else(|e| panic!("the connection wrote a bad frame: {e:?}"))
    {
        frames.push(frame);
    }
    assert!(written.is_empty(), "the connection wrote a partial frame");
    let Some((hello, answers)) = frames.split_first() else {
        panic!("the connection wrote no Hello");
    };
    assert_eq!(
        hello.kind,
        FrameKind::Hello,
        "the first frame written is not Hello"
    );
    if let Err(e) = Hello::decode(&hello.body) {
        panic!("the connection wrote a bad Hello: {e:?}");
    }
    let answered: Vec<u64> = answers
        .iter()
        .map(|f| {
            assert_eq!(
                f.kind,
                FrameKind::Pong,
                "the connection wrote a {:?}",
                f.kind
            );
            match Pong::decode(&f.body) {
                Ok(pong) => pong.nonce,
                Err(e) => panic!("the connection wrote a bad Pong: {e:?}"),
            }
        })
        .collect();
    assert_eq!(
        answered, pongs,
        "pings were not answered one Pong each, in order"
    );
}

/// What a client connection should do with one server frame.
enum Reaction {
    /// Report this event.
    Event(ClientEvent),
    /// Answer a ping with this nonce, reporting nothing.
    Pong(u64),
    /// Refuse the frame and close: a bad body, or a kind a server never sends.
    Close,
}

/// The reaction `wire/PROTOCOL.md` prescribes, worked out independently of `conn.rs`.
fn expected_reaction(frame: &Frame) -> Reaction {
    fn event<T: Body>(body: &[u8], f: impl FnOnce(T) -> ClientEvent) -> Reaction {
        T::decode(body).map_or(Reaction::Close, |v| Reaction::Event(f(v)))
    }
    let correlation = frame.correlation;
    let body = &frame.body[..];
    match frame.kind {
        FrameKind::Welcome => event(body, ClientEvent::Welcome),
        FrameKind::Response => event(body, |r: Response| ClientEvent::Response {
            correlation,
            result: Ok(r),
        }),
        FrameKind::Error => event(body, |e: ErrorBody| {
            if correlation == 0 {
                ClientEvent::ConnectionError(e)
            } else {
                ClientEvent::Response {
                    correlation,
                    result: Err(e),
                }
            }
        }),
        FrameKind::Push => event(body, ClientEvent::Push),
        FrameKind::Pong => event(body, ClientEvent::Pong),
        FrameKind::GoAway => event(body, ClientEvent::GoAway),
        FrameKind::GoAwayTo => event(body, ClientEvent::GoAwayTo),
        FrameKind::Ping => Ping::decode(body).map_or(Reaction::Close, |p| Reaction::Pong(p.nonce)),
        // Kinds a server never sends a client: the replication stream's among them.
        FrameKind::Hello
        | FrameKind::Request
        | FrameKind::PushAck
        | FrameKind::ReplicaHello
        | FrameKind::ReplicaBatches
        | FrameKind::ReplicaApplied => Reaction::Close,
    }
}
