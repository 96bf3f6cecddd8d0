//! The centre: everything about the accounts a shard owns, with no socket in sight.
//!
//! The loop (`shard`) hands the centre each request with the [`Caller`](crate::session::Caller) it came from,
//! each closed connection, each worker outcome; the centre decides, writes into the
//! turn's [`Batch`] and queues [`Outgoing`] answers and pushes. At the end of the turn
//! [`Centre::commit`] writes the batch once and gives the loop what may be released:
//! if the write failed, every account the batch touched is evicted (it reloads from
//! the disk on next use), no push of those accounts goes out and every success
//! answered in the turn becomes `STORAGE_FAILURE` (`DISK_FULL` if the disk was full).
//!
//! **Boundary**: no mio, no connection slab, no socket; time comes in once per turn
//! ([`Centre::begin_turn`]); connections are changed only through [`ConnUpdate`]s the
//! loop applies. So the whole account logic runs in memory in tests, over a
//! `MemoryStore` and a `ManualClock` (`daemon/tests/centre.rs`, `centre_rules.rs`).
//!
//! Files: `dispatch.rs` (every request classified once), `requests.rs` (entry,
//! accounts, agents, logins and sessions, the operator), `load.rs` (an account loaded
//! whole off the loop), `chat.rs` (customers and conversations), `crm.rs`,
//! `history.rs`, `security.rs`, `tokens.rs` (tokens of this shard's agents),
//! `token_home.rs` (unbound tokens, owned by shard 0), `signals.rs`,
//! `account_extras.rs`, `idle.rs` (idle customers: one timer wheel per shard),
//! `menu.rs` (the navigation menu walked before routing), `internal_chat.rs`
//! (agent-to-agent messages), `offline.rs` and `sms.rs` (offline messages, SMS
//! forwarding), `files.rs`, `offline_files.rs` and `file_window.rs` (files, online
//! and offline), `clock_admin.rs`, `operations.rs` (metrics, the storage check,
//! deleting an account), `reminders.rs` (agents' preferences, reminders to agent
//! 1001), `sessions.rs` (who each session is; the
//! directories map people to sessions, never to connections), `resume.rs` (sessions
//! that outlive their connection), `wake.rs` (when the centre next needs a turn by
//! time alone: the shard's loop sleeps until then).

// Requests come from peers: no panics on their input anywhere in the centre.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

mod account_centre;
mod account_extras;
mod account_move;
mod backup_admin;
mod balance;
mod broadcast_lists;
mod broadcast_replies;
mod broadcasts;
mod chat;
mod clock_admin;
mod crm;
mod csat;
mod deadline_walk;
mod designated;
mod dispatch;
mod exports;
mod file_window;
mod files;
mod history;
mod idle;
mod import_jobs;
mod internal_chat;
mod load;
mod menu;
mod notices;
mod offline;
mod offline_files;
mod operations;
mod pipeline;
mod profile_review;
mod read_only;
mod reminders;
mod requests;
mod resume;
mod review_queues;
mod security;
mod sessions;
mod signals;
mod sms;
mod spam;
mod submit_jobs;
mod survey_broadcasts;
mod surveys;
mod token_home;
mod tokens;
mod views;
mod wake;
mod web;
mod web_origins;
mod work_report;

pub use chat::sign_customer;
/// The per-turn bounds of the deferred import and broadcast submission (issue 13).
pub use import_jobs::ROWS_PER_TURN as IMPORT_ROWS_PER_TURN;
pub use read_only::StandbyReads;
pub use submit_jobs::RESOLVE_PER_TURN as SUBMISSION_RESOLVE_PER_TURN;

use crate::accounts::{AccountState, OnlineAgent};
use crate::config::RuntimeSettings;
use crate::log;
use crate::session::{ConnUpdate, Departed, Phase, SessionId};
use crate::stats::ShardCounters;
use crate::store::{Batch, Durability, KvStore};
use crate::worker::{JobSubmitter, OutcomeSink};
use kefu_wire::chat::CustomerId;
use kefu_wire::{ErrorBody, ErrorCode, Request, Response};
use rustc_hash::FxHashMap;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Instant;

