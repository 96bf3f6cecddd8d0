//! A sans-IO client connection: bytes in, events out, no sockets.
//!
//! Call order, for any transport (blocking, mio, a test harness):
//! 1. [`ClientConnection::new`] queues the `Hello`.
//! 2. Write out [`ClientConnection::transmit`], then [`ClientConnection::consume_transmit`]
//!    what was written.
//! 3. Feed every byte read to [`ClientConnection::handle_input`].
//! 4. Drain [`ClientConnection::poll_event`] until `None`.
//! 5. Requests ([`ClientConnection::send_request`]) may be queued any time after
//!    `new`; they go out behind the `Hello`.
//! 6. Timers (optional): after each batch of I/O, and whenever the instant
//!    from [`ClientConnection::poll_timeout`] passes, call
//!    [`ClientConnection::handle_timeout`]. The connection then sends a `Ping`
//!    whenever nothing was sent or received for the `heartbeat_ms` the
//!    `Welcome` announced, and reports the server dead
//!    ([`ClientEvent::ConnectionError`] with `IDLE_TIMEOUT`) when nothing at
//!    all was received for its `idle_timeout_ms`.
//!
//! The connection answers server `Ping`s by itself and never blocks.
//!
//! It reads no clock: input and output are dated by the next `handle_timeout`
//! call. A driver that calls it after each batch of I/O gets exact timers; one
//! that calls it only when `poll_timeout` says so may ping up to one interval
//! late, never early, and never declares a live server dead early.

use crate::error::{ErrorCode, WireError};
use crate::frame::{Frame, FrameDecoder, FrameKind};
use crate::message::*;
use bytes::{Buf, BytesMut};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Nonces with this bit set are the connection's own heartbeats: their `Pong`s
/// raise no event. Callers of [`ClientConnection::send_ping`] use nonces without it.
pub const HEARTBEAT_NONCE_BIT: u64 = 1 << 63;

/// Something the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The handshake completed.
    Welcome(Welcome),
    /// The answer to request `correlation`.
    Response {
        /// Correlation id returned by `send_request`.
        correlation: u32,
        /// The answer or the typed error.
        result: Result<Response, ErrorBody>,
    },
    /// A numbered server push.
    Push(Push),
    /// An answer to one of our pings.
    Pong(Pong),
    /// An error about the connection itself (correlation 0), e.g. version refused.
    ///
    /// Also raised by the connection itself, with `IDLE_TIMEOUT`, when
    /// [`ClientConnection::handle_timeout`] finds that nothing was received
    /// from the server for its idle timeout: close the transport.
    ConnectionError(ErrorBody),
    /// The server is closing the connection.
    GoAway(GoAway),
    /// The server is closing the connection and names where to go instead.
    GoAwayTo(GoAwayTo),
}

/// Handshake progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    AwaitWelcome,
    Ready,
}

/// Client side of one protocol connection, independent of any I/O.
#[derive(Debug)]
pub struct ClientConnection {
    decoder: FrameDecoder,
    input: BytesMut,
    output: BytesMut,
    state: State,
    next_correlation: u32,
    last_push_seq: u64,
    last_ack_sent: u64,
    events: VecDeque<ClientEvent>,
    timers: Timers,
}

/// Heartbeat and liveness bookkeeping, from the `Welcome` on.
#[derive(Debug, Default)]
struct Timers {
    heartbeat: Option<Duration>,
    idle_timeout: Option<Duration>,
    /// Activity since the last `handle_timeout`, dated by it.
    sent_since: bool,
    received_since: bool,
    last_sent: Option<Instant>,
    last_received: Option<Instant>,
    last_ping: Option<Instant>,
    pings: u64,
    server_dead: bool,
}

impl ClientConnection {
    /// A new connection that will announce itself as `client_name` and accept
    /// frames up to `max_frame` bytes.
    pub fn new(client_name: &str, max_frame: u32) -> ClientConnection {
        let mut output = BytesMut::with_capacity(64);
        let mut name = client_name.to_string();
        truncate_utf8(&mut name, 64);
        Hello {
            magic: crate::MAGIC,
            min_version: *crate::PROTOCOL_VERSIONS.start(),
            max_version: *crate::PROTOCOL_VERSIONS.end(),
            client: name,
        }
        .write_frame(0, &mut output);
        ClientConnection {
            decoder: FrameDecoder::new(max_frame),
            input: BytesMut::new(),
            output,
            state: State::AwaitWelcome,
            next_correlation: 1,
            last_push_seq: 0,
            last_ack_sent: 0,
            events: VecDeque::new(),
            timers: Timers::default(),
        }
    }

