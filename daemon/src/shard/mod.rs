//! A shard: one thread, one `mio::Poll`, the connections it holds and the
//! accounts it owns.
//!
//! Each connection speaks the protocol through its own sans-IO
//! [`kefu_wire::ServerConnection`] (handshake, pings, correlation rules, push
//! numbering and acks, output bound, handshake/idle/closing timers); the loop
//! moves bytes, hands requests to the centre and keeps the timers.
//!
//! One turn of the loop (`Shard::turn`):
//! 1. poll for readiness (until the next connection timer or the centre's next
//!    deadline — routing and menu time-outs, idle customers, session windows, SMS
//!    retries, weekly mails, invitations, scheduled broadcasts, `centre/wake.rs` —,
//!    at most one second; after `accept` failed for want of descriptors, until the
//!    listeners are tried again, `ACCEPT_RETRY`), then drain the inbox of what was
//!    sent before;
//! 2. read every readable connection until `WouldBlock` (capped per turn) and
//!    handle what its protocol makes of the bytes: requests run the domain
//!    logic, which appends records to the turn's [`Batch`](crate::store::Batch) and answers to the
//!    turn's outbox; at most `max_requests_per_turn` of them, the rest waiting
//!    unread for the next turn, or answered `OVERLOADED` once the shard has been
//!    behind for `overload_after` (`overload.rs`);
//! 3. run the connection timers that are due (handshake, idle, closing grace);
//! 4. drain the inbox (messages from other shards and the worker pool);
//! 5. commit the batch once (group commit) — only then are the answers
//!    released, so an acknowledged change is on disk;
//! 6. flush output to the sockets, and keep the shard's unsent output within its
//!    share of the daemon-wide budget (`budget.rs`).
//!
//! A turn's work is bounded so that one busy moment is never a long stall for
//! everybody else: bytes read (`TURN_READ_BUDGET`), requests served
//! (`max_requests_per_turn`), connections accepted (`ACCEPTS_PER_TURN`), inbox
//! messages taken (`INBOX_PER_TURN`: password outcomes, hand-overs, forwards), logins
//! completed (`LOGINS_PER_TURN`: token reconnections inline, password logins when
//! their hash comes back);
//! freed memory goes back to the kernel only after a burst (`trim.rs`). Every turn's
//! duration is in the metrics (`kefu_turn_duration_seconds`), and the longest turn with
//! what it did (`turn_stats.rs`).
//!
//! Invariant: nothing here blocks, sleeps or takes a lock on the hot path;
//! password hashing goes to the worker pool and comes back as a message.

mod budget;
mod io;
mod overload;
mod sessions;
mod slab;
mod trim;
mod web_accept;

pub use crate::centre::{sign_customer, ReplyTo, Shared};
pub use crate::session::CustomerLogin;

use crate::centre::{Answer, Centre, CentreCall, Mailbox, Outgoing};
use crate::config::RuntimeSettings;
use crate::conn::Connection;
use crate::log;
use crate::session::{ConnUpdate, SessionId};
use crate::stats::ShardCounters;
use crate::turn_stats::ThreadCpu;
use crate::worker::{OutcomeSink, PasswordOutcome};
use kefu_wire::Request;
use mio::net::{TcpListener, UnixListener};
use mio::{Events, Poll, Token, Waker};
use slab::Slab;
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Token of the shard's waker.
const WAKER: Token = Token(0);
/// Token of the plain-TCP listener.
const TCP_LISTENER: Token = Token(1);
/// Token of the TLS listener.
const TLS_LISTENER: Token = Token(2);
/// Token of the admin socket listener.
const ADMIN_LISTENER: Token = Token(3);
/// The web gateway's listener.
const WEB_LISTENER: Token = Token(4);
/// Connection tokens start here (token = slab index + FIRST_CONN).
const FIRST_CONN: usize = 16;

