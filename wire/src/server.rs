//! A sans-IO server connection: the server side of one protocol connection,
//! bytes in, events and bytes out, no sockets and no clock.
//!
//! It owns everything about a connection that is protocol rather than domain:
//! the `Hello` checks and the version choice, pings, the correlation rules,
//! push numbering and acknowledgements, the output bound, and the handshake,
//! idle and closing timers. The driver (kefud's shard, a test) owns the socket
//! and the meaning of requests.
//!
//! Time comes in as [`Instant`]s passed by the driver; the connection never
//! reads a clock.
//!
//! Call order:
//! 1. [`ServerConnection::new`] when a connection is accepted.
//! 2. Feed every byte read to [`ServerConnection::handle_input`]. It only
//!    buffers and checks frame headers (an oversized frame is refused from its
//!    header, before its body is buffered); frames are parsed as events are
//!    polled.
//! 3. Drain [`ServerConnection::poll_event`] until `None`. For each
//!    [`ServerEvent::Request`], answer later (in any order) with
//!    [`ServerConnection::respond`]. To stop reading after a request (kefud
//!    does while a login's password is hashed), call
//!    [`ServerConnection::pause`]: `poll_event` then yields nothing new and the
//!    rest of the input stays buffered until [`ServerConnection::resume`]. To
//!    hand the connection to another thread together with the request just
//!    polled, call [`ServerConnection::unread_request`] and move the whole
//!    value: the next `poll_event`, wherever it runs, yields that request again.
//! 4. Write out [`ServerConnection::poll_transmit`], then
//!    [`ServerConnection::consume_transmit`] what was written.
//! 5. After any of the above, arm a timer at [`ServerConnection::poll_timeout`]
//!    and call [`ServerConnection::handle_timeout`] when it passes (an instant
//!    already past means "now"). To give memory back promptly, arm it also at
//!    [`ServerConnection::buffers_release_at`]: a busy connection keeps its emptied
//!    input and output buffers for reuse until [`BUFFER_KEEP`] after its last frame.
//! 6. Tell it when the peer logs in or out ([`ServerConnection::set_logged_in`]):
//!    until it is logged in, frames over `max_frame_before_login` are refused
//!    from their header and it must log in within `login_timeout`.
//! 7. Once [`ServerConnection::is_closed`], drop the transport. From
//!    [`ServerConnection::is_closing`] on, stop reading (bytes handed in are
//!    discarded) but keep writing: the goodbye frame is still going out.
//!
//! Pings are answered, acks and liveness are tracked and a request body that
//! does not decode is answered `BAD_REQUEST` by the connection itself; such an
//! answer may overtake the answers to earlier requests still being worked on,
//! which clients match by correlation id anyway (PROTOCOL.md section 5).
//!
//! After its goodbye (`GoAway`, or `Error` with correlation 0) the connection
//! queues nothing more: the goodbye is always the last frame.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

use crate::error::{ErrorCode, WireError};
use crate::frame::{FrameDecoder, FrameKind, HEADER_LEN};
use crate::message::*;
use bytes::{Buf, BytesMut};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest client name a `Hello` may carry, in bytes.
pub const MAX_CLIENT_NAME_BYTES: usize = 64;

/// Default bound of pushes sent and not yet acknowledged on one connection.
pub const DEFAULT_MAX_UNACKED_PUSHES: u64 = 8192;

/// Default largest frame body accepted from a connection that is not logged in
/// (PROTOCOL.md section 2): every valid frame before a login (`Hello`, `Login`,
/// `Resume`, `CustomerLogin`, `VisitorLogin`, `ResumeSession`, pings) is far smaller,
/// and an unauthenticated peer can make the server buffer no more than this.
pub const DEFAULT_MAX_FRAME_BEFORE_LOGIN: u32 = 4096;

/// How long a connection keeps its emptied input and output buffers after the last
/// frame it received: a busy connection (a frame at least this often) reuses them for
/// every request and answer instead of allocating anew; an idle one holds none
/// ([`ServerConnection::buffers_release_at`] says when they go back).
pub const BUFFER_KEEP: Duration = Duration::from_secs(1);

/// Frames a connection receives before it keeps emptied buffers ([`BUFFER_KEEP`]): its
/// `Hello`, its login and the requests right behind it are no stream yet, and
/// thousands of connections logging in together would each keep buffers for nothing.
pub const KEEP_AFTER_FRAMES: u64 = 4;

/// The largest emptied buffer kept for reuse ([`BUFFER_KEEP`]); a larger one (a burst,
/// a large frame) is given back at once.
pub const KEPT_BUFFER_BYTES: usize = 16 * 1024;

/// The limits and names a server applies to every connection (shared: one
/// `Arc` for all connections).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerConfig {
    /// Largest frame body accepted (capped at [`crate::MAX_FRAME_CEILING`]),
    /// announced in `Welcome`.
    pub max_frame: u32,
    /// Largest frame body accepted while the connection is not logged in
    /// ([`ServerConnection::set_logged_in`]); never more than `max_frame`.
    pub max_frame_before_login: u32,
    /// Client heartbeat interval announced in `Welcome`.
    pub heartbeat: Duration,
    /// A connection from which no frame arrives for this long is told
    /// `GoAway` `IDLE_TIMEOUT`; announced in `Welcome`.
    pub idle_timeout: Duration,
    /// A connection with no frame at all this long after it opened is closed
    /// without a word.
    pub handshake_timeout: Duration,
    /// A connection not logged in this long after it opened (or logged out) is
    /// told `GoAway` `IDLE_TIMEOUT`. Not counted down while paused.
    pub login_timeout: Duration,
    /// How long a closing connection may take to write its goodbye before it
    /// is closed anyway.
    pub closing_grace: Duration,
    /// Bytes of output that may wait for the peer; past this the backlog is
    /// dropped and the peer told `GoAway` `SLOW_CONSUMER`.
    pub max_pending_output: usize,
    /// Pushes that may be sent and not acknowledged; one more and the peer is
    /// told `GoAway` `SLOW_CONSUMER`.
    pub max_unacked_pushes: u64,
    /// Server name and version, announced in `Welcome`.
    pub server_name: String,
}

impl Default for ServerConfig {
    /// kefud's defaults.
    fn default() -> Self {
        ServerConfig {
            max_frame: crate::DEFAULT_MAX_FRAME,
            max_frame_before_login: DEFAULT_MAX_FRAME_BEFORE_LOGIN,
            heartbeat: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(90),
            handshake_timeout: Duration::from_secs(10),
            login_timeout: Duration::from_secs(30),
            closing_grace: Duration::from_secs(5),
            max_pending_output: 4 << 20,
            max_unacked_pushes: DEFAULT_MAX_UNACKED_PUSHES,
            server_name: concat!("kefu-wire/", env!("CARGO_PKG_VERSION")).into(),
        }
    }
}

