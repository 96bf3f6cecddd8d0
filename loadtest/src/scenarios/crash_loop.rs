//! `kefu-load crash-loop`: chat traffic while the daemon is killed with SIGKILL at random
//! intervals and restarted on the same data directory (issue 12, point 1).
//!
//! The tool runs `kefud` itself (a generated config in `--work-dir`: TCP on
//! 127.0.0.1:0, the admin socket in the work directory, the chosen durability), so it
//! can kill and restart it. Customers, each on a thread with a blocking client, send
//! numbered messages one after another; a send whose connection died is retried with
//! the same `client_msg_id` once the daemon is back (the daemon answers `duplicate` if
//! it had stored it), as a real client does. One agent with auto-accept receives the
//! pushes and, after every reconnect, catches up with `ConversationMessages` (pushes are
//! not kept across a restart; a client reads what it missed). From the clients' own
//! ledgers, at the end:
//! - **lost**: acknowledged (`Sent`) but not stored;
//! - **duplicated**: one (customer, number) stored under two message ids, or the same
//!   message pushed twice on one agent connection;
//! - **undelivered**: stored but never received by the agent (push or catch-up).
//!
//! Restart-to-serving is measured per kill: from the SIGKILL (the process reaped) until
//! a fresh connection to the restarted daemon has completed a ping round trip.
//! The run fails (exit 1) if anything was lost, duplicated or undelivered.

use crate::kefud::Kefud;
use crate::signing::sign_customer;
use anyhow::{bail, Context};
use clap::Args;
use kefu_wire::chat::{Entry, MessageBody, Party};
use kefu_wire::{Client, ClientError, ClientOptions, Event, Plan, Request, Response};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const ACCOUNT: u64 = 890_001;
const PASSWORD: &str = "crash-loop-1001";
const SUPER_PASSWORD: &str = "crash-loop-super";
/// How long the tool waits for a restarted daemon's readiness line.
const READY_TIMEOUT: Duration = Duration::from_secs(120);
/// How long the agent may take, once the load stopped, to have every stored message.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Flags of `kefu-load crash-loop`.
#[derive(Debug, Args)]
pub struct CrashLoopArgs {
    /// The kefud binary [default: kefud beside kefu-load].
    #[arg(long)]
    pub kefud: Option<PathBuf>,
    /// Directory for the config, data directory and admin socket; must not hold a
    /// data directory yet (it is created if missing).
    #[arg(long)]
    pub work_dir: PathBuf,
    /// wal or fsync.
    #[arg(long, default_value = "wal", value_parser = ["wal", "fsync"])]
    pub durability: String,
    /// SIGKILLs over the run.
    #[arg(long, default_value_t = 50)]
    pub kills: u32,
    /// Shortest time the daemon serves between restart and kill, milliseconds.
    #[arg(long, default_value_t = 5_000)]
    pub min_interval_ms: u64,
    /// Longest time the daemon serves between restart and kill, milliseconds.
    #[arg(long, default_value_t = 120_000)]
    pub max_interval_ms: u64,
    /// Customers sending, each one message at a time.
    #[arg(long, default_value_t = 8)]
    pub customers: u32,
    /// Pause of each customer after each acknowledged message, milliseconds (0: as
    /// fast as the daemon answers; the run's messages then number millions).
    #[arg(long, default_value_t = 10)]
    pub message_interval_ms: u64,
    /// Shard threads of the daemon.
    #[arg(long, default_value_t = 2)]
    pub shards: u32,
    /// Seed of the kill intervals.
    #[arg(long, default_value_t = 12)]
    pub seed: u64,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// What a crash-loop run found.
#[derive(Debug, Default, Serialize)]
pub struct CrashLoopReport {
    /// `wal` or `fsync`.
    pub durability: String,
    /// SIGKILLs done.
    pub kills: u32,
    /// Restart-to-serving per kill, milliseconds, in order.
    pub restart_ms: Vec<u64>,
    /// Median of `restart_ms`.
    pub restart_p50_ms: u64,
    /// Maximum of `restart_ms`.
    pub restart_max_ms: u64,
    /// Messages acknowledged to their customer.
    pub acked: u64,
    /// Acknowledgements that said `duplicate` (a retry of a send whose answer was lost).
    pub acked_as_duplicate: u64,
    /// Messages stored at the end (distinct message ids from the customers).
    pub stored: u64,
    /// Stored but never acknowledged (the answer was lost with the daemon and the
    /// customer stopped before retrying): allowed, counted for information.
    pub stored_unacked: u64,
    /// Acknowledged but not stored.
    pub lost: u64,
    /// One (customer, number) stored under more than one message id.
    pub duplicated_stored: u64,
    /// The same message pushed twice on one agent connection.
    pub duplicated_pushes: u64,
    /// Stored but never received by the agent.
    pub undelivered: u64,
    /// Messages the agent received by push, and by catching up after a reconnect.
    pub delivered_by_push: u64,
    /// See `delivered_by_push`.
    pub delivered_by_catch_up: u64,
    /// Sends that failed and were retried, by cause.
    pub retries: BTreeMap<String, u64>,
    /// Wall time of the run, seconds.
    pub secs: f64,
    /// Whether nothing was lost, duplicated or undelivered.
    pub ok: bool,
}

impl std::fmt::Display for CrashLoopReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "crash-loop ({} durability): {} SIGKILLs in {:.0} s",
            self.durability, self.kills, self.secs
        )?;
        writeln!(
            f,
            "restart to serving: p50 {} ms, max {} ms",
            self.restart_p50_ms, self.restart_max_ms
        )?;
        writeln!(
            f,
            "messages: acknowledged {} ({} as duplicate after a retry), stored {} \
             ({} never acknowledged)",
            self.acked, self.acked_as_duplicate, self.stored, self.stored_unacked
        )?;
        writeln!(
            f,
            "delivered to the agent: {} by push, {} by catching up after a reconnect",
            self.delivered_by_push, self.delivered_by_catch_up
        )?;
        writeln!(
            f,
            "lost {}, duplicated {} stored / {} pushed, undelivered {}",
            self.lost, self.duplicated_stored, self.duplicated_pushes, self.undelivered
        )?;
        writeln!(f, "retried sends by cause: {:?}", self.retries)?;
        write!(f, "{}", if self.ok { "OK" } else { "FAILED" })
    }
}

