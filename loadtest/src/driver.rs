//! The mio event loop that drives many sans-IO `ClientConnection`s over loopback TCP.
//!
//! One [`Driver`] per thread owns a `mio::Poll` and its share of the
//! connections; nothing is shared between drivers. A scenario drives it in
//! phases, from one thread at a time:
//! - [`Driver::login_wave`] opens a connection per [`LoginJob`], sends `Hello`
//!   and the login request in one write, and waits for every answer; logged-in
//!   connections are closed or kept ([`AfterLogin`]).
//! - [`Driver::hold`] keeps the kept connections alive until a deadline:
//!   server pings are answered by `ClientConnection` (this loop writes its
//!   transmit buffer out), and the client sends its own ping every
//!   `heartbeat_ms` of silence, as the `Welcome` asks.
//! - [`Driver::close_all`] closes what is left.
//!
//! Each turn: start new connections (at most [`STARTS_PER_TURN`]) → poll →
//! service each ready connection (read until `WouldBlock`, drain events, write
//! until `WouldBlock`) → heartbeats when due. Turns over [`SLOW_TURN`] are
//! counted: they mean the load generator, not the daemon, was the bottleneck.
//!
//! **Boundary**: the driver knows connections, logins and pings; it does not
//! know accounts, phases or reports beyond the counts it returns.
//!
//! The `chat` scenario's loop, with customers, conversations and a message
//! schedule, is [`chat`]; it shares this module's socket plumbing.

pub mod chat;

use crate::report::{new_histogram, FailureCounts};
use hdrhistogram::Histogram;
use kefu_wire::{ClientConnection, ClientEvent, ErrorCode, Request, Response};
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, Protocol, Socket, Type};
use std::collections::VecDeque;
use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// New connections started per loop turn at most, so that answers keep being read.
pub const STARTS_PER_TURN: usize = 1024;
/// A loop turn longer than this is counted as slow.
pub const SLOW_TURN: Duration = Duration::from_millis(10);
/// How often the idle connections are checked for a due heartbeat.
const HEARTBEAT_SWEEP: Duration = Duration::from_millis(250);
/// Readiness events taken per poll.
const EVENTS_PER_POLL: usize = 256;
/// Size of the per-driver read buffer.
const READ_BUF: usize = 64 * 1024;

/// Why one connection did not get (or stay) logged in. Each has a stable
/// report key ([`Failure::key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// `socket`, `bind` or `connect` failed.
    Connect(io::ErrorKind),
    /// Reading or writing the established connection failed.
    Io(io::ErrorKind),
    /// The server answered the login with a typed error.
    Server(ErrorCode),
    /// The server sent an error about the connection itself (correlation 0).
    ConnectionError(ErrorCode),
    /// The server said goodbye.
    GoAway(ErrorCode),
    /// The server closed the connection without a word.
    ClosedByServer,
    /// The server sent bytes that are not valid protocol.
    Protocol(ErrorCode),
    /// The login was answered with something other than `LoggedIn`.
    UnexpectedResponse,
    /// No answer before the run's deadline.
    Timeout,
}