/// Something the client did, or the connection decided, for the driver to act on.
// `Request` is large, but requests are handed out straight from the input,
// never queued in numbers: boxing would cost an allocation per request.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerEvent {
    /// A valid `Hello` was answered with `Welcome`.
    HandshakeDone {
        /// The protocol version chosen.
        version: u16,
        /// The client's name, from its `Hello`.
        client: String,
    },
    /// A request to answer with [`ServerConnection::respond`].
    Request {
        /// The client's correlation id (never 0).
        correlation: u32,
        /// The decoded request.
        request: Request,
    },
    /// The client acknowledged every push up to this number (the new highest,
    /// clamped to the pushes sent; raised only when it grows).
    PushAck(u64),
    /// The client broke the protocol: `Error` (correlation 0) was queued and
    /// the connection is closing.
    Fatal {
        /// The code sent.
        code: ErrorCode,
        /// The message sent.
        message: String,
        /// Whether the bytes themselves were at fault (a frame header or a
        /// control frame body that does not decode), as opposed to a
        /// well-formed frame not allowed here.
        protocol_error: bool,
    },
    /// The connection itself said `GoAway` (idle timeout, slow consumer) and
    /// is closing. Not raised for [`ServerConnection::go_away`].
    GoAway {
        /// The code sent.
        code: ErrorCode,
        /// The message sent.
        message: String,
    },
    /// No frame arrived within the handshake timeout: closed without a word.
    HandshakeTimeout,
}

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Waiting for `Hello`.
    AwaitHello,
    /// Handshaken.
    Open,
    /// The goodbye is queued; `grace_until` is set by the first
    /// `handle_timeout` that sees it (the calls that start closing have no clock).
    Closing { grace_until: Option<Instant> },
    /// Done: drop the transport.
    Closed,
}

/// What a resumable session's connection keeps.
#[derive(Debug, Default)]
struct Kept {
    /// The pushes sent and not yet acknowledged, oldest first, with their `seq`.
    pushes: VecDeque<(u64, Event)>,
    /// The `seq` of the last push sent by [`ServerConnection::replay`] (0: none).
    replay_end: u64,
    /// How many pushes at the back of `pushes` are numbered but not yet written to
    /// the output: a replay larger than the output bound goes out as the peer reads
    /// (and pushes after it wait behind it), so a session dropped for not reading
    /// can be resumed with all it missed.
    unwritten: usize,
}

/// What a connection holds only while it is busy: its buffers, cursors and queued
/// events. Boxed in [`ServerConnection`] and dropped when all of it is empty (an idle
/// connection), so that an idle connection does not carry it.
#[derive(Debug, Default)]
struct Io {
    /// Unparsed input; `scanned` bytes of it are whole frames with valid headers.
    input: BytesMut,
    scanned: usize,
    /// Length of the request frame at the front of `input` that was last
    /// polled; dropped at the next poll unless `unread_request` keeps it.
    held: usize,
    output: BytesMut,
    /// Unsent bytes of the frame at the front of `output`, 0 when `output`
    /// starts on a frame boundary.
    head_remaining: usize,
    events: VecDeque<ServerEvent>,
}

impl Io {
    /// Whether it holds nothing at all, allocations included.
    fn is_vacant(&self) -> bool {
        self.input.capacity() == 0
            && self.output.capacity() == 0
            && self.events.capacity() == 0
            && self.scanned == 0
            && self.held == 0
            && self.head_remaining == 0
    }
}

/// Server side of one protocol connection, independent of any I/O.
#[derive(Debug)]
pub struct ServerConnection {
    config: Arc<ServerConfig>,
    state: State,
    paused: bool,
    /// Buffers, cursors and events; `None` while there are none (module docs of
    /// [`Io`]).
    io: Option<Box<Io>>,
    /// The header right after the scanned frames is bad; reported when the
    /// frames before it have been polled.
    bad_header: Option<Box<WireError>>,
    /// When the last whole frame arrived (or the connection opened, or resumed).
    last_received: Instant,
    /// The latest instant the driver passed in.
    last_now: Instant,
    push_seq: u64,
    last_acked: u64,
    /// A resumable session's connection ([`Self::keep_unacked`]): boxed, as most
    /// connections never need it.
    kept: Option<Box<Kept>>,
    frames_received: u64,
    frames_sent: u64,
    /// Whether the driver said the connection is logged in: the frame limit is
    /// `max_frame`, not `max_frame_before_login`, and there is no login deadline.
    logged_in: bool,
    /// When a connection that is not logged in is told to go.
    login_by: Option<Instant>,
}

