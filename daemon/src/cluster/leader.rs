//! Leadership of a pair through etcd (`daemon/CLUSTER.md` §4): a thread of its own
//! (`kefu-leader`) on each member, blocking calls to etcd's HTTP/JSON gateway.
//!
//! - **Primary**: grants a lease of `lease_seconds`, takes `/kefu/pairs/<pair>/leader`
//!   (value: node, client address, epoch) in one transaction with
//!   `/kefu/pairs/<pair>/epoch` bumped, and renews the lease every third of its TTL.
//!   [`Leadership::may_acknowledge`] is true only until `sent + TTL − TTL/10`, where
//!   `sent` is the monotonic moment the last *accepted* renewal (or the grant) was sent:
//!   etcd cannot expire the lease before that, so no answer is released after the
//!   lease may be gone (the committers ask before releasing, `ReplicationHook`).
//!   A renewal answered "expired" fences the node for good: it retakes the key only
//!   if the epoch is still its own (nobody else led meanwhile).
//! - **Standby**: follows the primary (the replication thread, `standby.rs`) and polls
//!   the leader key; when it is gone (the primary's lease expired in etcd) and
//!   `auto_promote` is on, or `kefuctl cluster promote` named this node, it stops
//!   following (everything received is applied when the follower returns), takes the key
//!   with the next epoch and calls the daemon's promotion (the shards start over the same
//!   store, the client port is bound); from then on it renews like a primary.
//! - **Epoch of the data**: the member that takes the key stores the new epoch in its
//!   database (synced, `store/cluster_records.rs`) before it acknowledges anything, so
//!   the standby gets it in the log it follows; a member starts from its stored epoch
//!   and takes the key only while etcd's epoch is still that one.
//! - **Another node leads at a newer epoch** (a fenced primary's retake at its own
//!   epoch is refused): `rejoin.rs` — `kefud` re-executes itself to start as its standby.
//! - **Degraded** (`kefuctl cluster promote --alone`, `/kefu/pairs/<pair>/degraded`
//!   naming this node and epoch): read at each renewal; the committers then acknowledge
//!   `replicated` turns with one copy, until a standby has caught up — then the primary
//!   deletes the key.
//! - Each member publishes `/kefu/pairs/<pair>/members/<node>` (role, epoch, applied
//!   sequence, the primary's latest as seen, lease left) on its own lease, for
//!   `kefuctl cluster status`.

use super::etcd::pair::{DegradedValue, LeaderValue, MemberLag, MemberStatus};
use super::etcd::{Etcd, EtcdError, Lease};
use super::{ClusterConfig, ClusterHandle, Replication};
use crate::log;
use crate::store::cluster_records::EpochRecord;
use crate::store::{keys, Batch, Cf, Durability, KvStore, RocksStore, StoredRecord};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// `[cluster.etcd]`: leadership of the pair through etcd.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdConfig {
    /// The etcd members' client addresses (HTTP gateway).
    pub endpoints: Vec<SocketAddr>,
    /// The pair's name (keys under `/kefu/pairs/<pair>/`).
    #[serde(default = "default_pair")]
    pub pair: String,
    /// This member's name, unique in the pair.
    pub node: String,
    /// The lease's time to live, seconds (etcd may grant more, never less).
    #[serde(default = "default_lease")]
    pub lease_seconds: u32,
    /// The client address published in the leader key (default: `listen`).
    pub client_addr: Option<SocketAddr>,
    /// A standby takes over by itself once the leader key is gone (default); off, it
    /// waits for `kefuctl cluster promote`.
    #[serde(default = "default_true")]
    pub auto_promote: bool,
}

fn default_pair() -> String {
    "pair".into()
}
fn default_lease() -> u32 {
    5
}
fn default_true() -> bool {
    true
}

