//! The event loop of `kefu-load chat`: agents and customers on one `mio::Poll`
//! per thread, their setup, the open-loop message traffic, and closing.
//!
//! A scenario drives a [`ChatDriver`] in phases, each on the driver's own
//! thread, the connections staying open between phases:
//! 1. [`ChatDriver::setup`] with agent jobs: connect, `Login` (password),
//!    then `SetAutoAccept { cap }`;
//! 2. [`ChatDriver::setup`] with customer jobs: connect, `CustomerLogin`
//!    (signature), then `OpenConversation { Entry::Auto }`;
//! 3. [`ChatDriver::traffic`]: the driver's share of the [`Schedule`] sent by
//!    its customers, each message when it is due; agents record what they
//!    receive (and echo it, with replies on); until everything is answered
//!    and delivered, or the drain ends;
//! 4. [`ChatDriver::close_conversations`], then [`ChatDriver::close_all`].
//!
//! Every phase services every connection: an agent keeps reading (and
//! acknowledging pushes) while customers are set up.
//!
//! Each traffic turn: send what is due (at most [`SENDS_PER_TURN`]) → write
//! the connections that have something to send → wait on the sockets until
//! the next due time (`epoll_pwait2`, to the nanosecond: no timer to re-arm
//! before every sleep; on a kernel without it, `epoll_wait` and a `timerfd`
//! armed for the due time, since `epoll_wait` alone only knows milliseconds)
//! → read, account, reply → acknowledge pushes, if the push-ack interval has
//! passed. Times are taken once per read: the moment
//! the bytes were in hand.
//!
//! With a window (`TrafficSpec::window`), a customer has at most that many
//! messages unanswered: a message due while the window is full waits in the
//! customer's backlog and goes out when an answer frees a slot, as a client
//! that waits for its acknowledgements would. Latencies are then measured
//! both from the due time (corrected for coordinated omission) and from the
//! moment the message actually left (uncorrected, as such a client would
//! see it).
//!
//! Pushes are acknowledged cumulatively, so an agent receiving a message
//! every few microseconds need not answer each one: in the traffic phase
//! acknowledgements go out at most every `push_ack_every` per connection
//! (zero: after every read, as in the other phases).
//!
//! **Boundary**: the driver knows connections, requests and the schedule;
//! what a message's fate means for the run is [`crate::ledger`]'s, and the
//! report is [`crate::report`]'s.

use super::{code_name, EVENTS_PER_POLL, HEARTBEAT_SWEEP, READ_BUF, STARTS_PER_TURN};
use super::{connect_from, connect_result, micros, read_in, write_out, Failure, TurnStats};
use crate::ledger::{Counts, Ledger, Mark, Progress};
use crate::ops::{OpOutcome, OpSpec};
use crate::report::{new_histogram, FailureCounts};
use crate::schedule::Schedule;
use crate::sys::{EpollWait, Timer};
use crate::timeline::Timeline;
use hdrhistogram::Histogram;
use kefu_wire::chat::{ConversationState, CustomerId, Entry, MessageBody, MessageInfo, Party};
use kefu_wire::{ClientConnection, ClientEvent, ErrorBody, Event, Request, Response};
use mio::net::TcpStream;
use mio::unix::SourceFd;
use mio::{Interest, Poll, Token};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages queued per turn at most, so that answers keep being read when
/// the tool falls behind its schedule.
pub const SENDS_PER_TURN: usize = 4096;
/// The timer's token (connections use their slot number).
const TIMER: Token = Token(usize::MAX);
/// How often a draining loop looks whether everything has arrived.
const DRAIN_CHECK: Duration = Duration::from_millis(5);

/// Who a connection logs in as.
#[derive(Debug, Clone)]
pub enum Role {
    /// An agent: `Login` with a password, then `SetAutoAccept`.
    Agent {
        /// Agent number.
        agent: u32,
        /// Password (shared by every job of a run).
        password: Arc<str>,
        /// Auto-accept cap.
        cap: u16,
    },
    /// A customer: `CustomerLogin`, then `OpenConversation`.
    Customer {
        /// The customer id.
        customer: String,
        /// When the signature expires, unix seconds.
        expires_at: i64,
        /// The backend's signature.
        signature: [u8; 32],
    },
    /// An anonymous visitor: `VisitorLogin` (a new visitor), then
    /// `OpenConversation`; afterwards a customer like any other.
    Visitor,
}

impl Role {
    /// Whether the connection sends the schedule's messages (customer or visitor).
    fn sends(&self) -> bool {
        !matches!(self, Role::Agent { .. })
    }
}

/// One connection to open, log in and set up.
#[derive(Debug, Clone)]
pub struct ChatJob {
    /// Account number.
    pub account: u64,
    /// Agent or customer.
    pub role: Role,
    /// Local address to bind before connecting.
    pub source: IpAddr,
}

/// What a setup phase did.
#[derive(Debug)]
pub struct SetupOutcome {
    /// Connections started.
    pub attempted: u64,
    /// Connections set up.
    pub ready: u64,
    /// Customers whose conversation waits in the queue (no agent took it).
    pub queued: u64,
    /// Jobs never started (deadline).
    pub not_started: u64,
    /// Failed setups, by `Request:ERROR_CODE` or connection failure.
    pub failures: FailureCounts,
    /// Connections set up earlier and lost during this phase, by reason.
    pub dropped: FailureCounts,
    /// Microseconds from `connect` to the end of setup.
    pub latency: Histogram<u64>,
    /// Whether the deadline cut the phase short.
    pub timed_out: bool,
    /// How the loop fared.
    pub turns: TurnStats,
}

impl SetupOutcome {
    /// An empty outcome, to merge drivers' outcomes into.
    pub fn empty() -> SetupOutcome {
        SetupOutcome {
            attempted: 0,
            ready: 0,
            queued: 0,
            not_started: 0,
            failures: FailureCounts::default(),
            dropped: FailureCounts::default(),
            latency: new_histogram(),
            timed_out: false,
            turns: TurnStats::default(),
        }
    }

    /// Folds another driver's outcome of the same phase into this one.
    pub fn merge(&mut self, o: SetupOutcome) {
        self.attempted += o.attempted;
        self.ready += o.ready;
        self.queued += o.queued;
        self.not_started += o.not_started;
        self.failures.merge(&o.failures);
        self.dropped.merge(&o.dropped);
        // Same bounds everywhere: adding cannot fail.
        let _ = self.latency.add(&o.latency);
        self.timed_out |= o.timed_out;
        self.turns.merge(&o.turns);
    }
}