use requests::PendingOp;

/// What a request handler answers: a response, or a typed error.
pub type Answer = Result<Response, ErrorBody>;

/// A typed error answer.
fn err(code: ErrorCode, message: impl Into<String>) -> ErrorBody {
    ErrorBody {
        code,
        message: message.into(),
    }
}

/// A store failure as the answer's error.
fn storage(e: impl std::fmt::Display) -> ErrorBody {
    err(ErrorCode::STORAGE_FAILURE, e.to_string())
}

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

/// Work done off the loop, to finish on it: called with the shard's centre.
pub type CentreCall = Box<dyn FnOnce(&mut Centre) + Send>;

/// Where work done off the loop comes back: the shard's inbox (and its waker).
pub trait Mailbox: OutcomeSink {
    /// Delivers the answer to a request that was finished off the loop.
    fn answer(&self, reply: ReplyTo, result: Answer);

    /// Hands work finished off the loop back to the centre (next turn).
    fn call(&self, call: CentreCall);
}

/// What every shard shares (read-only or atomic).
pub struct Shared {
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
    /// Where domain logic reads the time (injected by tests).
    pub clock: Arc<dyn crate::clock::Clock>,
    /// Failed logins per source address, shared because an address's logins
    /// land on every shard. Locked only around password logins (slow path).
    pub address_throttle: std::sync::Mutex<crate::throttle::Throttle<std::net::IpAddr>>,
    /// Offline files on the disk and the file limits (`[files]`); `None` refuses
    /// offline files (in-memory tests).
    pub files: Option<Arc<crate::file_store::FileStore>>,
    /// The pair this appliance is the primary of (`[cluster]`), if any: signalled after
    /// every commit; in `replicated` mode the committer waits for the standby.
    pub replication: Option<crate::cluster::ReplicationHook>,
    /// The address-to-region table of site analytics (`[web] regions_file`; empty:
    /// every region is `未知`).
    pub regions: Arc<crate::regions::RegionTable>,
    /// Where each account is served (accounts across appliances, `daemon/CLUSTER.md`
    /// §8): empty, every account here, without `[cluster.etcd]` and a move.
    pub placement: Arc<crate::cluster::placement::Placement>,
    /// A standby's read-only shards (`read_only.rs`, `standby_reads.rs`): where the
    /// primary is. `None` on a primary and a single appliance.
    pub standby: Option<Arc<StandbyReads>>,
}

/// Who a push is for, within its account. Domain code names people or a session,
/// never connections; at release time [`Centre::recipients`] resolves a recipient to
/// sessions and the loop's one table resolves sessions to connections, so a push to
/// someone who left during the turn goes nowhere (or is kept for a detached resumable
/// session) and a failed commit can drop an account's pushes whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// An agent, on whatever connection it is logged in.
    Agent(u32),
    /// Every agent of the account that is logged in.
    AllAgents,
    /// A customer (or visitor), on whatever connection it is logged in.
    Customer(CustomerId),
    /// Every customer of the account that is logged in.
    AllCustomers,
    /// One session (a notice for that login only).
    Session(SessionId),
}

/// Who an [`Outgoing::Redirect`] is for.
#[derive(Debug, Clone, Copy)]
pub enum RedirectWho {
    /// A connection (slab index, generation) — a login not served here.
    Conn(usize, u32),
    /// A session's connection — a logged-in user of an account that moved; the session
    /// ends.
    Session(SessionId),
}

