//! Storage: a narrow, engine-neutral key-value interface and typed helpers on top of it.
//!
//! **Boundary.** Nothing outside this module names RocksDB. The daemon sees [`KvStore`]
//! (three operations: point read, bounded scan, atomic batch write), [`Batch`] and the
//! typed helpers below; [`RocksStore`] is one implementation, [`MemoryStore`] another (for
//! tests), and a distributed engine could be a third.
//!
//! **Invariants.**
//! - Keys are built only by [`keys`], one function per column family, big-endian.
//! - Values are only ever [`records`] types: a version byte, then a postcard body.
//! - Every scan has an upper bound that the engine sees.
//! - Every multi-record change is one [`Batch`], applied atomically by [`KvStore::write`].
//!
//! **Whose fault.** Every [`StoreError`] is the storage's fault, never the peer's: a
//! request that hits one is answered with an internal error, and a failed
//! [`KvStore::write`] means nothing in the batch may be acknowledged.

pub mod backup;
pub mod balance_records;
pub mod broadcast_records;
pub mod chat_records;
pub mod cluster_records;
pub mod commit_feed;
pub mod crm_records;
pub mod csat_records;
pub mod designated_records;
pub mod extras_records;
pub mod file_records;
pub mod idle_records;
pub mod import_job_records;
pub mod internal_records;
pub mod keys;
pub mod memory;
pub mod menu_records;
pub mod prefs_records;
pub mod profile_records;
pub mod read_state_records;
pub mod records;
pub mod report_records;
pub mod review_records;
pub mod rocks;
mod rocks_backup;
mod rocks_wal;
pub mod security_records;
pub mod sms_records;
pub mod spam_records;
pub mod survey_broadcast_records;
pub mod used_ticket_records;
pub mod web_origin_records;
pub mod web_records;

use std::path::PathBuf;

use smallvec::SmallVec;

pub use backup::{BackupError, BackupSummary};
pub use commit_feed::CommitFeed;
pub use keys::Cf;
pub use memory::MemoryStore;
pub use records::{
    AccountRecord, AgentRecord, PasswordHash, Permission, PermissionSet, Plan, PresenceMode,
    RecordError, RoleRecord, SchemaVersion, SessionRecord, StoredRecord,
};
pub use rocks::{open_rocks, open_rocks_follower, RocksOptions, RocksStore};
pub use rocks_backup::restore as restore_backup;
pub use rocks_wal::LoggedBatch;
pub use security_records::{
    AccountSettingsRecord, AgentProfileRecord, AgentTokenRecord, DisplayMode, SecurityLevel,
    TokenAlgorithm, TokenRecord,
};

/// Schema version this code writes and understands. Bump it (and add a migration) when a
/// change cannot be read by the previous release.
///
/// - 1: the first layout.
/// - 2: `open_conversations` indexes each account's open conversations (filled from
///   `conversations` when a version-1 directory is opened).
pub const CURRENT_SCHEMA_VERSION: u32 = 2;

/// Oldest schema version this code can open.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

/// How durable a write must be before [`KvStore::write`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Durability {
    /// Written to the write-ahead log, not fsynced: survives a process crash, not a power cut.
    Wal,
    /// Written to the write-ahead log and fsynced: survives a power cut.
    Fsync,
}

