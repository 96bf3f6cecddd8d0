//! The write-ahead log as a stream of committed batches: every batch after a sequence
//! number, in commit order, as RocksDB wrote it, and the way to apply such a batch to
//! another copy of the database. This is how a copy is proven to equal the original at
//! a point (a backup restored and rolled forward over the original's later batches must
//! match it key for key, `daemon/tests/backup.rs`), and the primitive a standby that
//! follows a primary is built on.
//!
//! Batches are only readable as far back as the log files still exist: RocksDB deletes
//! a log once its memtables are flushed unless `[storage] wal_archive_seconds` keeps
//! the archived logs for that long (`RocksOptions::wal_archive_seconds`).

use super::StoreError;
use rocksdb::{WriteBatch, WriteOptions, DB};

/// One committed batch: its first sequence number and its bytes (RocksDB's own batch
/// encoding, column families by id — meaningful only to a copy of the same database).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedBatch {
    pub sequence: u64,
    pub data: Vec<u8>,
}

impl LoggedBatch {
    /// The last sequence the batch holds: RocksDB's batch begins with its first sequence
    /// (8 bytes) and the count of its operations (4 bytes, little-endian), one sequence
    /// each.
    pub fn last_sequence(&self) -> u64 {
        let count = self
            .data
            .get(8..12)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u32::from_le_bytes);
        (self.sequence + u64::from(count))
            .saturating_sub(1)
            .max(self.sequence)
    }

    /// The accounts whose keys it puts or deletes (a standby evicts them from memory,
    /// `standby_reads.rs`), by [`Cf::account_of`](super::Cf::account_of): every
    /// account-scoped key begins with its account. The log names column families by
    /// the database's own ids, which are not mapped here, so a store-wide key is read
    /// as an account too: an account evicted for nothing loads again, which is safe;
    /// one left out would not be. Range deletes (an account's deletion) are not listed.
    pub fn accounts(&self) -> Vec<u64> {
        struct Keys(Vec<u64>);
        impl rocksdb::WriteBatchIteratorCf for Keys {
            fn put_cf(&mut self, _cf: u32, key: &[u8], _value: &[u8]) {
                self.0.extend(super::Cf::Accounts.account_of(key));
            }
            fn delete_cf(&mut self, _cf: u32, key: &[u8]) {
                self.0.extend(super::Cf::Accounts.account_of(key));
            }
            fn merge_cf(&mut self, _cf: u32, key: &[u8], _value: &[u8]) {
                self.0.extend(super::Cf::Accounts.account_of(key));
            }
        }
        let mut keys = Keys(Vec::new());
        WriteBatch::from_data(&self.data).iterate_cf(&mut keys);
        keys.0.sort_unstable();
        keys.0.dedup();
        keys.0
    }
}

/// The sequence number of the last committed write.
pub(super) fn latest_sequence(db: &DB) -> u64 {
    db.latest_sequence_number()
}

/// Every batch committed after `after`, oldest first, at most `max` of them. An error if
/// the log no longer reaches back to `after + 1` (files deleted) or does not read back.
pub(super) fn batches_after(
    db: &DB,
    after: u64,
    max: usize,
) -> Result<Vec<LoggedBatch>, StoreError> {
    let mut out = Vec::new();
    if after >= db.latest_sequence_number() {
        return Ok(out);
    }
    let engine = |e: rocksdb::Error| StoreError::Engine(format!("reading the log: {e}"));
    let mut expected = after + 1;
    for item in db.get_updates_since(after).map_err(engine)? {
        let (sequence, batch) = item.map_err(engine)?;
        if sequence <= after {
            continue;
        }
        // A gap means the logs holding the batches in between are gone.
        if sequence != expected {
            return Err(StoreError::Engine(format!(
                "the log jumps from sequence {expected} to {sequence}: \
                 the logs in between were deleted"
            )));
        }
        expected = sequence + batch.len() as u64;
        out.push(LoggedBatch {
            sequence,
            data: batch.data().to_vec(),
        });
        if out.len() == max {
            break;
        }
    }
    if out.is_empty() {
        return Err(StoreError::Engine(format!(
            "the log no longer holds sequence {expected}"
        )));
    }
    Ok(out)
}

/// Applies one batch read from a copy of this database, synced if `sync` (a synced
/// write syncs every earlier write of the log with it).
pub(super) fn apply(db: &DB, data: &[u8], sync: bool) -> Result<(), StoreError> {
    let mut write = WriteOptions::default();
    write.set_sync(sync);
    db.write_opt(WriteBatch::from_data(data), &write)
        .map_err(|e| StoreError::Engine(format!("applying a logged batch: {e}")))
}