/// Answers and frames produced during a turn, released by the loop after the commit.
pub enum Outgoing {
    /// The answer to a request.
    Answer {
        /// Where it goes.
        reply: ReplyTo,
        /// What it says.
        result: Answer,
    },
    /// A push to someone of an account.
    Push {
        /// The account whose logic produced it (dropped if its commit fails).
        account: u64,
        /// Who it is for.
        to: Recipient,
        /// What happened.
        event: kefu_wire::Event,
    },
    /// Tell a connection, or a session's connection, to go to `address` (`GoAwayTo`:
    /// `ACCOUNT_MOVED`, its account is served there; `NOT_PRIMARY`, the pair's primary
    /// is there), then close it.
    Redirect {
        /// Whom.
        to: RedirectWho,
        /// Why.
        code: ErrorCode,
        /// Where to.
        address: String,
        /// Said how.
        message: String,
    },
    /// Tell a connection why, then close it.
    GoAway {
        /// Slab index.
        conn: usize,
        /// Slot generation.
        generation: u32,
        /// Why.
        code: ErrorCode,
        /// Said how.
        message: String,
    },
    /// Work for another shard's centre (the owner of a token, of an account), run
    /// there in its next turn; released after the commit like everything else, so
    /// it never acts on a write of this turn that failed.
    Call {
        /// The shard to run it on.
        shard: usize,
        /// What to run there.
        call: CentreCall,
    },
    /// A session the centre ended (replaced by a newer login, password changed): its
    /// connection, if it has one, is told why and closed; the session is not
    /// resumed.
    EndSession {
        /// The session.
        session: SessionId,
        /// Why.
        code: ErrorCode,
        /// Said how.
        message: String,
    },
    /// A resumed session takes the connection that asked (`ResumeSession`): the loop
    /// closes the session's old connection if it is still open, attaches the session,
    /// answers `Resumed` and sends the pushes kept for it ([`Centre::take_replay`]).
    /// Pushes released before this are among the kept ones.
    Attach {
        /// The session.
        session: SessionId,
        /// The `ResumeSession` request to answer (on the new connection).
        reply: ReplyTo,
    },
    /// A request for an account another shard owns, on behalf of the operator.
    Forward {
        /// The owning shard.
        shard: usize,
        /// Where the answer goes.
        reply: ReplyTo,
        /// The request, already authorised here.
        request: Request,
    },
}

impl std::fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Outgoing::Answer { reply, result } => f
                .debug_struct("Answer")
                .field("reply", reply)
                .field("result", result)
                .finish(),
            Outgoing::Push { account, to, event } => f
                .debug_struct("Push")
                .field("account", account)
                .field("to", to)
                .field("event", event)
                .finish(),
            Outgoing::Redirect {
                to,
                code,
                address,
                message,
            } => f
                .debug_struct("Redirect")
                .field("to", to)
                .field("code", code)
                .field("address", address)
                .field("message", message)
                .finish(),
            Outgoing::GoAway {
                conn,
                generation,
                code,
                message,
            } => f
                .debug_struct("GoAway")
                .field("conn", conn)
                .field("generation", generation)
                .field("code", code)
                .field("message", message)
                .finish(),
            Outgoing::EndSession {
                session,
                code,
                message,
            } => f
                .debug_struct("EndSession")
                .field("session", session)
                .field("code", code)
                .field("message", message)
                .finish(),
            Outgoing::Attach { session, reply } => f
                .debug_struct("Attach")
                .field("session", session)
                .field("reply", reply)
                .finish(),
            Outgoing::Call { shard, .. } => f
                .debug_struct("Call")
                .field("shard", shard)
                .finish_non_exhaustive(),
            Outgoing::Forward {
                shard,
                reply,
                request,
            } => f
                .debug_struct("Forward")
                .field("shard", shard)
                .field("reply", reply)
                .field("request", request)
                .finish(),
        }
    }
}

