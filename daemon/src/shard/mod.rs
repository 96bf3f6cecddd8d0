//! A shard: one thread, one `mio::Poll`, the connections it holds and the
//! accounts it owns.
//!
//! One turn of the loop (`Shard::turn`):
//! 1. poll for readiness (at most one second, so timers run);
//! 2. read every readable connection until `WouldBlock` (capped per turn) and
//!    handle each frame: requests run the domain logic, which appends records
//!    to the turn's [`Batch`] and answers to the turn's outbox;
//! 3. drain the inbox (messages from other shards and the worker pool);
//! 4. commit the batch once (group commit) — only then are the answers
//!    released, so an acknowledged change is on disk;
//! 5. flush output to the sockets; sweep idle connections once a second.
//!
//! Invariant: nothing here blocks, sleeps or takes a lock on the hot path;
//! password hashing goes to the worker pool and comes back as a message.

mod account_extras;
mod chat;
mod clock_admin;
mod crm;
mod history;
mod io;
mod requests;
mod security;
mod signals;
mod tokens;

pub use chat::sign_customer;
pub use chat::CustomerLogin;

use crate::accounts::{AccountState, OnlineAgent};
use crate::config::RuntimeSettings;
use crate::conn::{Connection, Phase};
use crate::log;
use crate::stats::ShardCounters;
use crate::store::{Batch, Durability, KvStore};
use crate::worker::{JobSubmitter, OutcomeSink, PasswordOutcome};
use kefu_wire::{ErrorBody, ErrorCode, Request, Response};
use mio::net::{TcpListener, UnixListener};
use mio::{Events, Poll, Token, Waker};
use smallvec::SmallVec;
use std::collections::HashMap;
use std::sync::mpsc::{Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) use requests::PendingOp;

/// What a request handler answers: a response, or a typed error.
type Answer = Result<Response, ErrorBody>;

/// A typed error answer.
fn err(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
    }
}

/// Token of the shard's waker.
const WAKER: Token = Token(0);
/// Token of the plain-TCP listener.
const TCP_LISTENER: Token = Token(1);
/// Token of the TLS listener.
const TLS_LISTENER: Token = Token(2);
/// Token of the admin socket listener.
const ADMIN_LISTENER: Token = Token(3);
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

/// Where an answer goes: a connection of some shard, a request on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplyTo {
    /// Shard holding the connection.
    pub shard: usize,
    /// Slab index on that shard.
    pub conn: usize,
    /// Slot generation, to drop answers to a connection that has gone.
    pub generation: u32,
    /// Correlation id of the request.
    pub correlation: u32,
}

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
        result: Result<Response, ErrorBody>,
    },
    /// A password job finished.
    Password(PasswordOutcome),
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

/// What every shard shares (read-only or atomic).
pub struct Shared {
    /// Links to every shard, by index.
    pub links: Vec<ShardLink>,
    /// Counters of every shard, by index.
    pub counters: Vec<Arc<ShardCounters>>,
    /// The store.
    pub store: Arc<dyn KvStore>,
    /// The password-hashing pool.
    pub workers: JobSubmitter,
    /// When the daemon started.
    pub started: Instant,
    /// When acknowledgements may be released.
    pub durability: Durability,
    /// Seals token seeds at rest.
    pub token_key: Option<Arc<crate::otp::sealed::SealingKey>>,
    /// Serialises binding, importing and unlocking of unbound tokens (rare; never on the hot path).
    pub token_lock: std::sync::Mutex<()>,
    /// Where domain logic reads the time (injected by tests).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Failed logins per source address, shared because an address's logins
    /// land on every shard. Locked only around password logins (slow path).
    pub address_throttle: std::sync::Mutex<crate::throttle::Throttle<std::net::IpAddr>>,
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
}

