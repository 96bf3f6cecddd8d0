//! `kefu-load pair`: chat load at a pair of appliances while its primary is killed with
//! SIGKILL (issue 18 point 4, `daemon/CLUSTER.md` §5 and §9).
//!
//! The pair runs already (started by the operator or a test: a primary, a standby,
//! etcd); the tool is told both members' client addresses and how to kill the primary:
//! `--primary-pid` (a kefud on this machine, SIGKILL) or `--kill-command` (any shell
//! command, e.g. `ssh appliance-a pkill -KILL -x kefud` or `systemctl kill -s KILL
//! kefud`; the kill counts from the moment the command returns).
//!
//! Customers, each on a thread with the client library's `PairClient` (both addresses;
//! a request that breaks is retried on the other member with the same client id),
//! send numbered messages at an even share of `--rate`. One agent with auto-accept on
//! the primary takes the conversations. After `--kill-after` seconds the primary is
//! killed; the load goes on until every customer had an acknowledgement after the
//! kill, then `--after-kill` seconds more. Reported:
//! - **failover time**: per customer, its last acknowledgement before the kill → its
//!   first after; overall, the last acknowledgement before the kill (any customer) →
//!   the first after (any customer); and kill → first acknowledgement after it;
//! - **exactly once**: every customer's conversation read back from the surviving
//!   member: each acknowledged message present once (none lost, none twice);
//!   unacknowledged ones stored once at most (their retry carried the same client id);
//! - **replication lag** sampled during the run from the members' metrics listeners
//!   (`--metrics`, `kefu_replication_lag_sequences` / `_seconds`) and from what each
//!   member publishes in etcd (`--etcd`, `--pair`; the metrics listeners are loopback
//!   only, etcd is reachable from another machine): p50, p99, max per source over the
//!   samples taken before the kill.
//!
//! The run fails (exit 1) if anything acknowledged is missing or doubled, or a customer
//! never got an acknowledgement after the kill.

use crate::provision::unix_now;
use crate::signing::sign_customer;
use anyhow::{bail, Context};
use clap::Args;
use kefu_wire::chat::{Channel, Entry, MessageBody};
use kefu_wire::pair::PairClient;
use kefu_wire::{Client, ClientError, ClientOptions, Plan, Request, Response};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PASSWORD: &str = "pair-load-1001";
const SUPER_PASSWORD: &str = "pair-load-super";
/// Every customer must have been acknowledged after the kill within this (beyond the
/// clients' own `--failover-limit-secs`), or the run stops and fails.
const SETTLE: Duration = Duration::from_secs(30);

/// Flags of `kefu-load pair`.
#[derive(Debug, Args)]
pub struct PairArgs {
    /// Both members' client addresses, the primary first (IP:PORT on loopback,
    /// comma-separated).
    #[arg(long, value_delimiter = ',', required = true, value_parser = crate::cli::parse_loopback_server)]
    pub servers: Vec<SocketAddr>,
    /// The primary's admin socket: creates the account and reads its customer key.
    #[arg(long)]
    pub admin_socket: PathBuf,
    /// The account to create and chat in (must not exist yet, or have agent 1001's
    /// password `pair-load-1001`).
    #[arg(long, default_value_t = 891_001)]
    pub account: u64,
    /// The primary's process id on this machine: it is sent SIGKILL.
    #[arg(
        long,
        conflicts_with = "kill_command",
        required_unless_present = "kill_command"
    )]
    pub primary_pid: Option<i32>,
    /// A shell command (`sh -c`) that kills the primary, for a primary the tool cannot
    /// signal itself; the kill counts from the moment it returns.
    #[arg(long)]
    pub kill_command: Option<String>,
    /// Customers sending, each one message at a time.
    #[arg(long, default_value_t = 8)]
    pub customers: u32,
    /// Messages per second offered, shared evenly by the customers (each waits for its
    /// acknowledgement, so a slow pair gets fewer).
    #[arg(long, default_value_t = 400.0)]
    pub rate: f64,
    /// Seconds of load before the kill.
    #[arg(long, default_value_t = 5.0)]
    pub kill_after: f64,
    /// Seconds of load after every customer was acknowledged again.
    #[arg(long, default_value_t = 3.0)]
    pub after_kill: f64,
    /// How long one request is retried over the members before it counts as failed.
    #[arg(long, default_value_t = 60)]
    pub failover_limit_secs: u64,
    /// How long a request waits for its answer before the client tries the other member.
    #[arg(long, default_value_t = 5_000)]
    pub request_timeout_ms: u64,
    /// The members' metrics listeners (`metrics_listen`, loopback), comma-separated:
    /// the replication lag is sampled from them.
    #[arg(long, value_delimiter = ',', value_parser = crate::cli::parse_loopback_server)]
    pub metrics: Vec<SocketAddr>,
    /// The pair's etcd endpoints (comma-separated): the lag each member publishes there
    /// (what `kefuctl cluster status` prints) is sampled too — reachable where the
    /// members' loopback-only metrics listeners are not.
    #[arg(long, value_delimiter = ',')]
    pub etcd: Vec<SocketAddr>,
    /// The pair's name (`[cluster.etcd] pair`), with --etcd.
    #[arg(long, default_value = "pair")]
    pub pair: String,
    /// Between two lag samples, milliseconds.
    #[arg(long, default_value_t = 100)]
    pub sample_ms: u64,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