/// One account in memory: everything about it, loaded as one unit (`load.rs`, in a
/// defined order) and dropped as one unit when a commit that wrote to it fails. Who
/// of it is connected is not here but in the centre's directories (`online`,
/// `customers`), which outlive an eviction.
pub(crate) struct Account {
    /// The account record, agents, roles, profiles, tokens held, sessions.
    state: AccountState,
    /// Routing and conversations.
    chat: chat::ChatState,
    /// Contacts, tags, groups, limits, recently contacted.
    crm: crm::CrmState,
    /// Quick-reply lists read or written, by agent (0 = the account's shared list).
    quick_replies: HashMap<u32, Vec<kefu_wire::QuickReply>>,
    /// The account-centre ticket key, once read or made (`account_extras.rs`).
    ticket_key: Option<crate::store::extras_records::TicketKey>,
    /// Agents' stored preferences, read on first use (`notices.rs`).
    prefs: Option<HashMap<u32, kefu_wire::prefs::AgentPrefs>>,
    /// The reminders record, read on first use (`notices.rs`).
    reminders: Option<crate::store::prefs_records::RemindersRecord>,
    /// Offline-file records, read on first use (`offline_files.rs`).
    files: Option<offline_files::AccountFiles>,
    /// The value-added balance, read on first use (`balance.rs`).
    balance: Option<crate::store::balance_records::BalanceRecord>,
    /// The broadcasts, read on first use (`broadcasts.rs`).
    broadcasts: Option<broadcasts::Book>,
    /// Entry-point codes, web settings, today's visit figures, read on first use
    /// (`web.rs`).
    web: Option<web::WebAccount>,
    /// The daily work report's counts and markers of the current day (`work_report.rs`).
    work: work_report::WorkCache,
    /// The surveys, read on first use (`surveys.rs`).
    surveys: Option<surveys::SurveyBook>,
    /// The enterprise profile and the window's style under review, read on first use
    /// (`profile_review.rs`).
    reviews: Option<profile_review::Reviews>,
}