impl EtcdConfig {
    /// The leader key.
    pub fn leader_key(&self) -> Vec<u8> {
        format!("/kefu/pairs/{}/leader", self.pair).into_bytes()
    }
    /// The epoch key (no lease: it only grows).
    pub fn epoch_key(&self) -> Vec<u8> {
        format!("/kefu/pairs/{}/epoch", self.pair).into_bytes()
    }
    /// The key `kefuctl cluster promote` writes with the node to promote.
    pub fn promote_key(&self) -> Vec<u8> {
        format!("/kefu/pairs/{}/promote", self.pair).into_bytes()
    }
    /// The key `kefuctl cluster promote --alone` writes ([`DegradedValue`]).
    pub fn degraded_key(&self) -> Vec<u8> {
        format!("/kefu/pairs/{}/degraded", self.pair).into_bytes()
    }
    /// This member's status key.
    pub fn member_key(&self) -> Vec<u8> {
        format!("/kefu/pairs/{}/members/{}", self.pair, self.node).into_bytes()
    }
    fn ttl(&self) -> i64 {
        i64::from(self.lease_seconds.max(1))
    }
}

/// A member's role as the leadership loop sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderRole {
    /// Not yet leader (a primary before it took the key).
    Starting,
    /// Holds the leader key.
    Primary,
    /// Follows the primary.
    Standby,
    /// Was primary (or found another leader) and must not acknowledge.
    Fenced,
}

impl LeaderRole {
    fn name(self) -> &'static str {
        match self {
            LeaderRole::Starting => "starting",
            LeaderRole::Primary => "primary",
            LeaderRole::Standby => "standby",
            LeaderRole::Fenced => "fenced",
        }
    }
}

#[derive(Debug)]
struct State {
    role: LeaderRole,
    epoch: u64,
    /// Until when this member's lease is certainly valid (monotonic).
    valid_until: Option<Instant>,
    note: String,
}

/// What the leadership loop tells the rest of the daemon (the committers' fence).
#[derive(Debug)]
pub struct Leadership {
    state: Mutex<State>,
}