/// The storage layer failed. Always the storage's fault (see the module doc).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The engine reported an error (I/O, engine-detected corruption, resource limits…).
    #[error("storage engine: {0}")]
    Engine(String),
    /// The write-ahead log no longer reaches back to the sequence asked for (its files
    /// were deleted once flushed, `[storage] wal_archive_seconds`), cannot be read from
    /// there, or this store keeps none: what depends on it starts over another way.
    #[error("the write-ahead log does not reach back: {0}")]
    LogGone(String),
    /// Written here, but this member of a pair is not (or no longer certainly) the
    /// primary: its lease in etcd may have expired (`cluster/leader.rs`), so nothing it
    /// wrote since may be acknowledged.
    #[error("not the primary: {0}")]
    NotPrimary(String),
    /// The data directory could not be created or inspected.
    #[error("data directory {}: {source}", path.display())]
    Io {
        /// The directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// A stored value does not decode as the record its column family holds.
    #[error("corrupt record in {cf} at key {key}: {reason}")]
    Corrupt {
        /// Column family.
        cf: Cf,
        /// Key, in hex.
        key: String,
        /// Why it did not decode.
        #[source]
        reason: RecordError,
    },
    /// A stored key does not have its column family's layout.
    #[error("malformed key in {cf}: {key}")]
    BadKey {
        /// Column family.
        cf: Cf,
        /// Key, in hex.
        key: String,
    },
    /// A record's own ids disagree with the key it is stored under.
    #[error("record in {cf} does not match its key {key}")]
    KeyMismatch {
        /// Column family.
        cf: Cf,
        /// Key, in hex.
        key: String,
    },
    /// The data directory was written by a newer version of the daemon.
    #[error("data directory has schema version {found}; this build supports up to {supported}")]
    SchemaTooNew {
        /// Version found on disk.
        found: u32,
        /// [`CURRENT_SCHEMA_VERSION`].
        supported: u32,
    },
    /// The data directory is older than anything this build can migrate.
    #[error("data directory has schema version {found}; this build supports {oldest} or later")]
    SchemaTooOld {
        /// Version found on disk.
        found: u32,
        /// [`OLDEST_SCHEMA_VERSION`].
        oldest: u32,
    },
    /// The disk holding the data directory is full: the write was refused and nothing of
    /// it was stored. Writes are refused until space is freed; then the next write
    /// reopens the engine and goes through (see [`RocksStore`]).
    #[error("disk full at {}: writes are refused until space is freed", path.display())]
    DiskFull {
        /// The data directory.
        path: PathBuf,
    },
    /// The directory holds a database that is not a Kefu store (no meta column family).
    #[error("{} holds a database that is not a Kefu store", path.display())]
    NotAKefuStore {
        /// The directory.
        path: PathBuf,
    },
}

impl StoreError {
    pub(crate) fn corrupt(cf: Cf, key: &[u8], reason: RecordError) -> Self {
        StoreError::Corrupt {
            cf,
            key: keys::hex(key),
            reason,
        }
    }

    fn bad_key(cf: Cf, key: &[u8]) -> Self {
        StoreError::BadKey {
            cf,
            key: keys::hex(key),
        }
    }

    fn key_mismatch(cf: Cf, key: &[u8]) -> Self {
        StoreError::KeyMismatch {
            cf,
            key: keys::hex(key),
        }
    }
}

/// One `(key, value)` pair returned by [`KvStore::scan`].
pub type KeyValue = (Vec<u8>, Vec<u8>);