/// The accounts one shard owns, and all their logic.
pub struct Centre {
    id: usize,
    shard_count: usize,
    shared: Arc<Shared>,
    counters: Arc<ShardCounters>,
    settings: Arc<RuntimeSettings>,
    mailbox: Arc<dyn Mailbox>,
    /// The accounts in memory, each whole (see [`Account`]). Looked up several times a
    /// message: hashed with Fx (account ids are the daemon's, not a peer's choice).
    actors: FxHashMap<u64, Account>,
    /// Agents logged in on this shard, per account. Beside the cached state, not in
    /// it, so evicting an account after a failed commit does not forget who is here.
    online: HashMap<u64, HashMap<u32, OnlineAgent>>,
    /// Customers logged in on this shard, per account (same reason).
    customers: HashMap<u64, HashMap<CustomerId, SessionId>>,
    /// Who each session of this shard is (`sessions.rs`); session ids are the
    /// daemon's (Fx, as `actors`).
    sessions: FxHashMap<SessionId, sessions::SessionRecord>,
    /// The last session number given out.
    next_session: u64,
    /// Detached resumable sessions by the end of their window (turn ms).
    detached: BTreeSet<(i64, SessionId)>,
    /// Resumable sessions that were kept more pushes than the bound: they end at the
    /// next commit.
    overflowed: Vec<SessionId>,
    pending: HashMap<u64, PendingOp>,
    next_job: u64,
    /// Routing effects of the turn, carried out before the commit.
    pending_effects: Vec<(u64, Vec<crate::routing::Effect>)>,
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
    /// Accounts whose cache changed this turn without a write of their own keys
    /// (evicted with the batch's accounts if the commit fails).
    touched: Vec<u64>,
    /// Agents and customers that logged in this turn: (conn, generation, session);
    /// logged out again if the batch fails.
    logins: Vec<(usize, u32, SessionId)>,
    /// What the last commit held: (logins, batch operations), for the loop's turn
    /// record (`turn_stats.rs`).
    turn_size: (usize, usize),
    outbox: Vec<Outgoing>,
    /// What the loop queued this turn: released after the commit, whatever it did.
    settled: Vec<Outgoing>,
    /// The thread that writes the batches off the loop (`pipeline.rs`: every batch in
    /// `fsync` mode, the large ones in `wal` mode), the batch in flight with what waits
    /// for it, and what its report released.
    committer: Option<pipeline::Committer>,
    inflight: Option<pipeline::InFlight>,
    ready: Vec<Outgoing>,
    /// Changes to connections, applied by the loop after each call.
    conn_updates: Vec<(usize, u32, ConnUpdate)>,
    /// Presence changes of the turn: (account, agent, presence), pushed at the commit.
    presence_changes: Vec<(u64, u32, kefu_wire::Presence)>,
    /// Requests waiting for their account to load on the worker pool (`load.rs`).
    parked: HashMap<u64, Vec<load::Parked>>,
    /// Failed commits so far: a load started before one is not adopted.
    evictions: u64,
    /// Per account, the 1001 session and expiry date its expiry reminder was given
    /// for (`notices.rs`).
    expiry_reminded: HashMap<u64, (SessionId, i64)>,
    /// Unix time in milliseconds, read once at the start of each turn: every rule
    /// decided in a turn sees the same instant, and a test (or the operator's test
    /// clock) moves it for all of them at once.
    now_ms: i64,
    /// Accounts deleted this turn (`operations.rs`): refused until the commit, after
    /// which a load started before it is not adopted.
    deleted: Vec<u64>,
    /// When the per-account conversation figures were last published (turn ms).
    metrics_published_ms: i64,
    /// The second the expiry reminders were last looked at: they count whole
    /// seconds, so walking the online accounts more than once a second finds nothing new.
    expiry_checked_secs: i64,
    /// When `chat_tick` and `menu_tick` next walk every account (`deadline_walk.rs`).
    routing_walk: deadline_walk::DeadlineWalk,
    menu_walk: deadline_walk::DeadlineWalk,
    /// The idle-customer timers of every account of the shard (`idle.rs`).
    idle_wheel: idle::IdleWheel,
    /// SMS forwarding: balances, the outbox schedule, who was told nobody is online
    /// (`sms.rs`, `offline.rs`).
    sms: sms::SmsShard,
    /// The weekly CSAT mails of this shard's accounts (`csat.rs`).
    csat: csat::CsatShard,
    /// Online transfers, uploads and fetches in progress (`files.rs`).
    files: files::FileState,
    rng: ring::rand::SystemRandom,
    /// Broadcasts approved or sending on this shard, by (account, broadcast)
    /// (`broadcasts.rs`).
    broadcasts_due: BTreeSet<(u64, u64)>,
    /// The start-up resume of unfinished broadcasts while it lasts: the last account
    /// read (`Some(None)` before the first); `None` once every account is read.
    broadcasts_resume: Option<Option<u64>>,
    /// Whether a broadcast has recipients left after this turn's slice.
    broadcasts_sending: bool,
    /// Import chunks being applied, a slice a turn (`import_jobs.rs`).
    import_jobs: import_jobs::ImportJobs,
    /// Broadcast submissions whose recipients are being resolved (`submit_jobs.rs`).
    submit_jobs: submit_jobs::SubmitJobs,
    /// Visitors on the site, invitations, automatic-invitation timers (`web.rs`).
    web: web::WebShard,
    /// Export files waiting for their chunks (`exports.rs`).
    exports: exports::Exports,
    /// Tickets that signed in to the account centre (`account_centre.rs`).
    used_tickets: account_centre::UsedTickets,
}