impl ServerConnection {
    /// A connection accepted at `now`, awaiting its `Hello`.
    pub fn new(config: impl Into<Arc<ServerConfig>>, now: Instant) -> ServerConnection {
        let config: Arc<ServerConfig> = config.into();
        let config_login_timeout = config.login_timeout;
        ServerConnection {
            config,
            state: State::AwaitHello,
            paused: false,
            io: None,
            bad_header: None,
            last_received: now,
            last_now: now,
            push_seq: 0,
            last_acked: 0,
            kept: None,
            frames_received: 0,
            frames_sent: 0,
            logged_in: false,
            login_by: now.checked_add(config_login_timeout),
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// Tells the connection whether it is logged in (the driver knows; an admin
    /// connection counts as logged in from the start). Logged in, frames up to
    /// `max_frame` are accepted and there is no login deadline; not logged in
    /// (a new connection, or after a logout), frames up to
    /// `max_frame_before_login`, and the connection must log in within
    /// `login_timeout` of `now`.
    pub fn set_logged_in(&mut self, logged_in: bool, now: Instant) {
        self.see(now);
        if self.logged_in == logged_in {
            return;
        }
        self.logged_in = logged_in;
        self.login_by = if logged_in {
            None
        } else {
            self.last_now.checked_add(self.config.login_timeout)
        };
    }

    /// Whether [`Self::set_logged_in`] last said so.
    pub fn is_logged_in(&self) -> bool {
        self.logged_in
    }

    /// The largest frame body accepted now.
    pub fn frame_limit(&self) -> u32 {
        if self.logged_in {
            self.config.max_frame
        } else {
            self.config
                .max_frame_before_login
                .min(self.config.max_frame)
        }
    }

    // ----- input -----

    /// Feeds bytes read from the transport at `now`.
    ///
    /// Headers are checked as soon as they are complete: once a bad one is
    /// seen (too long a body, unknown kind) nothing after it is kept, and the
    /// error is reported by `poll_event` after the frames before it. Bytes fed
    /// to a closing connection are discarded.
    ///
    /// A header over [`Self::frame_limit`] but within `max_frame`, behind
    /// frames not yet polled, waits for them: they may log the connection in
    /// and raise the limit (a driver that pauses after a login reads no more
    /// meanwhile). It is refused when it reaches the front still over the limit.
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        self.see(now);
        if !self.is_reading() || self.bad_header.is_some() {
            return;
        }
        if !bytes.is_empty() {
            self.io_mut().input.extend_from_slice(bytes);
        }
        self.scan(now);
    }

    /// Checks the headers of the input not yet scanned, as far as whole frames go.
    fn scan(&mut self, now: Instant) {
        if !self.is_reading() || self.bad_header.is_some() {
            return;
        }
        let decoder = self.decoder();
        let limit = self.frame_limit();
        let mut complete = false;
        let Some(io) = self.io.as_deref_mut() else {
            return;
        };
        loop {
            let rest = io.input.get(io.scanned..).unwrap_or_default();
            match decoder.peek_header(rest) {
                Ok(None) => break,
                Ok(Some(header)) if header.len > limit => {
                    if io.scanned > 0 {
                        // Decided when the frames before it have been polled.
                        break;
                    }
                    io.input = BytesMut::new();
                    self.bad_header = Some(Box::new(WireError::FrameTooLarge {
                        len: header.len,
                        max: limit,
                    }));
                    break;
                }
                Ok(Some(header)) => {
                    let end = HEADER_LEN.saturating_add(header.len as usize);
                    if rest.len() < end {
                        break;
                    }
                    io.scanned += end;
                    self.frames_received += 1;
                    complete = true;
                }
                Err(e) => {
                    // The stream cannot be framed past this point: keep none of it.
                    io.input.truncate(io.scanned);
                    self.bad_header = Some(Box::new(e));
                    break;
                }
            }
        }
        if complete {
            self.last_received = now;
        }
        self.settle();
    }

    /// The busy part, made when first needed.
    fn io_mut(&mut self) -> &mut Io {
        self.io.get_or_insert_with(Box::default)
    }

    /// Frame bytes scanned and not yet polled.
    fn scanned(&self) -> usize {
        self.io.as_deref().map_or(0, |io| io.scanned)
    }

    /// Drops the busy part once it holds nothing (nor any allocation).
    fn settle(&mut self) {
        if self.io.as_deref().is_some_and(Io::is_vacant) {
            self.io = None;
        }
    }

    /// The next event, parsing buffered frames as needed.
    pub fn poll_event(&mut self) -> Option<ServerEvent> {
        loop {
            if let Some(io) = self.io.as_deref_mut() {
                if let Some(event) = io.events.pop_front() {
                    if io.events.is_empty() {
                        io.events = VecDeque::new();
                        self.settle();
                    }
                    return Some(event);
                }
            }
            self.drop_held();
            if self.paused || !self.is_reading() {
                return None;
            }
            if self.scanned() == 0 {
                // Input held back behind frames polled since is checked now.
                self.scan(self.last_now);
            }
            if self.scanned() == 0 {
                let e = self.bad_header.take()?;
                return Some(self.protocol_error(&e));
            }
            if let Some(event) = self.next_frame() {
                return Some(event);
            }
        }
    }

    /// Stops yielding new frames from `poll_event` until [`Self::resume`]; the
    /// input stays buffered and the idle timer stops.
    pub fn pause(&mut self) {
        if self.is_reading() {
            self.paused = true;
        }
    }

    /// Undoes [`Self::pause`]. Time spent paused does not count as idle.
    pub fn resume(&mut self, now: Instant) {
        self.see(now);
        if self.paused {
            self.paused = false;
            self.last_received = now;
        }
    }

    /// Whether [`Self::pause`] is in force.
    pub fn is_paused(&self) -> bool {
        self.paused
    }

    /// Puts the request last returned by `poll_event` back in front of the
    /// input, to be yielded again by the next `poll_event` (after the value
    /// has moved to another thread, say). False when there is none to put
    /// back (another event was polled since, or the connection is closing).
    pub fn unread_request(&mut self) -> bool {
        if !self.is_reading() {
            return false;
        }
        match self.io.as_deref_mut() {
            Some(io) if io.held > 0 => {
                io.held = 0;
                true
            }
            _ => false,
        }
    }

    // ----- output -----

    /// Queues the answer to request `correlation`. False when the connection
    /// is closing (the answer is dropped).
    pub fn respond(&mut self, correlation: u32, result: Result<Response, ErrorBody>) -> bool {
        match result {
            Ok(response) => self.queue_frame(&response, correlation),
            Err(error) => self.queue_frame(&error, correlation),
        }
    }

    /// Queues a push and returns its sequence number (1, 2, 3 … on this
    /// connection). `None` when it was not sent: before the handshake, while
    /// closing, or because the client let more than `max_unacked_pushes`
    /// pushes go unacknowledged (the connection then says `GoAway`
    /// `SLOW_CONSUMER` and closes). A push that overflows the output bound is
    /// numbered and dropped with the backlog; [`Self::is_closing`] tells.
    pub fn push(&mut self, event: Event) -> Option<u64> {
        if self.state != State::Open {
            return None;
        }
        let max = self.config.max_unacked_pushes;
        // A replay does not count against the window.
        let replay_end = self.kept.as_ref().map_or(0, |k| k.replay_end);
        let used = self.push_seq - self.last_acked.max(replay_end);
        if used >= max {
            self.goodbye(
                ErrorCode::SLOW_CONSUMER,
                format!("more than {max} pushes sent and not acknowledged"),
            );
            return None;
        }
        self.push_seq += 1;
        let seq = self.push_seq;
        if let Some(kept) = self.kept.as_mut().filter(|k| k.unwritten > 0) {
            // Behind a replay still going out: it waits its turn.
            kept.pushes.push_back((seq, event));
            kept.unwritten += 1;
            self.write_replay();
            return Some(seq);
        }
        let push = Push { seq, event };
        self.queue_frame(&push, 0);
        if let Some(kept) = self.kept.as_mut() {
            // Kept even when the frame went down with a shed backlog: it was numbered.
            kept.pushes.push_back((seq, push.event));
        }
        Some(seq)
    }

    /// Queues a push like [`Self::push`] but outside the window of unacknowledged
    /// pushes: the replay of a resumed session, which may hold more than the window
    /// (what the old connection left unacknowledged, then what came while it was
    /// gone). The window counts only the pushes after the replay. A connection that
    /// replays keeps its unacknowledged pushes ([`Self::keep_unacked`]).
    ///
    /// The replay goes out as the peer reads, never more than half the output bound
    /// at a time, so it cannot make its own connection a slow consumer however much
    /// the old one left; pushes queued meanwhile wait behind it, in order.
    pub fn replay(&mut self, event: Event) -> Option<u64> {
        if self.state != State::Open {
            return None;
        }
        self.push_seq += 1;
        let seq = self.push_seq;
        let kept = self.kept.get_or_insert_with(Box::default);
        kept.replay_end = seq;
        kept.pushes.push_back((seq, event));
        kept.unwritten += 1;
        self.write_replay();
        Some(seq)
    }

    /// Writes kept pushes not yet written while the output is under half its bound:
    /// one more frame (at most `max_frame`, and the bound is at least twice that)
    /// never overflows it, so a replay never makes its own connection a slow
    /// consumer; the rest follows as the peer reads ([`Self::consume_transmit`]).
    fn write_replay(&mut self) {
        if self.state != State::Open {
            return;
        }
        let room = self.config.max_pending_output / 2;
        let Some(kept) = self.kept.as_mut() else {
            return;
        };
        if kept.unwritten == 0 {
            return;
        }
        let io = self.io.get_or_insert_with(Box::default);
        while kept.unwritten > 0 && io.output.len() < room {
            let at = kept.pushes.len().saturating_sub(kept.unwritten);
            kept.unwritten -= 1;
            if let Some((seq, event)) = kept.pushes.get(at) {
                let push = Push {
                    seq: *seq,
                    event: event.clone(),
                };
                push.write_frame(0, &mut io.output);
                self.frames_sent += 1;
            }
        }
    }

    /// The highest push `seq` written to the output (the ones after it wait behind
    /// a replay).
    fn last_written_seq(&self) -> u64 {
        let unwritten = self.kept.as_ref().map_or(0, |k| k.unwritten) as u64;
        self.push_seq - unwritten
    }

    /// From now on, keeps every push sent until the client acknowledges it, so that
    /// [`Self::take_unacked`] can hand them to the connection that resumes this one
    /// (at most `max_unacked_pushes` of them, by the ack window).
    pub fn keep_unacked(&mut self) {
        self.kept.get_or_insert_with(Box::default);
    }

    /// Whether [`Self::keep_unacked`] is in force.
    pub fn keeps_unacked(&self) -> bool {
        self.kept.is_some()
    }

    /// The pushes sent and not acknowledged, with their `seq`, oldest first (empty
    /// unless [`Self::keep_unacked`] was called); they are no longer kept here.
    pub fn take_unacked(&mut self) -> Vec<(u64, Event)> {
        self.kept
            .as_mut()
            .map(|kept| {
                kept.unwritten = 0;
                kept.pushes.drain(..).collect()
            })
            .unwrap_or_default()
    }

    /// Queues `GoAway { code, message }` and starts closing. False when the
    /// connection was closing already (nothing is queued).
    pub fn go_away(&mut self, code: ErrorCode, message: impl Into<String>) -> bool {
        if !self.is_reading() {
            return false;
        }
        let goaway = GoAway {
            code,
            message: message.into(),
        };
        // A goodbye is small and must go out: it bypasses the output bound.
        self.write_frame(&goaway, 0);
        self.begin_closing(None);
        true
    }

    /// Queues `GoAwayTo { code, message, address }` — close, and connect to `address`
    /// instead — and starts closing. False when the connection was closing already.
    pub fn go_away_to(
        &mut self,
        code: ErrorCode,
        message: impl Into<String>,
        address: impl Into<String>,
    ) -> bool {
        if !self.is_reading() {
            return false;
        }
        let goaway = GoAwayTo {
            code,
            message: message.into(),
            address: address.into(),
        };
        self.write_frame(&goaway, 0);
        self.begin_closing(None);
        true
    }

    /// Drops the output waiting for the peer and says `GoAway` `SLOW_CONSUMER` with
    /// `message` next, as the output bound does, but on the driver's decision (kefud:
    /// the daemon-wide budget for unsent output, PROTOCOL.md section 6.3). Only the
    /// unsent rest of a frame already partly written stays in front of the goodbye.
    /// Raises no event (like [`Self::go_away`]). False when the connection was closing
    /// already (nothing is dropped or queued).
    pub fn shed_output(&mut self, message: impl Into<String>) -> bool {
        if !self.is_reading() {
            return false;
        }
        self.drop_backlog();
        self.go_away(ErrorCode::SLOW_CONSUMER, message)
    }

    /// Bytes waiting to be written to the transport.
    pub fn poll_transmit(&self) -> &[u8] {
        self.io.as_deref().map_or(&[], |io| &io.output)
    }

    /// Marks `n` bytes of [`Self::poll_transmit`] as written. A closing
    /// connection whose goodbye is all written is closed.
    pub fn consume_transmit(&mut self, n: usize) {
        let keep = self.keeps_emptied_buffers();
        if let Some(io) = self.io.as_deref_mut() {
            let mut n = n.min(io.output.len());
            while n > 0 {
                if io.head_remaining == 0 {
                    // Our own frames: the length prefix is ours, hence trustworthy.
                    let len = io
                        .output
                        .get(..4)
                        .and_then(|b| <[u8; 4]>::try_from(b).ok())
                        .map_or(0, u32::from_be_bytes);
                    io.head_remaining = HEADER_LEN.saturating_add(len as usize);
                }
                let step = n.min(io.head_remaining);
                io.output.advance(step);
                io.head_remaining -= step;
                n -= step;
            }
            if io.output.is_empty() {
                io.output = emptied(std::mem::take(&mut io.output), keep);
                io.head_remaining = 0;
            }
        }
        if self.poll_transmit().is_empty() && matches!(self.state, State::Closing { .. }) {
            self.state = State::Closed;
            // A closed connection keeps no buffer.
            if let Some(io) = self.io.as_deref_mut() {
                io.output = BytesMut::new();
            }
        }
        // Room again: more of a replay goes out.
        self.write_replay();
        self.settle();
    }

    // ----- timers -----

    /// When [`Self::handle_timeout`] must next be called, if ever. An instant
    /// in the past means at once.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let timer = self.state_timeout();
        match self.login_deadline() {
            Some(login) => Some(timer.map_or(login, |t| t.min(login))),
            None => timer,
        }
    }

