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

use super::{keys, AccountChanges, Cf, ChangeLimits, StoreError};
use rocksdb::{ColumnFamily, WriteBatch, WriteOptions, DB};

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
    /// `standby_reads.rs`), by [`Cf::account_of`](super::Cf::account_of) on each
    /// record's key (a range delete's first key: an account's deletion lists it). The
    /// log names column families by the database's own ids, which are not mapped here,
    /// so a store-wide key is read as an account too: an account evicted for nothing
    /// loads again, which is safe; one left out would not be. An error for a batch that
    /// does not decode ([`records`]).
    pub fn accounts(&self) -> Result<Vec<u64>, String> {
        let mut accounts: Vec<u64> = records(&self.data)?
            .iter()
            .filter_map(|r| super::Cf::Accounts.account_of(r.first_key()))
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        Ok(accounts)
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

/// The id RocksDB gave each column family of this database, learnt where the crate
/// shows it: in the encoding of a batch holding one put into that column family.
pub(super) fn column_family_ids<'a>(
    handles: impl Iterator<Item = (Cf, &'a ColumnFamily)>,
) -> Vec<(u32, Cf)> {
    handles
        .filter_map(|(cf, handle)| {
            let mut probe = WriteBatch::default();
            probe.put_cf(handle, b"", b"");
            match records(probe.data()).ok()?.first()? {
                Record::Put { cf: id, .. } => Some((*id, cf)),
                _ => None,
            }
        })
        .collect()
}

/// The operations of `account` (keys whose account, `Cf::account_of`, is it) in the
/// batches committed after sequence `after`, in commit order, within `limits`. A read
/// takes whole batches (the crate's log iterator starts at a batch, never inside one),
/// so `upto` is always a batch's last sequence; a batch holding more of the account's
/// operations than the limits is taken alone (one turn's writes, which the turn
/// bounds). [`StoreError::LogGone`] if the log does not reach back to `after + 1` or
/// does not decode.
pub(super) fn account_changes(
    db: &DB,
    ids: &[(u32, Cf)],
    account: u64,
    after: u64,
    limits: &ChangeLimits,
) -> Result<AccountChanges, StoreError> {
    let latest = db.latest_sequence_number();
    let mut out = AccountChanges {
        upto: after,
        latest,
        ..AccountChanges::default()
    };
    if after >= latest {
        return Ok(out);
    }
    let gone = |why: String| StoreError::LogGone(why);
    let cf_of = |id: u32| ids.iter().find(|(i, _)| *i == id).map(|(_, cf)| *cf);
    let mut bytes = 0usize;
    let mut batches = 0usize;
    let updates = db
        .get_updates_since(after)
        .map_err(|e| gone(format!("reading the log after sequence {after}: {e}")))?;
    for item in updates {
        let (first, batch) = item.map_err(|e| gone(format!("reading the log: {e}")))?;
        if first > latest {
            break;
        }
        if first != out.upto + 1 {
            return Err(gone(format!(
                "the log jumps from sequence {} to {first}: the logs in between were deleted",
                out.upto + 1
            )));
        }
        let ops = records(batch.data()).map_err(|e| gone(format!("batch {first}: {e}")))?;
        let mine: Vec<(Cf, &Record)> = ops
            .iter()
            .filter_map(|op| {
                let cf = cf_of(op.cf_id())?;
                (cf.account_of(op.first_key()) == Some(account)).then_some((cf, op))
            })
            .collect();
        let size: usize = mine.iter().map(|(_, op)| op.size()).sum();
        let full = out.batch.len() + mine.len() > limits.max_ops || bytes + size > limits.max_bytes;
        if full && !out.batch.is_empty() {
            break;
        }
        for (cf, op) in mine {
            op.push_to(&mut out.batch, cf);
        }
        bytes += size;
        out.upto = first + (ops.len() as u64).max(1) - 1;
        batches += 1;
        if batches >= limits.max_batches || out.upto >= latest {
            break;
        }
    }
    if out.upto == after {
        return Err(gone(format!(
            "the log no longer holds sequence {}",
            after + 1
        )));
    }
    Ok(out)
}

/// One operation of a batch as RocksDB encodes it (`db/write_batch.cc`: the sequence
/// as a fixed64, the count as a fixed32, then the records). The crate's own walk of a
/// batch stops silently at a range delete, which the store writes; hence this reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Record<'a> {
    Put {
        cf: u32,
        key: &'a [u8],
        value: &'a [u8],
    },
    Delete {
        cf: u32,
        key: &'a [u8],
    },
    DeleteRange {
        cf: u32,
        start: &'a [u8],
        end: &'a [u8],
    },
}

