//! In-memory [`KvStore`]: one `BTreeMap` per column family behind a `Mutex`, for tests.
//!
//! Same ordering and atomicity as the real engine (a batch is applied under one lock);
//! durability is ignored and nothing survives the process.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::{Batch, BatchOp, Cf, Durability, KeyValue, KvStore, StoreError};

type Table = BTreeMap<Vec<u8>, Vec<u8>>;

/// A [`KvStore`] held in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    tables: Mutex<[Table; Cf::ALL.len()]>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }

    fn lock(&self) -> MutexGuard<'_, [Table; Cf::ALL.len()]> {
        // Nothing below panics while holding the lock, so a poisoned lock (a panicking test
        // thread elsewhere) still guards consistent maps.
        self.tables.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl KvStore for MemoryStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let tables = self.lock();
        // `Cf::index` is always below `Cf::ALL.len()` (tested in `keys`).
        Ok(tables[cf.index()].get(key).cloned())
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let tables = self.lock();
        let range = (Bound::Included(start), Bound::Excluded(end));
        Ok(tables[cf.index()]
            .range::<[u8], _>(range)
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn scan_reverse(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let tables = self.lock();
        let range = (Bound::Included(start), Bound::Excluded(end));
        Ok(tables[cf.index()]
            .range::<[u8], _>(range)
            .rev()
            .take(limit)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }

    fn write(&self, batch: &Batch, _durability: Durability) -> Result<(), StoreError> {
        let mut tables = self.lock();
        for op in batch.ops() {
            match op {
                BatchOp::Put { cf, key, value } => {
                    tables[cf.index()].insert(key.to_vec(), value.to_vec());
                }
                BatchOp::Delete { cf, key } => {
                    tables[cf.index()].remove(key);
                }
                BatchOp::DeleteRange { cf, start, end } => {
                    tables[cf.index()].retain(|k, _| k.as_slice() < start || k.as_slice() >= end);
                }
            }
        }
        Ok(())
    }
}