/// Who a push is for, within its account. Domain code names people, never
/// connections; the loop resolves a recipient to its connections in one place
/// (`Shard::recipients`), at release time, so a push to someone who left during
/// the turn goes nowhere and a failed commit can drop an account's pushes whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recipient {
    /// An agent, on whatever connection it is logged in.
    Agent(u32),
    /// Every agent of the account that is logged in.
    AllAgents,
    /// A customer (or visitor), on whatever connection it is logged in.
    Customer(kefu_wire::chat::CustomerId),
    /// Every customer of the account that is logged in.
    AllCustomers,
    /// One connection (slab index, generation): a session-scoped notice.
    Session(usize, u32),
}

/// Answers and frames produced during a turn, released after the commit.
enum Outgoing {
    Answer {
        reply: ReplyTo,
        result: Result<Response, ErrorBody>,
    },
    Push {
        /// The account whose logic produced it (dropped if its commit fails).
        account: u64,
        to: Recipient,
        event: kefu_wire::Event,
    },
    GoAway {
        conn: usize,
        generation: u32,
        code: kefu_wire::ErrorCode,
        message: String,
    },
}

/// One shard's state.
pub struct Shard {
    id: usize,
    poll: Poll,
    shared: Arc<Shared>,
    counters: Arc<ShardCounters>,
    inbox: Receiver<ShardMsg>,
    listeners: Listeners,
    tls_config: Option<Arc<rustls::ServerConfig>>,
    settings: Arc<RuntimeSettings>,
    conns: Slab,
    accounts: HashMap<u64, AccountState>,
    online: HashMap<u64, HashMap<u32, OnlineAgent>>,
    /// Customers logged in on this shard, per account: (slab index, generation).
    /// Beside `online`, outside the cached account state, so evicting an account
    /// after a failed commit does not forget who is connected.
    customers: HashMap<u64, HashMap<kefu_wire::chat::CustomerId, (usize, u32)>>,
    pending: HashMap<u64, PendingOp>,
    next_job: u64,
    /// Conversation state of this shard's accounts (see `chat.rs`).
    chat: HashMap<u64, chat::ChatState>,
    /// CRM state of this shard's accounts, loaded on first use (see `crm.rs`).
    crm: HashMap<u64, crm::CrmState>,
    /// Routing effects of the turn, carried out before the commit.
    pending_effects: Vec<(u64, Vec<crate::routing::Effect>)>,
    /// Quick-reply lists read or written, by (account, agent; 0 = shared).
    quick_replies: HashMap<(u64, u32), Vec<kefu_wire::QuickReply>>,
    /// Accounts whose id counters changed this turn (written once at the commit).
    counters_dirty: Vec<u64>,
    /// Client message ids stored in this turn (not yet visible in the store).
    turn_client_msgs: HashMap<Vec<u8>, u64>,
    /// Bound tokens of this shard's accounts (see `tokens.rs`).
    tokens: HashMap<String, crate::store::TokenRecord>,
    /// Failed logins per agent of this shard's accounts.
    agent_throttle: crate::throttle::Throttle<(u64, u32)>,
    /// Wrong codes for unbound tokens per account of this shard (bind, calibrate).
    token_guesses: crate::throttle::Throttle<u64>,
    batch: Batch,
    /// Accounts whose cache the current batch changes (evicted if it fails).
    touched: Vec<u64>,
    /// Connections that logged in this turn (logged out again if the batch fails).
    logins: Vec<(usize, u32)>,
    outbox: Vec<Outgoing>,
    /// Presence changes of the turn: (account, agent, presence), pushed after the commit.
    presence_changes: Vec<(u64, u32, kefu_wire::Presence)>,
    /// Connections with output to flush at the end of the turn.
    dirty: Vec<usize>,
    /// Connections that still had input when their read budget ran out.
    unfinished: Vec<usize>,
    /// Bytes this turn may still read (see `TURN_READ_BUDGET`).
    turn_budget: usize,
    scratch: Vec<u8>,
    frame: bytes::BytesMut,
    /// Unix time in milliseconds, read from `Shared::clock` once at the start of
    /// each turn: every rule decided in a turn sees the same instant, and a test
    /// (or the operator's test clock) moves it for all of them at once.
    now_ms: i64,
    /// Seconds since start, the coarse clock of idle timeouts.
    clock: u32,
    last_sweep: u32,
    rng: ring::rand::SystemRandom,
    shutting_down: bool,
}