impl Record<'_> {
    fn cf_id(&self) -> u32 {
        match self {
            Record::Put { cf, .. } | Record::Delete { cf, .. } | Record::DeleteRange { cf, .. } => {
                *cf
            }
        }
    }

    /// The key, or a range's first key: what says whose it is.
    fn first_key(&self) -> &[u8] {
        match self {
            Record::Put { key, .. } | Record::Delete { key, .. } => key,
            Record::DeleteRange { start, .. } => start,
        }
    }

    fn size(&self) -> usize {
        match self {
            Record::Put { key, value, .. } => key.len() + value.len(),
            Record::Delete { key, .. } => key.len(),
            Record::DeleteRange { start, end, .. } => start.len() + end.len(),
        }
    }

    fn push_to(&self, batch: &mut super::Batch, cf: Cf) {
        match *self {
            Record::Put { key, value, .. } => batch.put(cf, key, value.to_vec()),
            Record::Delete { key, .. } => batch.delete(cf, key),
            Record::DeleteRange { start, end, .. } => batch.delete_range(
                cf,
                &keys::KeyRange {
                    start: start.to_vec(),
                    end: end.to_vec(),
                },
            ),
        }
    }
}

/// Record types (`db/dbformat.h`, `ValueType`).
const DELETION: u8 = 0x0;
const VALUE: u8 = 0x1;
const LOG_DATA: u8 = 0x3;
const CF_DELETION: u8 = 0x4;
const CF_VALUE: u8 = 0x5;
const SINGLE_DELETION: u8 = 0x7;
const CF_SINGLE_DELETION: u8 = 0x8;
const NOOP: u8 = 0xD;
const CF_RANGE_DELETION: u8 = 0xE;
const RANGE_DELETION: u8 = 0xF;

/// The counted records of an encoded batch; an error for a truncated batch, a count
/// that disagrees, or a record type this store never writes (merges, transactions).
fn records(data: &[u8]) -> Result<Vec<Record<'_>>, String> {
    let count = data
        .get(8..12)
        .and_then(|c| <[u8; 4]>::try_from(c).ok())
        .map(u32::from_le_bytes)
        .ok_or("shorter than a batch header")?;
    let mut rest = data.get(12..).unwrap_or_default();
    let mut out = Vec::new();
    while let Some((&tag, tail)) = rest.split_first() {
        rest = tail;
        let cf = match tag {
            CF_DELETION | CF_VALUE | CF_SINGLE_DELETION | CF_RANGE_DELETION => varint32(&mut rest)?,
            _ => 0,
        };
        let record = match tag {
            VALUE | CF_VALUE => Record::Put {
                cf,
                key: varstring(&mut rest)?,
                value: varstring(&mut rest)?,
            },
            DELETION | CF_DELETION | SINGLE_DELETION | CF_SINGLE_DELETION => Record::Delete {
                cf,
                key: varstring(&mut rest)?,
            },
            RANGE_DELETION | CF_RANGE_DELETION => Record::DeleteRange {
                cf,
                start: varstring(&mut rest)?,
                end: varstring(&mut rest)?,
            },
            LOG_DATA => {
                varstring(&mut rest)?; // not an operation, not counted
                continue;
            }
            NOOP => continue,
            other => {
                return Err(format!(
                    "a record of type {other:#x}, which the store never writes"
                ))
            }
        };
        out.push(record);
    }
    if out.len() != count as usize {
        return Err(format!(
            "{} records where its header says {count}",
            out.len()
        ));
    }
    Ok(out)
}

/// A little-endian base-128 number of at most 32 bits.
fn varint32(rest: &mut &[u8]) -> Result<u32, String> {
    let mut value = 0u32;
    for shift in (0..35).step_by(7) {
        let (&b, tail) = rest.split_first().ok_or("a truncated number")?;
        *rest = tail;
        value |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a number longer than 32 bits".into())
}

/// A length (varint32) and that many bytes.
fn varstring<'a>(rest: &mut &'a [u8]) -> Result<&'a [u8], String> {
    let len = varint32(rest)? as usize;
    if rest.len() < len {
        return Err("a truncated string".into());
    }
    let (s, tail) = rest.split_at(len);
    *rest = tail;
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch built by the crate, read back by [`records`]: puts, deletes and a range
    /// delete, in order, in the default and another column family.
    #[test]
    fn records_read_back_every_operation_the_store_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut opts = rocksdb::Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        let db = DB::open_cf(&opts, dir.path(), ["messages"]).unwrap();
        let cf = db.cf_handle("messages").unwrap();
        let ids = column_family_ids([(Cf::Messages, cf)].into_iter());
        let id = ids.first().map(|(id, _)| *id).unwrap();
        assert_ne!(id, 0, "not the default column family's");
        let mut wb = WriteBatch::default();
        wb.put_cf(cf, b"k1", b"v1");
        wb.put(b"d", b"x".repeat(300));
        wb.delete_cf(cf, b"k2");
        wb.delete_range_cf(cf, b"a", b"b");
        let got = records(wb.data()).unwrap();
        assert_eq!(
            got,
            vec![
                Record::Put {
                    cf: id,
                    key: b"k1",
                    value: b"v1"
                },
                Record::Put {
                    cf: 0,
                    key: b"d",
                    value: &[b'x'; 300]
                },
                Record::Delete { cf: id, key: b"k2" },
                Record::DeleteRange {
                    cf: id,
                    start: b"a",
                    end: b"b"
                },
            ]
        );
        for cut in [0, 11, wb.data().len() - 1] {
            assert!(records(&wb.data()[..cut]).is_err(), "cut at {cut}");
        }
    }
}
