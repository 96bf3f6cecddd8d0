//! A member that finds another node leading turns standby by itself
//! (`daemon/CLUSTER.md` §4, "An old primary that comes back").
//!
//! - **At start** ([`prepare_rejoin`], before the store is opened): with
//!   `[cluster.etcd]`, if the leader key names another node, this member starts as that
//!   leader's standby whatever its configured role. Its data is kept when it is of the
//!   leader's epoch (it followed that leader, or is empty); otherwise it may hold a
//!   tail the leader never had (the histories forked at the failover), so the database
//!   is moved aside to `<data_dir>/diverged-<its epoch>/db` — kept for the operator,
//!   never merged — and the member follows from sequence 0 (the leader's log must still
//!   reach back, `wal_archive_seconds`; no checkpoint is streamed).
//! - **While running** (a fenced primary whose partition healed): the leadership thread
//!   finds the newer leader and, in `kefud` (`ClusterConfig::restart_to_rejoin`),
//!   re-executes the process, which then goes through the start above. Re-executing
//!   keeps this simple: the shards, the store and the listeners of the old role are
//!   closed by the kernel, and the one start path decides the new role.

use super::etcd::pair::LeaderValue;
use super::etcd::Etcd;
use super::{ClusterConfig, Role};
use crate::log;
use crate::store::cluster_records::EpochRecord;
use crate::store::rocks::{open_rocks_follower, RocksOptions};
use crate::store::{keys, Cf, KvStore, RocksStore, StoredRecord};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// What [`prepare_rejoin`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejoin {
    /// Nobody else leads (or etcd did not answer): the configured role stands.
    AsConfigured,
    /// Another node leads: this member starts as its standby.
    Standby {
        /// The leader's node name and epoch.
        leader: String,
        /// Its epoch.
        epoch: u64,
        /// Where the diverged database went, if it was moved aside.
        diverged: Option<PathBuf>,
    },
}

/// Why a member could not be prepared to rejoin.
#[derive(Debug, thiserror::Error)]
pub enum RejoinError {
    /// Reading or moving the data directory failed.
    #[error("{0}")]
    Data(String),
}

/// Before the store is opened: if another node leads the pair, makes `cluster` a
/// standby of it and moves a diverged database in `data_dir` aside.
pub fn prepare_rejoin(cluster: &mut ClusterConfig, data_dir: &Path) -> Result<Rejoin, RejoinError> {
    let Some(cfg) = &cluster.etcd else {
        return Ok(Rejoin::AsConfigured);
    };
    let etcd = Etcd::new(cfg.endpoints.clone(), Duration::from_secs(1));
    let leader = match etcd.get(&cfg.leader_key()) {
        Ok(Some(v)) => match serde_json::from_slice::<LeaderValue>(&v) {
            Ok(l) => l,
            Err(e) => {
                log::warn(
                    0,
                    format_args!("rejoin: the leader key does not decode: {e}"),
                );
                return Ok(Rejoin::AsConfigured);
            }
        },
        Ok(None) => return Ok(Rejoin::AsConfigured),
        Err(e) => {
            // The leadership thread retries; without etcd nobody is promoted anyway.
            log::warn(0, format_args!("rejoin: etcd: {e}; starting as configured"));
            return Ok(Rejoin::AsConfigured);
        }
    };
    if leader.node == cfg.node {
        return Ok(Rejoin::AsConfigured);
    }
    let Some(peer) = cluster.peer.or(leader.replication_addr) else {
        // Nothing to follow: as before rejoining existed, the member starts as
        // configured and stays fenced until the operator acts.
        log::warn(
            0,
            format_args!(
                "rejoin: {} leads pair {} at epoch {} and publishes no replication address, \
                 and [cluster] peer is unset: starting as configured",
                leader.node, cfg.pair, leader.epoch
            ),
        );
        return Ok(Rejoin::AsConfigured);
    };
    let db = data_dir.join("db");
    let (stored, latest) = data_epoch(&db)?;
    let diverged = if latest > 0 && stored != Some(leader.epoch) {
        Some(move_aside(&db, data_dir, stored.unwrap_or(0))?)
    } else {
        None
    };
    log::info(
        0,
        format_args!(
            "rejoin: {} leads pair {} at epoch {}: starting as its standby (following {peer}; \
             data {})",
            leader.node,
            cfg.pair,
            leader.epoch,
            match &diverged {
                Some(p) => format!(
                    "of epoch {} moved aside to {}, following from sequence 0",
                    stored.unwrap_or(0),
                    p.display()
                ),
                None => format!("kept, following from sequence {latest}"),
            }
        ),
    );
    cluster.role = Role::Standby;
    cluster.peer = Some(peer);
    Ok(Rejoin::Standby {
        leader: leader.node,
        epoch: leader.epoch,
        diverged,
    })
}

/// The epoch the database in `db` was last led at, and its latest sequence (opened as
/// a follower: nothing is written, not even to a new directory's schema).
fn data_epoch(db: &Path) -> Result<(Option<u64>, u64), RejoinError> {
    if !db.join("CURRENT").exists() {
        return Ok((None, 0));
    }
    let bad = |e: String| RejoinError::Data(format!("reading {}: {e}", db.display()));
    let store =
        open_rocks_follower(db, &RocksOptions::default()).map_err(|e| bad(e.to_string()))?;
    let latest = store.latest_sequence().map_err(|e| bad(e.to_string()))?;
    let epoch = stored_epoch(&store).map_err(bad)?;
    Ok((epoch, latest))
}

/// The epoch stored in `store` (`None`: never led or followed a leader that wrote it).
pub(super) fn stored_epoch(store: &RocksStore) -> Result<Option<u64>, String> {
    match store.get(Cf::Meta, keys::META_CLUSTER_EPOCH) {
        Ok(None) => Ok(None),
        Ok(Some(bytes)) => EpochRecord::decode(&bytes)
            .map(|r| Some(r.epoch))
            .map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    }
}

/// Renames `db` to `<data_dir>/diverged-<epoch>/db` (`diverged-<epoch>.<n>` if taken).
fn move_aside(db: &Path, data_dir: &Path, epoch: u64) -> Result<PathBuf, RejoinError> {
    let mut dir = data_dir.join(format!("diverged-{epoch}"));
    let mut n = 1;
    while dir.exists() {
        n += 1;
        dir = data_dir.join(format!("diverged-{epoch}.{n}"));
    }
    let to = dir.join("db");
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::rename(db, &to))
        .and_then(|()| std::fs::File::open(data_dir)?.sync_all())
        .map_err(|e| {
            RejoinError::Data(format!(
                "moving {} aside to {}: {e}",
                db.display(),
                to.display()
            ))
        })?;
    Ok(dir)
}

/// A running member found `leader` leading at a newer epoch: re-executes `kefud` with
/// its own arguments (the start then makes it a standby). Returns only if that failed.
pub(super) fn restart_as_standby(leader: &LeaderValue) -> String {
    use std::os::unix::process::CommandExt;
    log::warn(
        0,
        format_args!(
            "rejoin: {} leads at epoch {}: restarting as its standby",
            leader.node, leader.epoch
        ),
    );
    let exe = match std::env::current_exe() {
        Ok(p) => p,
        Err(e) => return format!("restarting: the executable is unknown: {e}"),
    };
    let e = std::process::Command::new(exe)
        .args(std::env::args_os().skip(1))
        .exec();
    format!("restarting as standby failed: {e}")
}
