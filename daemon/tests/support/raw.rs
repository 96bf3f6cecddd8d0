//! A peer that speaks frames by hand over a plain TCP stream and reads only when the
//! test says: the stalled readers and pipelining clients of the slow-consumer and
//! output-budget tests. Every read has a bounded timeout ([`PATIENCE`]); nothing here
//! sleeps.

use super::TestServer;
use bytes::BytesMut;
use kefu_wire::chat::MessageBody;
use kefu_wire::{
    Body, Event, Frame, FrameDecoder, FrameKind, GoAway, Hello, Push, Request, Response,
};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// The longest any single wait may take before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// A connection speaking frames by hand.
pub struct Raw {
    pub stream: TcpStream,
    pub input: BytesMut,
    pub decoder: FrameDecoder,
}

impl Raw {
    /// Over a connected `stream`: says hello as `client` and reads the welcome.
    pub fn greet(stream: TcpStream, client: &str) -> Raw {
        stream.set_nodelay(true).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut raw = Raw {
            stream,
            input: BytesMut::new(),
            decoder: FrameDecoder::new(kefu_wire::MAX_FRAME_CEILING),
        };
        let hello = Hello {
            magic: kefu_wire::MAGIC,
            min_version: 1,
            max_version: 1,
            client: client.into(),
        };
        raw.send(&hello, 0);
        let welcome = raw.frame().expect("a Welcome");
        assert_eq!(welcome.kind, FrameKind::Welcome, "{welcome:?}");
        raw
    }

    pub fn send<B: Body>(&mut self, body: &B, correlation: u32) {
        let mut out = BytesMut::new();
        body.write_frame(correlation, &mut out);
        self.stream.write_all(&out).expect("send");
    }

    /// The next frame; `None` at an orderly end of the stream. Fails on a reset
    /// or when nothing comes within [`PATIENCE`].
    pub fn frame(&mut self) -> Option<Frame> {
        loop {
            if let Some(frame) = self.decoder.decode(&mut self.input).expect("framing") {
                return Some(frame);
            }
            let mut buf = [0u8; 64 * 1024];
            match self.stream.read(&mut buf) {
                Ok(0) => {
                    assert!(self.input.is_empty(), "the stream ended inside a frame");
                    return None;
                }
                Ok(n) => self.input.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("read failed (a reset or no frame within {PATIENCE:?}): {e}"),
            }
        }
    }

    /// The answer to `request`, skipping pushes.
    pub fn request(&mut self, request: &Request, correlation: u32) -> Response {
        self.send(request, correlation);
        loop {
            let frame = self.frame().expect("an answer");
            if frame.kind == FrameKind::Push {
                continue;
            }
            assert_eq!(
                (frame.kind, frame.correlation),
                (FrameKind::Response, correlation),
                "{frame:?}"
            );
            return Response::decode(&frame.body).unwrap();
        }
    }

    /// Reads pushes until the goodbye, which must be followed by the end of the
    /// stream; returns the pushes, in order, and the goodbye. Sends nothing.
    pub fn pushes_until_goodbye(&mut self) -> (Vec<Push>, GoAway) {
        let mut pushes = Vec::new();
        loop {
            let frame = self.frame().expect("a frame before the end: the goodbye");
            match frame.kind {
                FrameKind::Push => pushes.push(Push::decode(&frame.body).unwrap()),
                FrameKind::GoAway => {
                    let goaway = GoAway::decode(&frame.body).unwrap();
                    let after = self.frame();
                    assert!(after.is_none(), "a frame after the goodbye: {after:?}");
                    return (pushes, goaway);
                }
                _ => panic!("unexpected {frame:?}"),
            }
        }
    }
}

/// A shard counter summed over the daemon's shards.
pub fn total(s: &TestServer, f: impl Fn(&kefu_daemon::stats::ShardCounters) -> u64) -> u64 {
    (0..s.handle().shards())
        .filter_map(|i| s.handle().counters(i))
        .map(f)
        .sum()
}

/// A text of `n` characters.
pub fn text(n: usize, tag: u64) -> MessageBody {
    let mut t = format!("{tag}:");
    while t.len() < n {
        t.push('x');
    }
    MessageBody::Text(t)
}

/// The ids of the messages among `pushes`, in order.
pub fn message_ids(pushes: &[Push]) -> Vec<u64> {
    pushes
        .iter()
        .filter_map(|p| match &p.event {
            Event::Message(m) => Some(m.id),
            _ => None,
        })
        .collect()
}
