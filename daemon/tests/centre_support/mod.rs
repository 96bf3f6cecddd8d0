//! An in-memory harness for `kefu_daemon::centre::Centre`: no socket, no mio, a
//! `ManualClock` for time and a store that can be told to fail a write.
//!
//! The harness plays the shard loop's part: it hands the centre requests with the
//! `Caller` of a fake connection, applies the `ConnUpdate`s after every call, commits
//! once per turn, and releases what the commit returns the way `shard::io::release`
//! does (answers by correlation, pushes resolved with `Centre::recipients`, GoAways
//! closing the connection). Password checks run on a real one-thread worker pool; the
//! harness waits for their outcome on a channel (a result, not a sleep) and feeds it
//! back in a turn of its own, as the loop does.
//!
//! Every turn whose commit the store refused is checked against the centre's promise
//! (`Centre::commit`): no answer of the turn is a success and no push of an account
//! the failed batch wrote to is released.
#![allow(dead_code)]

use kefu_daemon::centre::{Answer, Centre, Mailbox, Outgoing, Recipient, ReplyTo, Shared};
use kefu_daemon::clock::{Clock, ManualClock};
use kefu_daemon::config::{Config, RuntimeSettings};
use kefu_daemon::session::{Caller, ConnUpdate, Departed, Phase, SessionId};
use kefu_daemon::store::keys::AFTER_ALL_KEYS;
use kefu_daemon::store::{Batch, Cf, Durability, KvStore, MemoryStore, StoreError};
use kefu_daemon::worker::{OutcomeSink, PasswordOutcome, WorkerPool};
use kefu_wire::chat::{Channel, CustomerId};
use kefu_wire::{ErrorCode, Event, Plan, Request, Response, SessionInfo};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// The password of agent 1001 of every account the harness creates.
pub const PASSWORD: &str = "correct horse";
/// The super password of every account the harness creates.
pub const SUPER: &str = "super secret";
/// The password the harness gives agents it adds.
pub const AGENT_PASSWORD: &str = "agent password";
/// 2024-01-01T00:00:00Z, where every harness clock starts unless told otherwise.
pub const START_MS: i64 = 1_704_067_200_000;
/// Longest wait for the worker pool or the token-import thread (a result, not a sleep).
const OUTCOME_WAIT: Duration = Duration::from_secs(60);

/// A [`MemoryStore`] that refuses the writes it is told to (by ordinal, 1-based).
#[derive(Debug, Default)]
pub struct FailingStore {
    inner: MemoryStore,
    writes: AtomicU64,
    fail_at: Mutex<BTreeSet<u64>>,
    /// Accounts of each refused batch, in order.
    refused: Mutex<Vec<Vec<u64>>>,
}

impl FailingStore {
    /// An empty store that fails nothing yet.
    pub fn new() -> FailingStore {
        FailingStore::default()
    }

    /// A store holding a copy of everything `from` holds.
    pub fn copy_of(from: &dyn KvStore) -> FailingStore {
        let store = FailingStore::new();
        let mut batch = Batch::new();
        for cf in Cf::ALL {
            let all = from
                .scan(cf, &[], &AFTER_ALL_KEYS, usize::MAX)
                .expect("scan of an in-memory store");
            for (key, value) in all {
                batch.put(cf, &key, value);
            }
        }
        if !batch.is_empty() {
            store
                .inner
                .write(&batch, Durability::Wal)
                .expect("write to an in-memory store");
        }
        store
    }