    /// When [`Self::handle_timeout`] gives back the emptied buffers a busy connection
    /// keeps ([`BUFFER_KEEP`]), while it keeps some. Apart from
    /// [`Self::poll_timeout`]: a driver that does not arm it loses only memory, held
    /// until the next timer.
    pub fn buffers_release_at(&self) -> Option<Instant> {
        if self.holds_spare_buffers() {
            self.last_received.checked_add(BUFFER_KEEP)
        } else {
            None
        }
    }

    /// The login deadline, while it counts.
    fn login_deadline(&self) -> Option<Instant> {
        if self.is_reading() && !self.paused {
            self.login_by
        } else {
            None
        }
    }

    /// The timer of the state, without the login deadline.
    fn state_timeout(&self) -> Option<Instant> {
        match self.state {
            State::AwaitHello if self.frames_received == 0 => self
                .last_received
                .checked_add(self.config.handshake_timeout),
            State::Open if !self.paused => self.last_received.checked_add(self.config.idle_timeout),
            State::Closing { grace_until: None } => Some(self.last_now),
            State::Closing {
                grace_until: Some(t),
            } => Some(t),
            _ => None,
        }
    }

    /// Runs the timers due at `now`: the handshake timeout (close without a
    /// word), the idle and login timeouts (`GoAway` `IDLE_TIMEOUT`) and the
    /// closing grace (close with the goodbye unsent).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.see(now);
        self.release_spare_buffers();
        if self.login_deadline().is_some_and(|t| now >= t) {
            if self.state == State::Open {
                let secs = u32::try_from(self.config.login_timeout.as_secs()).unwrap_or(u32::MAX);
                self.goodbye(
                    ErrorCode::IDLE_TIMEOUT,
                    format!("not logged in within {secs} s"),
                );
            } else {
                // Still no `Hello`: like the handshake timeout.
                self.close_now();
                self.io_mut()
                    .events
                    .push_back(ServerEvent::HandshakeTimeout);
            }
            return;
        }
        let due = |base: Instant, d: Duration| base.checked_add(d).is_some_and(|t| now >= t);
        match self.state {
            State::AwaitHello
                if self.frames_received == 0
                    && due(self.last_received, self.config.handshake_timeout) =>
            {
                self.close_now();
                self.io_mut()
                    .events
                    .push_back(ServerEvent::HandshakeTimeout);
            }
            State::Open if !self.paused && due(self.last_received, self.config.idle_timeout) => {
                let idle = u32::try_from(self.config.idle_timeout.as_secs()).unwrap_or(u32::MAX);
                self.goodbye(
                    ErrorCode::IDLE_TIMEOUT,
                    format!("nothing received for {idle} s"),
                );
            }
            State::Closing { grace_until: None } => {
                self.state = State::Closing {
                    grace_until: now.checked_add(self.config.closing_grace),
                };
            }
            State::Closing {
                grace_until: Some(t),
            } if now >= t => self.close_now(),
            _ => {}
        }
    }

    // ----- state -----

    /// Whether the handshake completed (and the connection is not closing).
    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    /// Whether the connection is closing or closed: stop reading, keep writing.
    pub fn is_closing(&self) -> bool {
        matches!(self.state, State::Closing { .. } | State::Closed)
    }

    /// Whether the connection is done: drop the transport.
    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// The number of the last push sent (0 before the first).
    pub fn last_push_seq(&self) -> u64 {
        self.push_seq
    }

    /// The highest push the client acknowledged: a client that reconnects has
    /// processed everything up to here and re-reads the rest with requests.
    pub fn last_acked(&self) -> u64 {
        self.last_acked
    }

    /// Pushes sent and not yet acknowledged.
    pub fn unacked_pushes(&self) -> u64 {
        self.push_seq - self.last_acked
    }

    /// Whole frames received so far.
    pub fn frames_received(&self) -> u64 {
        self.frames_received
    }

    /// Frames queued for the client so far (including any dropped with a backlog).
    pub fn frames_sent(&self) -> u64 {
        self.frames_sent
    }

    // ----- internals -----

    fn decoder(&self) -> FrameDecoder {
        FrameDecoder::new(self.config.max_frame)
    }

    fn is_reading(&self) -> bool {
        matches!(self.state, State::AwaitHello | State::Open)
    }

    fn see(&mut self, now: Instant) {
        self.last_now = self.last_now.max(now);
    }

    /// Forgets the request frame polled last.
    fn drop_held(&mut self) {
        let keep = self.keeps_emptied_buffers();
        let Some(io) = self.io.as_deref_mut().filter(|io| io.held > 0) else {
            return;
        };
        let n = io.held.min(io.input.len());
        io.input.advance(n);
        io.scanned = io.scanned.saturating_sub(n);
        io.held = 0;
        if io.input.is_empty() {
            io.input = emptied(std::mem::take(&mut io.input), keep);
        }
        self.settle();
    }

    /// Whether the connection is past its login ([`KEEP_AFTER_FRAMES`]) and a frame
    /// arrived within [`BUFFER_KEEP`]: it is busy and keeps its emptied buffers.
    fn is_busy(&self) -> bool {
        self.frames_received > KEEP_AFTER_FRAMES
            && self
                .last_received
                .checked_add(BUFFER_KEEP)
                .is_some_and(|until| self.last_now < until)
    }

    /// Whether a buffer emptied now is kept for reuse: while busy and reading.
    fn keeps_emptied_buffers(&self) -> bool {
        self.is_busy() && self.is_reading()
    }

    /// Whether an emptied buffer is kept for reuse (the timer gives it back).
    fn holds_spare_buffers(&self) -> bool {
        self.io.as_deref().is_some_and(|io| {
            (io.input.is_empty() && io.input.capacity() > 0)
                || (io.output.is_empty() && io.output.capacity() > 0)
        })
    }

    /// Gives back emptied buffers once the connection is no longer busy.
    fn release_spare_buffers(&mut self) {
        if self.is_busy() {
            return;
        }
        if let Some(io) = self.io.as_deref_mut() {
            if io.input.is_empty() {
                io.input = BytesMut::new();
            }
            if io.output.is_empty() {
                io.output = BytesMut::new();
                io.head_remaining = 0;
            }
        }
        self.settle();
    }

    /// Parses and handles the whole frame at the front of the input.
    fn next_frame(&mut self) -> Option<ServerEvent> {
        let input = std::mem::take(&mut self.io_mut().input);
        let header = match self.decoder().peek_header(&input) {
            Ok(Some(h)) => h,
            // Scanned bytes start with a valid header; should that ever be
            // wrong, stop reading rather than loop.
            _ => {
                let io = self.io_mut();
                io.input = input;
                io.scanned = 0;
                return None;
            }
        };
        let end = HEADER_LEN.saturating_add(header.len as usize);
        let body = input.get(HEADER_LEN..end).unwrap_or_default();
        let (event, hold) = self.handle_frame(header.kind, header.correlation, body);
        if !self.is_reading() {
            // The frame ended the connection: nothing more is read.
            return event;
        }
        let keep = self.keeps_emptied_buffers();
        let io = self.io_mut();
        io.input = input;
        if hold {
            io.held = end;
        } else {
            let n = end.min(io.input.len());
            io.input.advance(n);
            io.scanned = io.scanned.saturating_sub(n);
            if io.input.is_empty() {
                io.input = emptied(std::mem::take(&mut io.input), keep);
            }
            self.settle();
        }
        event
    }

    /// Handles one frame; the flag says the frame is a request to hold until
    /// the next poll (so that it can be unread).
    fn handle_frame(
        &mut self,
        kind: FrameKind,
        correlation: u32,
        body: &[u8],
    ) -> (Option<ServerEvent>, bool) {
        let event = match (self.state, kind) {
            (State::AwaitHello, FrameKind::Hello) => self.on_hello(body),
            (State::AwaitHello, _) => Some(self.fatal(
                ErrorCode::HANDSHAKE_REQUIRED,
                "the first frame must be Hello".into(),
                false,
            )),
            (_, FrameKind::Ping) => match Ping::decode(body) {
                Ok(ping) => {
                    self.queue_frame(&Pong { nonce: ping.nonce }, 0);
                    None
                }
                Err(e) => Some(self.protocol_error(&e)),
            },
            // Any frame counts as liveness; the nonce needs no check.
            (_, FrameKind::Pong) => None,
            (_, FrameKind::PushAck) => match PushAck::decode(body) {
                Ok(ack) => self.on_ack(ack.up_to),
                Err(e) => Some(self.protocol_error(&e)),
            },
            (_, FrameKind::Request) if correlation == 0 => {
                // The answer could not be told apart from a connection-level error.
                Some(self.fatal(
                    ErrorCode::BAD_REQUEST,
                    "a request needs a non-zero correlation id".into(),
                    false,
                ))
            }
            (_, FrameKind::Request) => match Request::decode(body) {
                Ok(request) => {
                    return (
                        Some(ServerEvent::Request {
                            correlation,
                            request,
                        }),
                        true,
                    )
                }
                Err(e) => {
                    // A bad request body is the request's fault, not the
                    // stream's: framing is intact, so answer and carry on.
                    let error = ErrorBody {
                        code: ErrorCode::BAD_REQUEST,
                        message: e.to_string(),
                    };
                    self.queue_frame(&error, correlation);
                    None
                }
            },
            (_, _) => Some(self.fatal(
                ErrorCode::UNEXPECTED_FRAME,
                format!(
                    "frame kind {} is not accepted from a client here",
                    kind as u16
                ),
                false,
            )),
        };
        (event, false)
    }

    fn on_hello(&mut self, body: &[u8]) -> Option<ServerEvent> {
        let hello = match Hello::decode(body) {
            Ok(h) if h.magic == crate::MAGIC && h.client.len() <= MAX_CLIENT_NAME_BYTES => h,
            Ok(h) if h.magic == crate::MAGIC => {
                return Some(self.fatal(
                    ErrorCode::HANDSHAKE_REQUIRED,
                    format!("client name longer than {MAX_CLIENT_NAME_BYTES} bytes"),
                    false,
                ));
            }
            Ok(_) => {
                return Some(self.fatal(
                    ErrorCode::HANDSHAKE_REQUIRED,
                    "bad magic in Hello".into(),
                    false,
                ));
            }
            Err(e) => {
                return Some(self.fatal(
                    ErrorCode::HANDSHAKE_REQUIRED,
                    format!("bad Hello: {e}"),
                    false,
                ));
            }
        };
        let ours = crate::PROTOCOL_VERSIONS;
        let chosen = hello.max_version.min(*ours.end());
        if chosen < hello.min_version.max(*ours.start()) || hello.min_version > hello.max_version {
            return Some(self.fatal(
                ErrorCode::UNSUPPORTED_VERSION,
                format!(
                    "server speaks protocol versions {}..={}, client offered {}..={}",
                    ours.start(),
                    ours.end(),
                    hello.min_version,
                    hello.max_version
                ),
                false,
            ));
        }
        let welcome = Welcome {
            version: chosen,
            server: self.config.server_name.clone(),
            max_frame: self.config.max_frame,
            heartbeat_ms: duration_ms(self.config.heartbeat),
            idle_timeout_ms: duration_ms(self.config.idle_timeout),
        };
        self.queue_frame(&welcome, 0);
        if self.state != State::AwaitHello {
            // The Welcome overflowed the output bound (a tiny configured bound).
            return None;
        }
        self.state = State::Open;
        Some(ServerEvent::HandshakeDone {
            version: chosen,
            client: hello.client,
        })
    }

    /// Lower acks are ignored, higher ones cover what was sent.
    fn on_ack(&mut self, up_to: u64) -> Option<ServerEvent> {
        let up_to = up_to.min(self.last_written_seq());
        if up_to <= self.last_acked {
            return None;
        }
        self.last_acked = up_to;
        if let Some(kept) = self.kept.as_mut() {
            let pushes = &mut kept.pushes;
            while pushes.front().is_some_and(|(seq, _)| *seq <= up_to) {
                pushes.pop_front();
            }
            if pushes.is_empty() {
                // Give the memory of a burst back.
                *pushes = VecDeque::new();
            }
        }
        Some(ServerEvent::PushAck(up_to))
    }

    /// A stream-level error: the bytes themselves were wrong.
    fn protocol_error(&mut self, e: &WireError) -> ServerEvent {
        self.fatal(e.code(), e.to_string(), true)
    }

    /// Queues `Error` (correlation 0) and starts closing.
    fn fatal(&mut self, code: ErrorCode, message: String, protocol_error: bool) -> ServerEvent {
        if self.is_reading() {
            let body = ErrorBody {
                code,
                message: message.clone(),
            };
            self.write_frame(&body, 0);
            self.begin_closing(None);
        }
        ServerEvent::Fatal {
            code,
            message,
            protocol_error,
        }
    }

    /// Says `GoAway` on the connection's own account and reports it.
    fn goodbye(&mut self, code: ErrorCode, message: String) {
        if self.go_away(code, message.clone()) {
            self.io_mut()
                .events
                .push_back(ServerEvent::GoAway { code, message });
        }
    }

    /// Queues a frame within the output bound. False when closing.
    fn queue_frame<B: Body>(&mut self, body: &B, correlation: u32) -> bool {
        if !self.is_reading() {
            return false;
        }
        self.write_frame(body, correlation);
        if self.poll_transmit().len() > self.config.max_pending_output {
            self.shed_backlog();
        }
        true
    }

    fn write_frame<B: Body>(&mut self, body: &B, correlation: u32) {
        body.write_frame(correlation, &mut self.io_mut().output);
        self.frames_sent += 1;
    }

    /// The peer does not read: drop what waits for it so that the memory it
    /// costs stays bounded, and put the `GoAway` next in line. Only the unsent
    /// rest of a frame already partly written stays in front of it, or the
    /// peer could not find the `GoAway`'s header.
    fn shed_backlog(&mut self) {
        let limit = self.config.max_pending_output;
        self.drop_backlog();
        self.goodbye(
            ErrorCode::SLOW_CONSUMER,
            format!("more than {limit} bytes of output pending"),
        );
    }

    /// Drops the output, all but the unsent rest of a frame partly written.
    fn drop_backlog(&mut self) {
        if let Some(io) = self.io.as_deref_mut() {
            let keep = io.head_remaining;
            if keep == 0 {
                io.output = BytesMut::new();
            } else {
                io.output.truncate(keep);
            }
        }
        self.settle();
    }

    fn begin_closing(&mut self, now: Option<Instant>) {
        if !self.is_reading() {
            return;
        }
        self.state = State::Closing {
            grace_until: now.and_then(|n| n.checked_add(self.config.closing_grace)),
        };
        self.discard_input();
    }

    fn close_now(&mut self) {
        self.state = State::Closed;
        if let Some(io) = self.io.as_deref_mut() {
            io.output = BytesMut::new();
            io.head_remaining = 0;
        }
        self.discard_input();
    }

    fn discard_input(&mut self) {
        self.paused = false;
        if let Some(io) = self.io.as_deref_mut() {
            io.input = BytesMut::new();
            io.scanned = 0;
            io.held = 0;
        }
        self.bad_header = None;
        self.settle();
    }
}