/// The engine-neutral storage interface. Implementations apply each [`Batch`] atomically.
pub trait KvStore: Send + Sync + 'static {
    /// The value stored under `key`, if any.
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;

    /// Keys in `[start, end)` in byte order, at most `limit` of them. Every scan is bounded:
    /// `end` is given to the engine as the iterator's upper bound.
    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError>;

    /// Keys in `[start, end)` in descending order, at most `limit` (newest-first history).
    fn scan_reverse(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError>;

    /// Applies every operation of `batch` atomically, durable as `durability` says.
    fn write(&self, batch: &Batch, durability: Durability) -> Result<(), StoreError>;

    /// The sequence number of the last committed write, for engines that number their
    /// writes (RocksDB; the replication of a pair, `cluster/`); `None` otherwise.
    fn latest_sequence(&self) -> Option<u64> {
        None
    }

    /// `account`'s changes committed after sequence `after`, oldest first, within
    /// `limits`, read back from the write-ahead log (the live copy of an account move,
    /// `centre/account_move.rs`). [`StoreError::LogGone`] if the log does not reach
    /// back to `after + 1`, or for an engine without one.
    fn account_changes(
        &self,
        account: u64,
        after: u64,
        limits: &ChangeLimits,
    ) -> Result<AccountChanges, StoreError> {
        let _ = (account, after, limits);
        Err(StoreError::LogGone(
            "this store keeps no write-ahead log".into(),
        ))
    }

    /// Whether a write may succeed now: false while the disk is known to be full (a
    /// write failed with [`StoreError::DiskFull`] and not enough space has been freed
    /// since). A caller may leave out a write it can do without (a login's session
    /// token) rather than have it refused; reads are served either way.
    fn accepting_writes(&self) -> bool {
        true
    }

    /// Checks that the store takes a synced write now (a probe record in
    /// [`Cf::Meta`]) and how much room its filesystem has (`kefuctl diagnose`).
    /// Blocking: call it off the loop.
    fn probe(&self) -> StorageProbe {
        let mut batch = Batch::new();
        batch.put(Cf::Meta, keys::META_STORAGE_PROBE, vec![1]);
        let started = std::time::Instant::now();
        let written = self.write(&batch, Durability::Fsync);
        StorageProbe {
            data_dir: String::new(),
            synced_write: written.map(|()| started.elapsed()),
            free_bytes: 0,
            total_bytes: 0,
        }
    }

    /// The engine's own figures for the metrics (name, value; the metric is
    /// `kefu_<name>`), e.g. RocksDB's properties; none by default.
    fn engine_stats(&self) -> Vec<(&'static str, u64)> {
        Vec::new()
    }

    /// Compacts the key ranges of `account` in every account-scoped column family, so
    /// the space of its deleted keys is reclaimed. Blocking: call it off the loop.
    fn compact_account(&self, _account: u64) -> Result<(), StoreError> {
        Ok(())
    }
    /// Takes an online, consistent backup into the backup directory (see
    /// [`backup`]). Slow (it copies the database): never on a shard thread.
    fn create_backup(&self) -> Result<BackupSummary, BackupError> {
        Err(BackupError::Unsupported("no backup engine"))
    }
    /// The backups in the backup directory, oldest first.
    fn list_backups(&self) -> Result<Vec<BackupSummary>, BackupError> {
        Err(BackupError::Unsupported("no backup engine"))
    }

    /// Checks one backup whole and counts its keys (see [`backup`]). Slow.
    fn verify_backup(&self, id: u32) -> Result<BackupSummary, BackupError> {
        let _ = id;
        Err(BackupError::Unsupported("no backup engine"))
    }
}

/// One account's changes read back from the write-ahead log ([`KvStore::account_changes`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountChanges {
    /// The account's operations — puts, deletes and range deletes — in commit order.
    pub batch: Batch,
    /// The sequence of the last operation read, the account's or another's: the next
    /// read starts after it.
    pub upto: u64,
    /// The store's latest sequence when read: `upto == latest` means caught up.
    pub latest: u64,
}

/// How much one read of an account's changes may hold, so that one admin request stays
/// a bounded piece of work and a bounded answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChangeLimits {
    /// Operations of the account.
    pub max_ops: usize,
    /// Bytes of their keys and values.
    pub max_bytes: usize,
    /// Logged batches read (mostly other accounts' on a busy store).
    pub max_batches: usize,
}

/// What [`KvStore::probe`] found.
#[derive(Debug)]
pub struct StorageProbe {
    /// The data directory (empty for a store in memory).
    pub data_dir: String,
    /// How long a synced write took, or why it failed.
    pub synced_write: Result<std::time::Duration, StoreError>,
    /// Bytes free for the daemon on the data directory's filesystem.
    pub free_bytes: u64,
    /// Size of that filesystem.
    pub total_bytes: u64,
}

/// Keys are at most [`keys::MAX_KEY_LEN`] bytes, so they stay inline.
type Key = SmallVec<[u8; keys::MAX_KEY_LEN]>;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Op {
    cf: Cf,
    key: Key,
    /// Where the value lies in the batch's `values`; `None` deletes.
    value: Option<std::ops::Range<usize>>,
    /// `Some(end)` deletes every key in `[key, end)` (and `value` is `None`).
    range_end: Option<Key>,
}

/// Value bytes a batch keeps allocated across [`Batch::clear`]: a turn that wrote a
/// large value (a file, an import) gives its memory back.
const KEPT_VALUE_BYTES: usize = 64 * 1024;

/// One operation of a [`Batch`], as an engine sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchOp<'a> {
    /// Store `value` under `key`.
    Put {
        /// Column family.
        cf: Cf,
        /// Key.
        key: &'a [u8],
        /// Value.
        value: &'a [u8],
    },
    /// Remove `key`.
    Delete {
        /// Column family.
        cf: Cf,
        /// Key.
        key: &'a [u8],
    },
    /// Remove every key in `[start, end)` (deleting an account, PROTOCOL.md section 20.2).
    DeleteRange {
        /// Column family.
        cf: Cf,
        /// First key removed.
        start: &'a [u8],
        /// First key kept.
        end: &'a [u8],
    },
}