/// Where the daemon can be reached now; `None` while it is down.
struct World {
    addr: Mutex<Option<SocketAddr>>,
    changed: Condvar,
    stop: AtomicBool,
    key: [u8; 32],
    /// Acknowledgements since the last restart (the kill loop waits for one).
    acks: AtomicU64,
}

impl World {
    /// The daemon's address once it is up; `None` once the run stops.
    fn wait_addr(&self, give_up_on_stop: bool) -> Option<SocketAddr> {
        let mut addr = lock(&self.addr);
        loop {
            if let Some(a) = *addr {
                return Some(a);
            }
            if give_up_on_stop && self.stop.load(Ordering::Acquire) {
                return None;
            }
            addr = self
                .changed
                .wait_timeout(addr, Duration::from_millis(200))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }

    fn set_addr(&self, addr: Option<SocketAddr>) {
        *lock(&self.addr) = addr;
        self.changed.notify_all();
    }
}

fn options() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(30),
        client_name: "kefu-load crash-loop".into(),
        ..ClientOptions::default()
    }
}

/// xorshift64*: the kill intervals, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
}

/// One customer's ledger: for each number, the message id of its acknowledgement.
#[derive(Debug, Default)]
struct CustomerLedger {
    acked: Vec<u64>,
    acked_as_duplicate: u64,
    retries: BTreeMap<String, u64>,
    conversations: BTreeSet<u64>,
}

/// A message as its customer numbers it: (customer, number).
type Who = (u32, u64);

fn text(customer: u32, i: u64) -> String {
    format!("crash-loop c{customer} m{i}")
}

fn parse(t: &str) -> Option<Who> {
    let (c, i) = t.strip_prefix("crash-loop c")?.split_once(" m")?;
    Some((c.parse().ok()?, i.parse().ok()?))
}