impl Centre {
    /// The centre of shard `id` of `shard_count`; work finished off the loop comes
    /// back through `mailbox`.
    pub fn new(
        id: usize,
        shard_count: usize,
        shared: Arc<Shared>,
        settings: Arc<RuntimeSettings>,
        mailbox: Arc<dyn Mailbox>,
    ) -> Centre {
        let counters = shared
            .counters
            .get(id)
            .cloned()
            .unwrap_or_else(|| Arc::new(ShardCounters::default()));
        let limits = settings.throttle;
        let now_ms = shared.clock.now_ms();
        Centre {
            id,
            shard_count,
            shared,
            counters,
            settings,
            mailbox,
            actors: FxHashMap::default(),
            online: HashMap::new(),
            customers: HashMap::new(),
            sessions: FxHashMap::default(),
            next_session: 0,
            detached: BTreeSet::new(),
            overflowed: Vec::new(),
            pending: HashMap::new(),
            next_job: 1,
            pending_effects: Vec::new(),
            counters_dirty: Vec::new(),
            turn_client_msgs: HashMap::new(),
            tokens: HashMap::new(),
            agent_throttle: crate::throttle::Throttle::new(limits),
            token_guesses: crate::throttle::Throttle::new(limits),
            batch: Batch::new(),
            touched: Vec::new(),
            logins: Vec::new(),
            turn_size: (0, 0),
            outbox: Vec::new(),
            settled: Vec::new(),
            committer: None,
            inflight: None,
            ready: Vec::new(),
            conn_updates: Vec::new(),
            presence_changes: Vec::new(),
            parked: HashMap::new(),
            evictions: 0,
            expiry_reminded: HashMap::new(),
            now_ms,
            deleted: Vec::new(),
            metrics_published_ms: i64::MIN,
            expiry_checked_secs: i64::MIN,
            routing_walk: deadline_walk::DeadlineWalk::default(),
            menu_walk: deadline_walk::DeadlineWalk::default(),
            idle_wheel: idle::IdleWheel::new(idle::WHEEL_SLOTS, idle::WHEEL_TICK_MS, now_ms),
            sms: sms::SmsShard::default(),
            csat: csat::CsatShard::default(),
            files: files::FileState::default(),
            rng: ring::rand::SystemRandom::new(),
            broadcasts_due: BTreeSet::new(),
            broadcasts_resume: Some(None),
            broadcasts_sending: false,
            import_jobs: Default::default(),
            submit_jobs: Default::default(),
            web: web::WebShard::new(now_ms),
            exports: exports::Exports::default(),
            used_tickets: account_centre::UsedTickets::default(),
        }
    }

    /// Starts a turn: reads the clock once.
    pub fn begin_turn(&mut self) {
        self.now_ms = self.shared.clock.now_ms();
    }

    /// New runtime settings (SIGHUP).
    pub fn reload(&mut self, settings: Arc<RuntimeSettings>) {
        self.agent_throttle.set_limits(settings.throttle);
        if let Ok(mut t) = self.shared.address_throttle.lock() {
            t.set_limits(settings.address_throttle);
        }
        self.settings = settings;
    }

    /// Once a minute: forget old failed-login counts.
    pub fn prune(&mut self) {
        let now = self.now_secs();
        self.agent_throttle.prune(now);
        self.token_guesses.prune(now);
    }

    /// Gives back the list [`Centre::commit`] returned, emptied, so that the next
    /// turn's answers and pushes reuse its allocation (one allocation less per turn;
    /// a list grown by a burst is let go, so idle memory stays small).
    pub fn recycle_outbox(&mut self, mut spent: Vec<Outgoing>) {
        const KEEP: usize = 64;
        if self.outbox.is_empty() && spent.capacity() <= KEEP {
            spent.clear();
            self.outbox = spent;
        }
    }

    /// The changes to connections asked for since the last call; the loop applies them.
    pub fn take_conn_updates(&mut self) -> Vec<(usize, u32, ConnUpdate)> {
        std::mem::take(&mut self.conn_updates)
    }

    /// Queues an item the loop brings (its goodbyes, an answer another shard or a
    /// worker finished) for release after the commit. None depends on this turn's
    /// batch, so a failed commit leaves them as they are.
    pub fn queue(&mut self, out: Outgoing) {
        self.settled.push(out);
    }

    /// A connection of this shard is gone (or closing): the session logged in on it
    /// ends (its person goes offline), or waits detached if it is resumable.
    pub fn connection_gone(
        &mut self,
        conn: usize,
        generation: u32,
        phase: Phase,
        session: Option<Departed>,
    ) {
        if phase == Phase::LoggingIn {
            // Its password check will find nobody to log in when it comes back; a
            // request it had parked is dropped.
            self.pending
                .retain(|_, op| !op.is_login_of(conn, generation));
            self.unpark_connection(conn, generation);
        }
        if let Some(departed) = session {
            self.session_departed(departed);
            // A logout may arm a routing timer (outside a turn's commit, after its walks).
            self.timers_may_have_armed();
        }
    }