/// An ordered list of puts and deletes, written atomically by [`KvStore::write`]. Later
/// operations on the same key win. Reuse one per loop turn with [`Batch::clear`].
///
/// Keys are kept inline and values back to back in one buffer, which the batch keeps
/// across turns: a message's records are encoded into it ([`Batch::put_record`]) with
/// no allocation of their own.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    ops: Vec<Op>,
    /// Every put's value, in order.
    values: Vec<u8>,
}

impl PartialEq for Batch {
    /// The same operations in the same order (however the values are laid out).
    fn eq(&self, other: &Self) -> bool {
        self.ops.len() == other.ops.len() && self.ops().eq(other.ops())
    }
}

impl Eq for Batch {}

impl Batch {
    /// An empty batch.
    pub fn new() -> Self {
        Batch::default()
    }

    /// Whether the batch holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of operations.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Removes every operation, keeping the allocations (the values' up to
    /// `KEPT_VALUE_BYTES`).
    pub fn clear(&mut self) {
        self.ops.clear();
        if self.values.capacity() > KEPT_VALUE_BYTES {
            self.values = Vec::new();
        } else {
            self.values.clear();
        }
    }

    /// The operations, in order.
    pub fn ops(&self) -> impl ExactSizeIterator<Item = BatchOp<'_>> {
        self.ops.iter().map(|op| match (&op.value, &op.range_end) {
            (_, Some(end)) => BatchOp::DeleteRange {
                cf: op.cf,
                start: &op.key,
                end,
            },
            (Some(value), None) => BatchOp::Put {
                cf: op.cf,
                key: &op.key,
                value: self.values.get(value.clone()).unwrap_or_default(),
            },
            (None, None) => BatchOp::Delete {
                cf: op.cf,
                key: &op.key,
            },
        })
    }

    /// The accounts this batch writes to, each once, in key order: derived from the
    /// keys themselves, so what a failed commit must evict is never a list kept by hand.
    pub fn accounts(&self) -> Vec<u64> {
        let mut accounts: Vec<u64> = self
            .ops
            .iter()
            .filter_map(|op| op.cf.account_of(&op.key))
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        accounts
    }

    /// Whether the batch writes a store-wide record (a token by serial, the schema).
    pub fn touches_store_wide(&self) -> bool {
        self.ops.iter().any(|op| !op.cf.is_account_scoped())
    }

    /// Stores raw `value` under `key`. Prefer the typed `put_*` methods.
    pub fn put(&mut self, cf: Cf, key: &[u8], value: Vec<u8>) {
        let start = self.values.len();
        self.values.extend_from_slice(&value);
        self.put_from(cf, key, start);
    }

    /// Stores `record` under `key`, encoded straight into the batch.
    pub fn put_record<R: StoredRecord>(&mut self, cf: Cf, key: &[u8], record: &R) {
        let start = self.values.len();
        record.encode_into(&mut self.values);
        self.put_from(cf, key, start);
    }

    /// The put whose value is `values[start..]`, just appended.
    fn put_from(&mut self, cf: Cf, key: &[u8], start: usize) {
        self.ops.push(Op {
            cf,
            key: Key::from_slice(key),
            value: Some(start..self.values.len()),
            range_end: None,
        });
    }

    /// Removes `key`.
    pub fn delete(&mut self, cf: Cf, key: &[u8]) {
        self.ops.push(Op {
            cf,
            key: Key::from_slice(key),
            value: None,
            range_end: None,
        });
    }

    /// Removes every key of `cf` in `range` (its start included, its end excluded).
    pub fn delete_range(&mut self, cf: Cf, range: &keys::KeyRange) {
        self.ops.push(Op {
            cf,
            key: Key::from_slice(&range.start),
            value: None,
            range_end: Some(Key::from_slice(&range.end)),
        });
    }

    /// Stores a message in its customer's history.
    pub fn put_message(&mut self, record: &chat_records::MessageRecord) {
        self.put_message_ref(&record.borrowed());
    }

    /// Stores a message in its customer's history, from borrowed parts: key and value
    /// are built in place (the path of every chat message).
    pub fn put_message_ref(&mut self, message: &chat_records::MessageRef<'_>) {
        let key = keys::message_buf(message.account, message.customer, message.id);
        let start = self.values.len();
        message.encode_into(&mut self.values);
        self.put_from(Cf::Messages, &key, start);
    }

    /// Stores an account under its id.
    pub fn put_account(&mut self, record: &AccountRecord) {
        self.put(Cf::Accounts, &keys::account(record.id), record.encode());
    }

    /// Stores an agent under (account, agent).
    pub fn put_agent(&mut self, record: &AgentRecord) {
        let key = keys::agent(record.account, record.agent);
        self.put(Cf::Agents, &key, record.encode());
    }

    /// Stores a role under (account, role).
    pub fn put_role(&mut self, record: &RoleRecord) {
        let key = keys::role(record.account, record.role);
        self.put(Cf::Roles, &key, record.encode());
    }

    /// Stores a session under (account, agent), replacing the agent's previous session.
    pub fn put_session(&mut self, record: &SessionRecord) {
        let key = keys::session(record.account, record.agent);
        self.put(Cf::Sessions, &key, record.encode());
    }

    /// Removes the session of (account, agent).
    pub fn delete_session(&mut self, account: u64, agent: u32) {
        self.delete(Cf::Sessions, &keys::session(account, agent));
    }

    /// Stores an account's settings.
    pub fn put_account_settings(&mut self, record: &AccountSettingsRecord) {
        self.put(
            Cf::AccountSettings,
            &keys::account_settings(record.account),
            record.encode(),
        );
    }

    /// Stores an agent's profile.
    pub fn put_agent_profile(&mut self, record: &AgentProfileRecord) {
        let key = keys::agent_profile(record.account, record.agent);
        self.put(Cf::AgentProfiles, &key, record.encode());
    }

    /// Stores a token (keyed by its serial, which callers have checked with [`keys::token`]).
    pub fn put_token(&mut self, record: &TokenRecord) {
        if let Some(key) = keys::token(&record.serial) {
            self.put(Cf::Tokens, key, record.encode());
        }
    }

    /// Records which token an agent holds.
    pub fn put_agent_token(&mut self, record: &AgentTokenRecord) {
        let key = keys::agent_token(record.account, record.agent);
        self.put(Cf::AgentTokens, &key, record.encode());
    }

    /// Forgets which token an agent holds.
    pub fn delete_agent_token(&mut self, account: u64, agent: u32) {
        self.delete(Cf::AgentTokens, &keys::agent_token(account, agent));
    }

    /// Stores the schema version.
    pub fn put_schema_version(&mut self, version: SchemaVersion) {
        self.put(Cf::Meta, keys::META_SCHEMA_VERSION, version.encode());
    }
}