impl Failure {
    /// The key under which this failure is counted in reports.
    pub fn key(&self) -> String {
        match self {
            Failure::Connect(kind) => format!("connect:{kind:?}"),
            Failure::Io(kind) => format!("io:{kind:?}"),
            Failure::Server(code) => code_name(*code),
            Failure::ConnectionError(code) => format!("connection_error:{}", code_name(*code)),
            Failure::GoAway(code) => format!("goaway:{}", code_name(*code)),
            Failure::ClosedByServer => "closed_by_server".into(),
            Failure::Protocol(code) => format!("protocol:{}", code_name(*code)),
            Failure::UnexpectedResponse => "unexpected_response".into(),
            Failure::Timeout => "timeout".into(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A protocol error code's name, or `code_N` for one this build does not know.
pub fn code_name(code: ErrorCode) -> String {
    code.name()
        .map(str::to_string)
        .unwrap_or_else(|| format!("code_{}", code.0))
}

/// How a login proves who it is.
#[derive(Debug, Clone)]
pub enum Credential {
    /// `Request::Login` with this password (shared by every job of a run).
    Password(Arc<str>),
    /// `Request::Resume` with a token from an earlier login.
    Token([u8; 16]),
}

/// One connection to open and log in.
#[derive(Debug, Clone)]
pub struct LoginJob {
    /// The caller's number for this connection, returned with its token.
    pub id: usize,
    /// Account number.
    pub account: u64,
    /// Agent number.
    pub agent: u32,
    /// Local address to bind before connecting.
    pub source: IpAddr,
    /// Password or token.
    pub credential: Credential,
    /// When this connection is scheduled to start (jobs are in this order).
    pub not_before: Instant,
}

/// What to do with a connection once it is logged in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterLogin {
    /// Close it at once (the session, and its token, stay valid on the server).
    Close,
    /// Keep it open, idle, for [`Driver::hold`].
    Keep,
}

/// A batch of logins for one driver.
#[derive(Debug, Clone)]
pub struct Wave {
    /// The connections, in order of `not_before`.
    pub jobs: Vec<LoginJob>,
    /// Connections being set up and logging in at once, at most (closed loop).
    /// A connection started when a slot frees is scheduled at the moment it freed.
    pub max_inflight: usize,
    /// Close or keep logged-in connections.
    pub after: AfterLogin,
    /// Start no new connection after this (the rest count as not started).
    pub stop_starting_at: Option<Instant>,
    /// Give up on everything unanswered at this instant.
    pub deadline: Instant,
}

/// What a wave did.
#[derive(Debug)]
pub struct WaveOutcome {
    /// Connections started.
    pub attempted: u64,
    /// Connections logged in.
    pub succeeded: u64,
    /// Jobs never started (the start limit or the deadline came first).
    pub not_started: u64,
    /// Failed logins by reason.
    pub failures: FailureCounts,
    /// Already logged-in, kept connections lost during the wave, by reason.
    pub dropped: FailureCounts,
    /// Microseconds from each connection's scheduled start to its `LoggedIn`.
    pub latency: Histogram<u64>,
    /// Microseconds from each connection's `connect` call to its `LoggedIn`.
    pub service: Histogram<u64>,
    /// Microseconds from each connection's scheduled start to its `connect`
    /// call: how far the load generator lagged its own schedule.
    pub start_lag: Histogram<u64>,
    /// `(job id, token)` of every successful login.
    pub tokens: Vec<(usize, [u8; 16])>,
    /// When the last login succeeded.
    pub last_success: Option<Instant>,
    /// Whether the deadline cut the wave short.
    pub timed_out: bool,
    /// How the loop itself fared.
    pub turns: TurnStats,
}

/// What a hold did.
#[derive(Debug, Default)]
pub struct HoldOutcome {
    /// Kept connections when the hold began.
    pub held_at_start: u64,
    /// Kept connections when it ended.
    pub held_at_end: u64,
    /// Connections lost, by reason.
    pub dropped: FailureCounts,
    /// How the loop itself fared.
    pub turns: TurnStats,
}

/// Counters kept over the driver's whole life.
#[derive(Debug, Default, Clone, Copy)]
pub struct Traffic {
    /// Pings sent by the client side (heartbeats).
    pub pings_sent: u64,
    /// Pongs received.
    pub pongs: u64,
    /// Pushes received (and acknowledged).
    pub pushes: u64,
}

impl Traffic {
    /// The sum of every driver's counters.
    pub fn total<'a>(drivers: impl IntoIterator<Item = &'a Driver>) -> Traffic {
        drivers
            .into_iter()
            .fold(Traffic::default(), |t, d| Traffic {
                pings_sent: t.pings_sent + d.traffic.pings_sent,
                pongs: t.pongs + d.traffic.pongs,
                pushes: t.pushes + d.traffic.pushes,
            })
    }

    /// What was counted since `earlier`.
    pub fn since(self, earlier: Traffic) -> Traffic {
        Traffic {
            pings_sent: self.pings_sent.saturating_sub(earlier.pings_sent),
            pongs: self.pongs.saturating_sub(earlier.pongs),
            pushes: self.pushes.saturating_sub(earlier.pushes),
        }
    }
}

/// Loop-turn timings: evidence of whether the client kept up.
#[derive(Debug, Default, Clone, Copy)]
pub struct TurnStats {
    /// Loop turns.
    pub turns: u64,
    /// Turns whose work (not counting the wait in `poll`) took over [`SLOW_TURN`].
    pub slow: u64,
    /// The longest turn's work, microseconds.
    pub max_us: u64,
}

impl TurnStats {
    fn record(&mut self, work: Duration) {
        self.turns += 1;
        if work > SLOW_TURN {
            self.slow += 1;
        }
        self.max_us = self.max_us.max(micros(work));
    }

    /// Adds another driver's turns.
    pub fn merge(&mut self, other: &TurnStats) {
        self.turns += other.turns;
        self.slow += other.slow;
        self.max_us = self.max_us.max(other.max_us);
    }
}

impl WaveOutcome {
    fn new() -> WaveOutcome {
        WaveOutcome {
            attempted: 0,
            succeeded: 0,
            not_started: 0,
            failures: FailureCounts::default(),
            dropped: FailureCounts::default(),
            latency: new_histogram(),
            service: new_histogram(),
            start_lag: new_histogram(),
            tokens: Vec::new(),
            last_success: None,
            timed_out: false,
            turns: TurnStats::default(),
        }
    }

    /// Folds another driver's outcome of the same wave into this one.
    pub fn merge(&mut self, other: WaveOutcome) {
        self.attempted += other.attempted;
        self.succeeded += other.succeeded;
        self.not_started += other.not_started;
        self.failures.merge(&other.failures);
        self.dropped.merge(&other.dropped);
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        let _ = self.service.add(&other.service);
        let _ = self.start_lag.add(&other.start_lag);
        self.tokens.extend(other.tokens);
        self.last_success = self.last_success.max(other.last_success);
        self.timed_out |= other.timed_out;
        self.turns.merge(&other.turns);
    }

    /// An empty outcome, to merge drivers' outcomes into.
    pub fn empty() -> WaveOutcome {
        WaveOutcome::new()
    }
}

impl HoldOutcome {
    /// Folds another driver's hold into this one.
    pub fn merge(&mut self, other: HoldOutcome) {
        self.held_at_start += other.held_at_start;
        self.held_at_end += other.held_at_end;
        self.dropped.merge(&other.dropped);
        self.turns.merge(&other.turns);
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// `connect` is in progress.
    Connecting,
    /// `Hello` and the login are written or queued; waiting for the answer.
    LoggingIn,
    /// Logged in and kept.
    Ready,
}

/// One connection: the socket, the sans-IO protocol state and the job's clock.
#[derive(Debug)]
struct Conn {
    stream: TcpStream,
    proto: ClientConnection,
    state: State,
    id: usize,
    login_correlation: u32,
    scheduled: Instant,
    started: Instant,
    last_sent: Instant,
    heartbeat: Option<Duration>,
}

/// What servicing a connection once produced.
#[derive(Debug)]
enum Step {
    /// Nothing decisive yet.
    Pending,
    /// The login succeeded (the connection may have closed right after: `then`).
    LoggedIn {
        token: [u8; 16],
        then: Option<Failure>,
    },
    /// The connection is unusable.
    Failed(Failure),
}

/// A driver: one poll, its connections, one thread at a time.
pub struct Driver {
    poll: Poll,
    events: Events,
    server: SocketAddr,
    client_name: String,
    conns: Vec<Option<Conn>>,
    free: Vec<usize>,
    kept: usize,
    buf: Box<[u8]>,
    traffic: Traffic,
    ping_nonce: u64,
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Driver")
            .field("server", &self.server)
            .field("kept", &self.kept)
            .finish()
    }
}

impl Driver {
    /// A driver for connections to `server`, announcing itself as `client_name`.
    pub fn new(server: SocketAddr, client_name: &str) -> io::Result<Driver> {
        Ok(Driver {
            poll: Poll::new()?,
            events: Events::with_capacity(EVENTS_PER_POLL),
            server,
            client_name: client_name.to_string(),
            conns: Vec::new(),
            free: Vec::new(),
            kept: 0,
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            traffic: Traffic::default(),
            ping_nonce: 0,
        })
    }

    /// Opens and logs in every job of `wave`; returns when each has succeeded or
    /// failed, or at the deadline.
    pub fn login_wave(&mut self, wave: Wave) -> WaveOutcome {
        let mut out = WaveOutcome::new();
        let mut pending: VecDeque<LoginJob> = wave.jobs.into();
        // When each busy slot came free: the scheduled start of the next job
        // that takes it (closed loop; coordinated omission stays visible).
        let mut freed: VecDeque<Instant> = VecDeque::new();
        let max_inflight = wave.max_inflight.max(1);
        let mut inflight = 0usize;
        let mut next_sweep = Instant::now() + HEARTBEAT_SWEEP;
        // What connections still logging in when the loop ends are counted as.
        let mut abandoned = Failure::Timeout;
        loop {
            let turn_start = Instant::now();
            if turn_start >= wave.deadline {
                out.timed_out = inflight > 0 || !pending.is_empty();
                break;
            }
            let stopped = wave.stop_starting_at.is_some_and(|t| turn_start >= t);
            let mut started = 0;
            while !stopped && inflight < max_inflight && started < STARTS_PER_TURN {
                let Some(job) = pending.front() else { break };
                if job.not_before > turn_start {
                    break;
                }
                let Some(job) = pending.pop_front() else {
                    break;
                };
                // Slots never used yet have been free since the wave began;
                // the others since the moment their last connection finished.
                let never_used = max_inflight
                    .saturating_sub(inflight)
                    .saturating_sub(freed.len());
                let scheduled = if never_used > 0 {
                    job.not_before
                } else {
                    freed
                        .pop_front()
                        .map_or(job.not_before, |f| f.max(job.not_before))
                };
                started += 1;
                out.attempted += 1;
                out.start_lag
                    .saturating_record(micros(Instant::now().saturating_duration_since(scheduled)));
                match self.start(&job, scheduled) {
                    Ok(()) => inflight += 1,
                    Err(f) => {
                        out.failures.add(&f.key());
                        freed.push_back(Instant::now());
                    }
                }
            }
            if inflight == 0 && (pending.is_empty() || stopped) {
                break;
            }

            let now = Instant::now();
            let more_now = !stopped
                && inflight < max_inflight
                && pending.front().is_some_and(|j| j.not_before <= now);
            let mut wake = wave.deadline.min(next_sweep);
            if let Some(job) = pending.front() {
                if !stopped && inflight < max_inflight {
                    wake = wake.min(job.not_before);
                }
            }
            let timeout = if more_now {
                Duration::ZERO
            } else {
                wake.saturating_duration_since(now)
            };
            let work = now - turn_start;
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    // A broken poll cannot make progress: fail what is in flight.
                    abandoned = Failure::Io(e.kind());
                    break;
                }
            }
            let after_poll = Instant::now();
            let ready: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
            for slot in ready {
                let Some(state) = self
                    .conns
                    .get(slot)
                    .and_then(|c| c.as_ref())
                    .map(|c| c.state)
                else {
                    continue; // closed earlier this turn, or a stale token
                };
                let done = Instant::now();
                match self.service(slot, done) {
                    Step::Pending => {}
                    Step::LoggedIn { token, then } => {
                        inflight -= 1;
                        freed.push_back(done);
                        self.record_success(slot, token, done, &mut out);
                        match (wave.after, then) {
                            (AfterLogin::Close, _) => self.close(slot),
                            (AfterLogin::Keep, None) => self.keep(slot),
                            (AfterLogin::Keep, Some(f)) => {
                                out.dropped.add(&f.key());
                                self.close(slot);
                            }
                        }
                    }
                    Step::Failed(f) => {
                        if state == State::Ready {
                            out.dropped.add(&f.key());
                            self.kept -= 1;
                        } else {
                            inflight -= 1;
                            freed.push_back(done);
                            out.failures.add(&f.key());
                        }
                        self.close(slot);
                    }
                }
            }
            let now = Instant::now();
            if now >= next_sweep {
                out.dropped.merge(&self.heartbeats(now));
                next_sweep = now + HEARTBEAT_SWEEP;
            }
            out.turns.record(work + (Instant::now() - after_poll));
        }
        if inflight > 0 {
            for slot in 0..self.conns.len() {
                if self.conns[slot]
                    .as_ref()
                    .is_some_and(|c| c.state != State::Ready)
                {
                    out.failures.add(&abandoned.key());
                    self.close(slot);
                }
            }
        }
        out.not_started += pending.len() as u64;
        out
    }