/// The traffic phase's shared, read-only inputs.
#[derive(Debug, Clone)]
pub struct TrafficSpec {
    /// The whole run's schedule.
    pub schedule: Schedule,
    /// This driver's number and the number of drivers (its share of the schedule).
    pub driver: usize,
    /// Number of drivers.
    pub drivers: usize,
    /// Whether agents echo messages.
    pub replies: bool,
    /// How long to wait after the last send (of every driver) for what is outstanding.
    pub drain: Duration,
    /// Give up at this instant, whatever is outstanding.
    pub deadline: Instant,
    /// Acknowledge pushes at most this often per connection (cumulatively);
    /// zero acknowledges after every read that brought pushes.
    pub push_ack_every: Duration,
    /// Every message's fate.
    pub ledger: Arc<Ledger>,
    /// Live totals over every driver.
    pub progress: Arc<Progress>,
    /// Messages a customer may have unanswered at once; `None`: no limit (open loop).
    pub window: Option<u32>,
    /// Agents' operations (history, contact search, broadcast), each on its own schedule.
    pub ops: Vec<OpSpec>,
}

/// What a traffic phase measured on one driver.
#[derive(Debug)]
pub struct TrafficOutcome {
    /// From a measured message's due time to its `Sent`, microseconds.
    pub ack: Histogram<u64>,
    /// From a measured message's due time to its arrival at the agent, microseconds.
    pub end_to_end: Histogram<u64>,
    /// From a measured message's due time to the agent's echo reaching the customer.
    pub round_trip: Histogram<u64>,
    /// From a measured message's due time to the moment the tool queued it:
    /// the tool's own lag behind its schedule.
    pub send_lag: Histogram<u64>,
    /// From the moment a measured message was queued to its `Sent`
    /// (uncorrected: blind to time the message waited to be sent).
    pub ack_from_send: Histogram<u64>,
    /// From the moment a measured message was queued to its arrival at the agent.
    pub end_to_end_from_send: Histogram<u64>,
    /// Per-second counts and latencies, from the schedule's start.
    pub timeline: Timeline,
    /// Messages queued within the measured window.
    pub sent_in_window: u64,
    /// `Sent` answers received within the window.
    pub acked_in_window: u64,
    /// First deliveries to agents within the window.
    pub delivered_in_window: u64,
    /// Refused sends and replies by `SendMessage:CODE` / `reply:CODE`, and
    /// messages not sent by reason.
    pub errors: FailureCounts,
    /// Connections lost during the phase, by `agent:`/`customer:` reason.
    pub dropped: FailureCounts,
    /// Message pushes that were not this run's (an earlier run's, a welcome message).
    pub foreign_messages: u64,
    /// Other pushes (conversation changes, presence).
    pub other_pushes: u64,
    /// Whether the deadline ended the phase with something outstanding.
    pub timed_out: bool,
    /// How the loop fared.
    pub turns: TurnStats,
    /// Agents' operations, one per kind of the spec (in its order).
    pub ops: Vec<OpOutcome>,
}

impl TrafficOutcome {
    fn new() -> TrafficOutcome {
        TrafficOutcome {
            ack: new_histogram(),
            end_to_end: new_histogram(),
            round_trip: new_histogram(),
            send_lag: new_histogram(),
            ack_from_send: new_histogram(),
            end_to_end_from_send: new_histogram(),
            timeline: Timeline::default(),
            sent_in_window: 0,
            acked_in_window: 0,
            delivered_in_window: 0,
            errors: FailureCounts::default(),
            dropped: FailureCounts::default(),
            foreign_messages: 0,
            other_pushes: 0,
            timed_out: false,
            turns: TurnStats::default(),
            ops: Vec::new(),
        }
    }

    /// An empty outcome, to merge drivers' outcomes into.
    pub fn empty() -> TrafficOutcome {
        TrafficOutcome::new()
    }

    /// Folds another driver's outcome into this one.
    pub fn merge(&mut self, o: TrafficOutcome) {
        // Same bounds everywhere: adding cannot fail.
        let _ = self.ack.add(&o.ack);
        let _ = self.end_to_end.add(&o.end_to_end);
        let _ = self.round_trip.add(&o.round_trip);
        let _ = self.send_lag.add(&o.send_lag);
        let _ = self.ack_from_send.add(&o.ack_from_send);
        let _ = self.end_to_end_from_send.add(&o.end_to_end_from_send);
        self.timeline.merge(&o.timeline);
        self.sent_in_window += o.sent_in_window;
        self.acked_in_window += o.acked_in_window;
        self.delivered_in_window += o.delivered_in_window;
        self.errors.merge(&o.errors);
        self.dropped.merge(&o.dropped);
        self.foreign_messages += o.foreign_messages;
        self.other_pushes += o.other_pushes;
        self.timed_out |= o.timed_out;
        self.turns.merge(&o.turns);
        for op in &o.ops {
            match self.ops.iter_mut().find(|m| m.kind == op.kind) {
                Some(m) => m.merge(op),
                None => self.ops.push(op.clone()),
            }
        }
    }
}

/// What closing the conversations did.
#[derive(Debug, Default)]
pub struct CloseOutcome {
    /// Conversations closed.
    pub closed: u64,
    /// Failed closes, by `CloseConversation:CODE` or connection failure.
    pub failures: FailureCounts,
    /// Messages that arrived after the drain (already counted as lost).
    pub late_messages: u64,
}

impl CloseOutcome {
    /// Folds another driver's outcome into this one.
    pub fn merge(&mut self, o: CloseOutcome) {
        self.closed += o.closed;
        self.failures.merge(&o.failures);
        self.late_messages += o.late_messages;
    }
}

/// Where a connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// `connect` in progress; `Hello` and the login are queued.
    Connecting,
    /// Waiting for the login's answer.
    LoggingIn,
    /// Waiting for `SetAutoAccept` / `OpenConversation`.
    Configuring,
    /// Set up.
    Ready,
    /// Set up, waiting for the answer to a one-off request ([`ChatDriver::call_agents`]).
    Calling,
    /// Waiting for `CloseConversation`.
    Closing,
    /// Its conversation is closed (or it had none to close).
    Done,
}

/// One connection.
struct Conn {
    stream: TcpStream,
    proto: ClientConnection,
    stage: Stage,
    role: Role,
    /// The setup or close request waited for: correlation and name.
    waiting: Option<(u32, &'static str)>,
    started: Instant,
    last_sent: Instant,
    heartbeat: Option<Duration>,
    conversation: Option<u64>,
    /// Messages (a customer's) or replies (an agent's) not yet answered:
    /// correlation → message index.
    inflight: HashMap<u32, u64>,
    /// Listed in the turn's write list.
    dirty: bool,
    /// Pushes received and not yet acknowledged (listed in the driver's `acks`).
    ack_pending: bool,
    /// The last readiness event said the peer closed (or the socket failed): read
    /// until the end instead of stopping at a short read.
    drain: bool,
    /// A customer's due messages waiting for a free slot in its window.
    backlog: VecDeque<u64>,
    /// An agent's conversations' customers (from `ConversationChanged`), in order of assignment.
    served: Vec<CustomerId>,
    /// An agent's operations in flight: correlation → (kind's index, operation, sent at).
    ops: HashMap<u32, (usize, u64, Instant)>,
}

impl Conn {
    fn is_agent(&self) -> bool {
        matches!(self.role, Role::Agent { .. })
    }