/// What an emptied buffer becomes: the same allocation, cleared, when `keep` (the
/// connection is busy) and it is small; no allocation otherwise.
fn emptied(mut buf: BytesMut, keep: bool) -> BytesMut {
    if !keep {
        return BytesMut::new();
    }
    buf.clear();
    // Its front was consumed by `advance`: this takes the whole allocation back
    // without allocating (false when there was no front to take), so that
    // `capacity` is its true size.
    let _ = buf.try_reclaim(buf.capacity() + 1);
    if buf.capacity() > KEPT_BUFFER_BYTES {
        return BytesMut::new();
    }
    buf
}

fn duration_ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::put_frame;

    fn config() -> ServerConfig {
        ServerConfig {
            server_name: "test".into(),
            ..ServerConfig::default()
        }
    }

    fn hello(min: u16, max: u16, client: &str) -> BytesMut {
        let mut out = BytesMut::new();
        Hello {
            magic: crate::MAGIC,
            min_version: min,
            max_version: max,
            client: client.into(),
        }
        .write_frame(0, &mut out);
        out
    }

    /// Decodes every frame of the server's output and consumes it.
    fn drain(s: &mut ServerConnection) -> Vec<crate::frame::Frame> {
        let mut buf = BytesMut::from(s.poll_transmit());
        s.consume_transmit(buf.len());
        let dec = FrameDecoder::new(crate::MAX_FRAME_CEILING);
        let mut frames = Vec::new();
        while let Some(f) = dec.decode(&mut buf).unwrap() {
            frames.push(f);
        }
        assert!(buf.is_empty());
        frames
    }

    fn fatal_of(s: &mut ServerConnection) -> (ErrorCode, String) {
        match s.poll_event() {
            Some(ServerEvent::Fatal { code, message, .. }) => (code, message),
            other => panic!("expected Fatal, got {other:?}"),
        }
    }

    #[test]
    fn hello_refusals_use_io_rs_codes_and_messages() {
        let now = Instant::now();
        let cases: Vec<(BytesMut, ErrorCode, String)> = vec![
            (
                hello(1, 1, &"x".repeat(65)),
                ErrorCode::HANDSHAKE_REQUIRED,
                "client name longer than 64 bytes".into(),
            ),
            (
                {
                    let mut out = BytesMut::new();
                    Hello {
                        magic: 1,
                        min_version: 1,
                        max_version: 1,
                        client: "c".into(),
                    }
                    .write_frame(0, &mut out);
                    out
                },
                ErrorCode::HANDSHAKE_REQUIRED,
                "bad magic in Hello".into(),
            ),
            (
                {
                    let mut out = BytesMut::new();
                    put_frame(&mut out, FrameKind::Hello, 0, &[1, 0xff]);
                    out
                },
                ErrorCode::HANDSHAKE_REQUIRED,
                format!("bad Hello: {}", Hello::decode(&[1, 0xff]).unwrap_err()),
            ),
            (
                hello(2, 5, "c"),
                ErrorCode::UNSUPPORTED_VERSION,
                "server speaks protocol versions 1..=1, client offered 2..=5".into(),
            ),
            (
                hello(1, 0, "c"),
                ErrorCode::UNSUPPORTED_VERSION,
                "server speaks protocol versions 1..=1, client offered 1..=0".into(),
            ),
            (
                {
                    let mut out = BytesMut::new();
                    Ping { nonce: 1 }.write_frame(0, &mut out);
                    out
                },
                ErrorCode::HANDSHAKE_REQUIRED,
                "the first frame must be Hello".into(),
            ),
        ];
        for (bytes, code, message) in cases {
            let mut s = ServerConnection::new(config(), now);
            s.handle_input(&bytes, now);
            assert_eq!(fatal_of(&mut s), (code, message.clone()));
            assert!(s.is_closing());
            let frames = drain(&mut s);
            assert_eq!(frames.len(), 1);
            assert_eq!(frames[0].kind, FrameKind::Error);
            assert_eq!(frames[0].correlation, 0);
            let body = ErrorBody::decode(&frames[0].body).unwrap();
            assert_eq!((body.code, body.message), (code, message));
            assert!(s.is_closed());
        }
    }

    #[test]
    fn a_version_range_reaching_ours_is_accepted_at_our_highest() {
        let now = Instant::now();
        let mut s = ServerConnection::new(config(), now);
        s.handle_input(&hello(0, 9, "wide"), now);
        assert_eq!(
            s.poll_event(),
            Some(ServerEvent::HandshakeDone {
                version: *crate::PROTOCOL_VERSIONS.end(),
                client: "wide".into()
            })
        );
        let frames = drain(&mut s);
        let welcome = Welcome::decode(&frames[0].body).unwrap();
        assert_eq!(welcome.server, "test");
        assert_eq!(welcome.heartbeat_ms, 30_000);
        assert_eq!(welcome.idle_timeout_ms, 90_000);
        assert_eq!(welcome.max_frame, crate::DEFAULT_MAX_FRAME);
    }

    #[test]
    fn frames_after_the_handshake_that_a_client_may_not_send_are_fatal() {
        let now = Instant::now();
        for kind in [
            FrameKind::Hello,
            FrameKind::Welcome,
            FrameKind::Response,
            FrameKind::Error,
            FrameKind::Push,
            FrameKind::GoAway,
            FrameKind::ReplicaHello,
            FrameKind::ReplicaBatches,
            FrameKind::ReplicaApplied,
            FrameKind::GoAwayTo,
        ] {
            let mut s = ServerConnection::new(config(), now);
            let mut bytes = hello(1, 1, "c");
            put_frame(&mut bytes, kind, 0, &[1]);
            s.handle_input(&bytes, now);
            assert!(matches!(
                s.poll_event(),
                Some(ServerEvent::HandshakeDone { .. })
            ));
            assert_eq!(
                fatal_of(&mut s),
                (
                    ErrorCode::UNEXPECTED_FRAME,
                    format!(
                        "frame kind {} is not accepted from a client here",
                        kind as u16
                    )
                )
            );
        }
    }

    #[test]
    fn malformed_control_bodies_are_protocol_errors() {
        let now = Instant::now();
        for kind in [FrameKind::Ping, FrameKind::PushAck] {
            let mut s = ServerConnection::new(config(), now);
            let mut bytes = hello(1, 1, "c");
            put_frame(&mut bytes, kind, 0, &[]);
            s.handle_input(&bytes, now);
            s.poll_event();
            match s.poll_event() {
                Some(ServerEvent::Fatal {
                    code,
                    message,
                    protocol_error,
                }) => {
                    assert_eq!(code, ErrorCode::MALFORMED_FRAME);
                    assert_eq!(message, WireError::EmptyBody(kind as u16).to_string());
                    assert!(protocol_error);
                }
                other => panic!("{other:?}"),
            }
        }
        // A Pong body is not even looked at.
        let mut s = ServerConnection::new(config(), now);
        let mut bytes = hello(1, 1, "c");
        put_frame(&mut bytes, FrameKind::Pong, 0, &[]);
        s.handle_input(&bytes, now);
        s.poll_event();
        assert_eq!(s.poll_event(), None);
        assert!(s.is_open());
    }

    #[test]
    fn frames_before_a_bad_header_are_handled_first() {
        let now = Instant::now();
        let mut s = ServerConnection::new(config(), now);
        let mut bytes = hello(1, 1, "c");
        Request::WhoAmI.write_frame(5, &mut bytes);
        // Unknown kind 99, then bytes that must never be looked at.
        bytes.extend_from_slice(&[0, 0, 0, 0, 0, 99, 0, 0, 0, 0, 0, 0, 1, 2, 3]);
        s.handle_input(&bytes, now);
        assert!(matches!(
            s.poll_event(),
            Some(ServerEvent::HandshakeDone { .. })
        ));
        assert!(matches!(
            s.poll_event(),
            Some(ServerEvent::Request { correlation: 5, .. })
        ));
        assert_eq!(
            fatal_of(&mut s),
            (ErrorCode::UNEXPECTED_FRAME, "unknown frame kind 99".into())
        );
    }

    #[test]
    fn an_idle_connection_holds_no_buffers() {
        let t0 = Instant::now();
        let mut s = ServerConnection::new(config(), t0);
        let mut bytes = hello(1, 1, "c");
        for nonce in 1..=KEEP_AFTER_FRAMES {
            Ping { nonce }.write_frame(0, &mut bytes);
        }
        Request::WhoAmI.write_frame(1, &mut bytes);
        s.handle_input(&bytes, t0);
        while s.poll_event().is_some() {}
        // Its buffers are given back at their own deadline, BUFFER_KEEP after the frame.
        assert_eq!(s.buffers_release_at(), Some(t0 + BUFFER_KEEP));
        assert_eq!(s.poll_timeout(), Some(t0 + config().login_timeout));
        s.handle_timeout(t0 + BUFFER_KEEP);
        s.respond(1, Ok(Response::Ok));
        let n = s.poll_transmit().len();
        s.consume_transmit(n);
        // Nothing busy is left: no buffers, cursors or events, not even their box.
        assert!(s.io.is_none());
        assert_eq!(s.buffers_release_at(), None);
        let size = std::mem::size_of::<ServerConnection>();
        assert!(size <= 136, "ServerConnection grew to {size} bytes");
    }

    #[test]
    fn a_busy_connection_reuses_its_buffers_until_it_goes_quiet() {
        let t0 = Instant::now();
        let mut s = ServerConnection::new(config(), t0);
        let mut bytes = hello(1, 1, "c");
        for nonce in 1..KEEP_AFTER_FRAMES {
            Ping { nonce }.write_frame(0, &mut bytes);
        }
        s.handle_input(&bytes, t0);
        while s.poll_event().is_some() {}
        // Not past its login yet: emptied buffers are not kept.
        drain(&mut s);
        assert!(s.io.is_none());
        let mut bytes = BytesMut::new();
        Request::WhoAmI.write_frame(1, &mut bytes);
        s.handle_input(&bytes, t0);
        while s.poll_event().is_some() {}
        s.respond(1, Ok(Response::Ok));
        let frames = drain(&mut s);
        assert_eq!(frames.len(), 1, "the answer");
        // Emptied, kept whole, and a timer to give them back.
        let io = s.io.as_deref().unwrap();
        assert!(io.input.is_empty() && io.input.capacity() > 0);
        assert!(io.output.is_empty() && io.output.capacity() > 0);
        assert_eq!(s.buffers_release_at(), Some(t0 + BUFFER_KEEP));
        let (input_at, output_at) = (io.input.as_ptr(), io.output.as_ptr());

        // The next request and answer, within BUFFER_KEEP, use the same allocations.
        let t1 = t0 + BUFFER_KEEP / 2;
        s.handle_timeout(t1);
        let mut bytes = BytesMut::new();
        Request::WhoAmI.write_frame(2, &mut bytes);
        s.handle_input(&bytes, t1);
        assert_eq!(s.io.as_deref().unwrap().input.as_ptr(), input_at);
        assert!(matches!(
            s.poll_event(),
            Some(ServerEvent::Request { correlation: 2, .. })
        ));
        assert_eq!(s.poll_event(), None);
        s.respond(2, Ok(Response::Ok));
        assert_eq!(s.poll_transmit().as_ptr(), output_at);
        assert_eq!(drain(&mut s).len(), 1);

        // Kept until BUFFER_KEEP after the last frame, then given back.
        assert_eq!(s.buffers_release_at(), Some(t1 + BUFFER_KEEP));
        s.handle_timeout(t0 + BUFFER_KEEP);
        assert_eq!(s.buffers_release_at(), Some(t1 + BUFFER_KEEP));
        s.handle_timeout(t1 + BUFFER_KEEP);
        assert!(s.io.is_none());
        assert_eq!(s.buffers_release_at(), None);
        assert!(s.is_open());
    }

    #[test]
    fn a_large_emptied_buffer_is_given_back_at_once() {
        let now = Instant::now();
        let mut s = ServerConnection::new(config(), now);
        s.handle_input(&hello(1, 1, "c"), now);
        s.poll_event();
        drain(&mut s);
        s.set_logged_in(true, now);
        let big = ErrorBody {
            code: ErrorCode::INTERNAL,
            message: "x".repeat(KEPT_BUFFER_BYTES),
        };
        let mut bytes = BytesMut::new();
        Request::WhoAmI.write_frame(1, &mut bytes);
        s.handle_input(&bytes, now);
        s.poll_event();
        s.respond(1, Err(big));
        assert!(s.poll_transmit().len() > KEPT_BUFFER_BYTES);
        drain(&mut s);
        assert_eq!(s.io.as_deref().map_or(0, |io| io.output.capacity()), 0);
    }

    #[test]
    fn the_grace_period_starts_when_the_driver_next_looks() {
        let t0 = Instant::now();
        let mut s = ServerConnection::new(config(), t0);
        s.handle_input(&hello(1, 1, "c"), t0);
        s.poll_event();
        let t1 = t0 + Duration::from_secs(60);
        assert!(s.go_away(ErrorCode::SHUTTING_DOWN, "bye"));
        assert!(!s.go_away(ErrorCode::SHUTTING_DOWN, "twice"));
        // Asked at once, with the latest instant known.
        assert_eq!(s.poll_timeout(), Some(t0));
        s.handle_timeout(t1);
        assert_eq!(s.poll_timeout(), Some(t1 + Duration::from_secs(5)));
        s.handle_timeout(t1 + Duration::from_secs(4));
        assert!(!s.is_closed());
        s.handle_timeout(t1 + Duration::from_secs(5));
        assert!(s.is_closed());
        assert!(s.poll_transmit().is_empty());
        assert_eq!(s.poll_timeout(), None);
    }
}