/// Percentiles of a series of samples.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Spread {
    /// Samples taken.
    pub samples: usize,
    /// Median.
    pub p50: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest.
    pub max: f64,
}

impl Spread {
    fn of(mut v: Vec<f64>) -> Spread {
        v.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let i = ((v.len() as f64 * q).ceil() as usize).saturating_sub(1);
            v.get(i.min(v.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0.0)
        };
        Spread {
            samples: v.len(),
            p50: at(0.50),
            p99: at(0.99),
            max: v.last().copied().unwrap_or(0.0),
        }
    }
}

/// The replication lag one source showed before the kill.
#[derive(Debug, Default, Clone, Serialize)]
pub struct LagReport {
    /// `metrics ADDR` (a member's metrics listener) or `etcd member NODE` (what the
    /// member published in etcd, refreshed every third of its lease).
    pub source: String,
    /// `kefu_replication_lag_sequences`.
    pub sequences: Spread,
    /// `kefu_replication_lag_seconds`.
    pub seconds: Spread,
}

/// One customer's failover.
#[derive(Debug, Default, Clone, Serialize)]
pub struct CustomerFailover {
    /// Its last acknowledgement before the kill → its first after, milliseconds.
    pub gap_ms: Option<u64>,
    /// Connections its client made (1 without a failover).
    pub connects: u64,
}