    /// Keeps the kept connections alive until `until`.
    pub fn hold(&mut self, until: Instant) -> HoldOutcome {
        let mut out = HoldOutcome {
            held_at_start: self.kept as u64,
            ..HoldOutcome::default()
        };
        let mut next_sweep = Instant::now();
        loop {
            let turn_start = Instant::now();
            if turn_start >= next_sweep {
                out.dropped.merge(&self.heartbeats(turn_start));
                next_sweep = turn_start + HEARTBEAT_SWEEP;
            }
            if turn_start >= until {
                break;
            }
            let timeout = until.min(next_sweep).saturating_duration_since(turn_start);
            let work = Instant::now() - turn_start;
            if let Err(e) = self.poll.poll(&mut self.events, Some(timeout)) {
                if e.kind() != io::ErrorKind::Interrupted {
                    out.dropped.add(&Failure::Io(e.kind()).key());
                    break;
                }
            }
            let after_poll = Instant::now();
            let ready: Vec<usize> = self.events.iter().map(|e| e.token().0).collect();
            for slot in ready {
                if self.conns.get(slot).is_none_or(|c| c.is_none()) {
                    continue;
                }
                match self.service(slot, Instant::now()) {
                    Step::Pending | Step::LoggedIn { then: None, .. } => {}
                    Step::LoggedIn { then: Some(f), .. } | Step::Failed(f) => {
                        out.dropped.add(&f.key());
                        self.kept -= 1;
                        self.close(slot);
                    }
                }
            }
            out.turns.record(work + (Instant::now() - after_poll));
        }
        out.held_at_end = self.kept as u64;
        out
    }