    fn kind(&self) -> &'static str {
        if self.is_agent() {
            "agent"
        } else {
            "customer"
        }
    }
}

/// What servicing a connection once came to.
#[derive(Debug)]
enum Step {
    /// Nothing decisive.
    Pending,
    /// Setup finished; for a customer, whether its conversation is queued.
    Ready { queued: bool },
    /// Setup refused (a `Request:CODE` key).
    SetupFailed(String),
    /// The conversation is closed.
    Closed,
    /// Closing refused.
    CloseFailed(String),
    /// The connection is unusable.
    Lost(Failure),
}

/// Per-traffic-phase state the service routine updates.
struct Traffic {
    spec: TrafficSpec,
    window: (Instant, Instant),
    counts: Counts,
    out: TrafficOutcome,
    /// Messages waiting in customers' backlogs.
    backlogged: u64,
    /// Operations sent and not yet answered.
    ops_inflight: u64,
    /// The buffer every message's text is written into.
    text: String,
}

/// One thread's share of the agents and customers.
pub struct ChatDriver {
    poll: Poll,
    events: EpollWait,
    server: SocketAddr,
    client_name: String,
    conns: Vec<Option<Conn>>,
    /// Slots of this driver's customers, in job order (`usize::MAX` for one
    /// that never got a connection): the schedule deals messages over them.
    customers: Vec<usize>,
    /// Slots of this driver's agents, in job order: operations are dealt over them.
    agents: Vec<usize>,
    /// Slots of the agents allowed to broadcast (set by [`ChatDriver::call_agents`]).
    broadcasters: Vec<usize>,
    buf: Box<[u8]>,
    /// Wakes the traffic loop at a due time where waits are not precise
    /// ([`EpollWait::precise`]); never armed otherwise.
    timer: Timer,
    ping_nonce: u64,
    /// Set during the traffic phase.
    traffic: Option<Traffic>,
    /// Connections with pushes to acknowledge at the next flush (traffic
    /// phase with a push-ack interval only).
    acks: Vec<usize>,
    /// Message pushes seen outside the traffic phase.
    late_messages: u64,
}

impl fmt::Debug for ChatDriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChatDriver")
            .field("server", &self.server)
            .field("connections", &self.conns.iter().flatten().count())
            .field("customers", &self.customers.len())
            .finish()
    }
}

impl ChatDriver {
    /// A driver for connections to `server`, announcing itself as `client_name`.
    pub fn new(server: SocketAddr, client_name: &str) -> std::io::Result<ChatDriver> {
        let poll = Poll::new()?;
        let timer = Timer::new()?;
        poll.registry()
            .register(&mut SourceFd(&timer.as_raw_fd()), TIMER, Interest::READABLE)?;
        Ok(ChatDriver {
            poll,
            events: EpollWait::new(EVENTS_PER_POLL),
            server,
            client_name: client_name.to_string(),
            conns: Vec::new(),
            customers: Vec::new(),
            agents: Vec::new(),
            broadcasters: Vec::new(),
            buf: vec![0u8; READ_BUF].into_boxed_slice(),
            timer,
            ping_nonce: 0,
            traffic: None,
            acks: Vec::new(),
            late_messages: 0,
        })
    }