    /// Writes accepted or refused so far.
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::SeqCst)
    }

    /// Refuses the `nth` write (counted from the first, 1-based).
    pub fn fail_write(&self, nth: u64) {
        lock(&self.fail_at).insert(nth);
    }

    /// Refuses the next write, whenever it comes.
    pub fn fail_next_write(&self) {
        self.fail_write(self.writes() + 1);
    }

    /// Forgets every write still to be refused.
    pub fn disarm(&self) {
        lock(&self.fail_at).clear();
    }

    /// How many writes were refused.
    pub fn refusals(&self) -> usize {
        lock(&self.refused).len()
    }

    /// The accounts the most recently refused batch wrote to.
    pub fn last_refused_accounts(&self) -> Vec<u64> {
        lock(&self.refused).last().cloned().unwrap_or_default()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl KvStore for FailingStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(cf, key)
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<kefu_daemon::store::KeyValue>, StoreError> {
        self.inner.scan(cf, start, end, limit)
    }

    fn scan_reverse(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<kefu_daemon::store::KeyValue>, StoreError> {
        self.inner.scan_reverse(cf, start, end, limit)
    }

    fn write(&self, batch: &Batch, durability: Durability) -> Result<(), StoreError> {
        let nth = self.writes.fetch_add(1, Ordering::SeqCst) + 1;
        if lock(&self.fail_at).remove(&nth) {
            lock(&self.refused).push(batch.accounts());
            return Err(StoreError::Engine(format!(
                "injected failure of write {nth}"
            )));
        }
        self.inner.write(batch, durability)
    }
}

/// What the worker pool and the token-import thread send back.
enum Delivery {
    Outcome(PasswordOutcome),
    Answer(ReplyTo, Answer),
    /// Work finished off the loop (an account loaded) to run on the centre.
    Call(kefu_daemon::centre::CentreCall),
}

/// The shard's inbox, as a channel the harness reads.
struct TestMailbox(Mutex<Sender<Delivery>>);

impl OutcomeSink for TestMailbox {
    fn deliver(&self, outcome: PasswordOutcome) {
        let _ = lock(&self.0).send(Delivery::Outcome(outcome));
    }
}

impl Mailbox for TestMailbox {
    fn answer(&self, reply: ReplyTo, result: Answer) {
        let _ = lock(&self.0).send(Delivery::Answer(reply, result));
    }

    fn call(&self, call: kefu_daemon::centre::CentreCall) {
        let _ = lock(&self.0).send(Delivery::Call(call));
    }
}

/// A connection as the loop keeps it, without the socket.
#[derive(Debug, Clone)]
pub struct FakeConn {
    /// Slot generation.
    pub generation: u32,
    /// The admin socket.
    pub is_admin: bool,
    /// Protocol phase.
    pub phase: Phase,
    /// The session logged in on it.
    pub session: Option<SessionId>,
    /// Pushes released to it, in order.
    pub pushes: Vec<Event>,
    /// The GoAway it was told, if any (it is closed then).
    pub goaway: Option<ErrorCode>,
}

/// A push as the commit released it.
#[derive(Debug, Clone)]
pub struct Released {
    /// Account whose logic produced it.
    pub account: u64,
    /// Who it was for.
    pub to: Recipient,
    /// What it said.
    pub event: Event,
    /// Connections it reached.
    pub conns: Vec<usize>,
}

/// What one turn released.
#[derive(Debug, Default)]
pub struct TurnReport {
    /// Answers by correlation.
    pub answers: Vec<(u32, Answer)>,
    /// Pushes.
    pub pushes: Vec<Released>,
    /// GoAways: connection and code.
    pub goaways: Vec<(usize, ErrorCode)>,
    /// Whether the store refused the turn's commit.
    pub refused: bool,
    /// Accounts of the refused batch.
    pub refused_accounts: Vec<u64>,
}

/// One centre (shard 0 of 1) over a [`FailingStore`], with fake connections.
pub struct Harness {
    /// The centre under test.
    pub centre: Centre,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// Its store.
    pub store: Arc<FailingStore>,
    /// What it was built from (to build another centre over a copy of the store).
    pub shared: Arc<Shared>,
    settings: Arc<RuntimeSettings>,
    token_key: Arc<kefu_daemon::otp::sealed::SealingKey>,
    inbox: Receiver<Delivery>,
    /// The shard's own mailbox: a call the centre addresses to its own shard goes here.
    mailbox: Arc<TestMailbox>,
    /// Keeps the hashing thread's queue alive.
    _workers: WorkerPool,
    /// Connections by slab index.
    pub conns: BTreeMap<usize, FakeConn>,
    /// The connection each session is on (the loop's table).
    attached: HashMap<SessionId, usize>,
    next_conn: usize,
    next_correlation: u32,
    /// Answers released so far, by correlation.
    answers: HashMap<u32, Answer>,
    /// The admin connection.
    pub admin: usize,
    /// Customer-signing keys of the accounts, once rotated.
    customer_keys: HashMap<u64, [u8; 32]>,
    /// Every turn's report, in order.
    pub turns: Vec<TurnReport>,
    /// A result received and not yet handed to the centre.
    held: Option<Delivery>,
    /// Correlations of answers finished off the loop (token imports).
    off_loop_answers: BTreeSet<u32>,
}

/// The key that seals token seeds and customer keys in every harness (fixed, so a
/// second centre over a copy of the store opens what the first sealed).
fn sealing_key() -> Arc<kefu_daemon::otp::sealed::SealingKey> {
    Arc::new(kefu_daemon::otp::sealed::SealingKey::from_bytes(&[0x5a; 32]).expect("32-byte key"))
}

impl Harness {
    /// A harness on an empty store, its clock at [`START_MS`].
    pub fn new() -> Harness {
        Harness::over(Arc::new(FailingStore::new()), START_MS)
    }

    /// A harness over `store`, its clock at `now_ms`.
    pub fn over(store: Arc<FailingStore>, now_ms: i64) -> Harness {
        Harness::build(store, now_ms, sealing_key())
    }

    fn build(
        store: Arc<FailingStore>,
        now_ms: i64,
        token_key: Arc<kefu_daemon::otp::sealed::SealingKey>,
    ) -> Harness {
        let config = Config::for_tests(std::path::Path::new("/nonexistent"));
        let settings = Arc::new(config.runtime());
        let clock = Arc::new(ManualClock::new(now_ms));
        let workers = WorkerPool::start(1).expect("a hashing thread");
        let (tx, inbox) = channel();
        let mailbox = Arc::new(TestMailbox(Mutex::new(tx)));
        let shared = Arc::new(Shared {
            placement: Default::default(),
            standby: None,
            counters: vec![Arc::new(kefu_daemon::stats::ShardCounters::default())],
            store: Arc::clone(&store) as Arc<dyn KvStore>,
            workers: workers.submitter(),
            started: std::time::Instant::now(),
            durability: Durability::Wal,
            token_key: Some(Arc::clone(&token_key)),
            clock: Arc::clone(&clock) as Arc<dyn kefu_daemon::clock::Clock>,
            address_throttle: Mutex::new(kefu_daemon::throttle::Throttle::new(
                settings.address_throttle,
            )),
            files: None,
            replication: None,
            regions: Arc::default(),
        });
        let centre = Centre::new(
            0,
            1,
            Arc::clone(&shared),
            Arc::clone(&settings),
            Arc::clone(&mailbox) as Arc<dyn Mailbox>,
        );
        let mut h = Harness {
            centre,
            clock,
            store,
            shared,
            settings,
            token_key,
            inbox,
            mailbox,
            _workers: workers,
            conns: BTreeMap::new(),
            attached: HashMap::new(),
            next_conn: 1,
            next_correlation: 1,
            answers: HashMap::new(),
            admin: 0,
            customer_keys: HashMap::new(),
            turns: Vec::new(),
            held: None,
            off_loop_answers: BTreeSet::new(),
        };
        h.admin = h.connect_as(true);
        h
    }

    /// A fresh centre over a copy of this one's store, at the same time and with the
    /// same customer keys: what a restart would see.
    pub fn reopened(&self) -> Harness {
        let copy = Arc::new(FailingStore::copy_of(self.store.as_ref()));
        let mut h = Harness::build(copy, self.clock.now_ms(), Arc::clone(&self.token_key));
        h.customer_keys = self.customer_keys.clone();
        h
    }

    /// The runtime settings the centre runs with.
    pub fn settings(&self) -> &RuntimeSettings {
        &self.settings
    }

    /// Opens a connection (handshaken, not logged in).
    pub fn connect(&mut self) -> usize {
        self.connect_as(false)
    }

    fn connect_as(&mut self, is_admin: bool) -> usize {
        let idx = self.next_conn;
        self.next_conn += 1;
        self.conns.insert(
            idx,
            FakeConn {
                generation: 1,
                is_admin,
                phase: Phase::Ready,
                session: None,
                pushes: Vec::new(),
                goaway: None,
            },
        );
        idx
    }

    /// The connection `idx`.
    pub fn conn(&self, idx: usize) -> &FakeConn {
        self.conns
            .get(&idx)
            .expect("a connection the harness opened")
    }

    /// Takes the pushes released to `idx` so far.
    pub fn take_pushes(&mut self, idx: usize) -> Vec<Event> {
        self.conns
            .get_mut(&idx)
            .map(|c| std::mem::take(&mut c.pushes))
            .unwrap_or_default()
    }

    /// Hands `request` from connection `idx` to the centre (within a turn) and applies
    /// the connection updates it asked for; returns the correlation id.
    pub fn send(&mut self, idx: usize, request: Request) -> u32 {
        let correlation = self.next_correlation;
        self.next_correlation += 1;
        let c = self.conn(idx);
        let caller = Caller {
            conn: idx,
            generation: c.generation,
            is_admin: c.is_admin,
            phase: c.phase,
            peer: None,
            session: c.session,
            web_origin: None,
        };
        let reply = ReplyTo {
            shard: 0,
            conn: idx,
            generation: caller.generation,
            correlation,
        };
        self.centre.handle_request(&caller, reply, request);
        self.apply_conn_updates();
        correlation
    }

    /// The connection is closed by its peer (within a turn).
    pub fn disconnect(&mut self, idx: usize) {
        if let Some(c) = self.conns.get_mut(&idx) {
            let was = c.phase;
            c.phase = Phase::Closing;
            let session = c.session.take();
            let generation = c.generation;
            let attached = session.is_some_and(|s| self.attached.get(&s) == Some(&idx));
            if let (Some(s), true) = (session, attached) {
                self.attached.remove(&s);
            }
            // The harness's connections acknowledge every push they are given.
            let departed = session.map(|session| Departed {
                session,
                unacked: Vec::new(),
                last_seq: 0,
                attached,
            });
            self.centre.connection_gone(idx, generation, was, departed);
        }
    }

    fn apply_conn_updates(&mut self) {
        for (idx, generation, update) in self.centre.take_conn_updates() {
            let Some(c) = self.conns.get_mut(&idx) else {
                continue;
            };
            if c.generation != generation {
                continue;
            }
            match update {
                ConnUpdate::Phase(phase) => {
                    if c.phase != Phase::Closing {
                        c.phase = phase;
                    }
                }
                ConnUpdate::Session(session) => {
                    if let Some(old) = std::mem::replace(&mut c.session, session) {
                        self.attached.remove(&old);
                    }
                    if let Some(new) = session {
                        self.attached.insert(new, idx);
                    }
                }
                ConnUpdate::Resume | ConnUpdate::KeepPushes => {}
                ConnUpdate::Resuming(session) => c.session = Some(session),
            }
        }
    }

    /// One turn of the loop: the clock is read, `calls` runs (usually [`Harness::send`]s),
    /// the batch is committed and what it returns is released.
    pub fn turn<R>(&mut self, calls: impl FnOnce(&mut Harness) -> R) -> (R, &TurnReport) {
        self.centre.begin_turn();
        let r = calls(self);
        self.finish_turn();
        (r, self.turns.last().expect("the turn just finished"))
    }

    fn finish_turn(&mut self) {
        let refusals = self.store.refusals();
        let out = self.centre.commit();
        self.apply_conn_updates();
        let mut report = TurnReport {
            refused: self.store.refusals() > refusals,
            ..TurnReport::default()
        };
        if report.refused {
            report.refused_accounts = self.store.last_refused_accounts();
        }
        for item in out {
            self.release(item, &mut report);
        }
        if report.refused {
            check_refused_turn(&report, &self.off_loop_answers);
        }
        self.turns.push(report);
    }

    /// Delivers one released item, as `shard::io::release` does.
    fn release(&mut self, item: Outgoing, report: &mut TurnReport) {
        match item {
            Outgoing::Answer { reply, result } => {
                report.answers.push((reply.correlation, result.clone()));
                self.answers.insert(reply.correlation, result);
            }
            Outgoing::Push { account, to, event } => {
                let mut reached = Vec::new();
                for session in self.centre.recipients(account, &to) {
                    let Some(&idx) = self.attached.get(&session) else {
                        // Detached (resumable): kept for the next connection.
                        self.centre.keep_push(session, event.clone());
                        continue;
                    };
                    if let Some(c) = self.conns.get_mut(&idx) {
                        if c.phase != Phase::Closing {
                            c.pushes.push(event.clone());
                            reached.push(idx);
                        }
                    }
                }
                report.pushes.push(Released {
                    account,
                    to,
                    event,
                    conns: reached,
                });
            }
            Outgoing::GoAway {
                conn,
                generation,
                code,
                ..
            } => {
                let live = self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| c.generation == generation);
                if live {
                    report.goaways.push((conn, code));
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.goaway = Some(code);
                    }
                    self.disconnect(conn);
                }
            }
            // Accounts across appliances: the harness runs no directory, but a
            // redirect is a goodbye like any other.
            Outgoing::Redirect { to, .. } => {
                let conn = match to {
                    kefu_daemon::centre::RedirectWho::Conn(conn, _) => Some(conn),
                    kefu_daemon::centre::RedirectWho::Session(session) => {
                        self.attached.remove(&session)
                    }
                };
                if let Some(conn) = conn {
                    report.goaways.push((conn, ErrorCode::ACCOUNT_MOVED));
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.goaway = Some(ErrorCode::ACCOUNT_MOVED);
                        c.session = None;
                    }
                    self.disconnect(conn);
                }
            }
            Outgoing::EndSession { session, code, .. } => {
                if let Some(conn) = self.attached.remove(&session) {
                    report.goaways.push((conn, code));
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.goaway = Some(code);
                        c.session = None;
                    }
                    self.disconnect(conn);
                }
            }
            Outgoing::Attach { session, reply } => {
                let conn = reply.conn;
                let here = self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| c.session == Some(session) && c.phase != Phase::Closing);
                if here {
                    if let Some(old) = self.attached.insert(session, conn) {
                        if let Some(c) = self.conns.get_mut(&old) {
                            c.session = None;
                            c.goaway = Some(ErrorCode::SESSION_REPLACED);
                        }
                        self.disconnect(old);
                    }
                    let replay = self.centre.take_replay(session, None);
                    let answer = match &replay {
                        Some(events) => Ok(Response::Resumed {
                            replayed: events.len() as u64,
                        }),
                        None => Err(kefu_wire::ErrorBody {
                            code: ErrorCode::RESUME_REJECTED,
                            message: "the session ended meanwhile".into(),
                        }),
                    };
                    report.answers.push((reply.correlation, answer.clone()));
                    self.answers.insert(reply.correlation, answer);
                    if let Some(c) = self.conns.get_mut(&conn) {
                        match replay {
                            Some(events) => c.pushes.extend(events),
                            None => {
                                self.attached.remove(&session);
                                c.session = None;
                                c.phase = Phase::Ready;
                            }
                        }
                    }
                }
            }
            Outgoing::Forward { shard, .. } => {
                panic!("a centre of one shard forwarded to shard {shard}")
            }
            // One shard: a call for "another" shard comes back through the inbox.
            Outgoing::Call { call, .. } => self.mailbox.call(call),
        }
    }

    /// Whether an answer to `correlation` has been released.
    pub fn answered(&self, correlation: u32) -> bool {
        self.answers.contains_key(&correlation)
    }

    /// Takes the answer to `correlation`, once released.
    pub fn take_answer(&mut self, correlation: u32) -> Option<Answer> {
        self.answers.remove(&correlation)
    }

    /// Waits for the worker pool (or the import thread) and feeds what it sends back
    /// to the centre in a turn of its own.
    pub fn outcome_turn(&mut self) {
        self.turn(Harness::deliver_one);
    }

    /// Within a turn: waits for one result of the worker pool or the import thread and
    /// hands it to the centre, as the loop's `drain_inbox` does.
    pub fn deliver_one(&mut self) {
        self.wait_delivery();
        let Some(delivery) = self.held.take() else {
            return;
        };
        match delivery {
            Delivery::Outcome(outcome) => {
                self.centre.on_password_outcome(outcome);
                self.apply_conn_updates();
            }
            Delivery::Answer(reply, result) => {
                self.off_loop_answers.insert(reply.correlation);
                self.centre.queue(Outgoing::Answer { reply, result });
            }
            Delivery::Call(call) => {
                call(&mut self.centre);
                self.apply_conn_updates();
            }
        }
    }

    /// Waits until the worker pool or the import thread has sent its next result,
    /// and holds it for [`Harness::deliver_one`] (so a test knows the work is done,
    /// its writes included, before it hands the result over).
    pub fn wait_delivery(&mut self) {
        if self.held.is_none() {
            let delivery = self
                .inbox
                .recv_timeout(OUTCOME_WAIT)
                .expect("the worker pool answers a submitted job");
            self.held = Some(delivery);
        }
    }

    /// Sends `request` from `idx` in a turn of its own and returns its answer, running
    /// the turns a password check or an import needs.
    pub fn call(&mut self, idx: usize, request: Request) -> Answer {
        let correlation = self.turn(|h| h.send(idx, request)).0;
        self.wait_answer(correlation)
    }

    /// Runs outcome turns until `correlation` is answered; returns the answer.
    pub fn wait_answer(&mut self, correlation: u32) -> Answer {
        while !self.answered(correlation) {
            self.outcome_turn();
        }
        self.take_answer(correlation).expect("answered")
    }

    /// [`Harness::call`] that must succeed.
    pub fn ok(&mut self, idx: usize, request: Request) -> Response {
        let name = request.name();
        match self.call(idx, request) {
            Ok(r) => r,
            Err(e) => panic!("{name} refused: {e:?}"),
        }
    }

    /// [`Harness::call`] that must be refused; returns the code.
    pub fn refused(&mut self, idx: usize, request: Request) -> ErrorCode {
        let name = request.name();
        match self.call(idx, request) {
            Ok(r) => panic!("{name} accepted: {r:?}"),
            Err(e) => e.code,
        }
    }

    /// An operator request run as `account`'s 1001 (`AdminOnAccount`).
    pub fn on_account(&mut self, account: u64, request: &Request) -> Answer {
        let admin = self.admin;
        self.call(admin, Request::on_account(account, request))
    }

    /// Creates `account` (1001 with [`PASSWORD`]) expiring at `expires_at` (Unix seconds).
    pub fn create_account(&mut self, account: u64, expires_at: i64) {
        let admin = self.admin;
        let r = self.ok(
            admin,
            Request::AdminCreateAccount {
                account,
                name: format!("Enterprise {account}"),
                plan: Plan::Gold,
                expires_at,
                password_1001: PASSWORD.into(),
                super_password: SUPER.into(),
            },
        );
        assert!(
            matches!(r, Response::Account(ref a) if a.account == account),
            "{r:?}"
        );
    }

    /// Creates `account` valid for a year from now.
    pub fn create_account_for_a_year(&mut self, account: u64) {
        let expires_at = self.now_secs() + 365 * 86_400;
        self.create_account(account, expires_at);
    }

    /// `agent` of `account` logged in with auto-accept `cap` (added first unless it is
    /// 1001); its connection.
    pub fn agent_with_cap(&mut self, account: u64, agent: u32, cap: u16) -> usize {
        if agent != 1001 {
            self.add_agent(account, agent);
        }
        let (conn, _) = self.agent(account, agent);
        self.ok(conn, Request::SetAutoAccept { cap });
        conn
    }

    /// Adds `agent` with [`AGENT_PASSWORD`] through the admin socket.
    pub fn add_agent(&mut self, account: u64, agent: u32) {
        let admin = self.admin;
        self.ok(
            admin,
            Request::AdminAddAgent {
                account,
                agent,
                nickname: format!("agent {agent}"),
                role: None,
            },
        );
        self.ok(
            admin,
            Request::AdminSetAgentPassword {
                account,
                agent,
                new_password: AGENT_PASSWORD.into(),
            },
        );
    }

    /// A password login on connection `idx`.
    pub fn login_on(
        &mut self,
        idx: usize,
        account: u64,
        agent: u32,
        password: &str,
        otp: Option<String>,
    ) -> Answer {
        self.call(
            idx,
            Request::Login {
                account,
                agent,
                password: password.into(),
                otp,
            },
        )
    }

    /// A new connection logged in as `agent@account`; 1001 uses [`PASSWORD`], others
    /// [`AGENT_PASSWORD`].
    pub fn agent(&mut self, account: u64, agent: u32) -> (usize, SessionInfo) {
        let idx = self.connect();
        let password = if agent == 1001 {
            PASSWORD
        } else {
            AGENT_PASSWORD
        };
        match self.login_on(idx, account, agent, password, None) {
            Ok(Response::LoggedIn(info)) => (idx, info),
            other => panic!("login of {agent}@{account}: {other:?}"),
        }
    }

    /// The account's customer-signing key (rotated once, on first use).
    pub fn customer_key(&mut self, account: u64) -> [u8; 32] {
        if let Some(k) = self.customer_keys.get(&account) {
            return *k;
        }
        let admin = self.admin;
        match self.ok(admin, Request::AdminRotateCustomerKey { account }) {
            Response::CustomerKey(k) => {
                self.customer_keys.insert(account, k);
                k
            }
            other => panic!("{other:?}"),
        }
    }

    /// A `CustomerLogin` for `id`, signed until an hour after the harness's now.
    pub fn customer_login_request(&mut self, account: u64, id: &str) -> Request {
        let key = self.customer_key(account);
        let expires_at = self.now_secs() + 3600;
        Request::CustomerLogin {
            account,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(&key, account, id, expires_at),
            channel: Channel::Desktop,
        }
    }

    /// A new connection logged in as customer `id`.
    pub fn customer(&mut self, account: u64, id: &str) -> usize {
        let idx = self.connect();
        let request = self.customer_login_request(account, id);
        match self.call(idx, request) {
            Ok(Response::CustomerLoggedIn(s)) => {
                assert_eq!(s.customer, CustomerId::Identified(id.into()));
                idx
            }
            other => panic!("customer login of {id}: {other:?}"),
        }
    }

    /// The harness clock, whole Unix seconds.
    pub fn now_secs(&self) -> i64 {
        self.clock.now_ms().div_euclid(1000)
    }
}