    /// The loop is shutting down: password checks in flight will never be answered.
    pub fn forget_pending(&mut self) {
        self.pending.clear();
        self.refuse_parked(&err(ErrorCode::SHUTTING_DOWN, "server shutting down"));
    }

    /// Logins completed so far this turn (the loop's login budget, `LOGINS_PER_TURN`).
    pub fn turn_logins(&self) -> usize {
        self.logins.len()
    }

    /// What the last commit held: (logins completed, batch operations).
    pub fn turn_size(&self) -> (usize, usize) {
        self.turn_size
    }

    /// Group commit: one write for everything this turn changed; returns what may
    /// be released (answers, pushes, goodbyes, forwards), in order.
    pub fn commit(&mut self) -> Vec<Outgoing> {
        if self.on_standby() {
            // A standby's shards write nothing and run none of the turn's ticks.
            return self.commit_on_standby();
        }
        if !self.overflowed.is_empty()
            || (self.detached.first()).is_some_and(|&(until_ms, _)| until_ms <= self.now_ms)
        {
            // Sessions end before the walks below: they see what the logouts arm.
            self.timers_may_have_armed();
        }
        self.expire_detached();
        if self.now_secs() != self.expiry_checked_secs {
            self.expiry_checked_secs = self.now_secs();
            self.expiry_tick();
        }
        self.chat_tick();
        // Walks timed out in the navigation menu are routed before the effects run.
        self.menu_tick();
        self.apply_chat_effects();
        self.sms_tick();
        self.csat_tick();
        // After the routing effects: a conversation they closed has no timer left.
        self.idle_tick();
        self.web_tick();
        self.import_tick();
        self.submit_tick();
        self.broadcast_tick();
        self.flush_chat_counters();
        self.push_presence();
        if !self.batch.is_empty() || !self.outbox.is_empty() || !self.settled.is_empty() {
            // A turn that did something (a request, a tick that fired) may have armed a
            // timer after the walks above: they look again soon (`deadline_walk.rs`).
            // A turn that did nothing arms nothing, and an idle loop sleeps on.
            self.timers_may_have_armed();
        }
        self.turn_size = (self.logins.len(), self.batch.len());
        if self.commits_off_loop() {
            return self.commit_pipelined();
        }
        if !self.batch.is_empty() {
            let began = Instant::now();
            let mut result = self.shared.store.write(&self.batch, self.shared.durability);
            if let (Ok(()), Some(hook)) = (&result, &self.shared.replication) {
                result = hook.after_commit(self.shared.store.latest_sequence().unwrap_or(0));
            }
            let took = u64::try_from(began.elapsed().as_micros()).unwrap_or(u64::MAX);
            match result {
                Ok(()) => {
                    let messages = pipeline::message_puts(&self.batch);
                    self.counters
                        .commit_done(self.batch.len() as u64, messages, took);
                }
                Err(e) => {
                    self.counters.add_failed_commit();
                    let refusal = pipeline::refusal(self.id, e);
                    self.undo_turn(&refusal);
                }
            }
            self.batch.clear();
            self.counters.add_commit();
        }
        self.end_turn_state();
        self.publish_metrics();
        // What an earlier batch's report released this turn goes first.
        let mut out = if self.ready.is_empty() {
            std::mem::take(&mut self.outbox)
        } else {
            let mut out = std::mem::take(&mut self.ready);
            out.append(&mut self.outbox);
            out
        };
        out.append(&mut self.settled);
        out
    }

