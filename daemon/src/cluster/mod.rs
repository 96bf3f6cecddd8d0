//! A pair of appliances: the primary ships its committed batches to a hot standby
//! (`daemon/CLUSTER.md`, `wire/PROTOCOL.md` section 40).
//!
//! - [`ClusterConfig`]: the `[cluster]` section (role, replication addresses, the pair's
//!   TLS material).
//! - `primary.rs`: the replication listener thread of the primary — one standby at a
//!   time, authenticated by a client certificate signed by the pair's CA; it ships
//!   each commit as the store's commit feed hands it over (the write-ahead log,
//!   `batches_after(S)`, only to catch a standby up), with a window of shipments
//!   unacknowledged and a second thread reading the standby's cumulative
//!   acknowledgements (lockstep for a standby of stream version 1).
//! - `standby.rs`: the standby's thread — connects, says what it has, applies each
//!   batch in order (`apply_logged`), acknowledges; a gap (a batch that does not start at
//!   `latest + 1`) stops the stream with a log line and the thread asks again from its
//!   own latest.
//! - `stream.rs`: blocking framed reads and writes (the wire crate's framing) over TLS.
//! - [`Replication`]: what both threads share with the rest of the daemon — the sequence
//!   the standby has applied (read by `durability = "replicated"`'s committers, which
//!   wait for it), and the signal that something new was committed.
//!
//! - [`etcd`]: crate `kefu-etcd` (`daemon/etcd/`), re-exported — a blocking client of
//!   etcd's HTTP/JSON gateway (leases, a key taken only if absent, the leader
//!   transaction) and the JSON values of the pair's keys, shared with `kefuctl cluster`.
//! - `leader.rs`: with `[cluster.etcd]`, the leadership thread — the primary's lease on
//!   the leader key and the fence the committers ask ([`Leadership::may_acknowledge`]),
//!   the standby's watch of the key and its promotion.
//! - `rejoin.rs`: a member that finds another node leading starts as its standby (its
//!   diverged data moved aside); a running fenced `kefud` re-executes itself to do so.
//!
//! - `placement.rs`, `directory.rs`: accounts across appliances (`daemon/CLUSTER.md`
//!   §8) — where each account is served, from the operator's move and from the
//!   directory in etcd, polled by a thread of its own.
//!
//! **Boundary.** Threads of their own, blocking std sockets: no shard loop ever waits on
//! the network. Knows the store only as [`RocksStore`] (the log is RocksDB's).
//! A standby runs read-only shards on its client ports (`standby_reads.rs`: logins are
//! sent to the primary with `GoAwayTo`, `LoginReadOnly` sessions read its applied data);
//! promotion is the daemon's ([`Promote`], given by `server.rs`, which replaces them
//! with normal shards), called by the leadership thread.

pub use kefu_etcd as etcd;
pub mod directory;
mod lag;
mod leader;
pub mod placement;
mod primary;
mod rejoin;
mod standby;
mod stream;
mod tls;

use crate::store::RocksStore;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

pub use kefu_etcd::pair::{LeaderValue, MemberStatus};
pub use lag::Lag;
pub use leader::{EtcdConfig, LeaderRole, Leadership, Promote};
pub use rejoin::{prepare_rejoin, Rejoin, RejoinError};
pub use standby::{apply_batches, ApplyError};

/// What this appliance is in its pair at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Serves clients and ships its batches to the standby.
    #[default]
    Primary,
    /// Follows the primary; serves no client.
    Standby,
}

/// `[cluster]`: present only on the two appliances of a pair.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// The role at start.
    #[serde(default)]
    pub role: Role,
    /// Primary: where the standby connects (TLS, client certificates).
    pub replication_listen: Option<SocketAddr>,
    /// Standby: the primary's replication address.
    pub peer: Option<SocketAddr>,
    /// This appliance's certificate (PEM), signed by `ca`; it must name the address the
    /// peer dials (an IP subject alternative name).
    pub certificate: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The pair's certificate authority (PEM): the only issuer whose certificates the
    /// peer may present.
    pub ca: PathBuf,
    /// `[cluster.etcd]`: leadership through etcd (lease, fencing, promotion). Without
    /// it the roles are fixed by the configuration, as before.
    #[serde(default)]
    pub etcd: Option<EtcdConfig>,
    /// Set by `kefud` (never by the file): a running member that finds another node
    /// leading at a newer epoch re-executes itself to start again as that leader's
    /// standby (`rejoin.rs`). Off in a daemon embedded by tests: it stays fenced.
    #[serde(skip)]
    pub restart_to_rejoin: bool,
}