impl Leadership {
    fn new(role: LeaderRole) -> Leadership {
        Leadership {
            state: Mutex::new(State {
                role,
                epoch: 0,
                valid_until: None,
                note: String::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Whether an answer may be released now: this member holds the leader key and its
    /// lease is certainly valid by its own monotonic clock.
    pub fn may_acknowledge(&self) -> bool {
        let s = self.lock();
        s.role == LeaderRole::Primary && s.valid_until.is_some_and(|t| Instant::now() < t)
    }

    /// The role, epoch, lease left and note.
    pub fn status(&self) -> (LeaderRole, u64, Duration, String) {
        let s = self.lock();
        let left = s
            .valid_until
            .map(|t| t.saturating_duration_since(Instant::now()))
            .unwrap_or_default();
        (s.role, s.epoch, left, s.note.clone())
    }

    fn lead(&self, epoch: u64, valid_until: Instant) {
        let mut s = self.lock();
        s.role = LeaderRole::Primary;
        s.epoch = epoch;
        s.valid_until = Some(valid_until);
        s.note.clear();
    }

    fn renewed(&self, valid_until: Instant) {
        let mut s = self.lock();
        if s.role == LeaderRole::Primary {
            s.valid_until = Some(valid_until);
        }
    }

    fn fence(&self, note: String) {
        let mut s = self.lock();
        if s.role != LeaderRole::Fenced {
            log::error(0, format_args!("leadership: fenced: {note}"));
        }
        s.role = LeaderRole::Fenced;
        s.valid_until = None;
        s.note = note;
    }

    fn note(&self, note: String) {
        self.lock().note = note;
    }

    fn saw(&self, epoch: u64) {
        let mut s = self.lock();
        s.epoch = s.epoch.max(epoch);
    }
}

/// The daemon's promotion: starts serving over the store (called once, on the leader
/// thread, after the key was taken); the replication state its committers wait on (a
/// fresh one: the promoted member's own standby, if it serves one). An error leaves the
/// node fenced.
pub type Promote = Box<dyn FnOnce(Arc<Leadership>) -> Result<Arc<Replication>, String> + Send>;

/// What the loop works with.
struct Ctx {
    cfg: EtcdConfig,
    etcd: Etcd,
    lead: Arc<Leadership>,
    stop: Arc<AtomicBool>,
    store: Arc<RocksStore>,
    replication: Arc<Replication>,
    /// Published in the leader key: where this member serves its standby.
    replication_addr: Option<SocketAddr>,
    /// `kefud`: re-execute to rejoin as standby when another node leads (`rejoin.rs`).
    restart_to_rejoin: bool,
    /// `[cluster] peer`: the other member's replication address, if configured.
    peer: Option<SocketAddr>,
}

impl Ctx {
    fn ttl(&self) -> Duration {
        Duration::from_secs(self.cfg.ttl().unsigned_abs())
    }
    /// Between two renewals: a third of the lease.
    fn renew_every(&self) -> Duration {
        self.ttl() / 3
    }
    /// Between two looks at the leader key when not leading.
    fn poll_every(&self) -> Duration {
        (self.ttl() / 10).clamp(Duration::from_millis(50), Duration::from_millis(500))
    }
    /// Until when a lease of `ttl` seconds whose request was sent at `sent` is certainly
    /// valid: `sent + ttl − ttl/10`.
    fn valid_until(sent: Instant, ttl: i64) -> Instant {
        let ttl = Duration::from_secs(ttl.max(0).unsigned_abs());
        sent + ttl - ttl / 10
    }
    /// Sleeps `d` in short steps; false if the daemon stops meanwhile.
    fn pause(&self, d: Duration) -> bool {
        let end = Instant::now() + d;
        while !self.stop.load(Ordering::Relaxed) {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return true;
            }
            std::thread::sleep(left.min(Duration::from_millis(50)));
        }
        false
    }

    fn leader_value(&self, epoch: u64) -> Vec<u8> {
        serde_json::to_vec(&LeaderValue {
            node: self.cfg.node.clone(),
            client_addr: self.cfg.client_addr,
            epoch,
            replication_addr: self.replication_addr,
        })
        .unwrap_or_default()
    }

    /// Grants a lease and takes the leader key with it if it is absent and the epoch is
    /// `expect` (any, if `None`). The lease and the new epoch, or why not.
    fn take(&self, expect: Option<u64>) -> Result<(Lease, u64), String> {
        let sent = Instant::now();
        let lease = self.etcd.grant(self.cfg.ttl()).map_err(|e| e.to_string())?;
        let epoch_now = self
            .etcd
            .get_entry(&self.cfg.epoch_key())
            .map_err(|e| e.to_string())?
            .and_then(|e| String::from_utf8(e.value).ok())
            .and_then(|t| t.trim().parse::<u64>().ok())
            .unwrap_or(0);
        if expect.is_some_and(|e| e != epoch_now) {
            let _ = self.etcd.revoke(lease.id);
            return Err(format!(
                "epoch {epoch_now} in etcd, this node's data is of epoch {}: another \
                 member led meanwhile; restore this one from its backup to follow it",
                expect.unwrap_or_default()
            ));
        }
        let taken = self.etcd.take_leader(
            &self.cfg.leader_key(),
            &self.cfg.epoch_key(),
            lease.id,
            |e| self.leader_value(e),
        );
        match taken {
            Ok(Some(epoch)) => {
                // The data is of this epoch from now on, in the log the standby follows,
                // before anything is acknowledged at it.
                if let Err(e) = self.mark_epoch(epoch) {
                    let _ = self.etcd.revoke(lease.id);
                    return Err(format!("the epoch {epoch} could not be stored: {e}"));
                }
                self.lead
                    .lead(epoch, Ctx::valid_until(sent, lease.ttl.min(self.cfg.ttl())));
                Ok((lease, epoch))
            }
            other => {
                let _ = self.etcd.revoke(lease.id);
                let held = self
                    .etcd
                    .get(&self.cfg.leader_key())
                    .ok()
                    .flatten()
                    .map(|v| String::from_utf8_lossy(&v).into_owned())
                    .unwrap_or_default();
                Err(match other {
                    Err(e) => e.to_string(),
                    _ => format!("the leader key is held: {held}"),
                })
            }
        }
    }

    /// Stores (synced) the epoch this data is now led at.
    fn mark_epoch(&self, epoch: u64) -> Result<(), crate::store::StoreError> {
        let mut batch = Batch::new();
        batch.put(
            Cf::Meta,
            keys::META_CLUSTER_EPOCH,
            EpochRecord { epoch }.encode(),
        );
        self.store.write(&batch, Durability::Fsync)
    }

    /// The epoch this data was last led at: `None` for a store that never led (or
    /// followed) a leader that wrote it. A record that does not decode is refused
    /// rather than read as "any epoch".
    fn stored_epoch(&self) -> Result<Option<u64>, String> {
        super::rejoin::stored_epoch(&self.store)
    }

    /// The leader key's value when another node holds it at an epoch newer than
    /// `epoch` (this member's data then lacks what that leader acknowledged).
    fn newer_leader(&self, epoch: u64) -> Option<LeaderValue> {
        let v = self.etcd.get(&self.cfg.leader_key()).ok().flatten()?;
        let leader: LeaderValue = serde_json::from_slice(&v).ok()?;
        (leader.node != self.cfg.node && leader.epoch > epoch).then_some(leader)
    }

    /// The primary at `epoch`: follows `promote --alone` (the degraded key naming this
    /// node and epoch) into `serving`, and clears it once a standby has caught up.
    fn sync_degraded(&self, epoch: u64, serving: &Replication) {
        let key = self.cfg.degraded_key();
        let Ok(value) = self.etcd.get(&key) else {
            return; // etcd unreachable: keep the state, the lease decides the rest.
        };
        let ours = value
            .and_then(|v| serde_json::from_slice::<DegradedValue>(&v).ok())
            .is_some_and(|d| d.node == self.cfg.node && d.epoch == epoch);
        if !ours {
            if serving.degraded() {
                log::info(0, format_args!("leadership: degraded flag removed in etcd"));
                serving.set_degraded(false);
                self.lead.note(String::new());
            }
            return;
        }
        let caught_up = serving.connected()
            && self
                .store
                .latest_sequence()
                .is_ok_and(|latest| serving.applied() >= latest);
        if caught_up {
            // Cleared here before the committers wait again: from now on two copies.
            if self.etcd.delete(&key).is_ok() {
                serving.set_degraded(false);
                self.lead.note(String::new());
                log::info(
                    0,
                    format_args!(
                        "leadership: a standby caught up: degraded cleared, acknowledgements \
                         wait for it again"
                    ),
                );
            }
        } else if !serving.degraded() {
            serving.set_degraded(true);
            self.lead.note(
                "degraded (kefuctl cluster promote --alone): acknowledging with one copy".into(),
            );
            log::warn(
                0,
                format_args!(
                    "leadership: degraded by `kefuctl cluster promote --alone`: replicated \
                     turns are acknowledged with one copy until a standby catches up"
                ),
            );
        }
    }

    /// The replication lag this member measures, while its role is the side its
    /// replication state was kept for (not on a promoted standby, which has none).
    fn lag(&self, role: LeaderRole) -> Option<MemberLag> {
        let side = match role {
            LeaderRole::Standby => super::Role::Standby,
            LeaderRole::Primary => super::Role::Primary,
            LeaderRole::Starting | LeaderRole::Fenced => return None,
        };
        (self.replication.side() == side).then(|| {
            let lag = self.replication.lag();
            MemberLag {
                sequences: lag.sequences,
                age_ms: u64::try_from(lag.age.as_millis()).unwrap_or(u64::MAX),
            }
        })
    }

    /// Publishes this member's status on `lease` (best effort).
    fn publish(&self, lease: i64) {
        let (role, epoch, left, note) = self.lead.status();
        let applied = match role {
            LeaderRole::Standby => self.replication.applied(),
            _ => self.store.latest_sequence().unwrap_or(0),
        };
        let primary_latest = match role {
            LeaderRole::Standby => self.replication.primary_latest(),
            _ => applied,
        };
        let status = MemberStatus {
            role: role.name().into(),
            epoch,
            applied,
            primary_latest,
            lease_left_ms: u64::try_from(left.as_millis()).unwrap_or(u64::MAX),
            note,
            lag: self.lag(role),
        };
        if let Ok(v) = serde_json::to_vec(&status) {
            let _ = self.etcd.put(&self.cfg.member_key(), &v, lease);
        }
    }
}

/// Starts the leadership thread of `config` (which has `[cluster.etcd]`). A primary's
/// replication listener is `replication` (already running); a standby's follower is
/// started and stopped by the thread itself. `promote` is the daemon's promotion.
pub(super) fn start(
    config: &ClusterConfig,
    cfg: EtcdConfig,
    store: Arc<RocksStore>,
    stop: Arc<AtomicBool>,
    replication: Arc<Replication>,
    promote: Option<Promote>,
) -> Result<(std::thread::JoinHandle<()>, Arc<Leadership>), super::ClusterError> {
    let standby = config.role == super::Role::Standby;
    let lead = Arc::new(Leadership::new(if standby {
        LeaderRole::Standby
    } else {
        LeaderRole::Starting
    }));
    let ctx = Ctx {
        etcd: Etcd::new(cfg.endpoints.clone(), Duration::from_secs(1)),
        cfg,
        lead: Arc::clone(&lead),
        stop,
        store,
        replication,
        replication_addr: config.replication_listen,
        restart_to_rejoin: config.restart_to_rejoin,
        peer: config.peer,
    };
    let config = config.clone();
    let thread = std::thread::Builder::new()
        .name("kefu-leader".into())
        .spawn(move || {
            // A primary leads again only at the epoch its data was last led at.
            match ctx.stored_epoch() {
                Err(why) => ctx
                    .lead
                    .fence(format!("the stored epoch is unreadable: {why}")),
                Ok(stored) if standby => standby_loop(&ctx, &config, promote, stored),
                Ok(stored) => primary_loop(&ctx, None, stored, &ctx.replication),
            }
        })
        .map_err(|e| super::ClusterError::Io(format!("spawning the leader thread: {e}")))?;
    Ok((thread, lead))
}

/// Leads (or tries to) until the daemon stops. `held`: a lease and epoch already taken
/// (a promoted standby). `serving`: the replication state of this member's own standby.
fn primary_loop(
    ctx: &Ctx,
    mut held: Option<(Lease, u64)>,
    mut epoch: Option<u64>,
    serving: &Replication,
) {
    let mut last_error = String::new();
    while !ctx.stop.load(Ordering::Relaxed) {
        let wait = match held {
            None => match ctx.take(epoch) {
                Ok((lease, e)) => {
                    log::info(
                        0,
                        format_args!("leadership: primary of pair {} at epoch {e}", ctx.cfg.pair),
                    );
                    held = Some((lease, e));
                    epoch = Some(e);
                    ctx.renew_every()
                }
                Err(why) => {
                    if why != last_error {
                        log::warn(0, format_args!("leadership: not primary: {why}"));
                        last_error.clone_from(&why);
                    }
                    if let Some(mine) = epoch {
                        ctx.lead.fence(why);
                        // Another node led meanwhile: this member turns its standby.
                        if let Some(leader) = ctx.newer_leader(mine) {
                            let followable = ctx.peer.or(leader.replication_addr).is_some();
                            if ctx.restart_to_rejoin && followable {
                                let failed = super::rejoin::restart_as_standby(&leader);
                                ctx.lead.fence(failed);
                            } else {
                                ctx.lead.note(format!(
                                    "{} leads at epoch {}: restart this member to rejoin \
                                     as its standby (with [cluster] peer set if the leader \
                                     publishes no replication address)",
                                    leader.node, leader.epoch
                                ));
                            }
                        }
                    } else {
                        ctx.lead.note(why);
                    }
                    ctx.poll_every()
                }
            },
            Some((lease, _)) => {
                let sent = Instant::now();
                match ctx.etcd.keep_alive(lease.id) {
                    Ok(ttl) => {
                        ctx.lead
                            .renewed(Ctx::valid_until(sent, ttl.min(ctx.cfg.ttl())));
                        if let Some(e) = epoch {
                            ctx.sync_degraded(e, serving);
                        }
                        ctx.publish(lease.id);
                        last_error.clear();
                    }
                    Err(EtcdError::LeaseExpired(_)) => {
                        ctx.lead.fence(format!(
                            "lease {} expired in etcd before it was renewed",
                            lease.id
                        ));
                        held = None;
                    }
                    Err(e) => {
                        // The lease runs out by itself (may_acknowledge), unless a later
                        // renewal gets through in time.
                        let text = e.to_string();
                        if text != last_error {
                            log::warn(0, format_args!("leadership: renewal failed: {text}"));
                            last_error = text;
                        }
                        if !ctx.lead.may_acknowledge() {
                            // Past its certain validity: the lease may be gone in etcd,
                            // another member may lead. Leading again needs the key
                            // retaken at this same epoch (nobody led meanwhile).
                            ctx.lead.fence(format!(
                                "lease {} not renewed in time (etcd unreachable: {e})",
                                lease.id
                            ));
                            let _ = ctx.etcd.revoke(lease.id);
                            held = None;
                        }
                    }
                }
                ctx.renew_every().min(ctx.poll_every() * 4)
            }
        };
        if !ctx.pause(wait) {
            break;
        }
    }
    if let Some((lease, _)) = held {
        // A graceful stop hands over at once (the shards stopped before this thread).
        let _ = ctx.etcd.revoke(lease.id);
    }
}

/// Follows the primary; promotes when the leader key is gone.
fn standby_loop(ctx: &Ctx, config: &ClusterConfig, promote: Option<Promote>, stored: Option<u64>) {
    let follow = || -> Option<ClusterHandle> {
        match super::standby::start(
            config,
            Arc::clone(&ctx.store),
            Arc::new(AtomicBool::new(false)),
            Arc::clone(&ctx.replication),
        ) {
            Ok(h) => Some(h),
            Err(e) => {
                log::error(
                    0,
                    format_args!("leadership: the follower does not start: {e}"),
                );
                None
            }
        }
    };
    let mut follower = follow();
    let mut own = None;
    let mut seen_epoch = None;
    while !ctx.stop.load(Ordering::Relaxed) {
        own = member_lease(ctx, own);
        if let Some(l) = own {
            ctx.publish(l.id);
        }
        // A standby takes over by itself only once its data holds the epoch of the leader
        // it saw: one that rejoined from sequence 0 and has not copied that far (or whose
        // leader died before it connected) must not lead with a partial copy.
        let data_epoch = ctx.stored_epoch().ok().flatten();
        let followed = seen_epoch.is_some() && data_epoch == seen_epoch;
        match ctx.etcd.get(&ctx.cfg.leader_key()) {
            Ok(Some(v)) => {
                if let Ok(leader) = serde_json::from_slice::<LeaderValue>(&v) {
                    seen_epoch = Some(leader.epoch);
                    ctx.lead.saw(leader.epoch);
                }
            }
            Ok(None) if may_promote(ctx, followed) => {
                // Drain: the follower returns once what it received is applied.
                if let Some(mut f) = follower.take() {
                    f.stop();
                }
                // The epoch its data was last led at (else the leader it saw, else the
                // one at start): etcd's must still be that one.
                match ctx.take(data_epoch.or(seen_epoch).or(stored)) {
                    Ok((lease, epoch)) => {
                        if let Some(l) = own {
                            let _ = ctx.etcd.revoke(l.id);
                        }
                        let _ = ctx.etcd.delete(&ctx.cfg.promote_key());
                        promoted(ctx, promote, lease, epoch);
                        return;
                    }
                    Err(why) => {
                        log::warn(0, format_args!("leadership: promotion refused: {why}"));
                        ctx.lead.note(why);
                        follower = follow();
                    }
                }
            }
            Ok(None) if seen_epoch.is_some() && ctx.cfg.auto_promote => ctx.lead.note(format!(
                "no leader, and this standby's data is of epoch {} (the leader's was {}): it \
                 did not receive everything, so it does not take over by itself; `kefuctl \
                 cluster promote` or restore it",
                data_epoch.map_or("-".into(), |e| e.to_string()),
                seen_epoch.unwrap_or_default()
            )),
            Ok(None) => ctx
                .lead
                .note("no leader: waiting for `kefuctl cluster promote`".into()),
            Err(e) => ctx.lead.note(format!("etcd: {e}")),
        }
        if !ctx.pause(ctx.poll_every()) {
            break;
        }
    }
    if let Some(mut f) = follower {
        f.stop();
    }
    if let Some(l) = own {
        let _ = ctx.etcd.revoke(l.id);
    }
}

/// The standby's member lease, renewed once; granted anew when there is none yet (etcd
/// was unreachable) or etcd says it is gone (the standby was stopped, e.g. SIGSTOP,
/// longer than its TTL): otherwise `members/<node>` would stay gone for good and
/// `kefuctl cluster status` would never list this standby again.
fn member_lease(ctx: &Ctx, own: Option<Lease>) -> Option<Lease> {
    match own {
        Some(l) => match ctx.etcd.keep_alive(l.id) {
            Err(EtcdError::LeaseExpired(_)) => {
                log::info(
                    0,
                    format_args!("leadership: the member lease expired; granting a new one"),
                );
                ctx.etcd.grant(ctx.cfg.ttl()).ok()
            }
            // Renewed, or etcd unreachable now: the same lease, tried again next time.
            _ => Some(l),
        },
        None => ctx.etcd.grant(ctx.cfg.ttl()).ok(),
    }
}

/// Whether this standby may take the key now: by itself (`auto_promote`, once it has
/// seen a leader: a standby that never followed anyone does not lead on its own), or
/// named by the operator.
fn may_promote(ctx: &Ctx, followed: bool) -> bool {
    (ctx.cfg.auto_promote && followed)
        || ctx
            .etcd
            .get(&ctx.cfg.promote_key())
            .ok()
            .flatten()
            .is_some_and(|v| v == ctx.cfg.node.as_bytes())
}

/// The key is ours: the daemon starts serving, then this thread leads.
fn promoted(ctx: &Ctx, promote: Option<Promote>, lease: Lease, epoch: u64) {
    log::info(
        0,
        format_args!(
            "leadership: promoted to primary of pair {} at epoch {epoch} (applied up to \
             sequence {})",
            ctx.cfg.pair,
            ctx.store.latest_sequence().unwrap_or(0)
        ),
    );
    let started = match promote {
        Some(p) => p(Arc::clone(&ctx.lead)),
        None => Err("this daemon cannot be promoted".into()),
    };
    let serving = match started {
        Ok(serving) => serving,
        Err(e) => {
            ctx.lead.fence(format!("promotion failed: {e}"));
            let _ = ctx.etcd.revoke(lease.id);
            return;
        }
    };
    primary_loop(ctx, Some((lease, epoch)), Some(epoch), &serving);
}