    /// Closes every connection; returns how many were open.
    pub fn close_all(&mut self) -> usize {
        let mut n = 0;
        for slot in 0..self.conns.len() {
            if self.conns[slot].is_some() {
                n += 1;
                self.close(slot);
            }
        }
        self.kept = 0;
        n
    }

    /// Creates, binds and connects a socket for `job` and queues `Hello` and the login.
    fn start(&mut self, job: &LoginJob, scheduled: Instant) -> Result<(), Failure> {
        let started = Instant::now();
        let stream =
            connect_from(job.source, self.server).map_err(|e| Failure::Connect(e.kind()))?;
        let mut proto = ClientConnection::new(&self.client_name, kefu_wire::DEFAULT_MAX_FRAME);
        let request = match &job.credential {
            Credential::Password(p) => Request::Login {
                account: job.account,
                agent: job.agent,
                password: p.to_string(),
                otp: None,
            },
            Credential::Token(token) => Request::Resume {
                account: job.account,
                agent: job.agent,
                token: *token,
            },
        };
        let login_correlation = proto.send_request(&request);
        let slot = self.free.pop().unwrap_or(self.conns.len());
        let mut conn = Conn {
            stream,
            proto,
            state: State::Connecting,
            id: job.id,
            login_correlation,
            scheduled,
            started,
            last_sent: started,
            heartbeat: None,
        };
        if let Err(e) = self.poll.registry().register(
            &mut conn.stream,
            Token(slot),
            Interest::READABLE | Interest::WRITABLE,
        ) {
            if slot < self.conns.len() {
                self.free.push(slot);
            }
            return Err(Failure::Connect(e.kind()));
        }
        if slot == self.conns.len() {
            self.conns.push(Some(conn));
        } else {
            self.conns[slot] = Some(conn);
        }
        Ok(())
    }