fn cause(e: &ClientError) -> String {
    match e {
        ClientError::Server(b) => b.code.name().unwrap_or("UNKNOWN").to_string(),
        ClientError::Closed(_) => "connection closed".into(),
        ClientError::Io(_) => "i/o error".into(),
        ClientError::Timeout => "timeout".into(),
        other => other.to_string(),
    }
}

/// A customer: logs in (again after every failure), sends numbered messages one at a
/// time, retries a failed one with the same `client_msg_id`, until told to stop (a
/// message whose answer never came may then be stored unacknowledged: counted apart).
fn customer(
    world: &World,
    conversations: &Mutex<BTreeSet<u64>>,
    c: u32,
    pause: Duration,
) -> CustomerLedger {
    let mut ledger = CustomerLedger::default();
    let name = format!("crash-loop-{c}");
    let mut session: Option<(Client, u64)> = None;
    loop {
        if world.stop.load(Ordering::Acquire) {
            return ledger;
        }
        let i = ledger.acked.len() as u64;
        let (client, conversation) = match session.as_mut() {
            Some(s) => s,
            None => {
                let Some(addr) = world.wait_addr(true) else {
                    return ledger;
                };
                match customer_session(world, addr, &name) {
                    Ok((client, conversation)) => {
                        ledger.conversations.insert(conversation);
                        lock(conversations).insert(conversation);
                        session.insert((client, conversation))
                    }
                    Err(e) => {
                        *ledger
                            .retries
                            .entry(format!("login: {}", cause(&e)))
                            .or_default() += 1;
                        wait_for_change(world, addr);
                        continue;
                    }
                }
            }
        };
        let sent = client.request(&Request::SendMessage {
            conversation: *conversation,
            client_msg_id: i + 1,
            body: MessageBody::Text(text(c, i)),
        });
        match sent {
            Ok(Response::Sent { message, duplicate }) => {
                ledger.acked.push(message);
                ledger.acked_as_duplicate += u64::from(duplicate);
                world.acks.fetch_add(1, Ordering::Relaxed);
                if pause > Duration::ZERO {
                    std::thread::sleep(pause);
                }
            }
            Ok(other) => {
                *ledger.retries.entry(format!("{other:?}")).or_default() += 1;
                session = None;
            }
            Err(e) => {
                *ledger.retries.entry(cause(&e)).or_default() += 1;
                session = None;
                if !matches!(e, ClientError::Server(_)) {
                    if let Some(a) = *lock(&world.addr) {
                        wait_for_change(world, a);
                    }
                }
            }
        }
    }
}

/// Waits until the daemon's address is no longer `old` (it was killed), or a moment
/// passed (the failure had another cause), so a dead daemon is not hammered.
fn wait_for_change(world: &World, old: SocketAddr) {
    let addr = lock(&world.addr);
    if *addr == Some(old) {
        let _ = world.changed.wait_timeout(addr, Duration::from_millis(100));
    }
}

fn customer_session(
    world: &World,
    addr: SocketAddr,
    name: &str,
) -> Result<(Client, u64), ClientError> {
    let mut client = Client::connect(addr, options())?;
    let expires_at = unix_now() + 24 * 3600;
    let logged = client.request(&Request::CustomerLogin {
        account: ACCOUNT,
        customer: name.into(),
        expires_at,
        signature: sign_customer(&world.key, ACCOUNT, name, expires_at),
        channel: kefu_wire::chat::Channel::Desktop,
    })?;
    if let Response::CustomerLoggedIn(s) = &logged {
        if let Some(open) = &s.conversation {
            return Ok((client, open.conversation));
        }
    }
    match client.request(&Request::OpenConversation { entry: Entry::Auto })? {
        Response::Conversation(info) => Ok((client, info.conversation)),
        other => Err(ClientError::Unexpected(format!("{other:?}"))),
    }
}

/// What the agent received.
#[derive(Debug, Default)]
struct AgentLedger {
    /// Message id → (customer, number), from pushes and catch-ups.
    received: HashMap<u64, Who>,
    by_push: u64,
    by_catch_up: u64,
    duplicated_pushes: u64,
    /// Per conversation, the highest message id received: a catch-up reads after it
    /// (an account's pushes come in id order, so what a dead connection missed is
    /// all after what it delivered).
    newest: HashMap<u64, u64>,
}

