//! A standby's client side (`daemon/CLUSTER.md` §5, `wire/PROTOCOL.md` 40.7): before
//! its promotion a standby runs **read-only shards** on its client ports. They answer
//! every login but `LoginReadOnly` with `GoAwayTo` the primary, and serve read-only
//! sessions from the data the replication thread applies (the centre's side is
//! `centre/read_only.rs`).
//!
//! - [`StandbyReads`] (`centre/read_only.rs`): what the read-only shards share — where
//!   the primary is (the pair's leader key read by the directory thread, else
//!   `[standby] primary_client_addr`) and how far the accounts in memory are known fresh.
//! - [`follow`]: the **freshness** thread (`kefu-read-fresh`). The shards load an
//!   account from the store on first use and keep it; the replication thread keeps
//!   applying the primary's batches under them. Every [`FRESHNESS_TICK`] this thread
//!   reads the batches the store's log holds after the last one it saw
//!   (`RocksStore::batches_after`, the same reader the primary's sender uses) and has
//!   each shard evict the accounts those batches wrote (`Centre::evict_stale`): the next
//!   request loads them again. It follows the standby's own log, so it needs nothing
//!   from the replication thread.
//! - [`ReadOnlyStore`]: the store as the read-only shards see it — every write refused.
//!   A standby's sequence numbers must stay the primary's (`CLUSTER.md` §1): a write
//!   of its own would break the stream, so none may happen, whatever a handler does.

pub use crate::centre::StandbyReads;
use crate::log;
use crate::shard::{ShardLink, ShardMsg};
use crate::store::{Batch, Cf, Durability, KeyValue, KvStore, RocksStore, StoreError};
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Between two looks at the standby's log: the bound on how long an account in memory
/// may lag behind a batch the standby applied (plus one shard turn).
pub const FRESHNESS_TICK: Duration = Duration::from_millis(50);

/// Batches read from the log per look (the rest at the next look, at once).
const BATCHES_PER_LOOK: usize = 4_096;

/// The running freshness thread.
pub struct FreshnessHandle {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FreshnessHandle {
    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for FreshnessHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Starts the freshness thread over `store` for the shards at `links`, from sequence
/// `from` — read **before** the shards started, so no account was loaded from data
/// older than what the thread will look at.
pub fn follow(
    store: Arc<RocksStore>,
    links: Vec<ShardLink>,
    reads: Arc<StandbyReads>,
    from: u64,
) -> std::io::Result<FreshnessHandle> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    reads.set_fresh_up_to(from);
    let thread = std::thread::Builder::new()
        .name("kefu-read-fresh".into())
        .spawn(move || {
            let mut seen = from;
            let mut failing = false;
            while !flag.load(Ordering::Relaxed) {
                std::thread::sleep(FRESHNESS_TICK);
                let Ok(latest) = store.latest_sequence() else {
                    continue;
                };
                if latest <= seen {
                    continue;
                }
                match store.batches_after(seen, BATCHES_PER_LOOK) {
                    Ok(batches) => {
                        let mut accounts = BTreeSet::new();
                        let mut undecoded = false;
                        for b in &batches {
                            match b.accounts() {
                                Ok(written) => accounts.extend(written),
                                Err(_) => undecoded = true,
                            }
                            seen = seen.max(b.last_sequence());
                        }
                        // A batch whose accounts cannot be told: every account loads again.
                        evict(&links, (!undecoded).then_some(accounts));
                        failing = false;
                    }
                    Err(e) => {
                        // The log does not reach back (or does not read): every account
                        // in memory may be stale; all of them load again.
                        if !failing {
                            log::warn(
                                0,
                                format_args!(
                                    "standby reads: the log after {seen} does not read ({e}); \
                                     every account in memory is evicted"
                                ),
                            );
                            failing = true;
                        }
                        evict(&links, None);
                        seen = latest;
                    }
                }
                reads.set_fresh_up_to(seen);
            }
        })?;
    Ok(FreshnessHandle {
        stop,
        thread: Some(thread),
    })
}

/// Has each shard evict the accounts it owns among `accounts` (`None`: all of them).
fn evict(links: &[ShardLink], accounts: Option<BTreeSet<u64>>) {
    let n = links.len();
    for (shard, link) in links.iter().enumerate() {
        let mine: Option<Vec<u64>> = accounts.as_ref().map(|a| {
            a.iter()
                .copied()
                .filter(|&account| crate::accounts::owner_shard(account, n) == shard)
                .collect()
        });
        if mine.as_ref().is_some_and(Vec::is_empty) {
            continue;
        }
        link.send(ShardMsg::Centre(Box::new(move |centre| {
            centre.evict_stale(mine.as_deref());
        })));
    }
}

/// The store of a standby's read-only shards: reads go through, every write is
/// refused (`NOT_PRIMARY`) and nothing reaches the database.
pub struct ReadOnlyStore(pub Arc<dyn KvStore>);

impl KvStore for ReadOnlyStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.0.get(cf, key)
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        self.0.scan(cf, start, end, limit)
    }

    fn scan_reverse(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        self.0.scan_reverse(cf, start, end, limit)
    }

    fn write(&self, _batch: &Batch, _durability: Durability) -> Result<(), StoreError> {
        Err(StoreError::NotPrimary(
            "a standby writes nothing of its own (read-only shards)".into(),
        ))
    }

    fn latest_sequence(&self) -> Option<u64> {
        self.0.latest_sequence()
    }

    fn accepting_writes(&self) -> bool {
        false
    }

    fn engine_stats(&self) -> Vec<(&'static str, u64)> {
        self.0.engine_stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemoryStore;

    #[test]
    fn the_read_only_store_reads_and_refuses_every_write() {
        let inner: Arc<dyn KvStore> = Arc::new(MemoryStore::default());
        let mut batch = Batch::new();
        batch.put(Cf::Meta, b"k", b"v".to_vec());
        inner.write(&batch, Durability::Wal).unwrap();
        let ro = ReadOnlyStore(Arc::clone(&inner));
        assert_eq!(ro.get(Cf::Meta, b"k").unwrap(), Some(b"v".to_vec()));
        let mut other = Batch::new();
        other.put(Cf::Meta, b"k", b"changed".to_vec());
        assert!(matches!(
            ro.write(&other, Durability::Wal),
            Err(StoreError::NotPrimary(_))
        ));
        assert_eq!(inner.get(Cf::Meta, b"k").unwrap(), Some(b"v".to_vec()));
        assert!(!ro.accepting_writes());
    }
}