    fn record_success(
        &mut self,
        slot: usize,
        token: [u8; 16],
        done: Instant,
        out: &mut WaveOutcome,
    ) {
        if let Some(c) = self.conns.get(slot).and_then(Option::as_ref) {
            out.latency
                .saturating_record(micros(done - c.scheduled).max(1));
            out.service
                .saturating_record(micros(done - c.started).max(1));
            out.tokens.push((c.id, token));
        }
        out.succeeded += 1;
        out.last_success = Some(done);
    }

    fn keep(&mut self, slot: usize) {
        if let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) {
            c.state = State::Ready;
            self.kept += 1;
        }
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut c) = self.conns.get_mut(slot).and_then(Option::take) {
            let _ = self.poll.registry().deregister(&mut c.stream);
            self.free.push(slot);
            // Dropping the stream closes it with a FIN.
        }
    }

    /// Reads, handles and writes whatever one connection can, right now.
    fn service(&mut self, slot: usize, now: Instant) -> Step {
        let Some(Some(c)) = self.conns.get_mut(slot) else {
            return Step::Pending;
        };
        if c.state == State::Connecting {
            match connect_result(&c.stream) {
                Ok(false) => return Step::Pending,
                Ok(true) => c.state = State::LoggingIn,
                Err(e) => return Step::Failed(Failure::Connect(e.kind())),
            }
        }
        let eof = match read_in(&mut c.stream, &mut c.proto, &mut self.buf, true) {
            Ok(eof) => eof,
            Err(f) => return Step::Failed(f),
        };
        let mut step = Step::Pending;
        let mut pushed = false;
        while let Some(event) = c.proto.poll_event() {
            match event {
                ClientEvent::Welcome(w) => {
                    c.heartbeat = (w.heartbeat_ms > 0)
                        .then(|| Duration::from_millis(u64::from(w.heartbeat_ms)));
                }
                ClientEvent::Response {
                    correlation,
                    result,
                } if correlation == c.login_correlation && c.state == State::LoggingIn => {
                    match result {
                        Ok(Response::LoggedIn(session)) => {
                            step = Step::LoggedIn {
                                token: session.token,
                                then: None,
                            };
                        }
                        Ok(_) => return Step::Failed(Failure::UnexpectedResponse),
                        Err(e) => return Step::Failed(Failure::Server(e.code)),
                    }
                }
                ClientEvent::Response { .. } => {}
                ClientEvent::Push(_) => {
                    self.traffic.pushes += 1;
                    pushed = true;
                }
                ClientEvent::Pong(_) => self.traffic.pongs += 1,
                ClientEvent::ConnectionError(e) => {
                    return after_login(step, Failure::ConnectionError(e.code))
                }
                ClientEvent::GoAway(g) => return after_login(step, Failure::GoAway(g.code)),
                ClientEvent::GoAwayTo(g) => return after_login(step, Failure::GoAway(g.code)),
            }
        }
        if pushed {
            // One cumulative acknowledgement covers every push of this read.
            c.proto.ack_pushes();
        }
        if eof {
            return after_login(step, Failure::ClosedByServer);
        }
        if let Err(e) = flush(c, now) {
            return after_login(step, Failure::Io(e.kind()));
        }
        step
    }

    /// Sends a ping on every kept connection silent for its heartbeat interval;
    /// returns the connections lost while doing so.
    fn heartbeats(&mut self, now: Instant) -> FailureCounts {
        let mut lost = FailureCounts::default();
        for slot in 0..self.conns.len() {
            let Some(Some(c)) = self.conns.get_mut(slot) else {
                continue;
            };
            let due = c.state == State::Ready
                && c.heartbeat
                    .is_some_and(|h| now.saturating_duration_since(c.last_sent) >= h);
            if !due {
                continue;
            }
            self.ping_nonce = self.ping_nonce.wrapping_add(1);
            c.proto.send_ping(self.ping_nonce);
            self.traffic.pings_sent += 1;
            if let Err(e) = flush(c, now) {
                lost.add(&Failure::Io(e.kind()).key());
                self.kept -= 1;
                self.close(slot);
            }
        }
        lost
    }
}