impl ClusterConfig {
    /// The configuration's mistakes, for `Config::validate`.
    pub fn problems(&self, problems: &mut Vec<String>) {
        match self.role {
            Role::Primary if self.replication_listen.is_none() => {
                problems.push("[cluster] role = \"primary\" needs replication_listen".into())
            }
            Role::Standby if self.peer.is_none() => {
                problems.push("[cluster] role = \"standby\" needs peer".into())
            }
            _ => {}
        }
        if let Some(e) = &self.etcd {
            if e.endpoints.is_empty() {
                problems.push("[cluster.etcd] endpoints is empty".into());
            }
            if e.node.is_empty() || e.pair.is_empty() {
                problems.push("[cluster.etcd] node and pair must not be empty".into());
            }
            if !(1..=3600).contains(&e.lease_seconds) {
                problems.push("[cluster.etcd] lease_seconds must be 1..=3600".into());
            }
        }
    }
}

/// The pair's replication state, shared by the replication thread, the committers
/// (`durability = "replicated"`) and the metrics.
#[derive(Debug, Default)]
pub struct Replication {
    /// Which side of the pair keeps it (how the lag is measured, `lag.rs`).
    side: Role,
    /// Primary: the standby's last acknowledged sequence. Standby: its own applied one.
    applied: Mutex<u64>,
    applied_changed: Condvar,
    /// Bumped after every local commit (the primary's sender waits on it), with the
    /// moments of the commits the standby has not acknowledged yet.
    committed: Mutex<Committed>,
    committed_changed: Condvar,
    /// The primary's latest sequence as last heard (standby) or read (primary).
    primary_latest: AtomicU64,
    /// Standby: since when it has been behind the primary's latest as heard.
    behind: Mutex<lag::BehindSince>,
    /// Whether a standby is connected (primary) or a primary is followed (standby).
    connected: AtomicBool,
    /// Primary: `kefuctl cluster promote --alone` holds for this epoch — `replicated`
    /// turns are acknowledged without the standby until one has caught up.
    degraded: AtomicBool,
}

/// The primary's latest local commit and the moments of those not yet acknowledged.
#[derive(Debug, Default)]
struct Committed {
    latest: u64,
    times: lag::CommitTimes,
}

impl Replication {
    /// The state of `side`'s replication.
    pub fn new(side: Role) -> Replication {
        Replication {
            side,
            ..Replication::default()
        }
    }

    /// The sequence the standby has applied (as far as this side knows).
    pub fn applied(&self) -> u64 {
        *self.applied.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The primary's latest sequence as last seen.
    pub fn primary_latest(&self) -> u64 {
        self.primary_latest.load(Ordering::Relaxed)
    }

    /// Whether the stream is up.
    pub fn connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }

    /// Whether the pair runs degraded (one copy acknowledged, `promote --alone`).
    pub fn degraded(&self) -> bool {
        self.degraded.load(Ordering::SeqCst)
    }

    fn set_degraded(&self, on: bool) {
        let applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        self.degraded.store(on, Ordering::SeqCst);
        drop(applied);
        // A committer waiting for the standby looks again.
        self.applied_changed.notify_all();
    }

    /// The side of the pair this state is kept by.
    pub fn side(&self) -> Role {
        self.side
    }

    /// The replication lag as this side measures it now (`lag.rs`).
    pub fn lag(&self) -> Lag {
        let now = Instant::now();
        let applied = self.applied();
        let (latest, age) = match self.side {
            Role::Primary => {
                let c = self
                    .committed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                // `u64::MAX` is the stop signal, not a sequence.
                let committed = if c.latest == u64::MAX { 0 } else { c.latest };
                (
                    committed.max(self.primary_latest()),
                    c.times.oldest_age(applied, now),
                )
            }
            Role::Standby => {
                let behind = self.behind.lock().unwrap_or_else(PoisonError::into_inner);
                (self.primary_latest(), behind.age(now))
            }
        };
        Lag {
            latest,
            applied,
            sequences: latest.saturating_sub(applied),
            age: if latest > applied {
                age
            } else {
                Duration::ZERO
            },
        }
    }