    /// Opens and sets up every job, at most `max_inflight` at a time; returns
    /// when each is set up or has failed, or at the deadline.
    pub fn setup(
        &mut self,
        jobs: Vec<ChatJob>,
        max_inflight: usize,
        deadline: Instant,
    ) -> SetupOutcome {
        let mut out = SetupOutcome::empty();
        let mut pending: VecDeque<ChatJob> = jobs.into();
        let max_inflight = max_inflight.max(1);
        let mut inflight = 0usize;
        let mut next_sweep = Instant::now() + HEARTBEAT_SWEEP;
        loop {
            let turn_start = Instant::now();
            if turn_start >= deadline {
                out.timed_out = inflight > 0 || !pending.is_empty();
                break;
            }
            let mut started = 0;
            while inflight < max_inflight && started < STARTS_PER_TURN {
                let Some(job) = pending.pop_front() else {
                    break;
                };
                started += 1;
                out.attempted += 1;
                let customer = job.role.sends();
                match self.start(job) {
                    Ok(slot) => {
                        inflight += 1;
                        if customer {
                            self.customers.push(slot);
                        } else {
                            self.agents.push(slot);
                        }
                    }
                    Err(f) => {
                        out.failures.add(&f.key());
                        if customer {
                            self.customers.push(usize::MAX);
                        }
                    }
                }
            }
            if inflight == 0 && pending.is_empty() {
                break;
            }
            let now = Instant::now();
            let more_now = inflight < max_inflight && !pending.is_empty();
            let timeout = if more_now {
                Duration::ZERO
            } else {
                deadline.min(next_sweep).saturating_duration_since(now)
            };
            let work = now - turn_start;
            if let Err(f) = self.wait(timeout) {
                out.failures.add(&f.key());
                break;
            }
            let after_poll = Instant::now();
            for slot in self.ready_slots() {
                let was_ready = self.stage(slot) == Some(Stage::Ready);
                match self.service(slot) {
                    Step::Pending | Step::Closed | Step::CloseFailed(_) => {}
                    Step::Ready { queued } => {
                        inflight -= 1;
                        out.ready += 1;
                        out.queued += u64::from(queued);
                        if let Some(c) = self.conn(slot) {
                            out.latency
                                .saturating_record(micros(c.started.elapsed()).max(1));
                        }
                    }
                    Step::SetupFailed(key) => {
                        inflight -= 1;
                        out.failures.add(&key);
                        self.close(slot);
                    }
                    Step::Lost(f) => {
                        if was_ready {
                            out.dropped.add(&self.lost_key(slot, &f));
                        } else {
                            inflight -= 1;
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
        // Whatever is still being set up has run out of time.
        for slot in 0..self.conns.len() {
            let stuck = self.stage(slot).is_some_and(|s| {
                matches!(s, Stage::Connecting | Stage::LoggingIn | Stage::Configuring)
            });
            if stuck {
                out.failures.add(&Failure::Timeout.key());
                self.close(slot);
            }
        }
        out.not_started = pending.len() as u64;
        for job in pending {
            if job.role.sends() {
                self.customers.push(usize::MAX);
            }
        }
        out
    }

    /// Sends this driver's share of the schedule, each message when it is
    /// due, and records what arrives; returns once nothing is outstanding
    /// over all drivers, the drain has ended, or the deadline has passed.
    pub fn traffic(&mut self, spec: TrafficSpec) -> TrafficOutcome {
        // Waits end on the due time itself (no timer slack); failing that, the timer wakes us.
        let slack_off = crate::sys::precise_sleeps().is_ok();
        let schedule = spec.schedule;
        let step = spec.drivers.max(1) as u64;
        let mut next = spec.driver as u64;
        let mut done_sending = false;
        let mut dirty: Vec<usize> = Vec::new();
        let mut next_sweep = Instant::now() + HEARTBEAT_SWEEP;
        let mut armed_for: Option<Instant> = None;
        let ack_every = spec.push_ack_every;
        let mut next_ack_flush = Instant::now() + ack_every;
        let deadline = spec.deadline;
        let (progress, replies) = (Arc::clone(&spec.progress), spec.replies);
        let ops: Vec<OpSpec> = spec.ops.clone();
        let mut next_op: Vec<u64> = ops.iter().map(|o| o.first).collect();
        let mut out = TrafficOutcome::new();
        out.ops = ops.iter().map(|o| OpOutcome::new(o.kind)).collect();
        self.traffic = Some(Traffic {
            window: schedule.window(),
            spec,
            counts: Counts::default(),
            out,
            backlogged: 0,
            ops_inflight: 0,
            text: String::new(),
        });
        loop {
            let turn_start = Instant::now();
            // Send what is due.
            let mut sent = 0;
            while next < schedule.total && sent < SENDS_PER_TURN {
                if schedule.at(next) > turn_start {
                    break;
                }
                self.send_message(next, turn_start, &mut dirty);
                next += step;
                sent += 1;
            }
            for (k, op) in ops.iter().enumerate() {
                while next_op[k] < op.schedule.total && sent < SENDS_PER_TURN {
                    if op.schedule.at(next_op[k]) > turn_start {
                        break;
                    }
                    self.send_op(k, next_op[k], turn_start, &mut dirty);
                    next_op[k] += op.step.max(1);
                    sent += 1;
                }
            }
            let ops_left = ops
                .iter()
                .zip(&next_op)
                .any(|(op, &n)| n < op.schedule.total);
            for slot in dirty.drain(..) {
                if let Some(c) = self.conn_mut(slot) {
                    c.dirty = false;
                }
                self.write_or_drop(slot, turn_start);
            }
            let backlogged = self.traffic.as_ref().map_or(0, |t| t.backlogged);
            if !done_sending && next >= schedule.total && backlogged == 0 && !ops_left {
                done_sending = true;
                let since_t0 = turn_start.saturating_duration_since(schedule.t0);
                progress.done_sending(u64::try_from(since_t0.as_nanos()).unwrap_or(u64::MAX));
            }
            if let Some(t) = self.traffic.as_mut() {
                progress.add(&mut t.counts);
            }

            // Done?
            let now = Instant::now();
            if done_sending {
                // The drain runs from the later of the schedule's end and the
                // moment the slowest driver sent its last message.
                let drain_until = progress.all_sent_at().and_then(|ns| {
                    let sent = Duration::from_nanos(ns).max(schedule.offset(schedule.total));
                    schedule.t0.checked_add(sent)?.checked_add(self.drain())
                });
                let ops_answered = self.traffic.as_ref().is_none_or(|t| t.ops_inflight == 0);
                if (progress.settled(replies) && ops_answered)
                    || drain_until.is_some_and(|d| now >= d)
                {
                    break;
                }
            }
            if now >= deadline {
                if let Some(t) = self.traffic.as_mut() {
                    t.out.timed_out = true;
                }
                break;
            }

            // Wait for the sockets, the next due message or operation, or a check.
            let due = (next < schedule.total).then(|| schedule.at(next));
            let due = ops
                .iter()
                .zip(&next_op)
                .filter(|(op, &n)| n < op.schedule.total)
                .map(|(op, &n)| op.schedule.at(n))
                .chain(due)
                .min();
            let timeout = match due {
                Some(d) if d <= now => Duration::ZERO,
                Some(d) if slack_off && self.events.precise() => {
                    (d - now).min(deadline.saturating_duration_since(now))
                }
                Some(d) => {
                    if armed_for != Some(d) {
                        if self.timer.arm(d - now).is_ok() {
                            armed_for = Some(d);
                        } else {
                            // Without a timer, poll at millisecond precision.
                            armed_for = None;
                        }
                    }
                    let fallback = if armed_for.is_some() {
                        HEARTBEAT_SWEEP
                    } else {
                        d - now
                    };
                    fallback.min(deadline.saturating_duration_since(now))
                }
                None => DRAIN_CHECK.min(deadline.saturating_duration_since(now)),
            };
            let timeout = if self.acks.is_empty() {
                timeout
            } else {
                timeout.min(next_ack_flush.saturating_duration_since(now))
            };
            let work = now - turn_start;
            if let Err(f) = self.wait(timeout) {
                if let Some(t) = self.traffic.as_mut() {
                    t.out.errors.add(&format!("poll:{}", f.key()));
                }
                break;
            }
            let after_poll = Instant::now();
            let mut timer_fired = false;
            for slot in self.ready_slots_or_timer(&mut timer_fired) {
                if let Step::Lost(f) = self.service(slot) {
                    let key = self.lost_key(slot, &f);
                    if let Some(t) = self.traffic.as_mut() {
                        t.out.dropped.add(&key);
                    }
                    self.close(slot);
                }
            }
            if timer_fired {
                // Not read: the next arming resets it, and each expiry is a new edge (`sys::Timer`).
                armed_for = None;
            }
            let now = Instant::now();
            if now >= next_ack_flush {
                self.flush_acks(now);
                next_ack_flush = now + ack_every;
            }
            if now >= next_sweep {
                let lost = self.heartbeats(now);
                if let Some(t) = self.traffic.as_mut() {
                    t.out.dropped.merge(&lost);
                }
                next_sweep = now + HEARTBEAT_SWEEP;
            }
            if let Some(t) = self.traffic.as_mut() {
                t.out.turns.record(work + (Instant::now() - after_poll));
            }
        }
        self.flush_acks(Instant::now());
        if !done_sending {
            // Cut short: the rest of the share was never sent.
            let left = (schedule.total.saturating_sub(next)).div_ceil(step)
                + self.traffic.as_ref().map_or(0, |t| t.backlogged);
            if let Some(t) = self.traffic.as_mut() {
                t.out
                    .errors
                    .add_n("SendMessage:not_sent_before_deadline", left);
                for (k, op) in ops.iter().enumerate() {
                    let left = op
                        .schedule
                        .total
                        .saturating_sub(next_op[k])
                        .div_ceil(op.step.max(1));
                    t.out.ops[k].not_sent("not_sent_before_deadline", left);
                }
            }
            let since_t0 = Instant::now().saturating_duration_since(schedule.t0);
            progress.done_sending(u64::try_from(since_t0.as_nanos()).unwrap_or(u64::MAX));
        }
        // Operations still unanswered: the drain is over (late answers are ignored).
        for &slot in &self.agents {
            let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if let Some(t) = self.traffic.as_mut() {
                for (_, (k, _, _)) in c.ops.drain() {
                    t.ops_inflight -= 1;
                    t.out.ops[k].unanswered("unanswered", 1);
                }
            }
        }
        let mut traffic = self.traffic.take();
        if let Some(t) = traffic.as_mut() {
            progress.add(&mut t.counts);
        }
        traffic.map_or_else(TrafficOutcome::new, |t| t.out)
    }

    /// Closes every customer's conversation; returns when each is answered,
    /// or at the deadline.
    pub fn close_conversations(&mut self, deadline: Instant) -> CloseOutcome {
        let mut out = CloseOutcome::default();
        let mut waiting = 0usize;
        let late_before = self.late_messages;
        for slot in self.customers.clone() {
            let Some(c) = self.conn_mut(slot) else {
                continue;
            };
            match (c.stage, c.conversation) {
                (Stage::Ready, Some(conversation)) => {
                    let request = Request::CloseConversation { conversation };
                    let correlation = c.proto.send_request(&request);
                    c.waiting = Some((correlation, request.name()));
                    c.stage = Stage::Closing;
                    waiting += 1;
                    self.write_or_drop(slot, Instant::now());
                    if self.conn(slot).is_none() {
                        waiting -= 1;
                        out.failures.add("CloseConversation:connection_lost");
                    }
                }
                _ => c.stage = Stage::Done,
            }
        }
        while waiting > 0 {
            let now = Instant::now();
            if now >= deadline {
                out.failures
                    .add_n("CloseConversation:timeout", waiting as u64);
                break;
            }
            if let Err(f) = self.wait(deadline.saturating_duration_since(now)) {
                out.failures.add(&format!("poll:{}", f.key()));
                break;
            }
            for slot in self.ready_slots() {
                let closing = self.stage(slot) == Some(Stage::Closing);
                match self.service(slot) {
                    Step::Closed => {
                        waiting -= 1;
                        out.closed += 1;
                    }
                    Step::CloseFailed(key) => {
                        waiting -= 1;
                        out.failures.add(&key);
                    }
                    Step::Lost(f) => {
                        if closing {
                            waiting -= 1;
                            out.failures.add(&format!("CloseConversation:{}", f.key()));
                        }
                        self.close(slot);
                    }
                    Step::Pending | Step::Ready { .. } | Step::SetupFailed(_) => {}
                }
            }
        }
        out.late_messages = self.late_messages - late_before;
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
        n
    }

    /// Queues message `i` on the customer the schedule gives it, or counts why not.
    fn send_message(&mut self, i: u64, now: Instant, dirty: &mut Vec<usize>) {
        let Some(t) = self.traffic.as_mut() else {
            return;
        };
        let slot = match self.customers.len() {
            0 => usize::MAX,
            n => {
                let k = (i / t.spec.drivers.max(1) as u64) % n as u64;
                self.customers
                    .get(k as usize)
                    .copied()
                    .unwrap_or(usize::MAX)
            }
        };
        let Some(c) = self.conns.get_mut(slot).and_then(Option::as_mut) else {
            t.out.errors.add("SendMessage:no_connection");
            return;
        };
        let Some(conversation) = c.conversation.filter(|_| c.stage == Stage::Ready) else {
            t.out.errors.add("SendMessage:no_conversation");
            return;
        };
        let full = t
            .spec
            .window
            .is_some_and(|w| c.inflight.len() >= w as usize);
        if full || !c.backlog.is_empty() {
            c.backlog.push_back(i);
            t.backlogged += 1;
            return;
        }
        send_now(c, t, i, conversation, now);
        if !c.dirty {
            c.dirty = true;
            dirty.push(slot);
        }
    }

    /// Queues operation `j` of kind `k` on the agent it is dealt to, or counts why not.
    fn send_op(&mut self, k: usize, j: u64, now: Instant, dirty: &mut Vec<usize>) {
        let Some(t) = self.traffic.as_mut() else {
            return;
        };
        let op = t.spec.ops[k];
        let agents = if op.kind == crate::ops::OpKind::Broadcast {
            &self.broadcasters
        } else {
            &self.agents
        };
        let slot = match agents.len() {
            0 => usize::MAX,
            n => agents[((j / op.step.max(1)) % n as u64) as usize],
        };
        let Some(c) = self
            .conns
            .get_mut(slot)
            .and_then(Option::as_mut)
            .filter(|c| c.stage == Stage::Ready)
        else {
            t.out.ops[k].not_sent("no_agent_connection", 1);
            return;
        };
        let request = op.kind.request(j, &c.served, t.spec.schedule.nonce);
        let correlation = c.proto.send_request(&request);
        c.ops.insert(correlation, (k, j, now));
        t.ops_inflight += 1;
        let o = &mut t.out.ops[k];
        o.sent += 1;
        if (t.window.0..t.window.1).contains(&now) {
            o.sent_in_window += 1;
        }
        if !c.dirty {
            c.dirty = true;
            dirty.push(slot);
        }
    }

    /// Whether [`ChatDriver::call_agents`] made any broadcaster here.
    pub fn has_broadcasters(&self) -> bool {
        !self.broadcasters.is_empty()
    }

    /// Sends `request` on every set-up agent connection of agent number
    /// `agent` and waits for the answers (`Ok` expected); the agents that got
    /// `Ok` become this driver's broadcasters. Returns (succeeded, failures by
    /// `Request:CODE`).
    pub fn call_agents(
        &mut self,
        agent: u32,
        request: &Request,
        deadline: Instant,
    ) -> (u64, FailureCounts) {
        let mut failures = FailureCounts::default();
        let mut waiting = 0usize;
        for slot in self.agents.clone() {
            let Some(c) = self.conn_mut(slot) else {
                continue;
            };
            let theirs = matches!(c.role, Role::Agent { agent: a, .. } if a == agent);
            if !theirs || c.stage != Stage::Ready {
                continue;
            }
            c.waiting = Some((c.proto.send_request(request), request.name()));
            c.stage = Stage::Calling;
            waiting += 1;
            self.write_or_drop(slot, Instant::now());
            if self.conn(slot).is_none() {
                waiting -= 1;
                failures.add(&format!("{}:connection_lost", request.name()));
            }
        }
        let mut ok = 0;
        while waiting > 0 {
            let now = Instant::now();
            if now >= deadline {
                failures.add_n(&format!("{}:timeout", request.name()), waiting as u64);
                break;
            }
            if let Err(f) = self.wait(deadline.saturating_duration_since(now)) {
                failures.add(&format!("poll:{}", f.key()));
                break;
            }
            for slot in self.ready_slots() {
                let calling = self.stage(slot) == Some(Stage::Calling);
                match self.service(slot) {
                    Step::Ready { .. } if calling => {
                        waiting -= 1;
                        ok += 1;
                        self.broadcasters.push(slot);
                    }
                    Step::SetupFailed(key) if calling => {
                        waiting -= 1;
                        failures.add(&key);
                    }
                    Step::Lost(f) => {
                        if calling {
                            waiting -= 1;
                            failures.add(&format!("{}:{}", request.name(), f.key()));
                        }
                        self.close(slot);
                    }
                    _ => {}
                }
            }
        }
        // Whatever did not answer stays usable for the traffic, not as a broadcaster.
        for c in self.conns.iter_mut().flatten() {
            if c.stage == Stage::Calling {
                c.stage = Stage::Ready;
                c.waiting = None;
            }
        }
        (ok, failures)
    }

    fn drain(&self) -> Duration {
        self.traffic
            .as_ref()
            .map_or(Duration::ZERO, |t| t.spec.drain)
    }

    /// Creates, binds and connects a socket for `job` and queues `Hello` and the login.
    fn start(&mut self, job: ChatJob) -> Result<usize, Failure> {
        let started = Instant::now();
        let stream =
            connect_from(job.source, self.server).map_err(|e| Failure::Connect(e.kind()))?;
        let mut proto = ClientConnection::new(&self.client_name, kefu_wire::DEFAULT_MAX_FRAME);
        let login = match &job.role {
            Role::Agent {
                agent, password, ..
            } => Request::Login {
                account: job.account,
                agent: *agent,
                password: password.to_string(),
                otp: None,
            },
            Role::Customer {
                customer,
                expires_at,
                signature,
            } => Request::CustomerLogin {
                account: job.account,
                customer: customer.clone(),
                expires_at: *expires_at,
                signature: *signature,
                channel: kefu_wire::chat::Channel::Web,
            },
            Role::Visitor => Request::VisitorLogin {
                account: job.account,
                token: None,
                channel: kefu_wire::chat::Channel::Web,
            },
        };
        let correlation = proto.send_request(&login);
        let slot = self.conns.len();
        let mut conn = Conn {
            stream,
            proto,
            stage: Stage::Connecting,
            role: job.role,
            waiting: Some((correlation, login.name())),
            started,
            last_sent: started,
            heartbeat: None,
            conversation: None,
            inflight: HashMap::new(),
            dirty: false,
            ack_pending: false,
            drain: true,
            backlog: VecDeque::new(),
            served: Vec::new(),
            ops: HashMap::new(),
        };
        self.poll
            .registry()
            .register(
                &mut conn.stream,
                Token(slot),
                Interest::READABLE | Interest::WRITABLE,
            )
            .map_err(|e| Failure::Connect(e.kind()))?;
        self.conns.push(Some(conn));
        Ok(slot)
    }

    fn conn(&self, slot: usize) -> Option<&Conn> {
        self.conns.get(slot).and_then(Option::as_ref)
    }

    fn conn_mut(&mut self, slot: usize) -> Option<&mut Conn> {
        self.conns.get_mut(slot).and_then(Option::as_mut)
    }

    fn stage(&self, slot: usize) -> Option<Stage> {
        self.conn(slot).map(|c| c.stage)
    }

    fn lost_key(&self, slot: usize, f: &Failure) -> String {
        let kind = self.conn(slot).map_or("connection", Conn::kind);
        format!("{kind}:{}", f.key())
    }

    fn close(&mut self, slot: usize) {
        if let Some(mut c) = self.conns.get_mut(slot).and_then(Option::take) {
            let waiting = c.backlog.len() as u64;
            if let Some(t) = self.traffic.as_mut().filter(|_| waiting > 0) {
                t.backlogged -= waiting;
                t.out
                    .errors
                    .add_n("SendMessage:not_sent_connection_lost", waiting);
            }
            if let Some(t) = self.traffic.as_mut() {
                for (_, (k, _, _)) in c.ops.drain() {
                    t.ops_inflight -= 1;
                    t.out.ops[k].unanswered("connection_lost", 1);
                }
            }
            let _ = self.poll.registry().deregister(&mut c.stream);
        }
    }

    /// Waits once, at most `timeout`; a broken wait is a failure of everything.
    fn wait(&mut self, timeout: Duration) -> Result<(), Failure> {
        match self.events.wait(&self.poll, timeout) {
            Ok(()) => Ok(()),
            // A signal: nothing is ready this time.
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => Ok(()),
            Err(e) => Err(Failure::Io(e.kind())),
        }
    }

    /// The connection slots of the last poll's events; a connection whose event
    /// says the peer closed (or failed) is read to its end when serviced.
    fn ready_slots(&mut self) -> Vec<usize> {
        let mut slots = Vec::with_capacity(self.events.ready().count());
        for (slot, closed) in self.events.ready().filter(|&(token, _)| token != TIMER.0) {
            if closed {
                if let Some(Some(c)) = self.conns.get_mut(slot) {
                    c.drain = true;
                }
            }
            slots.push(slot);
        }
        slots
    }

    /// As [`Self::ready_slots`], noting whether the timer fired.
    fn ready_slots_or_timer(&mut self, fired: &mut bool) -> Vec<usize> {
        *fired = self.events.ready().any(|(token, _)| token == TIMER.0);
        self.ready_slots()
    }

    /// Writes a connection's pending output; drops it if the socket failed.
    fn write_or_drop(&mut self, slot: usize, now: Instant) {
        let Some(c) = self.conn_mut(slot) else {
            return;
        };
        match write_out(&mut c.stream, &mut c.proto) {
            Ok(true) => c.last_sent = now,
            Ok(false) => {}
            Err(e) => {
                let key = self.lost_key(slot, &Failure::Io(e.kind()));
                if let Some(t) = self.traffic.as_mut() {
                    t.out.dropped.add(&key);
                }
                self.close(slot);
            }
        }
    }

    /// Reads, handles and writes whatever one connection can, right now.
    fn service(&mut self, slot: usize) -> Step {
        let Some(Some(c)) = self.conns.get_mut(slot) else {
            return Step::Pending;
        };
        if c.stage == Stage::Connecting {
            match connect_result(&c.stream) {
                Ok(false) => return Step::Pending,
                Ok(true) => c.stage = Stage::LoggingIn,
                Err(e) => return Step::Lost(Failure::Connect(e.kind())),
            }
        }
        // Setup and closing read to the end; the traffic stops at a short read.
        let drain = c.drain || self.traffic.is_none();
        c.drain = false;
        let eof = match read_in(&mut c.stream, &mut c.proto, &mut self.buf, drain) {
            Ok(eof) => eof,
            Err(f) => return Step::Lost(f),
        };
        // The moment the bytes were in hand: every latency ends here.
        let now = Instant::now();
        let mut step = Step::Pending;
        let mut pushed = false;
        while let Some(event) = c.proto.poll_event() {
            match event {
                ClientEvent::Welcome(w) => {
                    c.heartbeat = (w.heartbeat_ms > 0)
                        .then(|| Duration::from_millis(u64::from(w.heartbeat_ms)));
                }
                ClientEvent::Pong(_) => {}
                ClientEvent::ConnectionError(e) => {
                    return Step::Lost(Failure::ConnectionError(e.code))
                }
                ClientEvent::GoAway(g) => return Step::Lost(Failure::GoAway(g.code)),
                ClientEvent::GoAwayTo(g) => return Step::Lost(Failure::GoAway(g.code)),
                ClientEvent::Response {
                    correlation,
                    result,
                } => {
                    if c.waiting.is_some_and(|(w, _)| w == correlation) {
                        step = advance(c, result);
                    } else if let Some((k, j, sent)) = c.ops.remove(&correlation) {
                        if let Some(t) = self.traffic.as_mut() {
                            t.op_answered(k, j, sent, &result, now);
                        }
                    } else if let Some(i) = c.inflight.remove(&correlation) {
                        if let Some(t) = self.traffic.as_mut() {
                            t.answered(c.is_agent(), i, result, now);
                            // A slot in the window is free: the oldest waiting message goes.
                            if let (Some(next), Some(conversation)) =
                                (c.backlog.front().copied(), c.conversation)
                            {
                                c.backlog.pop_front();
                                t.backlogged -= 1;
                                send_now(c, t, next, conversation, now);
                            }
                        }
                    }
                }
                ClientEvent::Push(push) => {
                    pushed = true;
                    match push.event {
                        Event::Message(m) => match self.traffic.as_mut() {
                            Some(t) => t.received(c, m, now),
                            None => self.late_messages += 1,
                        },
                        Event::ConversationChanged(info) => {
                            // An agent learns whom it serves (history, searches, broadcasts ask about them).
                            let mine = matches!(
                                (&c.role, info.state),
                                (Role::Agent { agent, .. }, ConversationState::Assigned { agent: a })
                                    if *agent == a
                            );
                            if mine && !c.served.contains(&info.customer) {
                                c.served.push(info.customer);
                            }
                            if let Some(t) = self.traffic.as_mut() {
                                t.out.other_pushes += 1;
                            }
                        }
                        _ => {
                            if let Some(t) = self.traffic.as_mut() {
                                t.out.other_pushes += 1;
                            }
                        }
                    }
                }
            }
        }
        if pushed {
            let coalesce = self
                .traffic
                .as_ref()
                .is_some_and(|t| !t.spec.push_ack_every.is_zero());
            if !coalesce {
                // One cumulative acknowledgement covers every push of this read.
                c.proto.ack_pushes();
            } else if !c.ack_pending {
                // One covers every push until the next flush.
                c.ack_pending = true;
                self.acks.push(slot);
            }
        }
        if eof {
            return Step::Lost(Failure::ClosedByServer);
        }
        match write_out(&mut c.stream, &mut c.proto) {
            Ok(true) => c.last_sent = now,
            Ok(false) => {}
            Err(e) => return Step::Lost(Failure::Io(e.kind())),
        }
        step
    }

    /// Acknowledges the pushes of every connection listed in `acks`.
    fn flush_acks(&mut self, now: Instant) {
        let acks = std::mem::take(&mut self.acks);
        for &slot in &acks {
            if let Some(c) = self.conn_mut(slot) {
                c.ack_pending = false;
                c.proto.ack_pushes();
                self.write_or_drop(slot, now);
            }
        }
        // Keep the allocation.
        self.acks = acks;
        self.acks.clear();
    }

    /// Pings every set-up connection silent for its heartbeat interval;
    /// returns the connections lost doing so.
    fn heartbeats(&mut self, now: Instant) -> FailureCounts {
        let mut failed = Vec::new();
        for (slot, c) in self.conns.iter_mut().enumerate() {
            let Some(c) = c else {
                continue;
            };
            let due = c.stage != Stage::Connecting
                && c.heartbeat
                    .is_some_and(|h| now.saturating_duration_since(c.last_sent) >= h);
            if !due {
                continue;
            }
            self.ping_nonce = self.ping_nonce.wrapping_add(1);
            c.proto.send_ping(self.ping_nonce);
            match write_out(&mut c.stream, &mut c.proto) {
                Ok(_) => c.last_sent = now,
                Err(e) => failed.push((slot, Failure::Io(e.kind()))),
            }
        }
        let mut lost = FailureCounts::default();
        for (slot, f) in failed {
            lost.add(&self.lost_key(slot, &f));
            self.close(slot);
        }
        lost
    }
}

/// Queues message `i` on customer `c` now (the caller writes it out).
fn send_now(c: &mut Conn, t: &mut Traffic, i: u64, conversation: u64, now: Instant) {
    let schedule = t.spec.schedule;
    // The text's buffer goes into the request and comes back: no allocation per message.
    let mut text = std::mem::take(&mut t.text);
    schedule.write_text(i, &mut text);
    let request = Request::SendMessage {
        conversation,
        client_msg_id: schedule.client_msg_id(i),
        body: MessageBody::Text(text),
    };
    let correlation = c.proto.send_request(&request);
    if let Request::SendMessage {
        body: MessageBody::Text(text),
        ..
    } = request
    {
        t.text = text;
    }
    c.inflight.insert(correlation, i);
    let since_start = now.saturating_duration_since(schedule.t0);
    t.spec.ledger.mark(i, Mark::Sent);
    t.spec.ledger.set_sent(i, micros(since_start));
    t.counts.sent += 1;
    t.out.timeline.sent(since_start);
    if schedule.measured(i) {
        let due = schedule.at(i);
        t.out
            .send_lag
            .saturating_record(micros(now.saturating_duration_since(due)));
    }
    if (t.window.0..t.window.1).contains(&now) {
        t.out.sent_in_window += 1;
    }
}

/// The next setup (or closing) step of `c`, given the answer it waited for.
fn advance(c: &mut Conn, result: Result<Response, ErrorBody>) -> Step {
    let name = c.waiting.map_or("request", |(_, n)| n);
    c.waiting = None;
    let refused = |result: Result<Response, ErrorBody>| match result {
        Err(e) => format!("{name}:{}", code_name(e.code)),
        Ok(_) => format!("{name}:unexpected_response"),
    };
    match (c.stage, &c.role, result) {
        (Stage::LoggingIn, Role::Agent { cap, .. }, Ok(Response::LoggedIn(_))) => {
            let request = Request::SetAutoAccept { cap: *cap };
            c.waiting = Some((c.proto.send_request(&request), request.name()));
            c.stage = Stage::Configuring;
            Step::Pending
        }
        (
            Stage::LoggingIn,
            Role::Customer { .. } | Role::Visitor,
            Ok(Response::CustomerLoggedIn(_)),
        ) => {
            let request = Request::OpenConversation { entry: Entry::Auto };
            c.waiting = Some((c.proto.send_request(&request), request.name()));
            c.stage = Stage::Configuring;
            Step::Pending
        }
        (Stage::Configuring, Role::Agent { .. }, Ok(Response::Ok)) => {
            c.stage = Stage::Ready;
            Step::Ready { queued: false }
        }
        (
            Stage::Configuring,
            Role::Customer { .. } | Role::Visitor,
            Ok(Response::Conversation(info)),
        ) => {
            c.conversation = Some(info.conversation);
            c.stage = Stage::Ready;
            Step::Ready {
                queued: matches!(info.state, ConversationState::Queued { .. }),
            }
        }
        (Stage::Calling, _, Ok(Response::Ok)) => {
            c.stage = Stage::Ready;
            Step::Ready { queued: false }
        }
        (Stage::Calling, _, other) => {
            c.stage = Stage::Ready;
            Step::SetupFailed(refused(other))
        }
        (Stage::Closing, _, Ok(Response::Ok)) => {
            c.stage = Stage::Done;
            Step::Closed
        }
        (Stage::Closing, _, other) => {
            c.stage = Stage::Done;
            Step::CloseFailed(refused(other))
        }
        (_, _, other) => Step::SetupFailed(refused(other)),
    }
}

impl Traffic {
    /// The answer to operation `j` of kind `k`, sent at `sent`.
    fn op_answered(
        &mut self,
        k: usize,
        j: u64,
        sent: Instant,
        result: &Result<Response, ErrorBody>,
        now: Instant,
    ) {
        self.ops_inflight -= 1;
        let op = self.spec.ops[k];
        let o = &mut self.out.ops[k];
        match op.kind.success(result) {
            Some(items) => {
                o.ok += 1;
                o.items += items;
                if op.schedule.measured(j) {
                    o.latency.saturating_record(
                        micros(now.saturating_duration_since(op.schedule.at(j))).max(1),
                    );
                    o.from_send
                        .saturating_record(micros(now.saturating_duration_since(sent)).max(1));
                }
                if (self.window.0..self.window.1).contains(&now) {
                    o.ok_in_window += 1;
                }
            }
            None => {
                o.failed += 1;
                o.errors.add(&answer_key(op.kind.request_name(), result));
            }
        }
    }

    /// When message `i` left the tool, from the ledger.
    fn sent_at(&self, i: u64) -> Option<Instant> {
        let us = self.spec.ledger.sent_at(i)?;
        self.spec.schedule.t0.checked_add(Duration::from_micros(us))
    }

    /// The answer to message (or, on an agent's connection, reply) `i`.
    fn answered(&mut self, agent: bool, i: u64, result: Result<Response, ErrorBody>, now: Instant) {
        let ledger = &self.spec.ledger;
        let schedule = &self.spec.schedule;
        if agent {
            self.counts.replies_answered += 1;
            match result {
                Ok(Response::Sent {
                    duplicate: false, ..
                }) => {
                    ledger.mark(i, Mark::ReplyAcked);
                    self.counts.replies_acked += 1;
                }
                other => {
                    ledger.mark(i, Mark::ReplyFailed);
                    self.out.errors.add(&answer_key("reply", &other));
                }
            }
            return;
        }
        self.counts.answered += 1;
        match result {
            Ok(Response::Sent {
                duplicate: false, ..
            }) => {
                ledger.mark(i, Mark::Acked);
                self.counts.acked += 1;
                self.out
                    .timeline
                    .acked(now.saturating_duration_since(schedule.t0));
                if schedule.measured(i) {
                    self.out.ack.saturating_record(
                        micros(now.saturating_duration_since(schedule.at(i))).max(1),
                    );
                    if let Some(sent) = self.sent_at(i) {
                        self.out
                            .ack_from_send
                            .saturating_record(micros(now.saturating_duration_since(sent)).max(1));
                    }
                }
                if (self.window.0..self.window.1).contains(&now) {
                    self.out.acked_in_window += 1;
                }
            }
            Ok(Response::Sent {
                duplicate: true, ..
            }) => {
                ledger.mark(i, Mark::DuplicateAck);
                self.out.errors.add("SendMessage:unexpected_duplicate");
            }
            other => {
                ledger.mark(i, Mark::Failed);
                self.out.errors.add(&answer_key("SendMessage", &other));
            }
        }
    }

    /// A message pushed to connection `c`: a customer's message at an agent,
    /// or an agent's echo at a customer.
    fn received(&mut self, c: &mut Conn, m: MessageInfo, now: Instant) {
        let schedule = self.spec.schedule;
        let MessageBody::Text(text) = m.body else {
            self.out.foreign_messages += 1;
            return;
        };
        let Some(i) = schedule.index_of(&text) else {
            if m.conversation == 0 && text.starts_with(crate::ops::BROADCAST_PREFIX) {
                // This run's broadcast reaching a customer: not a chat message.
                self.out.other_pushes += 1;
            } else {
                self.out.foreign_messages += 1;
            }
            return;
        };
        let since_due = micros(now.saturating_duration_since(schedule.at(i))).max(1);
        match (c.is_agent(), m.from) {
            (true, Party::Customer) => {
                if !self.spec.ledger.deliver(i) {
                    return; // a duplicate: the ledger has it
                }
                self.counts.delivered += 1;
                self.out
                    .timeline
                    .delivered(now.saturating_duration_since(schedule.t0), since_due);
                if schedule.measured(i) {
                    self.out.end_to_end.saturating_record(since_due);
                    if let Some(sent) = self.sent_at(i) {
                        self.out
                            .end_to_end_from_send
                            .saturating_record(micros(now.saturating_duration_since(sent)).max(1));
                    }
                }
                if (self.window.0..self.window.1).contains(&now) {
                    self.out.delivered_in_window += 1;
                }
                if self.spec.replies {
                    let correlation = c.proto.send_request(&Request::SendMessage {
                        conversation: m.conversation,
                        client_msg_id: schedule.client_msg_id(i),
                        body: MessageBody::Text(text),
                    });
                    c.inflight.insert(correlation, i);
                    self.spec.ledger.mark(i, Mark::ReplySent);
                    self.counts.replies_sent += 1;
                }
            }
            (false, Party::Agent(_)) => {
                if self.spec.ledger.deliver_reply(i) {
                    self.counts.replies_delivered += 1;
                    if schedule.measured(i) {
                        self.out.round_trip.saturating_record(since_due);
                    }
                }
            }
            _ => self.out.foreign_messages += 1,
        }
    }
}

/// `prefix:ERROR_CODE`, or `prefix:unexpected_response`.
fn answer_key(prefix: &str, answer: &Result<Response, ErrorBody>) -> String {
    match answer {
        Err(e) => format!("{prefix}:{}", code_name(e.code)),
        Ok(_) => format!("{prefix}:unexpected_response"),
    }
}