// ---------------------------------------------------------------------------------------
// Typed helpers. Generic with `?Sized` so they take both `&RocksStore` and `&dyn KvStore`.
// ---------------------------------------------------------------------------------------

/// Reads and decodes one record, checking that its own ids agree with `key`.
fn load<T: StoredRecord, S: KvStore + ?Sized>(
    store: &S,
    cf: Cf,
    key: &[u8],
    key_matches: impl Fn(&T) -> bool,
) -> Result<Option<T>, StoreError> {
    let Some(bytes) = store.get(cf, key)? else {
        return Ok(None);
    };
    let record = T::decode(&bytes).map_err(|reason| StoreError::corrupt(cf, key, reason))?;
    if key_matches(&record) {
        Ok(Some(record))
    } else {
        Err(StoreError::key_mismatch(cf, key))
    }
}

/// Scans `range` and decodes every value, checking each key with `key_matches`.
fn load_range<T: StoredRecord, S: KvStore + ?Sized>(
    store: &S,
    cf: Cf,
    range: &keys::KeyRange,
    limit: usize,
    key_matches: impl Fn(&[u8], &T) -> Result<bool, StoreError>,
) -> Result<Vec<T>, StoreError> {
    store
        .scan(cf, &range.start, &range.end, limit)?
        .into_iter()
        .map(|(key, value)| {
            let record =
                T::decode(&value).map_err(|reason| StoreError::corrupt(cf, &key, reason))?;
            if key_matches(&key, &record)? {
                Ok(record)
            } else {
                Err(StoreError::key_mismatch(cf, &key))
            }
        })
        .collect()
}