impl Shard {
    /// A shard ready to run.
    pub fn new(
        id: usize,
        poll: Poll,
        shared: Arc<Shared>,
        inbox: Receiver<ShardMsg>,
        listeners: Listeners,
        tls_config: Option<Arc<rustls::ServerConfig>>,
        settings: Arc<RuntimeSettings>,
    ) -> std::io::Result<Shard> {
        let counters = Arc::clone(&shared.counters[id]);
        let throttle_limits = settings.throttle;
        let mut shard = Shard {
            id,
            poll,
            shared,
            counters,
            inbox,
            listeners,
            tls_config,
            settings,
            conns: Slab::default(),
            accounts: HashMap::new(),
            online: HashMap::new(),
            customers: HashMap::new(),
            pending: HashMap::new(),
            next_job: 1,
            chat: HashMap::new(),
            crm: HashMap::new(),
            counters_dirty: Vec::new(),
            quick_replies: HashMap::new(),
            pending_effects: Vec::new(),
            turn_client_msgs: HashMap::new(),
            tokens: HashMap::new(),
            agent_throttle: crate::throttle::Throttle::new(throttle_limits),
            token_guesses: crate::throttle::Throttle::new(throttle_limits),
            batch: Batch::new(),
            touched: Vec::new(),
            logins: Vec::new(),
            outbox: Vec::new(),
            presence_changes: Vec::new(),
            dirty: Vec::new(),
            unfinished: Vec::new(),
            turn_budget: TURN_READ_BUDGET,
            // Zeroed once: reads overwrite the front, nothing re-initialises it.
            scratch: vec![0; SCRATCH_BYTES],
            frame: bytes::BytesMut::with_capacity(4096),
            now_ms: 0,
            clock: 0,
            last_sweep: 0,
            rng: ring::rand::SystemRandom::new(),
            shutting_down: false,
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
        Ok(shard)
    }

    /// Runs the loop until shutdown.
    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let start = Instant::now();
        loop {
            let timeout = if self.unfinished.is_empty() {
                Duration::from_secs(1)
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
            self.clock = u32::try_from(start.elapsed().as_secs()).unwrap_or(u32::MAX);
            self.turn(&events);
            let spent = turn_start.elapsed();
            if spent > TURN_BUDGET {
                log::warn(
                    self.id,
                    format_args!("turn took {spent:?} ({} events)", events.iter().count()),
                );
            }
            if self.shutting_down && self.conns.is_empty() {
                break;
            }
        }
        self.counters.reset_gauges();
    }

    fn turn(&mut self, events: &Events) {
        self.now_ms = self.shared.clock.now_ms();
        self.turn_budget = TURN_READ_BUDGET;
        let mut unfinished = std::mem::take(&mut self.unfinished);
        unfinished.sort_unstable();
        unfinished.dedup();
        for idx in unfinished {
            self.on_readable(idx);
        }
        for event in events.iter() {
            match event.token() {
                WAKER => {}
                TCP_LISTENER => self.accept_tcp(false),
                TLS_LISTENER => self.accept_tcp(true),
                ADMIN_LISTENER => self.accept_admin(),
                Token(t) => {
                    let idx = t - FIRST_CONN;
                    if event.is_readable() || event.is_read_closed() || event.is_error() {
                        self.on_readable(idx);
                    }
                    if event.is_writable() {
                        self.mark_dirty(idx);
                    }
                }
            }
        }
        self.drain_inbox();
        self.commit();
        self.flush_dirty();
        if self.clock != self.last_sweep {
            self.last_sweep = self.clock;
            self.sweep();
            if self.clock % 60 == 0 {
                self.agent_throttle.prune(self.now_secs());
                self.token_guesses.prune(self.now_secs());
            }
            if self.clock % 10 == 0 {
                release_freed_memory();
            }
        }
    }

    fn drain_inbox(&mut self) {
        while let Ok(msg) = self.inbox.try_recv() {
            match msg {
                ShardMsg::Adopt(conn) => self.adopt(*conn),
                ShardMsg::Forward {
                    reply,
                    request,
                    operator,
                } => self.handle_forwarded(reply, request, operator),
                ShardMsg::Answer { reply, result } => {
                    self.outbox.push(Outgoing::Answer { reply, result })
                }
                ShardMsg::Password(outcome) => self.on_password_outcome(outcome),
                ShardMsg::Reload(settings, tls) => {
                    self.agent_throttle.set_limits(settings.throttle);
                    if let Ok(mut t) = self.shared.address_throttle.lock() {
                        t.set_limits(settings.address_throttle);
                    }
                    self.settings = settings;
                    if tls.is_some() {
                        self.tls_config = tls;
                    }
                }
                ShardMsg::Shutdown => self.begin_shutdown(),
            }
        }
    }

    /// Group commit: one write for everything this turn changed, then the
    /// answers and pushes that depend on it are released.
    fn commit(&mut self) {
        self.chat_tick();
        self.apply_chat_effects();
        self.flush_chat_counters();
        self.push_presence();
        if !self.batch.is_empty() {
            let result = self.shared.store.write(&self.batch, self.shared.durability);
            if let Err(e) = result {
                log::error(self.id, format_args!("commit failed, turn undone: {e}"));
                self.undo_turn();
            }
            self.batch.clear();
            self.counters.add_commit();
        }
        self.touched.clear();
        self.logins.clear();
        self.turn_client_msgs.clear();
        let outbox = std::mem::take(&mut self.outbox);
        for out in outbox {
            self.release(out);
        }
    }

    /// The batch did not reach the disk. Every account it wrote to is evicted
    /// (derived from the batch's keys, so nothing depends on a hand-kept list)
    /// and reloads from the disk on next use; the logins it carried are logged
    /// out; every success answered in the turn becomes `STORAGE_FAILURE`; and no
    /// push of an evicted account goes out, so nobody hears of what was not kept.
    fn undo_turn(&mut self) {
        let mut evicted = self.batch.accounts();
        evicted.extend(self.touched.drain(..));
        evicted.sort_unstable();
        evicted.dedup();
        for &account in &evicted {
            self.accounts.remove(&account);
            self.chat.remove(&account);
            self.crm.remove(&account);
            self.quick_replies.retain(|(a, _), _| *a != account);
        }
        self.counters.set_accounts(self.accounts.len() as u64);
        // Token states are reloaded from the store on next use.
        self.tokens.clear();
        for (idx, generation) in std::mem::take(&mut self.logins) {
            if let Some(conn) = self.conns.get_mut(idx, generation) {
                if let Phase::Agent { account, agent } = conn.phase {
                    conn.phase = Phase::Ready;
                    self.set_offline(account, agent, idx);
                }
            }
        }
        // Logging out above may have queued presence pushes; the turn's are gone.
        self.presence_changes.clear();
        self.outbox.retain(|out| match out {
            Outgoing::Push { account, .. } => evicted.binary_search(account).is_err(),
            Outgoing::Answer { .. } | Outgoing::GoAway { .. } => true,
        });
        for out in &mut self.outbox {
            if let Outgoing::Answer { result, .. } = out {
                if result.is_ok() {
                    *result = Err(ErrorBody {
                        code: kefu_wire::ErrorCode::STORAGE_FAILURE,
                        message: "storage failed; nothing was changed".into(),
                    });
                }
            }
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutting_down {
            return;
        }
        self.shutting_down = true;
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
        self.listeners = Listeners::default();
        for (idx, generation) in self.conns.live() {
            self.outbox.push(Outgoing::GoAway {
                conn: idx,
                generation,
                code: kefu_wire::ErrorCode::SHUTTING_DOWN,
                message: "server shutting down; reconnect later".into(),
            });
        }
        // Pending password checks will never be answered: their connections are closing.
        self.pending.clear();
    }

    fn new_job_id(&mut self) -> u64 {
        let id = self.next_job;
        self.next_job += 1;
        id
    }

    /// Queues a push to `to` of `account`, released after the commit.
    fn push(&mut self, account: u64, to: Recipient, event: kefu_wire::Event) {
        self.outbox.push(Outgoing::Push { account, to, event });
    }

    /// The connections a push to `to` of `account` goes to now.
    fn recipients(&self, account: u64, to: &Recipient) -> SmallVec<[(usize, u32); 2]> {
        let agents = self.online.get(&account);
        let customers = self.customers.get(&account);
        match to {
            Recipient::Agent(agent) => agents
                .and_then(|m| m.get(agent))
                .map(|o| (o.conn, o.generation))
                .into_iter()
                .collect(),
            Recipient::AllAgents => agents
                .into_iter()
                .flat_map(|m| m.values().map(|o| (o.conn, o.generation)))
                .collect(),
            Recipient::Customer(customer) => customers
                .and_then(|m| m.get(customer))
                .copied()
                .into_iter()
                .collect(),
            Recipient::AllCustomers => customers
                .into_iter()
                .flat_map(|m| m.values().copied())
                .collect(),
            Recipient::Session(conn, generation) => smallvec::smallvec![(*conn, *generation)],
        }
    }

    fn reply(&mut self, reply: ReplyTo, result: Result<Response, ErrorBody>) {
        self.outbox.push(Outgoing::Answer { reply, result });
    }

    fn reply_err(
        &mut self,
        reply: ReplyTo,
        code: kefu_wire::ErrorCode,
        message: impl Into<String>,
    ) {
        self.reply(
            reply,
            Err(ErrorBody {
                code,
                message: message.into(),
            }),
        );
    }

    fn mark_dirty(&mut self, idx: usize) {
        self.dirty.push(idx);
    }

    /// The turn's time in whole Unix seconds.
    fn now_secs(&self) -> i64 {
        self.now_ms.div_euclid(1000)
    }

    /// The turn's time in whole Unix seconds, unsigned (tokens count steps from 1970).
    fn unix_secs(&self) -> u64 {
        u64::try_from(self.now_secs()).unwrap_or(0)
    }

    fn shard_count(&self) -> usize {
        self.shared.links.len()
    }
}

/// Hands memory freed after a burst (output buffers of a reconnect storm)
/// back to the kernel. glibc keeps freed chunks in per-thread arenas, so
/// without this a one-off burst stays in the resident size for good.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes
    // the arena locks itself and has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Connection storage: a vector of slots with a free list, and a generation
/// per slot so a reply to a connection that has since closed is dropped.
#[derive(Default)]
struct Slab {
    slots: Vec<Slot>,
    free: Vec<usize>,
    len: usize,
}

struct Slot {
    generation: u32,
    /// Inline, not boxed: one large slot array instead of a small allocation per
    /// connection scattered among short-lived buffers, which would pin pages.
    conn: Option<Connection>,
}

impl Slab {
    fn insert(&mut self, mut conn: Connection) -> (usize, u32) {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    generation: 0,
                    conn: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[idx];
        slot.generation = slot.generation.wrapping_add(1);
        conn.generation = slot.generation;
        slot.conn = Some(conn);
        self.len += 1;
        (idx, slot.generation)
    }

    fn remove(&mut self, idx: usize) -> Option<Connection> {
        let conn = self.slots.get_mut(idx)?.conn.take()?;
        self.free.push(idx);
        self.len -= 1;
        Some(conn)
    }

    fn get_mut(&mut self, idx: usize, generation: u32) -> Option<&mut Connection> {
        self.slots
            .get_mut(idx)
            .filter(|s| s.generation == generation)
            .and_then(|s| s.conn.as_mut())
    }

    fn get_any(&mut self, idx: usize) -> Option<&mut Connection> {
        self.slots.get_mut(idx).and_then(|s| s.conn.as_mut())
    }

    fn live(&self) -> Vec<(usize, u32)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, s)| s.conn.is_some())
            .map(|(i, s)| (i, s.generation))
            .collect()
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }
}