    /// Whether the server's `Welcome` has arrived.
    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    /// Queues a request and returns its correlation id (never 0).
    pub fn send_request(&mut self, request: &Request) -> u32 {
        let correlation = self.next_correlation;
        self.next_correlation = self.next_correlation.wrapping_add(1).max(1);
        request.write_frame(correlation, &mut self.output);
        correlation
    }

    /// Queues a ping; its `Pong` comes back as [`ClientEvent::Pong`] unless
    /// `nonce` has [`HEARTBEAT_NONCE_BIT`] set.
    pub fn send_ping(&mut self, nonce: u64) {
        Ping { nonce }.write_frame(0, &mut self.output);
    }

    /// Queues a cumulative acknowledgement of every push received so far.
    pub fn ack_pushes(&mut self) {
        PushAck {
            up_to: self.last_push_seq,
        }
        .write_frame(0, &mut self.output);
        self.last_ack_sent = self.last_push_seq;
    }

    /// Pushes received since the last [`Self::ack_pushes`].
    pub fn unacked_pushes(&self) -> u64 {
        self.last_push_seq.saturating_sub(self.last_ack_sent)
    }

    /// Highest push sequence number received.
    pub fn last_push_seq(&self) -> u64 {
        self.last_push_seq
    }

    /// Bytes waiting to be written to the transport.
    pub fn transmit(&self) -> &[u8] {
        &self.output
    }

    /// Marks `n` bytes of [`Self::transmit`] as written.
    pub fn consume_transmit(&mut self, n: usize) {
        let n = n.min(self.output.len());
        self.output.advance(n);
        if n > 0 {
            self.timers.sent_since = true;
        }
    }

    /// Feeds bytes read from the transport. An `Err` means the stream is
    /// unusable: close the transport.
    pub fn handle_input(&mut self, data: &[u8]) -> Result<(), WireError> {
        self.input.extend_from_slice(data);
        while let Some(frame) = self.decoder.decode(&mut self.input)? {
            self.timers.received_since = true;
            self.handle_frame(frame)?;
        }
        Ok(())
    }

    /// When [`Self::handle_timeout`] should next be called, if ever (no timer
    /// runs before the `Welcome`, nor before the first `handle_timeout` after
    /// it, nor once the server is reported dead).
    pub fn poll_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        if self.state != State::Ready || t.server_dead {
            return None;
        }
        let dead_at = t
            .idle_timeout
            .zip(t.last_received)
            .and_then(|(idle, heard)| heard.checked_add(idle));
        match (dead_at, self.ping_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs the heartbeat and liveness timers at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state != State::Ready || self.timers.server_dead {
            return;
        }
        let t = &mut self.timers;
        if t.received_since || t.last_received.is_none() {
            t.last_received = Some(now);
            t.received_since = false;
        }
        if t.sent_since || t.last_sent.is_none() {
            t.last_sent = Some(now);
            t.sent_since = false;
        }
        let dead_at = t
            .idle_timeout
            .zip(t.last_received)
            .and_then(|(idle, heard)| heard.checked_add(idle));
        if let (Some(idle), Some(at)) = (t.idle_timeout, dead_at) {
            if now >= at {
                t.server_dead = true;
                self.events
                    .push_back(ClientEvent::ConnectionError(ErrorBody {
                        code: ErrorCode::IDLE_TIMEOUT,
                        message: format!(
                            "nothing received from the server for {} ms",
                            idle.as_millis()
                        ),
                    }));
                return;
            }
        }
        if self.ping_due().is_some_and(|at| now >= at) {
            self.timers.pings += 1;
            let nonce = HEARTBEAT_NONCE_BIT | self.timers.pings;
            self.send_ping(nonce);
            self.timers.last_ping = Some(now);
        }
    }

    /// Whether [`Self::handle_timeout`] found the server silent past its idle timeout.
    pub fn is_server_dead(&self) -> bool {
        self.timers.server_dead
    }