impl AgentLedger {
    fn note(&mut self, conversation: u64, id: u64, who: Who, by_push: bool) {
        let newest = self.newest.entry(conversation).or_default();
        *newest = (*newest).max(id);
        if self.received.insert(id, who).is_none() {
            if by_push {
                self.by_push += 1;
            } else {
                self.by_catch_up += 1;
            }
        }
    }
}

/// The agent: logs in (again after every failure), catches up on every conversation
/// the customers have opened, then takes pushes until told it is done.
fn agent(
    world: &World,
    conversations: &Mutex<BTreeSet<u64>>,
    ledger: &Mutex<AgentLedger>,
    done: &AtomicBool,
) {
    while !done.load(Ordering::Acquire) {
        let Some(addr) = world.wait_addr(false) else {
            continue;
        };
        let mut client = match agent_session(addr) {
            Ok(c) => c,
            Err(_) => {
                wait_for_change(world, addr);
                continue;
            }
        };
        let mut pushed_here = BTreeSet::new();
        let mut caught_up = 0;
        while !done.load(Ordering::Acquire) {
            // Conversations not read on this connection yet (all of them after a
            // reconnect; one a customer opened since) are read whole once.
            let known: Vec<u64> = lock(conversations).iter().copied().collect();
            if known.len() != caught_up {
                if catch_up(&mut client, &known, ledger).is_err() {
                    break;
                }
                caught_up = known.len();
            }
            match client.next_push(Duration::from_millis(100)) {
                Ok(Some(push)) => {
                    let Event::Message(m) = push.event else {
                        continue;
                    };
                    let (Party::Customer, MessageBody::Text(t)) = (m.from, &m.body) else {
                        continue;
                    };
                    let Some(who) = parse(t) else { continue };
                    let mut l = lock(ledger);
                    if !pushed_here.insert(m.id) {
                        l.duplicated_pushes += 1;
                    }
                    l.note(m.conversation, m.id, who, true);
                }
                Ok(None) => {}
                Err(_) => break,
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn agent_session(addr: SocketAddr) -> Result<Client, ClientError> {
    let mut client = Client::connect(addr, options())?;
    client.login(ACCOUNT, 1001, PASSWORD)?;
    client.request(&Request::SetAutoAccept { cap: 1_000 })?;
    Ok(client)
}

/// Reads every customer message of `conversations` the agent has not received yet.
fn catch_up(
    client: &mut Client,
    conversations: &[u64],
    ledger: &Mutex<AgentLedger>,
) -> Result<(), ClientError> {
    for &conversation in conversations {
        let after = lock(ledger).newest.get(&conversation).copied().unwrap_or(0);
        let read = read_conversation(client, conversation, after)?;
        let mut l = lock(ledger);
        for (id, who) in read {
            l.note(conversation, id, who, false);
        }
    }
    Ok(())
}

/// Every customer message of `conversation` after message id `after`:
/// (message id, (customer, number)).
fn read_conversation(
    client: &mut Client,
    conversation: u64,
    after: u64,
) -> Result<Vec<(u64, Who)>, ClientError> {
    let messages = super::all_messages(|r| client.request(r), conversation, after)?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match (m.from, &m.body) {
            (Party::Customer, MessageBody::Text(t)) => parse(t).map(|who| (m.id, who)),
            _ => None,
        })
        .collect())
}

fn write_config(args: &CrashLoopArgs) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(&args.work_dir)
        .with_context(|| format!("creating {}", args.work_dir.display()))?;
    let data = args.work_dir.join("data");
    if data.join("db").exists() {
        bail!(
            "{} holds a data directory already: crash-loop starts from an empty one",
            data.display()
        );
    }
    let path = args.work_dir.join("kefud.toml");
    let text = format!(
        "data_dir = {data:?}\nlisten = \"127.0.0.1:0\"\nadmin_socket = {sock:?}\nshards = {shards}\n\
         [storage]\ndurability = {durability:?}\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n",
        sock = args.work_dir.join("admin.sock"),
        shards = args.shards,
        durability = args.durability,
    );
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn provision(admin: &Path) -> anyhow::Result<[u8; 32]> {
    let mut a = Client::connect_unix(admin, options()).context("admin socket")?;
    a.request(&Request::AdminCreateAccount {
        account: ACCOUNT,
        name: "crash loop".into(),
        plan: Plan::Gold,
        expires_at: unix_now() + 365 * 24 * 3600,
        password_1001: PASSWORD.into(),
        super_password: SUPER_PASSWORD.into(),
    })
    .context("creating the account")?;
    match a
        .request(&Request::AdminRotateCustomerKey { account: ACCOUNT })
        .context("customer key")?
    {
        Response::CustomerKey(k) => Ok(k),
        other => bail!("AdminRotateCustomerKey: {other:?}"),
    }
}

/// A fresh connection's first completed ping.
fn serving(addr: SocketAddr) -> bool {
    Client::connect(addr, options())
        .and_then(|mut c| c.ping())
        .is_ok()
}

/// Runs the crash loop.
pub fn run(args: &CrashLoopArgs) -> anyhow::Result<CrashLoopReport> {
    if args.min_interval_ms > args.max_interval_ms || args.customers == 0 {
        bail!(
            "--min-interval-ms must not exceed --max-interval-ms, and --customers must be positive"
        );
    }
    let kefud = crate::kefud::path(args.kefud.as_deref())?;
    let config = write_config(args)?;
    let began = Instant::now();
    let mut daemon = Kefud::start(&kefud, &config, READY_TIMEOUT)?;
    let key = provision(&daemon.admin)?;
    let world = Arc::new(World {
        addr: Mutex::new(Some(daemon.tcp)),
        changed: Condvar::new(),
        stop: AtomicBool::new(false),
        key,
        acks: AtomicU64::new(0),
    });
    let conversations = Arc::new(Mutex::new(BTreeSet::new()));
    let agent_ledger = Arc::new(Mutex::new(AgentLedger::default()));
    let agent_done = Arc::new(AtomicBool::new(false));
    let agent_thread = {
        let (world, conversations, ledger, done) = (
            Arc::clone(&world),
            Arc::clone(&conversations),
            Arc::clone(&agent_ledger),
            Arc::clone(&agent_done),
        );
        std::thread::spawn(move || agent(&world, &conversations, &ledger, &done))
    };
    let customer_threads: Vec<_> = (0..args.customers)
        .map(|c| {
            let (world, conversations) = (Arc::clone(&world), Arc::clone(&conversations));
            let pause = Duration::from_millis(args.message_interval_ms);
            std::thread::spawn(move || customer(&world, &conversations, c, pause))
        })
        .collect();
    let mut report = CrashLoopReport {
        durability: args.durability.clone(),
        ..CrashLoopReport::default()
    };
    let mut rng = Rng(args.seed.max(1));
    for k in 0..args.kills {
        let interval = rng.between(args.min_interval_ms, args.max_interval_ms);
        std::thread::sleep(Duration::from_millis(interval));
        world.set_addr(None);
        let killed = Instant::now();
        daemon.kill();
        daemon = Kefud::start(&kefud, &config, READY_TIMEOUT)
            .with_context(|| format!("restarting kefud after kill {}", k + 1))?;
        while !serving(daemon.tcp) {
            if killed.elapsed() > READY_TIMEOUT {
                bail!(
                    "kefud did not serve within {READY_TIMEOUT:?} of kill {}",
                    k + 1
                );
            }
        }
        report.restart_ms.push(killed.elapsed().as_millis() as u64);
        world.acks.store(0, Ordering::Relaxed);
        world.set_addr(Some(daemon.tcp));
        report.kills += 1;
        eprintln!(
            "kill {}/{}: served again after {} ms",
            k + 1,
            args.kills,
            report.restart_ms.last().copied().unwrap_or(0)
        );
    }
    // After the last restart, messages get through again; then the customers stop.
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while world.acks.load(Ordering::Relaxed) < u64::from(args.customers) * 10
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    world.stop.store(true, Ordering::Release);
    let ledgers: Vec<CustomerLedger> = customer_threads
        .into_iter()
        .map(|t| t.join().unwrap_or_default())
        .collect();
    let acked: HashMap<Who, u64> = ledgers
        .iter()
        .enumerate()
        .flat_map(|(c, l)| {
            l.acked
                .iter()
                .enumerate()
                .map(move |(i, &id)| ((c as u32, i as u64), id))
        })
        .collect();
    // The agent has until the drain deadline to hold every acknowledged message.
    let drain_until = Instant::now() + DRAIN_TIMEOUT;
    while Instant::now() < drain_until {
        let missing = {
            let l = lock(&agent_ledger);
            acked
                .values()
                .filter(|id| !l.received.contains_key(id))
                .count()
        };
        if missing == 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    agent_done.store(true, Ordering::Release);
    agent_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the agent thread panicked"))?;
    // The final read, as agent 1001 (the agent thread has logged out by dropping).
    let stored = stored_messages(daemon.tcp, &conversations)?;
    daemon.kill();
    let agent_ledger = std::mem::take(&mut *lock(&agent_ledger));
    tally(&mut report, &ledgers, &acked, &stored, &agent_ledger);
    report.secs = began.elapsed().as_secs_f64();
    Ok(report)
}

/// What the store holds: (customer, number) → every message id it is stored under.
fn stored_messages(
    addr: SocketAddr,
    conversations: &Mutex<BTreeSet<u64>>,
) -> anyhow::Result<HashMap<Who, Vec<u64>>> {
    let mut client = Client::connect(addr, options()).context("final read")?;
    client
        .login(ACCOUNT, 1001, PASSWORD)
        .context("final read: login")?;
    let list: Vec<u64> = lock(conversations).iter().copied().collect();
    let mut stored: HashMap<Who, Vec<u64>> = HashMap::new();
    for conversation in list {
        for (id, who) in read_conversation(&mut client, conversation, 0)
            .with_context(|| format!("reading conversation {conversation}"))?
        {
            stored.entry(who).or_default().push(id);
        }
    }
    Ok(stored)
}

fn tally(
    report: &mut CrashLoopReport,
    ledgers: &[CustomerLedger],
    acked: &HashMap<Who, u64>,
    stored: &HashMap<Who, Vec<u64>>,
    agent: &AgentLedger,
) {
    let mut sorted = report.restart_ms.clone();
    sorted.sort_unstable();
    report.restart_p50_ms = sorted.get(sorted.len() / 2).copied().unwrap_or(0);
    report.restart_max_ms = sorted.last().copied().unwrap_or(0);
    report.acked = acked.len() as u64;
    report.acked_as_duplicate = ledgers.iter().map(|l| l.acked_as_duplicate).sum();
    for l in ledgers {
        for (cause, n) in &l.retries {
            *report.retries.entry(cause.clone()).or_default() += n;
        }
    }
    report.stored = stored.values().map(|ids| ids.len() as u64).sum();
    report.stored_unacked = stored.keys().filter(|k| !acked.contains_key(k)).count() as u64;
    report.lost = acked
        .iter()
        .filter(|(k, id)| !stored.get(k).is_some_and(|ids| ids.contains(id)))
        .count() as u64;
    report.duplicated_stored = stored.values().filter(|ids| ids.len() > 1).count() as u64;
    report.duplicated_pushes = agent.duplicated_pushes;
    report.undelivered = stored
        .values()
        .flatten()
        .filter(|id| !agent.received.contains_key(id))
        .count() as u64;
    report.delivered_by_push = agent.by_push;
    report.delivered_by_catch_up = agent.by_catch_up;
    report.ok = report.lost == 0
        && report.duplicated_stored == 0
        && report.duplicated_pushes == 0
        && report.undelivered == 0
        && report.acked > 0;
}

#[allow(
    clippy::disallowed_methods,
    reason = "signature and account expiry for a daemon running on the real clock"
)]
fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