/// What a pair run found.
#[derive(Debug, Default, Serialize)]
pub struct PairReport {
    /// Customers.
    pub customers: u32,
    /// Offered rate, messages per second.
    pub rate: f64,
    /// Messages acknowledged per second before the kill.
    pub acked_rate_before_kill: f64,
    /// Per customer.
    pub per_customer: Vec<CustomerFailover>,
    /// Last acknowledgement before the kill (any customer) → first after (any),
    /// milliseconds.
    pub failover_ms: Option<u64>,
    /// The kill → the first acknowledgement after it (any customer), milliseconds.
    pub kill_to_first_ack_ms: Option<u64>,
    /// The kill → every customer acknowledged again, milliseconds.
    pub kill_to_all_acked_ms: Option<u64>,
    /// Median and largest of the customers' gaps, milliseconds.
    pub gap_p50_ms: u64,
    /// See `gap_p50_ms`.
    pub gap_max_ms: u64,
    /// Messages acknowledged.
    pub acked: u64,
    /// Sends that failed even after retrying over both members.
    pub failed: u64,
    /// Acknowledged, not on the surviving member.
    pub lost: u64,
    /// A message stored more than once.
    pub duplicated: u64,
    /// Stored without an acknowledgement (its answer was lost with the primary):
    /// allowed, for information.
    pub stored_unacked: u64,
    /// The replication lag before the kill, per metrics listener.
    pub lag: Vec<LagReport>,
    /// Wall time, seconds.
    pub secs: f64,
    /// Nothing lost or doubled, every customer acknowledged after the kill.
    pub ok: bool,
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl std::fmt::Display for PairReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |v: Option<u64>| v.map_or("none".to_string(), |v| format!("{v} ms"));
        writeln!(
            f,
            "pair: {} customers, {:.0} msg/s offered, {:.0} acknowledged/s before the kill, {:.1} s",
            self.customers, self.rate, self.acked_rate_before_kill, self.secs
        )?;
        writeln!(
            f,
            "failover: {} (last ack before the kill -> first after, any customer); kill -> \
             first ack {}, -> every customer acked again {}",
            opt(self.failover_ms),
            opt(self.kill_to_first_ack_ms),
            opt(self.kill_to_all_acked_ms)
        )?;
        writeln!(
            f,
            "per customer (last ack before -> first after): p50 {} ms, max {} ms; {:?}",
            self.gap_p50_ms,
            self.gap_max_ms,
            self.per_customer
                .iter()
                .map(|c| c.gap_ms.map_or(-1, |g| g as i64))
                .collect::<Vec<_>>()
        )?;
        writeln!(
            f,
            "messages: acknowledged {}, failed {}; on the surviving member: lost {}, \
             duplicated {}, stored unacknowledged {}",
            self.acked, self.failed, self.lost, self.duplicated, self.stored_unacked
        )?;
        for l in &self.lag {
            writeln!(
                f,
                "replication lag from {} before the kill ({} samples): sequences p50 {:.0} \
                 p99 {:.0} max {:.0}; seconds p50 {:.3} p99 {:.3} max {:.3}",
                l.source,
                l.sequences.samples,
                l.sequences.p50,
                l.sequences.p99,
                l.sequences.max,
                l.seconds.p50,
                l.seconds.p99,
                l.seconds.max
            )?;
        }
        write!(f, "{}", if self.ok { "OK" } else { "FAILED" })
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn text(customer: u32, i: u64) -> String {
    format!("pair-load c{customer} m{i}")
}

/// What the customers share with the main thread.
struct Shared {
    stop: AtomicBool,
    /// When the primary was killed (its kill returned).
    killed: Mutex<Option<Instant>>,
    /// Customers acknowledged since the kill.
    back: AtomicU32,
    started: Instant,
}

/// One customer's ledger.
#[derive(Debug, Default)]
struct Ledger {
    conversation: u64,
    /// (number, when acknowledged).
    acked: Vec<(u64, Instant)>,
    failed: u64,
    connects: u64,
}

fn options(args: &PairArgs) -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_millis(args.request_timeout_ms),
        client_name: "kefu-load pair".into(),
        ..ClientOptions::default()
    }
}

/// A customer's client of the pair: logs in again by itself on whichever member serves.
fn customer_client(args: &PairArgs, key: [u8; 32], name: String) -> PairClient {
    let account = args.account;
    PairClient::new(
        args.servers.clone(),
        options(args),
        Duration::from_secs(args.failover_limit_secs),
        Box::new(move |c: &mut Client| {
            let expires_at = unix_now() + 24 * 3600;
            c.request(&Request::CustomerLogin {
                account,
                customer: name.clone(),
                expires_at,
                signature: sign_customer(&key, account, &name, expires_at),
                channel: Channel::Desktop,
            })
            .map(|_| ())
        }),
    )
}

/// Sends numbered messages at `interval`, one at a time, until told to stop.
fn customer(args: &PairArgs, key: [u8; 32], c: u32, shared: &Shared) -> anyhow::Result<Ledger> {
    let mut client = customer_client(args, key, format!("pair-load-{c}"));
    let conversation = match client.request(&Request::OpenConversation { entry: Entry::Auto }) {
        Ok(Response::Conversation(info)) => info.conversation,
        other => bail!("customer {c}: opening a conversation: {other:?}"),
    };
    let interval = Duration::from_secs_f64(f64::from(args.customers) / args.rate.max(0.001));
    let mut ledger = Ledger {
        conversation,
        ..Ledger::default()
    };
    let begin = Instant::now();
    let mut i = 0u64;
    let mut back = false;
    while !shared.stop.load(Ordering::Acquire) {
        i += 1;
        let due = begin + interval.saturating_mul(u32::try_from(i).unwrap_or(u32::MAX));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        match client.request(&Request::SendMessage {
            conversation,
            client_msg_id: i,
            body: MessageBody::Text(text(c, i)),
        }) {
            Ok(Response::Sent { .. }) => {
                let at = Instant::now();
                ledger.acked.push((i, at));
                if !back && lock(&shared.killed).is_some_and(|k| at > k) {
                    back = true;
                    shared.back.fetch_add(1, Ordering::AcqRel);
                }
            }
            Ok(_) | Err(_) => ledger.failed += 1,
        }
    }
    ledger.connects = client.connects();
    Ok(ledger)
}