/// The schema version recorded in the store, if any.
pub fn load_schema_version<S: KvStore + ?Sized>(
    store: &S,
) -> Result<Option<SchemaVersion>, StoreError> {
    load(store, Cf::Meta, keys::META_SCHEMA_VERSION, |_| true)
}

/// The account `id`.
pub fn load_account<S: KvStore + ?Sized>(
    store: &S,
    id: u64,
) -> Result<Option<AccountRecord>, StoreError> {
    load(
        store,
        Cf::Accounts,
        &keys::account(id),
        |r: &AccountRecord| r.id == id,
    )
}

/// Up to `limit` accounts with an id greater than `after` (from the first for `None`), in
/// id order. Page with `after = Some(last.id)`.
pub fn list_accounts<S: KvStore + ?Sized>(
    store: &S,
    after: Option<u64>,
    limit: usize,
) -> Result<Vec<AccountRecord>, StoreError> {
    let Some(range) = keys::accounts_after(after) else {
        return Ok(Vec::new());
    };
    load_range(
        store,
        Cf::Accounts,
        &range,
        limit,
        |key, r: &AccountRecord| {
            let id =
                keys::parse_account(key).ok_or_else(|| StoreError::bad_key(Cf::Accounts, key))?;
            Ok(id == r.id)
        },
    )
}

/// The agent (account, agent).
pub fn load_agent<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
    agent: u32,
) -> Result<Option<AgentRecord>, StoreError> {
    load(
        store,
        Cf::Agents,
        &keys::agent(account, agent),
        |r: &AgentRecord| (r.account, r.agent) == (account, agent),
    )
}

/// Every agent of `account`, in agent-number order.
pub fn list_agents<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<Vec<AgentRecord>, StoreError> {
    let range = keys::account_prefix(account);
    load_range(
        store,
        Cf::Agents,
        &range,
        usize::MAX,
        |key, r: &AgentRecord| {
            let ids = keys::parse_agent(key).ok_or_else(|| StoreError::bad_key(Cf::Agents, key))?;
            Ok(ids == (r.account, r.agent))
        },
    )
}

/// Every role of `account`, in role-id order.
pub fn load_roles<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<Vec<RoleRecord>, StoreError> {
    let range = keys::account_prefix(account);
    load_range(
        store,
        Cf::Roles,
        &range,
        usize::MAX,
        |key, r: &RoleRecord| {
            let ids = keys::parse_role(key).ok_or_else(|| StoreError::bad_key(Cf::Roles, key))?;
            Ok(ids == (r.account, r.role))
        },
    )
}

/// The session of agent (account, agent), if one was issued and not deleted. The caller
/// checks expiry, token hash and credential generation.
pub fn load_session<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
    agent: u32,
) -> Result<Option<SessionRecord>, StoreError> {
    load(
        store,
        Cf::Sessions,
        &keys::session(account, agent),
        |r: &SessionRecord| (r.account, r.agent) == (account, agent),
    )
}

/// An account's settings, if any were ever stored (absent means the defaults).
pub fn load_account_settings<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<Option<AccountSettingsRecord>, StoreError> {
    load(
        store,
        Cf::AccountSettings,
        &keys::account_settings(account),
        |r: &AccountSettingsRecord| r.account == account,
    )
}

/// Every stored agent profile of `account`, in agent order.
pub fn load_agent_profiles<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<Vec<AgentProfileRecord>, StoreError> {
    let range = keys::account_prefix(account);
    load_range(
        store,
        Cf::AgentProfiles,
        &range,
        usize::MAX,
        |key, r: &AgentProfileRecord| {
            let ids = keys::parse_agent(key)
                .ok_or_else(|| StoreError::bad_key(Cf::AgentProfiles, key))?;
            Ok(ids == (r.account, r.agent))
        },
    )
}

/// Every agent→token binding of `account`, in agent order.
pub fn load_agent_tokens<S: KvStore + ?Sized>(
    store: &S,
    account: u64,
) -> Result<Vec<AgentTokenRecord>, StoreError> {
    let range = keys::account_prefix(account);
    load_range(
        store,
        Cf::AgentTokens,
        &range,
        usize::MAX,
        |key, r: &AgentTokenRecord| {
            let ids =
                keys::parse_agent(key).ok_or_else(|| StoreError::bad_key(Cf::AgentTokens, key))?;
            Ok(ids == (r.account, r.agent))
        },
    )
}