    fn set_applied(&self, latest: u64) {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        if latest > *applied {
            *applied = latest;
        }
        let now_applied = *applied;
        drop(applied);
        self.applied_changed.notify_all();
        match self.side {
            Role::Primary => {
                self.committed
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .times
                    .acknowledged(now_applied);
                // The sender waits for room in its window (`primary.rs`).
                self.committed_changed.notify_all();
            }
            Role::Standby => self
                .behind
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .update(self.primary_latest(), now_applied, Instant::now()),
        }
    }

    /// Standby: a frame said the primary's latest sequence is `latest`.
    fn heard_primary_latest(&self, latest: u64) {
        self.primary_latest.store(latest, Ordering::Relaxed);
        let applied = self.applied();
        self.behind
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .update(latest, applied, Instant::now());
    }

    /// A local commit ended at `sequence`: wakes the sender.
    pub fn notify_committed(&self, sequence: u64) {
        let mut c = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if sequence > c.latest {
            c.latest = sequence;
        }
        if self.side == Role::Primary && sequence != u64::MAX {
            c.times.committed(sequence, Instant::now());
        }
        drop(c);
        self.committed_changed.notify_all();
    }

    /// The primary's sender: waits at most `within` while `idle(latest committed)`
    /// holds, woken by every commit, acknowledgement and [`Self::wake_sender`].
    fn wait_sender(&self, within: Duration, mut idle: impl FnMut(u64) -> bool) {
        let guard = self
            .committed
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let _ = self
            .committed_changed
            .wait_timeout_while(guard, within, |c| idle(c.latest));
    }