/// The centre's promise for a turn whose batch did not reach the store.
///
/// Answers finished off the loop are left out: their work was written on its own,
/// not in the turn's batch (see `an_import_answered_in_a_refused_turn_keeps_its_success`).
fn check_refused_turn(report: &TurnReport, off_loop: &BTreeSet<u32>) {
    for (correlation, answer) in &report.answers {
        if off_loop.contains(correlation) {
            continue;
        }
        assert!(
            answer.is_err(),
            "answer {correlation} of a refused turn is a success: {answer:?}"
        );
    }
    for push in &report.pushes {
        assert!(
            !report.refused_accounts.contains(&push.account),
            "a push of account {} was released by a refused turn: {push:?}",
            push.account
        );
    }
}

/// 20-byte seed in hex, as a vendor's CSV carries it.
pub const SEED: &str = "3132333435363738393031323334353637383930";

/// The TOTP code of [`SEED`] (SHA-1, six digits, 60 s) for `step`.
pub fn otp_at(step: u64) -> String {
    use kefu_daemon::otp::hotp::{Algorithm, Digits};
    let secret: Vec<u8> = (0..SEED.len())
        .step_by(2)
        .filter_map(|i| SEED.get(i..i + 2))
        .map(|byte| u8::from_str_radix(byte, 16).expect("hex seed"))
        .collect();
    let period = std::num::NonZeroU32::new(60).expect("non-zero");
    kefu_daemon::otp::totp::Totp::new(Algorithm::Sha1, &secret, Digits::SIX, period)
        .code_for_step(step)
        .as_str()
        .to_string()
}