/// Bytes read from one connection per turn before others get their go.
const READ_BUDGET_PER_TURN: usize = 256 * 1024;
/// Bytes read from all connections in one turn: bounds a turn's work (and its
/// write batch) however many peers flood at once; the rest waits for the next turn.
const TURN_READ_BUDGET: usize = 4 << 20;
/// Size of the shared read buffer.
const SCRATCH_BYTES: usize = 64 * 1024;
/// A turn longer than this is logged: something blocked the loop.
const TURN_BUDGET: Duration = Duration::from_millis(100);
/// After `accept` failed (out of descriptors: EMFILE, ENFILE), the listeners are
/// tried again this much later, and again until it works. They are edge-triggered:
/// the connections waiting in the backlog raise no new event, so without the retry
/// they would wait for the next client to connect; polling at this pace costs
/// nothing measurable (no spinning).
const ACCEPT_RETRY: Duration = Duration::from_millis(100);
/// Connections one listener accepts in one turn. Installing one (registration, timer,
/// TLS session) costs some microseconds: 10,000 clients reconnecting at once made one
/// turn of 140 ms; in slices of this size the shard serves its established
/// connections between them.
const ACCEPTS_PER_TURN: usize = 256;
/// Inbox messages one turn takes (both drains together). Each may be a login (a
/// password outcome from the worker pool) or a hand-over (a connection to install):
/// 10,000 logins whose hashes finish together would otherwise all complete in one
/// turn. What is left stays in the channel, in order, and the loop turns again at
/// once.
pub const INBOX_PER_TURN: usize = 256;
/// Logins one turn completes. A login request past it waits unread for the next turn,
/// and the inbox is not drained further (a password outcome completes a login): each
/// request or message completes at most one, so a turn completes at most this many,
/// however many clients reconnect together.
pub const LOGINS_PER_TURN: usize = 256;

/// A message to a shard from another thread.
pub enum ShardMsg {
    /// Take over a connection (it logged in to an account this shard owns).
    Adopt(Box<Connection>),
    /// Handle a request for an account this shard owns on behalf of another shard's connection.
    Forward {
        /// Where to send the answer.
        reply: ReplyTo,
        /// The request, already authorised by the sending shard.
        request: Request,
        /// Whether it came from the admin socket.
        operator: bool,
    },
    /// The answer to a forwarded request.
    Answer {
        /// The connection and correlation it is for.
        reply: ReplyTo,
        /// The answer.
        result: Answer,
    },
    /// A password job finished.
    Password(PasswordOutcome),
    /// Work finished off the loop (an account loaded on the worker pool) to hand to
    /// the centre; the loop does not look inside.
    Centre(CentreCall),
    /// New runtime settings (SIGHUP).
    Reload(Arc<RuntimeSettings>, Option<Arc<rustls::ServerConfig>>),
    /// Stop: say goodbye to every connection, flush, exit.
    Shutdown,
}

/// How to reach a shard from another thread.
#[derive(Clone)]
pub struct ShardLink {
    /// Its inbox.
    pub tx: Sender<ShardMsg>,
    /// Its waker.
    pub waker: Arc<Waker>,
}

impl ShardLink {
    /// Sends a message and wakes the shard; false if it has stopped.
    pub fn send(&self, msg: ShardMsg) -> bool {
        self.tx.send(msg).is_ok() && self.waker.wake().is_ok()
    }
}

impl OutcomeSink for ShardLink {
    fn deliver(&self, outcome: PasswordOutcome) {
        self.send(ShardMsg::Password(outcome));
    }
}

impl Mailbox for ShardLink {
    fn answer(&self, reply: ReplyTo, result: Answer) {
        self.send(ShardMsg::Answer { reply, result });
    }

    fn call(&self, call: CentreCall) {
        self.send(ShardMsg::Centre(call));
    }
}

/// The listeners a shard accepts on.
#[derive(Default)]
pub struct Listeners {
    /// Plain TCP (SO_REUSEPORT group shared with the other shards).
    pub tcp: Option<TcpListener>,
    /// TLS (SO_REUSEPORT group shared with the other shards).
    pub tls: Option<TcpListener>,
    /// The admin socket (shard 0 only).
    pub admin: Option<UnixListener>,
    /// The web gateway (SO_REUSEPORT group shared with the other shards).
    pub web: Option<TcpListener>,
    /// What the shards' web connections share (per-address counts, settings).
    pub web_shared: Option<Arc<crate::web::WebShared>>,
}

/// One of a shard's listeners.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Listener {
    Tcp = 1,
    Tls = 2,
    Admin = 4,
    Web = 8,
}

/// Listeners that still had connections waiting when the turn's share was accepted.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ListenerSet(u8);