/// The account, its customer key, on the primary's admin socket.
fn provision(args: &PairArgs) -> anyhow::Result<[u8; 32]> {
    let mut a = Client::connect_unix(&args.admin_socket, options(args))
        .with_context(|| format!("admin socket {}", args.admin_socket.display()))?;
    match a.request(&Request::AdminCreateAccount {
        account: args.account,
        name: "kefu-load pair".into(),
        plan: Plan::Gold,
        expires_at: unix_now() + 365 * 24 * 3600,
        password_1001: PASSWORD.into(),
        super_password: SUPER_PASSWORD.into(),
    }) {
        Ok(_) => {}
        Err(ClientError::Server(e)) if e.code == kefu_wire::ErrorCode::ALREADY_EXISTS => {}
        Err(e) => return Err(e).context("creating the account"),
    }
    match a.request(&Request::AdminRotateCustomerKey {
        account: args.account,
    })? {
        Response::CustomerKey(k) => Ok(k),
        other => bail!("AdminRotateCustomerKey: {other:?}"),
    }
}

/// The agent taking the conversations, on the primary: logged in with auto-accept, its
/// pushes read and dropped until the primary dies (nothing needs it afterwards: the
/// messages are stored whether or not an agent is online).
fn agent(args: &PairArgs, shared: Arc<Shared>) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let primary = *args.servers.first().context("no server")?;
    let mut client = Client::connect(primary, options(args)).context("agent connection")?;
    client
        .login(args.account, 1001, PASSWORD)
        .context("agent login")?;
    client.request(&Request::SetAutoAccept { cap: 1_000 })?;
    Ok(std::thread::spawn(move || {
        while !shared.stop.load(Ordering::Acquire) {
            if client.next_push(Duration::from_millis(100)).is_err() {
                return;
            }
        }
    }))
}

/// One metrics listener's lag samples: (sequences, seconds).
type LagSamples = (String, Vec<(f64, f64)>);

/// Where the lag is read: metrics listeners, and the members' published status in etcd.
struct LagSources {
    metrics: Vec<SocketAddr>,
    /// The etcd client and the prefix of the pair's member keys.
    etcd: Option<(kefu_etcd::Etcd, String)>,
}

/// The replication lag each source shows, sampled until `shared` says the primary
/// was killed.
fn sample_lag(
    sources: LagSources,
    every: Duration,
    shared: Arc<Shared>,
) -> std::thread::JoinHandle<Vec<LagSamples>> {
    std::thread::spawn(move || {
        let mut out: Vec<LagSamples> = sources
            .metrics
            .iter()
            .map(|m| (format!("metrics {m}"), Vec::new()))
            .collect();
        while lock(&shared.killed).is_none() && !shared.stop.load(Ordering::Acquire) {
            for (addr, (_, samples)) in sources.metrics.iter().zip(&mut out) {
                if let Some(t) = crate::kefud::scrape(*addr) {
                    if let (Some(s), Some(a)) = (
                        metric(&t, "kefu_replication_lag_sequences"),
                        metric(&t, "kefu_replication_lag_seconds"),
                    ) {
                        samples.push((s, a));
                    }
                }
            }
            if let Some((etcd, prefix)) = &sources.etcd {
                for (node, sample) in published_lag(etcd, prefix) {
                    let label = format!("etcd member {node}");
                    match out.iter_mut().find(|(l, _)| *l == label) {
                        Some((_, samples)) => samples.push(sample),
                        None => out.push((label, vec![sample])),
                    }
                }
            }
            std::thread::sleep(every);
        }
        out
    })
}

/// The lag each member of the pair last published in etcd (`kefuctl cluster status`'s
/// figures): (node, (sequences, seconds)).
fn published_lag(etcd: &kefu_etcd::Etcd, prefix: &str) -> Vec<(String, (f64, f64))> {
    let Ok(members) = etcd.get_prefix(prefix.as_bytes()) else {
        return Vec::new();
    };
    members
        .into_iter()
        .filter_map(|(key, value)| {
            let status: kefu_etcd::pair::MemberStatus = serde_json::from_slice(&value).ok()?;
            let lag = status.lag?;
            let key = String::from_utf8_lossy(&key).into_owned();
            let node = key.rsplit('/').next().unwrap_or_default().to_string();
            Some((node, (lag.sequences as f64, lag.age_ms as f64 / 1000.0)))
        })
        .collect()
}