    /// The batch did not reach the disk. Every account it wrote to is evicted
    /// (derived from the batch's keys, so nothing depends on a hand-kept list)
    /// and reloads from the disk on next use; the logins it carried are logged
    /// out; every success answered in the turn becomes `refusal` (`STORAGE_FAILURE`,
    /// or `DISK_FULL`); and no
    /// push of an evicted account goes out, so nobody hears of what was not kept.
    fn undo_turn(&mut self, refusal: &ErrorBody) {
        self.evictions += 1;
        let mut evicted = self.batch.accounts();
        evicted.append(&mut self.touched);
        evicted.sort_unstable();
        evicted.dedup();
        for &account in &evicted {
            // Dropped whole; the next request for it loads it from the disk.
            self.actors.remove(&account);
        }
        self.sms.forget(&evicted);
        self.counters.set_accounts(self.actors.len() as u64);
        // Token states are reloaded from the store on next use.
        self.tokens.clear();
        for (conn, generation, session) in std::mem::take(&mut self.logins) {
            self.conn_updates
                .push((conn, generation, ConnUpdate::Phase(Phase::Ready)));
            self.conn_updates
                .push((conn, generation, ConnUpdate::Session(None)));
            self.end_session(session);
        }
        // Logging out above may have queued presence pushes; the turn's are gone.
        self.presence_changes.clear();
        self.outbox.retain(|out| match out {
            Outgoing::Push { account, .. } => evicted.binary_search(account).is_err(),
            Outgoing::Answer { .. }
            | Outgoing::GoAway { .. }
            | Outgoing::Redirect { .. }
            | Outgoing::EndSession { .. }
            | Outgoing::Attach { .. }
            | Outgoing::Forward { .. } => true,
            // A call stands on this turn's writes: dropped with them.
            Outgoing::Call { .. } => false,
        });
        for out in &mut self.outbox {
            if let Outgoing::Answer { result, .. } = out {
                if result.is_ok() {
                    *result = Err(refusal.clone());
                }
            }
        }
    }

    /// The account, loaded whole on the loop if it is not in memory (requests wait
    /// for their account to load off the loop first, `load.rs`; this serves the rare
    /// paths outside a request, such as a password check ending after an eviction).
    fn actor_mut(&mut self, account: u64) -> Result<&mut Account, ErrorBody> {
        if self.deletion_pending(account) {
            return Err(err(
                ErrorCode::UNKNOWN_ACCOUNT,
                format!("account {account} was deleted"),
            ));
        }
        if !self.actors.contains_key(&account) {
            let loaded = load::read_account(
                self.shared.store.as_ref(),
                self.shared.token_key.as_deref(),
                account,
            )?
            .ok_or_else(|| {
                err(
                    ErrorCode::UNKNOWN_ACCOUNT,
                    format!("account {account} does not exist"),
                )
            })?;
            self.adopt(account, loaded);
        }
        self.actors
            .get_mut(&account)
            .ok_or_else(|| err(ErrorCode::INTERNAL, "account vanished"))
    }

    /// Puts a whole account in memory: its agents already logged in here come online
    /// in its routing (which reads owners from its contacts, their one home).
    fn install_actor(
        &mut self,
        account: u64,
        state: AccountState,
        mut chat: chat::ChatState,
        crm: crm::CrmState,
    ) {
        self.chat_online(account, &mut chat, &crm);
        let actor = Account {
            state,
            chat,
            crm,
            quick_replies: HashMap::new(),
            ticket_key: None,
            prefs: None,
            reminders: None,
            files: None,
            balance: None,
            broadcasts: None,
            web: None,
            work: work_report::WorkCache::default(),
            surveys: None,
            reviews: None,
        };
        self.actors.insert(account, actor);
        self.counters.set_accounts(self.actors.len() as u64);
        // Its routing and menu timers are new to the walks.
        self.timers_may_have_armed();
        self.idle_rearm(account);
        self.roll_back_import(account);
    }

    /// Whether agent `me` of `account` (in memory) holds permission `p`.
    fn has_permission(&self, account: u64, me: u32, p: crate::store::Permission) -> bool {
        self.actors
            .get(&account)
            .is_some_and(|a| a.state.permissions(me).contains(p))
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

    fn reply(&mut self, reply: ReplyTo, result: Answer) {
        self.outbox.push(Outgoing::Answer { reply, result });
    }

    fn reply_err(&mut self, reply: ReplyTo, code: ErrorCode, message: impl Into<String>) {
        self.reply(reply, Err(err(code, message)));
    }

    fn update_conn(&mut self, conn: usize, generation: u32, update: ConnUpdate) {
        self.conn_updates.push((conn, generation, update));
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
        self.shard_count
    }
}