/// The token with this serial.
pub fn load_token<S: KvStore + ?Sized>(
    store: &S,
    serial: &str,
) -> Result<Option<TokenRecord>, StoreError> {
    match keys::token(serial) {
        Some(key) => load(store, Cf::Tokens, key, |r: &TokenRecord| r.serial == serial),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use records::DEFAULT_ROLES;

    pub(super) fn account(id: u64) -> AccountRecord {
        AccountRecord {
            id,
            name: format!("account {id}"),
            plan: Plan::Gold,
            expires_at: 2_000_000_000,
            created_at: 1_700_000_000,
            super_password: PasswordHash {
                iterations: 1,
                salt: [1; 16],
                hash: [2; 32],
            },
            presence_mode: PresenceMode::AlwaysOnline,
        }
    }

    #[test]
    fn a_batch_names_the_accounts_its_keys_belong_to() {
        let mut batch = Batch::new();
        assert!(batch.accounts().is_empty());
        batch.put_account(&account(800_002));
        batch.put(
            Cf::Messages,
            &[&800_001u64.to_be_bytes()[..], &[1, 2, 3]].concat(),
            vec![1],
        );
        batch.delete(
            Cf::OpenConversations,
            &[&800_002u64.to_be_bytes()[..], &[9; 8]].concat(),
        );
        assert!(!batch.touches_store_wide());
        batch.put(Cf::Tokens, b"SERIAL-1", vec![1]);
        assert!(batch.touches_store_wide());
        assert_eq!(batch.accounts(), vec![800_001, 800_002]);
    }

    pub(super) fn agent(account: u64, agent: u32) -> AgentRecord {
        AgentRecord {
            account,
            agent,
            nickname: format!("agent {agent}"),
            password: None,
            role: 3,
            credential_gen: 0,
            created_at: 1_700_000_000,
        }
    }

    fn session(account: u64, agent: u32) -> SessionRecord {
        SessionRecord {
            account,
            agent,
            token_hash: [9; 32],
            credential_gen: 1,
            created_at: 1,
            expires_at: 2,
        }
    }

    /// Behaviour every [`KvStore`] must have; run against each implementation.
    pub(crate) fn exercise_store(store: &dyn KvStore) {
        let mut batch = Batch::new();
        for id in [5u64, 6, 7, u64::MAX] {
            batch.put_account(&account(id));
            for a in [1001, 1002, 1003] {
                batch.put_agent(&agent(id, a));
            }
            for r in DEFAULT_ROLES {
                batch.put_role(&r.record(id));
            }
        }
        batch.put_session(&session(6, 1001));
        batch.put_session(&session(6, 1002));
        batch.delete_session(6, 1002);
        assert_eq!(batch.len(), 4 * 7 + 3);
        store.write(&batch, Durability::Wal).expect("write");
        batch.clear();
        assert!(batch.is_empty());
        store.write(&batch, Durability::Fsync).expect("empty write");

        assert_eq!(load_account(store, 6).expect("load"), Some(account(6)));
        assert_eq!(load_account(store, 8).expect("load"), None);
        assert_eq!(
            load_agent(store, 6, 1002).expect("load"),
            Some(agent(6, 1002))
        );
        assert_eq!(load_agent(store, 6, 1004).expect("load"), None);
        assert_eq!(
            load_session(store, 6, 1001).expect("load"),
            Some(session(6, 1001))
        );
        assert_eq!(load_session(store, 6, 1002).expect("load"), None);

        // Scans stay inside their account: neighbours 5 and 7 are not returned.
        let agents = list_agents(store, 6).expect("list");
        let ids: Vec<_> = agents.iter().map(|a| (a.account, a.agent)).collect();
        assert_eq!(ids, [(6, 1001), (6, 1002), (6, 1003)]);
        assert_eq!(list_agents(store, u64::MAX).expect("list").len(), 3);
        assert!(list_agents(store, 8).expect("list").is_empty());
        let roles = load_roles(store, 7).expect("roles");
        assert_eq!(roles.iter().map(|r| r.role).collect::<Vec<_>>(), [1, 2, 3]);
        assert!(roles.iter().all(|r| r.account == 7));

        // Pagination of accounts.
        let ids = |v: Vec<AccountRecord>| v.into_iter().map(|a| a.id).collect::<Vec<_>>();
        assert_eq!(ids(list_accounts(store, None, 2).expect("page")), [5, 6]);
        assert_eq!(
            ids(list_accounts(store, Some(6), 2).expect("page")),
            [7, u64::MAX]
        );
        assert!(list_accounts(store, Some(u64::MAX), 2)
            .expect("page")
            .is_empty());
        assert!(list_accounts(store, None, 0).expect("page").is_empty());

        // Raw scan bounds: [start, end) exactly.
        let start = keys::agent(6, 1002);
        let end = keys::agent(6, 1003);
        let raw = store.scan(Cf::Agents, &start, &end, 10).expect("scan");
        assert_eq!(raw.len(), 1);
        assert_eq!(raw[0].0, start);
        assert!(store
            .scan(Cf::Agents, &end, &start, 10)
            .expect("scan")
            .is_empty());

        // Corruption surfaces as a typed error, not a panic.
        let mut bad = Batch::new();
        bad.put(Cf::Agents, &keys::agent(9, 1001), vec![1, 2, 3]);
        bad.put(Cf::Roles, &keys::role(9, 1), vec![]);
        bad.put(Cf::Accounts, &keys::account(9), account(10).encode());
        store.write(&bad, Durability::Wal).expect("write");
        assert!(matches!(
            load_agent(store, 9, 1001),
            Err(StoreError::Corrupt { cf: Cf::Agents, .. })
        ));
        assert!(matches!(
            load_roles(store, 9),
            Err(StoreError::Corrupt { cf: Cf::Roles, .. })
        ));
        assert!(matches!(
            list_accounts(store, Some(8), 10),
            Err(StoreError::KeyMismatch {
                cf: Cf::Accounts,
                ..
            })
        ));
    }

    #[test]
    fn memory_store_behaves() {
        exercise_store(&MemoryStore::new());
    }

    #[test]
    fn records_encoded_in_place_are_the_bytes_encode_gives() {
        use chat_records::{ClientMsgRecord, MessageRecord};
        use kefu_wire::chat::{CustomerId, MessageBody, Party};
        let message = MessageRecord {
            account: 7,
            customer: CustomerId::Identified("alice".into()),
            conversation: 3,
            id: 11,
            at: 1_700_000_000_000,
            from: Party::Customer,
            body: MessageBody::Text("hello".into()),
            served_by: Some(1001),
        };
        let mut in_place = Batch::new();
        in_place.put_message(&message);
        in_place.put_record(Cf::ClientMsgs, b"k", &ClientMsgRecord { message: 11 });
        in_place.delete(Cf::Meta, b"gone");
        let mut copied = Batch::new();
        let key = keys::message(7, &message.customer, 11);
        copied.put(Cf::Messages, &key, message.encode());
        copied.put(
            Cf::ClientMsgs,
            b"k",
            ClientMsgRecord { message: 11 }.encode(),
        );
        copied.delete(Cf::Meta, b"gone");
        assert_eq!(in_place, copied);
        assert_eq!(keys::message_buf(7, &message.customer, 11).as_slice(), key);

        // Cleared, the batch keeps its value buffer for the next turn (small ones).
        in_place.clear();
        assert!(in_place.is_empty());
        assert_eq!(in_place.ops().count(), 0);
        assert!(in_place.values.capacity() > 0);
        in_place.put(Cf::Meta, b"big", vec![0; KEPT_VALUE_BYTES + 1]);
        in_place.clear();
        assert_eq!(in_place.values.capacity(), 0);
    }

    #[test]
    fn batch_reports_ops_in_order() {
        let mut batch = Batch::new();
        batch.put(Cf::Meta, b"a", vec![1]);
        batch.delete(Cf::Meta, b"a");
        let ops: Vec<_> = batch.ops().collect();
        assert_eq!(
            ops,
            [
                BatchOp::Put {
                    cf: Cf::Meta,
                    key: b"a",
                    value: &[1]
                },
                BatchOp::Delete {
                    cf: Cf::Meta,
                    key: b"a"
                },
            ]
        );
    }
}