    /// Wakes the primary's sender to look again (its stream broke).
    fn wake_sender(&self) {
        drop(
            self.committed
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        self.committed_changed.notify_all();
    }

    /// `durability = "replicated"`: waits until the standby has applied `sequence` (or
    /// the pair runs degraded), at most `within`; whether it may be acknowledged.
    pub fn wait_applied(&self, sequence: u64, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        while *applied < sequence && !self.degraded() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            applied = match self.applied_changed.wait_timeout(applied, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
        true
    }
}

/// What a shard's committer holds of the pair: the state to signal after each commit,
/// and whether answers wait for the standby (`durability = "replicated"`).
#[derive(Debug, Clone)]
pub struct ReplicationHook {
    /// The pair's state.
    pub state: Arc<Replication>,
    /// `durability = "replicated"`: a turn's answers wait until the standby applied it.
    pub wait_for_standby: bool,
    /// With `[cluster.etcd]`: the fence — no answer is released unless this member
    /// holds the leader key and its lease is certainly valid.
    pub leadership: Option<Arc<Leadership>>,
}

/// How long a committer in `replicated` mode waits for the standby before the turn is
/// refused (`STORAGE_FAILURE`: written here, not acknowledged, a client's retry with
/// the same client id is answered once).
pub const STANDBY_WAIT: Duration = Duration::from_secs(10);

/// How often a committer waiting for the standby looks at the fence.
const FENCE_TICK: Duration = Duration::from_millis(50);

impl ReplicationHook {
    /// After a local commit that ended at `sequence`: wakes the sender, then, in
    /// `replicated` mode, waits for the standby; an error if it did not confirm.
    pub fn after_commit(&self, sequence: u64) -> Result<(), crate::store::StoreError> {
        self.state.notify_committed(sequence);
        if self.wait_for_standby && !self.wait_for_standby(sequence) {
            // A member that lost its lease meanwhile says so (the client goes elsewhere).
            self.fence()?;
            return Err(crate::store::StoreError::Engine(format!(
                "the standby did not confirm sequence {sequence} within {STANDBY_WAIT:?} \
                 (durability = \"replicated\")"
            )));
        }
        // Asked last, right before the answers are released: an answer goes out only
        // while the lease is certainly valid.
        self.fence()
    }

    /// Waits for the standby's confirmation of `sequence`, at most [`STANDBY_WAIT`], and
    /// no longer than this member may acknowledge (with `[cluster.etcd]`).
    fn wait_for_standby(&self, sequence: u64) -> bool {
        let Some(lead) = &self.leadership else {
            return self.state.wait_applied(sequence, STANDBY_WAIT);
        };
        let deadline = Instant::now() + STANDBY_WAIT;
        while Instant::now() < deadline && lead.may_acknowledge() {
            if self.state.wait_applied(sequence, FENCE_TICK) {
                return true;
            }
        }
        false
    }

    /// An error unless this member may acknowledge now (always, without `[cluster.etcd]`).
    fn fence(&self) -> Result<(), crate::store::StoreError> {
        match &self.leadership {
            Some(lead) if !lead.may_acknowledge() => {
                let (role, epoch, _, note) = lead.status();
                Err(crate::store::StoreError::NotPrimary(format!(
                    "this member is {role:?} at epoch {epoch}: {note}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// The running replication thread; stopped and joined by [`ClusterHandle::stop`].
pub struct ClusterHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    wake: Option<SocketAddr>,
    replication: Arc<Replication>,
    replication_addr: Option<SocketAddr>,
    /// With `[cluster.etcd]`: the leadership thread and what it says.
    /// (Stopped after the replication thread, by its own flag: a stopping primary ships
    /// its last batches before it gives the key up.)
    leader: Option<(JoinHandle<()>, Arc<Leadership>, Arc<AtomicBool>)>,
}

/// Why the replication thread could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The TLS material does not load.
    #[error("[cluster] TLS: {0}")]
    Tls(String),
    /// Binding or spawning failed.
    #[error("[cluster] {0}")]
    Io(String),
}

impl ClusterHandle {
    /// The shared replication state.
    pub fn replication(&self) -> &Arc<Replication> {
        &self.replication
    }

    /// The primary's bound replication address.
    pub fn replication_addr(&self) -> Option<SocketAddr> {
        self.replication_addr
    }

    /// The leadership state, with `[cluster.etcd]`.
    pub fn leadership(&self) -> Option<&Arc<Leadership>> {
        self.leader.as_ref().map(|(_, l, _)| l)
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.replication.notify_committed(u64::MAX);
        if let Some(addr) = self.wake.take() {
            // Wakes a blocking accept.
            let _ = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1));
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some((t, _, stop)) = self.leader.take() {
            stop.store(true, Ordering::SeqCst);
            let _ = t.join();
        }
    }
}

impl Drop for ClusterHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A promoted standby's own replication listener (`[cluster] replication_listen`):
/// the primary side of the stream, for the member that will follow it.
pub fn start_listener(
    config: &ClusterConfig,
    store: Arc<RocksStore>,
) -> Result<ClusterHandle, ClusterError> {
    let replication = Arc::new(Replication::default());
    if let Ok(latest) = store.latest_sequence() {
        replication.notify_committed(latest);
    }
    primary::start(config, store, Arc::new(AtomicBool::new(false)), replication)
}

/// Starts the replication thread of `config.role` over `store`, and with
/// `[cluster.etcd]` the leadership thread (a standby's follower is then its own;
/// `promote` is what it calls once it took the key).
pub fn start(
    config: &ClusterConfig,
    store: Arc<RocksStore>,
    promote: Option<Promote>,
) -> Result<ClusterHandle, ClusterError> {
    let stop = Arc::new(AtomicBool::new(false));
    let replication = Arc::new(Replication::new(config.role));
    if let Ok(latest) = store.latest_sequence() {
        replication.notify_committed(latest);
    }
    let Some(etcd) = config.etcd.clone() else {
        return match config.role {
            Role::Primary => primary::start(config, store, stop, replication),
            Role::Standby => standby::start(config, store, stop, replication),
        };
    };
    let mut handle = match config.role {
        Role::Primary => primary::start(
            config,
            Arc::clone(&store),
            Arc::clone(&stop),
            Arc::clone(&replication),
        )?,
        Role::Standby => {
            replication.set_applied(store.latest_sequence().unwrap_or(0));
            ClusterHandle {
                stop,
                thread: None,
                wake: None,
                replication: Arc::clone(&replication),
                replication_addr: None,
                leader: None,
            }
        }
    };
    let leader_stop = Arc::new(AtomicBool::new(false));
    let (thread, leadership) = leader::start(
        config,
        etcd,
        store,
        Arc::clone(&leader_stop),
        replication,
        promote,
    )?;
    handle.leader = Some((thread, leadership, leader_stop));
    Ok(handle)
}