/// The value of the unlabelled series `name`.
fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Kills the primary; the moment the kill was done.
fn kill(args: &PairArgs) -> anyhow::Result<Instant> {
    if let Some(pid) = args.primary_pid {
        crate::sys::kill(pid, libc::SIGKILL).with_context(|| format!("SIGKILL to {pid}"))?;
    } else if let Some(cmd) = &args.kill_command {
        let status = std::process::Command::new("sh")
            .args(["-c", cmd])
            .status()
            .with_context(|| format!("running {cmd:?}"))?;
        if !status.success() {
            bail!("the kill command {cmd:?} failed: {status}");
        }
    }
    Ok(Instant::now())
}

/// The texts of `conversation` as its customer reads them on the surviving member.
fn stored_texts(
    args: &PairArgs,
    key: [u8; 32],
    c: u32,
    conversation: u64,
) -> anyhow::Result<Vec<String>> {
    let mut client = customer_client(args, key, format!("pair-load-{c}"));
    let messages = super::all_messages(|r| client.request(r), conversation, 0)?;
    Ok(messages
        .into_iter()
        .filter_map(|m| match m.body {
            MessageBody::Text(t) => Some(t),
            _ => None,
        })
        .collect())
}

/// Runs the pair scenario.
pub fn run(args: &PairArgs) -> anyhow::Result<PairReport> {
    if args.servers.len() != 2 {
        bail!("--servers takes the pair's two client addresses");
    }
    if args.customers == 0 || args.rate.is_nan() || args.rate <= 0.0 {
        bail!("--customers and --rate must be positive");
    }
    let key = provision(args)?;
    let shared = Arc::new(Shared {
        stop: AtomicBool::new(false),
        killed: Mutex::new(None),
        back: AtomicU32::new(0),
        started: Instant::now(),
    });
    let agent = agent(args, Arc::clone(&shared))?;
    let sources = LagSources {
        metrics: args.metrics.clone(),
        etcd: (!args.etcd.is_empty()).then(|| {
            (
                kefu_etcd::Etcd::new(args.etcd.clone(), Duration::from_secs(1)),
                format!("/kefu/pairs/{}/members/", args.pair),
            )
        }),
    };
    let sampler = sample_lag(
        sources,
        Duration::from_millis(args.sample_ms.max(10)),
        Arc::clone(&shared),
    );
    let ledgers: Vec<Arc<Mutex<Option<anyhow::Result<Ledger>>>>> =
        (0..args.customers).map(|_| Arc::default()).collect();
    let report = std::thread::scope(|scope| -> anyhow::Result<PairReport> {
        let mut threads = Vec::new();
        for (c, slot) in (0..args.customers).zip(&ledgers) {
            let shared = Arc::clone(&shared);
            threads.push(scope.spawn(move || {
                *lock(slot) = Some(customer(args, key, c, &shared));
            }));
        }
        std::thread::sleep(Duration::from_secs_f64(args.kill_after.max(0.0)));
        let killed = kill(args);
        let killed = match killed {
            Ok(at) => at,
            Err(e) => {
                shared.stop.store(true, Ordering::Release);
                return Err(e);
            }
        };
        *lock(&shared.killed) = Some(killed);
        // Until every customer is acknowledged after the kill (or the bound), then a
        // little more load on the new primary.
        let limit = Duration::from_secs(args.failover_limit_secs) + SETTLE;
        let all_back = wait_all_back(&shared, args.customers, killed, limit);
        if all_back {
            std::thread::sleep(Duration::from_secs_f64(args.after_kill.max(0.0)));
        }
        shared.stop.store(true, Ordering::Release);
        for t in threads {
            let _ = t.join();
        }
        let mut ledgers_done = Vec::new();
        for (c, slot) in ledgers.iter().enumerate() {
            match lock(slot).take() {
                Some(Ok(l)) => ledgers_done.push(l),
                Some(Err(e)) => return Err(e),
                None => bail!("customer {c} ended without a ledger"),
            }
        }
        summarize(args, key, &shared, killed, ledgers_done)
    });
    shared.stop.store(true, Ordering::Release);
    let _ = agent.join();
    let lag = sampler.join().unwrap_or_default();
    let mut report = report?;
    report.lag = lag
        .into_iter()
        .map(|(source, samples)| LagReport {
            source,
            sequences: Spread::of(samples.iter().map(|s| s.0).collect()),
            seconds: Spread::of(samples.iter().map(|s| s.1).collect()),
        })
        .collect();
    Ok(report)
}