impl ListenerSet {
    fn insert(&mut self, l: Listener) {
        self.0 |= l as u8;
    }
    fn remove(&mut self, l: Listener) {
        self.0 &= !(l as u8);
    }
    fn contains(self, l: Listener) -> bool {
        self.0 & l as u8 != 0
    }
    fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// One shard's state: the loop's own, and the centre it drives.
pub struct Shard {
    id: usize,
    poll: Poll,
    /// Every shard's inbox, by index (forwarding, hand-over, answers).
    links: Arc<Vec<ShardLink>>,
    shared: Arc<Shared>,
    counters: Arc<ShardCounters>,
    inbox: Receiver<ShardMsg>,
    listeners: Listeners,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    settings: Arc<RuntimeSettings>,
    conns: Slab,
    /// The accounts this shard owns and all their logic.
    centre: Centre,
    /// The connection each session of this shard is on (slab index, generation):
    /// the one place a push's recipient becomes a connection.
    attached: HashMap<SessionId, (usize, u32)>,
    /// Connections with output to flush at the end of the turn.
    dirty: Vec<usize>,
    /// Connections that still had input when their read budget ran out.
    unfinished: Vec<usize>,
    /// Bytes this turn may still read (see `TURN_READ_BUDGET`).
    turn_budget: usize,
    /// Requests this turn may still serve, and whether the shard is overloaded.
    budget: overload::TurnBudget,
    /// The shard's unsent output and its share of the daemon-wide budget (`budget.rs`).
    output: budget::OutputBudget,
    scratch: Vec<u8>,
    /// The protocol limits and timeouts new connections get.
    server_config: Arc<kefu_wire::ServerConfig>,
    /// Connection deadlines: (when, slab index, generation), earliest first;
    /// entries a connection no longer has (`Connection::timer`) are skipped.
    timers: BinaryHeap<Reverse<(Instant, usize, u32)>>,
    /// The time of this turn, read once when the poll returned.
    now: Instant,
    /// When to try the listeners again after `accept` failed (see `ACCEPT_RETRY`).
    accept_retry: Option<Instant>,
    /// Whether `accept` has been failing since it last worked (logged once a streak).
    accept_failing: bool,
    /// Listeners with connections left to accept next turn (see `ACCEPTS_PER_TURN`).
    accept_backlog: ListenerSet,
    /// When to give freed memory back to the kernel.
    trim: trim::TrimPolicy,
    /// Inbox messages this turn may still take (see `INBOX_PER_TURN`).
    inbox_budget: usize,
    /// The inbox budget ran out: messages may be waiting, turn again without waiting.
    inbox_left: bool,
    /// What this turn did so far (`turn_stats.rs`).
    work: crate::turn_stats::TurnWork,
    /// Seconds since start, for the once-a-second housekeeping.
    clock: u32,
    last_tick: u32,
    shutting_down: bool,
    /// When the shutdown began: bounds the wait for the workers' outcomes.
    shutdown_began: Option<Instant>,
}

/// How long a stopping shard waits for a weekly mail the relay is still taking, so its
/// acceptance is stored and a restart does not send the same week again.
const SHUTDOWN_MAIL_WAIT: Duration = Duration::from_secs(10);

impl Shard {
    /// A shard ready to run.
    #[allow(clippy::too_many_arguments)] // one of each thing a shard is built from
    pub fn new(
        id: usize,
        poll: Poll,
        links: Arc<Vec<ShardLink>>,
        shared: Arc<Shared>,
        inbox: Receiver<ShardMsg>,
        listeners: Listeners,
        tls_config: Option<Arc<rustls::ServerConfig>>,
        settings: Arc<RuntimeSettings>,
    ) -> std::io::Result<Shard> {
        let counters = Arc::clone(&shared.counters[id]);
        let mailbox: Arc<dyn Mailbox> = Arc::new(links[id].clone());
        let centre = Centre::new(
            id,
            links.len(),
            Arc::clone(&shared),
            Arc::clone(&settings),
            mailbox,
        );
        let mut centre = centre;
        let replicated = shared
            .replication
            .as_ref()
            .is_some_and(|r| r.wait_for_standby);
        if shared.durability == crate::store::Durability::Fsync || replicated {
            // Synced writes go to a thread of their own (`centre/pipeline.rs`).
            centre.commit_off_loop()?;
        } else {
            // `wal`: large batches, and smaller ones while the loop is behind
            // (`[storage] wal_commit_off_loop_ops`, `wal_commit_off_loop_behind_ops`).
            centre.commit_large_batches_off_loop()?;
        }
        let mut shard = Shard {
            id,
            poll,
            links,
            shared,
            counters,
            inbox,
            listeners,
            tls_config,
            settings: Arc::clone(&settings),
            conns: Slab::default(),
            centre,
            attached: HashMap::new(),
            dirty: Vec::new(),
            unfinished: Vec::new(),
            turn_budget: TURN_READ_BUDGET,
            budget: overload::TurnBudget::new(
                settings.max_requests_per_turn,
                settings.overload_after,
            ),
            // Zeroed once: reads overwrite the front, nothing re-initialises it.
            output: budget::OutputBudget::default(),
            scratch: vec![0; SCRATCH_BYTES],
            server_config: Arc::new(server_config(&settings)),
            timers: BinaryHeap::new(),
            now: Instant::now(),
            accept_retry: None,
            accept_failing: false,
            accept_backlog: ListenerSet::default(),
            trim: trim::TrimPolicy::default(),
            inbox_budget: INBOX_PER_TURN,
            inbox_left: false,
            work: crate::turn_stats::TurnWork::default(),
            clock: 0,
            last_tick: 0,
            shutting_down: false,
            shutdown_began: None,
        };
        let registry = shard.poll.registry();
        if let Some(l) = shard.listeners.tcp.as_mut() {
            registry.register(l, TCP_LISTENER, mio::Interest::READABLE)?;
        }
        if let Some(l) = shard.listeners.tls.as_mut() {
            registry.register(l, TLS_LISTENER, mio::Interest::READABLE)?;
        }
        if let Some(l) = shard.listeners.admin.as_mut() {
            registry.register(l, ADMIN_LISTENER, mio::Interest::READABLE)?;
        }
        if let Some(l) = shard.listeners.web.as_mut() {
            registry.register(l, WEB_LISTENER, mio::Interest::READABLE)?;
        }
        Ok(shard)
    }