/// A failure that ends a connection: after a login in the same read it is
/// reported with the login; otherwise it is the outcome.
fn after_login(step: Step, failure: Failure) -> Step {
    match step {
        Step::LoggedIn { token, .. } => Step::LoggedIn {
            token,
            then: Some(failure),
        },
        _ => Step::Failed(failure),
    }
}

/// Writes as much of the connection's transmit buffer as the socket takes.
fn flush(c: &mut Conn, now: Instant) -> io::Result<()> {
    if write_out(&mut c.stream, &mut c.proto)? {
        c.last_sent = now;
    }
    Ok(())
}

/// Reads everything the socket has (readiness is edge-triggered) into the
/// protocol state; `Ok(true)` when the peer closed its side.
///
/// Unless `drain` (the event said the peer closed, or the socket failed), a
/// short read ends the reading: bytes arriving later raise a new edge, so the
/// read that would only say `EAGAIN` is saved (one syscall per readable
/// connection per turn, as the daemon does).
fn read_in(
    stream: &mut TcpStream,
    proto: &mut ClientConnection,
    buf: &mut [u8],
    drain: bool,
) -> Result<bool, Failure> {
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(true),
            Ok(n) => {
                let data = buf.get(..n).unwrap_or_default();
                proto
                    .handle_input(data)
                    .map_err(|e| Failure::Protocol(e.code()))?;
                if n < buf.len() && !drain {
                    return Ok(false);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::Io(e.kind())),
        }
    }
}