/// Waits until every customer was acknowledged after the kill, at most `limit` after it.
fn wait_all_back(shared: &Shared, customers: u32, killed: Instant, limit: Duration) -> bool {
    let deadline = killed + limit;
    while Instant::now() < deadline {
        if shared.back.load(Ordering::Acquire) >= customers {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// The report from the customers' ledgers and the surviving member's conversations.
fn summarize(
    args: &PairArgs,
    key: [u8; 32],
    shared: &Shared,
    killed: Instant,
    ledgers: Vec<Ledger>,
) -> anyhow::Result<PairReport> {
    let mut report = PairReport {
        customers: args.customers,
        rate: args.rate,
        secs: shared.started.elapsed().as_secs_f64(),
        ..PairReport::default()
    };
    let (mut last_before, mut first_after, mut all_after) =
        (None, None::<Instant>, None::<Instant>);
    let mut gaps = Vec::new();
    let mut acked_before_kill = 0u64;
    for (c, ledger) in (0..args.customers).zip(&ledgers) {
        let before = ledger.acked.iter().rev().find(|(_, t)| *t <= killed);
        let after = ledger.acked.iter().find(|(_, t)| *t > killed);
        acked_before_kill += ledger.acked.iter().filter(|(_, t)| *t <= killed).count() as u64;
        if let Some((_, b)) = before {
            last_before = Some(last_before.map_or(*b, |l: Instant| l.max(*b)));
        }
        if let Some((_, a)) = after {
            first_after = Some(first_after.map_or(*a, |f| f.min(*a)));
            all_after = Some(all_after.map_or(*a, |f| f.max(*a)));
        }
        let gap = match (before, after) {
            (Some((_, b)), Some((_, a))) => Some(ms(a.duration_since(*b))),
            _ => None,
        };
        gaps.extend(gap);
        report.per_customer.push(CustomerFailover {
            gap_ms: gap,
            connects: ledger.connects,
        });
        report.acked += ledger.acked.len() as u64;
        report.failed += ledger.failed;
        // Exactly once, from what the surviving member stored.
        let stored = stored_texts(args, key, c, ledger.conversation)?;
        let mut counts: HashMap<&str, u64> = HashMap::new();
        for t in &stored {
            *counts.entry(t.as_str()).or_default() += 1;
        }
        let acked: std::collections::HashSet<String> =
            ledger.acked.iter().map(|(i, _)| text(c, *i)).collect();
        for t in &acked {
            if !counts.contains_key(t.as_str()) {
                report.lost += 1;
            }
        }
        for (t, n) in &counts {
            if *n > 1 {
                report.duplicated += 1;
            }
            if !acked.contains(*t) && t.starts_with(&format!("pair-load c{c} m")) {
                report.stored_unacked += 1;
            }
        }
    }
    let run_before = killed.duration_since(shared.started).as_secs_f64();
    report.acked_rate_before_kill = acked_before_kill as f64 / run_before.max(0.001);
    report.failover_ms = match (last_before, first_after) {
        (Some(b), Some(a)) => Some(ms(a.saturating_duration_since(b))),
        _ => None,
    };
    report.kill_to_first_ack_ms = first_after.map(|a| ms(a.duration_since(killed)));
    report.kill_to_all_acked_ms = all_after
        .filter(|_| gaps.len() == args.customers as usize)
        .map(|a| ms(a.duration_since(killed)));
    gaps.sort_unstable();
    report.gap_p50_ms = gaps.get(gaps.len() / 2).copied().unwrap_or(0);
    report.gap_max_ms = gaps.last().copied().unwrap_or(0);
    report.ok = report.lost == 0
        && report.duplicated == 0
        && report.per_customer.iter().all(|c| c.gap_ms.is_some());
    Ok(report)
}