    /// Runs the loop until shutdown.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let start = Instant::now();
        self.counters
            .set_thread_id(crate::turn_stats::current_thread_id());
        // The thread's CPU clock is a syscall (about 1 µs here), so it is read once a
        // turn, at its end: a turn's CPU time runs from the previous turn's end and so
        // also holds the poll that began it (a few µs; see `TurnWork::cpu_micros`).
        let mut cpu_mark = ThreadCpu::now();
        loop {
            // Behind a full pipeline the unfinished wait for the committer's report,
            // which wakes the loop.
            // A broadcast going out turns the loop again at once (one slice a turn).
            let timeout = if (self.unfinished.is_empty() || self.centre.backlogged())
                && self.accept_backlog.is_empty()
                && !self.inbox_left
                && !self.centre.fanning_out()
            {
                let tick = Duration::from_secs(1);
                let next = [
                    self.next_timer(),
                    self.accept_retry,
                    self.output.next_check(),
                ]
                .into_iter()
                .flatten()
                .min();
                let loop_wait = next.map_or(tick, |at| {
                    at.saturating_duration_since(Instant::now()).min(tick)
                });
                // The centre's deadlines are on its clock (which the operator may move):
                // read now, not at the turn's start.
                let centre_wait = self.centre.sleep_for(self.shared.clock.now_ms());
                centre_wait.map_or(loop_wait, |wait| wait.min(loop_wait))
            } else {
                Duration::ZERO
            };
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    log::error(self.id, format_args!("poll failed: {e}; shard stops"));
                    break;
                }
            }
            let turn_start = Instant::now();
            self.now = turn_start;
            self.clock =
                u32::try_from(turn_start.duration_since(start).as_secs()).unwrap_or(u32::MAX);
            let (frames_before, accepted_before) =
                (self.counters.frames_in_total(), self.counters.accepted());
            self.work = crate::turn_stats::TurnWork::default();
            self.turn(&events);
            let cpu_end = ThreadCpu::now();
            let spent = turn_start.elapsed();
            // The CPU time holds the poll before the turn, and the two clocks may
            // disagree by nanoseconds: it is capped at the turn's duration.
            let cpu = cpu_end.since(cpu_mark).min(spent);
            cpu_mark = cpu_end;
            let micros = u64::try_from(spent.as_micros()).unwrap_or(u64::MAX);
            self.work.micros = micros;
            self.work.cpu_micros = u64::try_from(cpu.as_micros())
                .unwrap_or(u64::MAX)
                .min(micros);
            self.work.frames_in = self
                .counters
                .frames_in_total()
                .saturating_sub(frames_before);
            self.work.accepted = self.counters.accepted().saturating_sub(accepted_before);
            self.counters.record_turn(&self.work);
            if spent > TURN_BUDGET {
                log::warn(
                    self.id,
                    format_args!(
                        "turn took {spent:?}, {cpu:?} of it on the CPU ({} events)",
                        events.iter().count()
                    ),
                );
            }
            if self.shutting_down && self.conns.is_empty() && !self.awaits_mail() {
                break;
            }
        }
        self.counters.reset_gauges();
    }

    fn turn(&mut self, events: &Events) {
        self.centre.begin_turn();
        self.turn_budget = TURN_READ_BUDGET;
        self.inbox_budget = INBOX_PER_TURN;
        self.inbox_left = false;
        if let Some(change) = self.budget.begin_turn(self.now) {
            self.log_overload(change);
        }
        // Messages sent before this turn's sockets became ready go first: a
        // connection accepted below gets the protocol settings of a reload
        // that was sent (and logged) before it connected.
        self.drain_inbox();
        let mut unfinished = std::mem::take(&mut self.unfinished);
        // In the order they were left: under a request budget, sorting would
        // serve the lowest slots first every turn and starve the others.
        let mut seen = std::collections::HashSet::new();
        unfinished.retain(|idx| seen.insert(*idx));
        for idx in unfinished {
            self.on_readable(idx, true);
        }
        self.accept_leftovers();
        if self.accept_retry.is_some_and(|at| at <= self.now) {
            self.accept_retry = None;
            self.accept_tcp(false);
            self.accept_tcp(true);
            self.accept_admin();
            if self.accept_retry.is_none() && self.accept_failing {
                self.accept_failing = false;
                log::info(self.id, format_args!("accepting connections again"));
            }
        }
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                TCP_LISTENER => self.accept_tcp(false),
                TLS_LISTENER => self.accept_tcp(true),
                ADMIN_LISTENER => self.accept_admin(),
                WEB_LISTENER => self.accept_web(),
                Token(t) => {
                    let idx = t - FIRST_CONN;
                    let closed = event.is_read_closed() || event.is_error();
                    if event.is_readable() || closed {
                        self.on_readable(idx, closed);
                    }
                    if event.is_writable() {
                        self.mark_dirty(idx);
                    }
                }
            }
        }
        self.run_timers();
        self.drain_inbox();
        self.commit();
        self.flush_dirty();
        self.keep_output_budget();
        if let Some(change) = self.budget.end_turn(self.now, !self.unfinished.is_empty()) {
            self.log_overload(change);
        }
        if self.clock != self.last_tick {
            self.last_tick = self.clock;
            if self.clock.is_multiple_of(60) {
                self.centre.prune();
            }
            if self
                .trim
                .burst_ended(self.counters.connections(), self.output.total() as u64)
            {
                release_freed_memory();
            }
        }
    }

    fn drain_inbox(&mut self) {
        while self.inbox_budget > 0 && self.centre.turn_logins() < LOGINS_PER_TURN {
            let Ok(msg) = self.inbox.try_recv() else {
                return;
            };
            self.inbox_budget -= 1;
            self.work.inbox += 1;
            match msg {
                ShardMsg::Adopt(conn) => self.adopt(*conn),
                ShardMsg::Forward {
                    reply,
                    request,
                    operator,
                } => {
                    self.centre.handle_forwarded(reply, request, operator);
                    self.apply_conn_updates();
                }
                ShardMsg::Answer { reply, result } => {
                    self.centre.queue(Outgoing::Answer { reply, result })
                }
                ShardMsg::Password(outcome) => {
                    self.centre.on_password_outcome(outcome);
                    self.apply_conn_updates();
                }
                ShardMsg::Centre(call) => {
                    call(&mut self.centre);
                    self.apply_conn_updates();
                }
                ShardMsg::Reload(settings, tls) => {
                    self.centre.reload(Arc::clone(&settings));
                    self.budget
                        .set_limits(settings.max_requests_per_turn, settings.overload_after);
                    // Connections open now keep the limits they started with.
                    self.server_config = Arc::new(server_config(&settings));
                    self.settings = settings;
                    if tls.is_some() {
                        self.tls_config = tls;
                    }
                }
                ShardMsg::Shutdown => self.begin_shutdown(),
            }
        }
        self.inbox_left = true;
    }

    /// Group commit (the centre writes the turn's batch once), then the answers
    /// and pushes that depend on it are released.
    fn commit(&mut self) {
        // Input left unread means the loop is behind: `wal` mode's committer may take
        // the batch (`centre/pipeline.rs`).
        self.centre
            .set_input_left(!self.unfinished.is_empty() || self.inbox_left);
        let mut outbox = self.centre.commit();
        let (logins, ops) = self.centre.turn_size();
        self.work.logins = logins as u64;
        self.work.batch_ops = ops as u64;
        // A failed commit logs out the turn's logins: their connections change first.
        self.apply_conn_updates();
        for out in outbox.drain(..) {
            self.release(out);
        }
        self.centre.recycle_outbox(outbox);
    }

    /// Carries out the changes the centre asked of connections, in order.
    fn apply_conn_updates(&mut self) {
        for (idx, generation, update) in self.centre.take_conn_updates() {
            let Some(conn) = self.conns.get_mut(idx, generation) else {
                continue;
            };
            match update {
                ConnUpdate::Phase(phase) => {
                    // A closing connection stays closing whatever the centre decided.
                    if conn.phase() != crate::session::Phase::Closing {
                        conn.set_phase(phase, self.now);
                    }
                }
                ConnUpdate::Session(session) => {
                    let old = std::mem::replace(&mut conn.session, session);
                    if let Some(old) = old {
                        if self.attached.get(&old) == Some(&(idx, generation)) {
                            self.attached.remove(&old);
                        }
                    }
                    if let Some(new) = session {
                        self.attached.insert(new, (idx, generation));
                    }
                }
                ConnUpdate::KeepPushes => conn.protocol.keep_unacked(),
                ConnUpdate::Resuming(session) => {
                    // Attached when its `Outgoing::Attach` is released.
                    conn.session = Some(session);
                    conn.protocol.keep_unacked();
                }
                ConnUpdate::Resume => {
                    // Idle time counts again from now, not from the login.
                    conn.protocol.resume(self.now);
                    self.unfinished.push(idx);
                    self.process_events(idx);
                }
            }
        }
    }

    /// Whether a stopping shard still waits for a weekly mail's outcome (at most
    /// [`SHUTDOWN_MAIL_WAIT`]).
    fn awaits_mail(&self) -> bool {
        self.centre.csat_mail_in_flight()
            && self
                .shutdown_began
                .is_some_and(|began| began.elapsed() < SHUTDOWN_MAIL_WAIT)
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
        self.shutdown_began = Some(self.now);
        let registry = self.poll.registry();
        if let Some(l) = self.listeners.tcp.as_mut() {
            let _ = registry.deregister(l);
        }
        if let Some(l) = self.listeners.tls.as_mut() {
            let _ = registry.deregister(l);
        }
        if let Some(l) = self.listeners.admin.as_mut() {
            let _ = registry.deregister(l);
        }
        if let Some(l) = self.listeners.web.as_mut() {
            let _ = registry.deregister(l);
        }
        self.listeners = Listeners::default();
        for (idx, generation) in self.conns.live() {
            self.centre.queue(Outgoing::GoAway {
                conn: idx,
                generation,
                code: kefu_wire::ErrorCode::SHUTTING_DOWN,
                message: "server shutting down; reconnect later".into(),
            });
        }
        // Pending password checks will never be answered: their connections are closing.
        self.centre.forget_pending();
    }

    /// Tells the operator when the shard starts and stops refusing `OVERLOADED`.
    fn log_overload(&self, change: overload::Change) {
        match change {
            overload::Change::Began => log::warn(
                self.id,
                format_args!(
                    "overloaded: requests left over for {:?}; answering OVERLOADED past \
                     {} requests a turn",
                    self.settings.overload_after, self.settings.max_requests_per_turn
                ),
            ),
            overload::Change::Ended { refused } => log::info(
                self.id,
                format_args!("caught up; {refused} requests were answered OVERLOADED"),
            ),
        }
    }

    fn mark_dirty(&mut self, idx: usize) {
        self.dirty.push(idx);
    }
}

/// The protocol settings of new connections, from the daemon's.
fn server_config(settings: &RuntimeSettings) -> kefu_wire::ServerConfig {
    kefu_wire::ServerConfig {
        max_frame: settings.max_frame,
        heartbeat: settings.heartbeat,
        idle_timeout: settings.idle_timeout,
        handshake_timeout: settings.handshake_timeout,
        login_timeout: settings.login_timeout,
        max_frame_before_login: kefu_wire::server::DEFAULT_MAX_FRAME_BEFORE_LOGIN,
        closing_grace: settings.closing_grace,
        max_pending_output: settings.max_pending_output,
        max_unacked_pushes: settings.max_unacked_pushes,
        server_name: concat!("kefud/", env!("CARGO_PKG_VERSION")).into(),
    }
}

/// Hands memory freed after a burst (output buffers of a reconnect storm)
/// back to the kernel (when: `trim.rs`).
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes
    // the arena locks itself and has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