    /// A ping is due a heartbeat after the quieter direction last moved, and
    /// at most one per heartbeat.
    fn ping_due(&self) -> Option<Instant> {
        let t = &self.timers;
        let heartbeat = t.heartbeat?;
        let quiet = t.last_sent?.min(t.last_received?);
        let base = t.last_ping.map_or(quiet, |p| p.max(quiet));
        base.checked_add(heartbeat)
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn handle_frame(&mut self, frame: Frame) -> Result<(), WireError> {
        let event = match frame.kind {
            FrameKind::Welcome => {
                let welcome = Welcome::decode(&frame.body)?;
                self.state = State::Ready;
                let ms = |ms: u32| (ms > 0).then(|| Duration::from_millis(ms.into()));
                self.timers.heartbeat = ms(welcome.heartbeat_ms);
                self.timers.idle_timeout = ms(welcome.idle_timeout_ms);
                ClientEvent::Welcome(welcome)
            }
            FrameKind::Response => ClientEvent::Response {
                correlation: frame.correlation,
                result: Ok(Response::decode(&frame.body)?),
            },
            FrameKind::Error => {
                let error = ErrorBody::decode(&frame.body)?;
                if frame.correlation == 0 {
                    ClientEvent::ConnectionError(error)
                } else {
                    ClientEvent::Response {
                        correlation: frame.correlation,
                        result: Err(error),
                    }
                }
            }
            FrameKind::Push => {
                let push = Push::decode(&frame.body)?;
                self.last_push_seq = self.last_push_seq.max(push.seq);
                ClientEvent::Push(push)
            }
            FrameKind::Ping => {
                let ping = Ping::decode(&frame.body)?;
                Pong { nonce: ping.nonce }.write_frame(0, &mut self.output);
                return Ok(());
            }
            FrameKind::Pong => {
                let pong = Pong::decode(&frame.body)?;
                if pong.nonce & HEARTBEAT_NONCE_BIT != 0 {
                    return Ok(());
                }
                ClientEvent::Pong(pong)
            }
            FrameKind::GoAway => ClientEvent::GoAway(GoAway::decode(&frame.body)?),
            FrameKind::GoAwayTo => ClientEvent::GoAwayTo(GoAwayTo::decode(&frame.body)?),
            FrameKind::Hello
            | FrameKind::Request
            | FrameKind::PushAck
            | FrameKind::ReplicaHello
            | FrameKind::ReplicaBatches
            | FrameKind::ReplicaApplied => {
                return Err(WireError::UnknownKind(frame.kind as u16));
            }
        };
        self.events.push_back(event);
        Ok(())
    }
}

/// Cuts `s` to at most `max` bytes on a character boundary.
pub(crate) fn truncate_utf8(s: &mut String, max: usize) {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
    }
}

impl ClientEvent {
    /// The error code, where this event is an error or a go-away.
    pub fn error_code(&self) -> Option<ErrorCode> {
        match self {
            ClientEvent::Response { result: Err(e), .. } | ClientEvent::ConnectionError(e) => {
                Some(e.code)
            }
            ClientEvent::GoAway(g) => Some(g.code),
            ClientEvent::GoAwayTo(g) => Some(g.code),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_first_then_requests_and_answers() {
        let mut c = ClientConnection::new("test", 1024);
        let corr = c.send_request(&Request::WhoAmI);
        assert_eq!(corr, 1);
        let out = c.transmit().to_vec();
        let dec = FrameDecoder::new(1024);
        let mut buf = BytesMut::from(&out[..]);
        let hello = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(hello.kind, FrameKind::Hello);
        let req = dec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(req.kind, FrameKind::Request);
        assert_eq!(req.correlation, 1);
        c.consume_transmit(out.len());

        let mut input = BytesMut::new();
        Welcome {
            version: 1,
            server: "s".into(),
            max_frame: 1024,
            heartbeat_ms: 1,
            idle_timeout_ms: 2,
        }
        .write_frame(0, &mut input);
        Response::Ok.write_frame(1, &mut input);
        Ping { nonce: 9 }.write_frame(0, &mut input);
        // Feed one byte at a time: framing must not care how reads are cut.
        for b in input.iter() {
            c.handle_input(&[*b]).unwrap();
        }
        assert!(matches!(c.poll_event(), Some(ClientEvent::Welcome(_))));
        assert_eq!(
            c.poll_event(),
            Some(ClientEvent::Response {
                correlation: 1,
                result: Ok(Response::Ok)
            })
        );
        assert_eq!(c.poll_event(), None);
        // The ping was answered without the caller's help.
        let mut out = BytesMut::from(c.transmit());
        let pong = dec.decode(&mut out).unwrap().unwrap();
        assert_eq!(pong.kind, FrameKind::Pong);
        assert_eq!(Pong::decode(&pong.body).unwrap().nonce, 9);
    }

    #[test]
    fn truncation_respects_char_boundaries() {
        let mut s = "客服客服".to_string();
        truncate_utf8(&mut s, 4);
        assert_eq!(s, "客");
    }
}