/// Writes as much of the protocol's transmit buffer as the socket takes;
/// `Ok(true)` if anything was written.
fn write_out(stream: &mut TcpStream, proto: &mut ClientConnection) -> io::Result<bool> {
    let mut wrote = false;
    while !proto.transmit().is_empty() {
        match stream.write(proto.transmit()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                proto.consume_transmit(n);
                wrote = true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(wrote)
}

/// A nonblocking TCP connection from `source` (any port) to `server`, in progress.
fn connect_from(source: IpAddr, server: SocketAddr) -> io::Result<TcpStream> {
    let socket = Socket::new(
        Domain::for_address(server),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    socket.set_nonblocking(true)?;
    socket.set_nodelay(true)?;
    if source.is_ipv4() {
        // Best effort: without it the port is reserved per source address at bind time.
        let _ = crate::sys::set_bind_address_no_port(&socket);
    }
    socket.bind(&SocketAddr::new(source, 0).into())?;
    match socket.connect(&server.into()) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(e) => return Err(e),
    }
    Ok(TcpStream::from_std(socket.into()))
}

/// Whether a nonblocking `connect` has completed: `Ok(false)` while in
/// progress, an error if it failed (mio's documented recipe).
fn connect_result(stream: &TcpStream) -> io::Result<bool> {
    if let Some(e) = stream.take_error()? {
        return Err(e);
    }
    match stream.peer_addr() {
        Ok(_) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// A duration in whole microseconds, saturating.
pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_are_stable() {
        let cases = [
            (
                Failure::Connect(io::ErrorKind::ConnectionRefused),
                "connect:ConnectionRefused",
            ),
            (
                Failure::Io(io::ErrorKind::ConnectionReset),
                "io:ConnectionReset",
            ),
            (Failure::Server(ErrorCode::WRONG_PASSWORD), "WRONG_PASSWORD"),
            (Failure::Server(ErrorCode(999)), "code_999"),
            (
                Failure::GoAway(ErrorCode::SESSION_REPLACED),
                "goaway:SESSION_REPLACED",
            ),
            (
                Failure::ConnectionError(ErrorCode::UNSUPPORTED_VERSION),
                "connection_error:UNSUPPORTED_VERSION",
            ),
            (
                Failure::Protocol(ErrorCode::MALFORMED_FRAME),
                "protocol:MALFORMED_FRAME",
            ),
            (Failure::ClosedByServer, "closed_by_server"),
            (Failure::UnexpectedResponse, "unexpected_response"),
            (Failure::Timeout, "timeout"),
        ];
        for (failure, key) in cases {
            assert_eq!(failure.key(), key);
        }
    }

    #[test]
    fn refused_connections_are_counted_not_fatal() {
        // A port nobody listens on: bind one, note it, drop it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let server: SocketAddr = ([127, 0, 0, 1], port).into();
        let mut driver = Driver::new(server, "test").unwrap();
        let now = Instant::now();
        let jobs = (0..3)
            .map(|id| LoginJob {
                id,
                account: 1,
                agent: 1001,
                source: IpAddr::from([127, 0, 0, 1]),
                credential: Credential::Token([0; 16]),
                not_before: now,
            })
            .collect();
        let out = driver.login_wave(Wave {
            jobs,
            max_inflight: 2,
            after: AfterLogin::Keep,
            stop_starting_at: None,
            deadline: now + Duration::from_secs(30),
        });
        assert_eq!(out.attempted, 3);
        assert_eq!(out.succeeded, 0);
        assert_eq!(out.failures.total(), 3);
        assert!(!out.timed_out);
        assert_eq!(driver.close_all(), 0);
    }
}
