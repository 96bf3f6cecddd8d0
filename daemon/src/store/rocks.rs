//! RocksDB implementation of [`KvStore`]: the only file in the daemon that names RocksDB.
//!
//! One database, one column family per [`Cf`], LZ4-compressed, one block cache shared by
//! every column family. Opening checks the schema version read-only before anything is
//! written, so a data directory from a newer release is refused untouched.
//!
//! **A full disk.** A write that fails for lack of space is refused as
//! [`StoreError::DiskFull`] and nothing of it is stored (RocksDB writes the WAL before the
//! memtable). RocksDB then keeps a background error that fails every later write, and
//! clears it by itself only once a whole write buffer (64 MiB) is free, polling every 5 s;
//! the C API binds neither `DB::Resume` nor a way to tune that. So the store recovers by
//! itself: while the disk is full each write first looks at the free space (`statvfs`),
//! is refused at once if there is too little, and otherwise reopens the database (closing
//! it clears the error; opening replays the WAL, flushes it to tables and starts a new
//! one) and then writes. "Enough" is the size of the WAL files plus [`RECOVERY_MARGIN`],
//! what the reopen itself writes. Reads go on throughout: they take the database's read
//! lock for their duration, the reopen takes the write lock, so they wait while it runs.
//! If a reopen fails the database is opened read-only (which writes nothing) so reads go
//! on, and a later write tries the reopen again; only if that read-only open fails too
//! do reads fail until then. Entering and leaving the full state are logged once each.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{
    Arc, Mutex, MutexGuard, OnceLock, PoisonError, RwLock, RwLockReadGuard, TryLockError,
};

use rocksdb::{
    BlockBasedOptions, Cache, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType,
    DBRecoveryMode, Env, Options, ReadOptions, WriteBatch, WriteOptions, DB,
    DEFAULT_COLUMN_FAMILY_NAME,
};

use crate::log;

use super::commit_feed::CommitFeed;
use super::{
    keys, load_schema_version, AccountChanges, BackupError, BackupSummary, Batch, BatchOp, Cf,
    ChangeLimits, Durability, KeyValue, KvStore, LoggedBatch, SchemaVersion, StorageProbe,
    StoreError, CURRENT_SCHEMA_VERSION, OLDEST_SCHEMA_VERSION,
};

/// Tuning of the RocksDB engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RocksOptions {
    /// Files RocksDB may keep open (`max_open_files`). Default 512: the process is limited
    /// to 20,000 descriptors and the sockets need them. `-1` means unlimited.
    pub max_open_files: i32,
    /// Size of the block cache shared by all column families, in bytes. Default 64 MiB.
    pub block_cache_bytes: usize,
    /// Background flush and compaction threads. Default 2.
    pub max_background_jobs: i32,
    /// Total size of write-ahead logs before the column families holding the oldest one
    /// are flushed, in bytes. Default 256 MiB; bounds recovery time and disk use when
    /// some column families are rarely written.
    pub max_total_wal_bytes: u64,
    /// Where online backups go (`[storage] backup_dir`); `None`: no backups.
    pub backup_dir: Option<PathBuf>,
    /// Seconds RocksDB keeps write-ahead logs after their memtables are flushed
    /// (`[storage] wal_archive_seconds`), so that the batches since a point can be read
    /// back ([`RocksStore::batches_after`]). Default 0: logs are deleted once flushed.
    pub wal_archive_seconds: u64,
    /// Memtable size of the column families whose few records are overwritten at
    /// message rate ([`Cf::RoutingSettings`]: every customer message rewrites its
    /// conversation's unread count), in bytes. Default 1 MiB, against RocksDB's 64 MiB
    /// for the others: each overwrite is one more skiplist node, so a large memtable
    /// holds up to a million versions of a hundred keys and every insert walks a deep
    /// list; a small one stays shallow, and its flush keeps one version per key, so
    /// flushing it often costs little (`benches/benches/memtable.rs`).
    pub overwritten_memtable_bytes: usize,
    /// Whether the column families written per message start each memtable insert
    /// from where the last insert of the same entity went ([`insert_hint_prefix`]).
    /// Default on; off only to measure it (`benches/benches/memtable.rs`). Either way
    /// the data is the same: a data directory opens with either setting.
    pub memtable_insert_hints: bool,
}

impl Default for RocksOptions {
    fn default() -> Self {
        RocksOptions {
            max_open_files: 512,
            block_cache_bytes: 64 << 20,
            max_background_jobs: 2,
            max_total_wal_bytes: 256 << 20,
            backup_dir: None,
            wal_archive_seconds: 0,
            overwritten_memtable_bytes: 1 << 20,
            memtable_insert_hints: true,
        }
    }
}

/// Free space, beyond the size of the WAL files, that a reopen after a full disk asks
/// for: the new WAL, MANIFEST and OPTIONS files and the info log.
pub const RECOVERY_MARGIN: u64 = 2 << 20;

/// A [`KvStore`] backed by RocksDB. Dropping it closes the database.
pub struct RocksStore {
    /// The database: read-only after a failed reopen, `None` only if the read-only
    /// open failed too; either way `full` is set until a reopen succeeds.
    db: RwLock<Option<DB>>,
    path: PathBuf,
    opts: RocksOptions,
    /// A write failed for lack of space and no reopen has succeeded since.
    full: AtomicBool,
    /// Held while a backup operation runs: one at a time.
    backup: Mutex<()>,
    /// The write options of a `wal` and of an `fsync` write, made once rather than
    /// once a commit.
    write_wal: WriteOptions,
    write_fsync: WriteOptions,
    /// A primary's replication sender takes the committed batches from here
    /// ([`RocksStore::commit_feed`]); unset, writes pay nothing for it.
    feed: OnceLock<Arc<CommitFeed>>,
    /// Held across a write and its push to the feed, so that the feed sees the batches
    /// in sequence order (only while a feed is set).
    write_order: Mutex<()>,
}

/// Batch data the commit feed keeps for a sender that has not taken it (beyond, the
/// sender reads the log back).
const FEED_BYTES: usize = 32 << 20;

impl std::fmt::Debug for RocksStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RocksStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl From<rocksdb::Error> for StoreError {
    fn from(e: rocksdb::Error) -> Self {
        StoreError::Engine(e.into_string())
    }
}

/// Opens (creating if needed) the store in `dir`.
///
/// Creates the directory and every column family this build knows (a directory written
/// by an older build, with fewer column families, gains the new ones). Records the schema
/// version on first open; refuses a directory whose schema version is newer than
/// [`CURRENT_SCHEMA_VERSION`] or older than [`OLDEST_SCHEMA_VERSION`], and a directory
/// holding some other RocksDB database.
pub fn open_rocks(dir: &Path, opts: &RocksOptions) -> Result<RocksStore, StoreError> {
    let io_err = |source| StoreError::Io {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io_err)?;
    let store = RocksStore::new(open_db(dir, opts, false)?, dir, opts);
    match load_schema_version(&store)? {
        Some(version) => {
            check_schema(version)?;
            migrate(&store, version)?;
        }
        None => {
            let mut batch = Batch::new();
            batch.put_schema_version(SchemaVersion(CURRENT_SCHEMA_VERSION));
            store.write(&batch, Durability::Fsync)?;
        }
    }
    Ok(store)
}

/// Opens (creating if needed) the store in `dir` for a standby (`cluster/standby.rs`):
/// like [`open_rocks`], but writes nothing — not even the schema version of a new
/// directory — so that its sequence numbers stay the primary's (every write it ever
/// gets is a batch of the primary, applied in order).
pub fn open_rocks_follower(dir: &Path, opts: &RocksOptions) -> Result<RocksStore, StoreError> {
    std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
        path: dir.to_owned(),
        source,
    })?;
    let store = RocksStore::new(open_db(dir, opts, false)?, dir, opts);
    if let Some(version) = load_schema_version(&store)? {
        check_schema(version)?;
    }
    Ok(store)
}

/// Opens the database in `dir` with every column family, after checking read-only that
/// it is a Kefu store of a schema this build supports. `read_only` opens it for reads
/// only, which writes nothing to the disk (the fallback after a failed reopen).
fn open_db(dir: &Path, opts: &RocksOptions, read_only: bool) -> Result<DB, StoreError> {
    let io_err = |source| StoreError::Io {
        path: dir.to_owned(),
        source,
    };
    let db_opts = db_options(opts);

    let existing = if dir.join("CURRENT").try_exists().map_err(io_err)? {
        DB::list_cf(&db_opts, dir)?
    } else {
        Vec::new()
    };
    if !existing.is_empty() {
        if !existing.iter().any(|name| name == Cf::Meta.name()) {
            return Err(StoreError::NotAKefuStore {
                path: dir.to_owned(),
            });
        }
        // Read-only first, so that a newer directory is refused before we write to it.
        let probe = RocksStore::new(
            DB::open_cf_for_read_only(&db_opts, dir, [Cf::Meta.name()], false)?,
            dir,
            opts,
        );
        if let Some(version) = load_schema_version(&probe)? {
            check_schema(version)?;
        }
    }

    let cache = Cache::new_lru_cache(opts.block_cache_bytes);
    let mut descriptors: Vec<ColumnFamilyDescriptor> = Cf::ALL
        .iter()
        .map(|&cf| {
            Ok(ColumnFamilyDescriptor::new(
                cf.name(),
                cf_options(&cache, opts, Some(cf))?,
            ))
        })
        .collect::<Result<_, StoreError>>()?;
    // RocksDB must open every column family on disk. Ones this build does not know (added
    // by a newer build of the same schema version) are opened and left alone.
    for name in existing {
        if name != DEFAULT_COLUMN_FAMILY_NAME && Cf::from_name(&name).is_none() {
            descriptors.push(ColumnFamilyDescriptor::new(
                name,
                cf_options(&cache, opts, None)?,
            ));
        }
    }
    if read_only {
        Ok(DB::open_cf_descriptors_read_only(
            &db_opts,
            dir,
            descriptors,
            false,
        )?)
    } else {
        Ok(DB::open_cf_descriptors(&db_opts, dir, descriptors)?)
    }
}

/// Brings a directory of an older supported schema up to [`CURRENT_SCHEMA_VERSION`], one
/// step at a time; each step ends by writing its version, so an interrupted migration
/// runs again (idempotently) at the next open.
fn migrate(store: &RocksStore, SchemaVersion(from): SchemaVersion) -> Result<(), StoreError> {
    if from < 2 {
        fill_open_conversations(store)?;
    }
    Ok(())
}

/// 1 → 2: copy every conversation without a closing time into `open_conversations`.
fn fill_open_conversations(store: &RocksStore) -> Result<(), StoreError> {
    use super::chat_records::ConversationRecord;
    use super::StoredRecord;
    const CHUNK: usize = 4_096;
    let mut start = Vec::new();
    loop {
        let rows = store.scan(
            Cf::Conversations,
            &start,
            &super::keys::AFTER_ALL_KEYS,
            CHUNK,
        )?;
        let mut batch = Batch::new();
        for (key, value) in &rows {
            let record =
                ConversationRecord::decode(value).map_err(|reason| StoreError::Corrupt {
                    cf: Cf::Conversations,
                    key: super::keys::hex(key),
                    reason,
                })?;
            if record.closed_at.is_none() {
                batch.put(Cf::OpenConversations, key, value.clone());
            }
        }
        if !batch.is_empty() {
            store.write(&batch, Durability::Fsync)?;
        }
        match rows.last() {
            Some((last, _)) if rows.len() == CHUNK => {
                start.clone_from(last);
                start.push(0);
            }
            _ => break,
        }
    }
    let mut batch = Batch::new();
    batch.put_schema_version(SchemaVersion(2));
    store.write(&batch, Durability::Fsync)
}

fn check_schema(SchemaVersion(found): SchemaVersion) -> Result<(), StoreError> {
    if found > CURRENT_SCHEMA_VERSION {
        Err(StoreError::SchemaTooNew {
            found,
            supported: CURRENT_SCHEMA_VERSION,
        })
    } else if found < OLDEST_SCHEMA_VERSION {
        Err(StoreError::SchemaTooOld {
            found,
            oldest: OLDEST_SCHEMA_VERSION,
        })
    } else {
        // Migrations from older supported versions go here once there are any.
        Ok(())
    }
}

fn db_options(opts: &RocksOptions) -> Options {
    let mut o = Options::default();
    o.create_if_missing(true);
    o.create_missing_column_families(true);
    o.set_max_open_files(opts.max_open_files);
    o.set_max_background_jobs(opts.max_background_jobs);
    o.set_max_total_wal_size(opts.max_total_wal_bytes);
    // RocksDB's own info LOG files: keep a few, not the default thousand.
    o.set_keep_log_file_num(10);
    // Corruption is an error at open, never a silently shorter database: checksums
    // and file sizes are checked, and a write-ahead log that does not read back is
    // refused unless the damage is an incomplete record at its very end (what a
    // crash during an unsynced write leaves; such a record was never acknowledged
    // in `fsync` mode). The default, point-in-time recovery, would instead stop at
    // the damage and drop every record after it without a word.
    o.set_paranoid_checks(true);
    o.set_wal_recovery_mode(DBRecoveryMode::TolerateCorruptedTailRecords);
    if opts.wal_archive_seconds > 0 {
        o.set_wal_ttl_seconds(opts.wal_archive_seconds);
    }
    // The shards' loops come first. Compaction runs at the lowest CPU and I/O priority
    // (flushes keep theirs: a starved flush would stop the loops' writes instead), and
    // table files are written back a megabyte at a time rather than by the kernel in
    // one burst when they are closed, which stalls whoever writes next.
    if let Ok(mut env) = Env::new() {
        env.lower_thread_pool_cpu_priority();
        env.lower_thread_pool_io_priority();
        o.set_env(&env);
    }
    o.set_bytes_per_sync(1 << 20);
    o
}

/// The options of column family `cf` (`None`: one this build does not know).
fn cf_options(cache: &Cache, opts: &RocksOptions, cf: Option<Cf>) -> Result<Options, StoreError> {
    let mut table = BlockBasedOptions::default();
    table.set_block_cache(cache);
    // Point reads dominate: a bloom filter skips files without the key.
    table.set_bloom_filter(10.0, false);
    // Keep index and filter memory inside the bounded block cache.
    table.set_cache_index_and_filter_blocks(true);
    table.set_pin_l0_filter_and_index_blocks_in_cache(true);

    // The options string goes first, onto fresh options: `get_options_from_string`
    // returns new options that copy the C++ side of the old but not what the Rust
    // side keeps alive for the database (the block cache of the table factory), so
    // everything that needs keeping alive is set on the options it returns.
    let mut o = match cf.and_then(insert_hint_prefix) {
        Some(prefix) if opts.memtable_insert_hints => Options::default().get_options_from_string(
            format!("memtable_insert_with_hint_prefix_extractor=rocksdb.FixedPrefix.{prefix}"),
        )?,
        _ => Options::default(),
    };
    o.set_compression_type(DBCompressionType::Lz4);
    o.set_block_based_table_factory(&table);
    if cf == Some(Cf::RoutingSettings) {
        o.set_write_buffer_size(opts.overwritten_memtable_bytes);
    }
    Ok(o)
}

/// The key prefix that names one entity of column family `cf` whose records are
/// written one after another at message rate, if it has such a prefix: RocksDB then
/// keeps, per prefix, where in the memtable's skiplist the last insert went, and the
/// next insert of that prefix starts there instead of descending from the top (the
/// descent, `InlineSkipList::RecomputeSpliceLevels`, was the largest single cost of a
/// message: benches/PROFILE.md). The place is only a starting point: keys land in
/// order whatever the prefix, so a worse prefix costs speed, never data.
///
/// RocksDB's fixed-length prefix: a key shorter than it takes no hint (inserted as
/// before). A prefix too short lumps entities together (the hint lands near, not next
/// to, the new key); one reaching into a key's trailing id bytes gives a new place to
/// remember as often as those bytes change: at the lowest byte, one per insert, each
/// 232 bytes of the memtable's arena (so its memtables fill and flush sooner) and a
/// hash-map entry, besides an ordinary insert. Layouts in `keys.rs`.
fn insert_hint_prefix(cf: Cf) -> Option<usize> {
    match cf {
        // account (8) ‖ customer key ‖ id (8); a customer key is 0x01 ‖ len ‖ id bytes
        // or 0x02 ‖ 16 bytes. 22 bytes: 12 bytes of an identified customer's id, which
        // tells apart phone numbers (11 digits, the last byte of the prefix then the
        // message id's top byte, which changes every 2^56 messages), QQ numbers, and
        // the leading 12 characters of UUIDs and openids; and the load harness's
        // `kefu-load-NN`. A visitor's 13 first bytes (random). Ids of 1-3 bytes take
        // no hint; 4-byte ids are the worst case above (a place per message: 5.5 µs of
        // the writer's CPU a message in the bench against 3.6 without hints), 5-byte
        // ids a place per 256 messages of the account. Ids alike in their first 12
        // bytes share one place: about the cost without hints.
        // `client_msgs`: the same customer keys; an agent's keys (21 bytes) take no hint.
        Cf::Messages | Cf::ClientMsgs => Some(22),
        // account (8) ‖ lower agent (4) ‖ higher agent (4) ‖ id (8): the pair.
        Cf::InternalMessages => Some(16),
        // account (8) ‖ `U` ‖ conversation (8): a conversation's unread count,
        // rewritten with every customer message (a new version goes just before the
        // last one); the other 17-byte keys (`W`, `P`) likewise. Shorter keys (the
        // account's settings) take no hint.
        Cf::RoutingSettings => Some(17),
        // account (8): the account's counters, rewritten every turn.
        Cf::Counters => Some(8),
        _ => None,
    }
}

fn cf(db: &DB, cf: Cf) -> Result<&ColumnFamily, StoreError> {
    db.cf_handle(cf.name())
        .ok_or_else(|| StoreError::Engine(format!("column family {cf} is not open")))
}

/// Free bytes for an unprivileged writer on the filesystem holding `path`.
// The statvfs field types differ between platforms; on some the conversions are no-ops.
#[allow(clippy::useless_conversion)]
fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` is ours to write into.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    (rc == 0).then(|| u64::from(st.f_bavail).saturating_mul(u64::from(st.f_frsize)))
}

/// Total size of the WAL files (`*.log`) in `dir`: what a reopen flushes to tables.
fn wal_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Whether a failed write failed for lack of space. RocksDB's error carries no
/// errno, only its text (`IO error: No space left on device: ...`).
fn is_no_space(e: &rocksdb::Error) -> bool {
    let text = e.as_ref();
    text.contains("No space left on device") || text.contains("NoSpace")
}

impl RocksStore {
    fn new(db: DB, dir: &Path, opts: &RocksOptions) -> RocksStore {
        RocksStore {
            db: RwLock::new(Some(db)),
            path: dir.to_owned(),
            opts: opts.clone(),
            full: AtomicBool::new(false),
            backup: Mutex::new(()),
            write_wal: WriteOptions::default(),
            write_fsync: {
                let mut o = WriteOptions::default();
                o.set_sync(true);
                o
            },
            feed: OnceLock::new(),
            write_order: Mutex::new(()),
        }
    }

    /// The feed of this store's committed batches, set up on first call: from then on
    /// every write is also pushed there (`store/commit_feed.rs`).
    pub fn commit_feed(&self) -> Arc<CommitFeed> {
        Arc::clone(
            self.feed
                .get_or_init(|| Arc::new(CommitFeed::new(FEED_BYTES))),
        )
    }

    /// The backup directory and the right to run a backup operation now.
    fn backup_slot(&self) -> Result<(&Path, MutexGuard<'_, ()>), BackupError> {
        let dir = self
            .opts
            .backup_dir
            .as_deref()
            .ok_or(BackupError::Unsupported(
                "no backup directory is configured ([storage] backup_dir)",
            ))?;
        let guard = match self.backup.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Err(BackupError::Busy),
        };
        Ok((dir, guard))
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The sequence number of the last committed write (`rocks_wal.rs`).
    pub fn latest_sequence(&self) -> Result<u64, StoreError> {
        self.with_db(|db| Ok(super::rocks_wal::latest_sequence(db)))
    }

    /// Up to `max` batches committed after sequence `after`, oldest first, read back
    /// from the write-ahead log (`rocks_wal.rs`).
    pub fn batches_after(&self, after: u64, max: usize) -> Result<Vec<LoggedBatch>, StoreError> {
        self.with_db(|db| super::rocks_wal::batches_after(db, after, max))
    }

    /// Applies a batch read from another copy of this database, synced.
    pub fn apply_logged(&self, batch: &LoggedBatch) -> Result<(), StoreError> {
        self.with_db(|db| super::rocks_wal::apply(db, &batch.data, true))
    }

    /// [`Self::apply_logged`] of a batch's bytes as received, synced only if `sync`: a
    /// standby applying a group syncs its last batch only, which syncs the group
    /// (`cluster/standby.rs`).
    pub fn apply_logged_data(&self, data: &[u8], sync: bool) -> Result<(), StoreError> {
        self.with_db(|db| super::rocks_wal::apply(db, data, sync))
    }

    /// `f` on the open database, under its read lock.
    fn with_db<T>(&self, f: impl FnOnce(&DB) -> Result<T, StoreError>) -> Result<T, StoreError> {
        let guard = self.db()?;
        match guard.as_ref() {
            Some(db) => f(db),
            None => Err(StoreError::Engine("the database is closed".into())), // db() refuses it
        }
    }

    /// The open database, read-locked (a reopen waits for it).
    fn db(&self) -> Result<RwLockReadGuard<'_, Option<DB>>, StoreError> {
        let guard = self.db.read().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            return Err(StoreError::Engine(
                "the database is closed: reopening it after a full disk failed; \
                 the next write tries again"
                    .into(),
            ));
        }
        Ok(guard)
    }

    fn disk_full(&self) -> StoreError {
        StoreError::DiskFull {
            path: self.path.clone(),
        }
    }

    /// Whether there is room now to reopen after a full disk (see the module doc).
    fn room_to_recover(&self) -> bool {
        free_bytes(&self.path)
            .is_some_and(|free| free >= wal_bytes(&self.path).saturating_add(RECOVERY_MARGIN))
    }

    /// A write failed for lack of space: refuse writes from now on (logged once).
    fn enter_full(&self, e: &rocksdb::Error) {
        if !self.full.swap(true, Ordering::AcqRel) {
            log::error(
                0,
                format_args!(
                    "storage: disk full at {} ({}): writes are refused, reads and logins \
                     are served; writes resume by themselves once the size of the WAL \
                     files plus {} KiB is free",
                    self.path.display(),
                    e.as_ref(),
                    RECOVERY_MARGIN >> 10
                ),
            );
        }
    }

    /// The disk was full: if there is room again, reopen the database so that its
    /// background error is gone. `Err(DiskFull)` if there is still no room.
    fn recover(&self) -> Result<(), StoreError> {
        if !self.room_to_recover() {
            return Err(self.disk_full());
        }
        let mut guard = self.db.write().unwrap_or_else(PoisonError::into_inner);
        if !self.full.load(Ordering::Acquire) && guard.is_some() {
            return Ok(()); // another thread reopened it while we waited
        }
        // Close first: RocksDB's lock file allows one open database per directory.
        drop(guard.take());
        match open_db(&self.path, &self.opts, false) {
            Ok(db) => {
                *guard = Some(db);
                self.full.store(false, Ordering::Release);
                log::info(
                    0,
                    format_args!(
                        "storage: space freed at {}, database reopened: writes are \
                         accepted again",
                        self.path.display()
                    ),
                );
                Ok(())
            }
            Err(e) => {
                // Reads go on from a read-only open, which writes nothing; writes stay
                // refused, and the next one tries the reopen again.
                let fallback = open_db(&self.path, &self.opts, true);
                let reads = match &fallback {
                    Ok(_) => "reads are served read-only".to_string(),
                    Err(e) => format!("reads fail too ({e})"),
                };
                *guard = fallback.ok();
                log::error(
                    0,
                    format_args!(
                        "storage: reopening {} after a full disk failed ({e}); {reads}; \
                         the next write tries again",
                        self.path.display()
                    ),
                );
                Err(self.disk_full())
            }
        }
    }
}

impl RocksStore {
    /// Keys in `[start, end)`, ascending or descending, at most `limit`; both bounds
    /// are given to the iterator, so a scan never wanders into the next account.
    fn bounded_scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<KeyValue>, StoreError> {
        if start >= end || limit == 0 {
            return Ok(Vec::new());
        }
        let guard = self.db()?;
        let Some(db) = guard.as_ref() else {
            return Ok(Vec::new()); // db() refuses a closed database
        };
        let handle = self::cf(db, cf)?;
        let mut read = ReadOptions::default();
        read.set_iterate_lower_bound(start);
        read.set_iterate_upper_bound(end);
        let mut iter = db.raw_iterator_cf_opt(handle, read);
        if reverse {
            iter.seek_to_last();
        } else {
            iter.seek(start);
        }
        let mut out = Vec::new();
        while out.len() < limit {
            let (Some(key), Some(value)) = (iter.key(), iter.value()) else {
                break;
            };
            out.push((key.to_vec(), value.to_vec()));
            if reverse {
                iter.prev();
            } else {
                iter.next();
            }
        }
        iter.status()?;
        Ok(out)
    }
}

impl KvStore for RocksStore {
    fn get(&self, cf: Cf, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let guard = self.db()?;
        let Some(db) = guard.as_ref() else {
            return Ok(None); // db() refuses a closed database
        };
        Ok(db.get_cf(self::cf(db, cf)?, key)?)
    }

    fn scan(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        self.bounded_scan(cf, start, end, limit, false)
    }

    fn scan_reverse(
        &self,
        cf: Cf,
        start: &[u8],
        end: &[u8],
        limit: usize,
    ) -> Result<Vec<KeyValue>, StoreError> {
        self.bounded_scan(cf, start, end, limit, true)
    }

    fn latest_sequence(&self) -> Option<u64> {
        RocksStore::latest_sequence(self).ok()
    }

    fn account_changes(
        &self,
        account: u64,
        after: u64,
        limits: &ChangeLimits,
    ) -> Result<AccountChanges, StoreError> {
        self.with_db(|db| {
            let handles = Cf::ALL
                .into_iter()
                .filter_map(|c| Some((c, self::cf(db, c).ok()?)));
            let ids = super::rocks_wal::column_family_ids(handles);
            super::rocks_wal::account_changes(db, &ids, account, after, limits)
        })
    }

    fn write(&self, batch: &Batch, durability: Durability) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        // While the disk is full the database may be open read-only (a reopen failed):
        // no write reaches it before `recover` has reopened it for writing.
        if self.full.load(Ordering::Acquire) || self.db.read().is_ok_and(|g| g.is_none()) {
            self.recover()?;
        }
        let guard = self.db()?;
        let Some(db) = guard.as_ref() else {
            return Err(self.disk_full()); // db() refuses a closed database
        };
        // One allocation for RocksDB's batch: its record of an operation is the key,
        // the value and at most 16 bytes of tag, column family and lengths.
        let bytes = batch.ops().fold(12, |n, op| {
            n + 16
                + match op {
                    BatchOp::Put { key, value, .. } => key.len() + value.len(),
                    BatchOp::Delete { key, .. } => key.len(),
                    BatchOp::DeleteRange { start, end, .. } => start.len() + end.len(),
                }
        });
        let mut wb = WriteBatch::with_capacity_bytes(bytes);
        for op in batch.ops() {
            match op {
                BatchOp::Put { cf, key, value } => wb.put_cf(self::cf(db, cf)?, key, value),
                BatchOp::Delete { cf, key } => wb.delete_cf(self::cf(db, cf)?, key),
                BatchOp::DeleteRange { cf, start, end } => {
                    wb.delete_range_cf(self::cf(db, cf)?, start, end)
                }
            }
        }
        let write = match durability {
            Durability::Fsync => &self.write_fsync,
            Durability::Wal => &self.write_wal,
        };
        let written = match self.feed.get() {
            None => db.write_opt(wb, write),
            Some(feed) => {
                let _order = self
                    .write_order
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                let sequence = db.latest_sequence_number() + 1;
                let (count, mut data) = (wb.len() as u64, wb.data().to_vec());
                // The header's sequence as the log will hold it (RocksDB sets it there
                // while writing), so that the feed's bytes are the log's.
                if let Some(header) = data.get_mut(..8) {
                    header.copy_from_slice(&sequence.to_le_bytes());
                }
                let written = db.write_opt(wb, write);
                if written.is_ok() {
                    feed.push(LoggedBatch { sequence, data }, count);
                }
                written
            }
        };
        match written {
            Ok(()) => Ok(()),
            Err(e) if is_no_space(&e) => {
                self.enter_full(&e);
                Err(self.disk_full())
            }
            Err(e) => Err(e.into()),
        }
    }

    fn accepting_writes(&self) -> bool {
        !self.full.load(Ordering::Acquire) || self.room_to_recover()
    }

    fn probe(&self) -> StorageProbe {
        let mut batch = Batch::new();
        batch.put(Cf::Meta, keys::META_STORAGE_PROBE, vec![1]);
        let started = std::time::Instant::now();
        let written = self.write(&batch, Durability::Fsync);
        let (free_bytes, total_bytes) = fs_space(&self.path).unwrap_or((0, 0));
        StorageProbe {
            data_dir: self.path.display().to_string(),
            synced_write: written.map(|()| started.elapsed()),
            free_bytes,
            total_bytes,
        }
    }

    fn engine_stats(&self) -> Vec<(&'static str, u64)> {
        let Ok(guard) = self.db() else {
            return Vec::new();
        };
        let Some(db) = guard.as_ref() else {
            return Vec::new();
        };
        let mut stats: Vec<(&'static str, u64)> = ENGINE_PROPERTIES
            .iter()
            .map(|&(name, property)| {
                let sum = Cf::ALL
                    .iter()
                    .filter_map(|&c| cf(db, c).ok())
                    .filter_map(|h| db.property_int_value_cf(h, property).ok().flatten())
                    .fold(0u64, u64::saturating_add);
                (name, sum)
            })
            .collect();
        // Database-wide figures, read once (summed over the column families they
        // would be counted once per column family).
        stats.extend(ENGINE_DB_PROPERTIES.iter().map(|&(name, property)| {
            (
                name,
                db.property_int_value(property).ok().flatten().unwrap_or(0),
            )
        }));
        let stall = db
            .property_value("rocksdb.stats")
            .ok()
            .flatten()
            .and_then(|text| cumulative_stall_micros(&text));
        stats.push(("rocksdb_stall_micros", stall.unwrap_or(0)));
        stats
    }

    fn compact_account(&self, account: u64) -> Result<(), StoreError> {
        let guard = self.db()?;
        let Some(db) = guard.as_ref() else {
            return Err(self.disk_full());
        };
        let range = keys::account_prefix(account);
        for c in Cf::ALL.into_iter().filter(|c| c.is_account_scoped()) {
            let handle = cf(db, c)?;
            // Flushed first, so the tombstones and the keys they cover meet in the tables
            // the compaction rewrites.
            db.flush_cf(handle)?;
            db.compact_range_cf(handle, Some(&range.start), Some(&range.end));
        }
        // Tokens are keyed by serial, scattered: the whole (small) column family.
        let tokens = cf(db, Cf::Tokens)?;
        db.flush_cf(tokens)?;
        db.compact_range_cf(tokens, None::<&[u8]>, None::<&[u8]>);
        Ok(())
    }

    /// Holds the database's read lock for the copy: writes go on; a reopen after a
    /// full disk waits for the backup to finish.
    fn create_backup(&self) -> Result<BackupSummary, BackupError> {
        let (dir, _one_at_a_time) = self.backup_slot()?;
        let guard = self.db().map_err(|e| BackupError::Failed(e.to_string()))?;
        let Some(db) = guard.as_ref() else {
            return Err(BackupError::Failed("the database is closed".into()));
        };
        super::rocks_backup::create(db, dir)
    }

    fn list_backups(&self) -> Result<Vec<BackupSummary>, BackupError> {
        let (dir, _one_at_a_time) = self.backup_slot()?;
        super::rocks_backup::list(dir)
    }

    fn verify_backup(&self, id: u32) -> Result<BackupSummary, BackupError> {
        let (dir, _one_at_a_time) = self.backup_slot()?;
        super::rocks_backup::verify(dir, id)
    }
}

/// RocksDB properties in the metrics (summed over the column families), by the name
/// the metrics give them.
const ENGINE_PROPERTIES: [(&str, &str); 8] = [
    (
        "rocksdb_immutable_memtables",
        "rocksdb.num-immutable-mem-table",
    ),
    (
        "rocksdb_memtable_flushes_pending",
        "rocksdb.mem-table-flush-pending",
    ),
    ("rocksdb_compactions_pending", "rocksdb.compaction-pending"),
    ("rocksdb_estimated_keys", "rocksdb.estimate-num-keys"),
    ("rocksdb_live_data_bytes", "rocksdb.estimate-live-data-size"),
    ("rocksdb_sst_files_bytes", "rocksdb.total-sst-files-size"),
    ("rocksdb_memtable_bytes", "rocksdb.cur-size-all-mem-tables"),
    (
        "rocksdb_pending_compaction_bytes",
        "rocksdb.estimate-pending-compaction-bytes",
    ),
];

/// Database-wide RocksDB properties in the metrics (the block cache is shared by
/// every column family), by the name the metrics give them.
const ENGINE_DB_PROPERTIES: [(&str, &str); 6] = [
    ("rocksdb_block_cache_bytes", "rocksdb.block-cache-usage"),
    (
        "rocksdb_running_compactions",
        "rocksdb.num-running-compactions",
    ),
    ("rocksdb_running_flushes", "rocksdb.num-running-flushes"),
    ("rocksdb_write_stopped", "rocksdb.is-write-stopped"),
    (
        "rocksdb_delayed_write_rate",
        "rocksdb.actual-delayed-write-rate",
    ),
    ("rocksdb_background_errors", "rocksdb.background-errors"),
];

/// The cumulative write stall of the `rocksdb.stats` text (`Cumulative stall:
/// 00:00:1.234 H:M:S, 0.1 percent`), in microseconds: the time writers were slowed
/// or stopped for flushes and compactions to catch up.
fn cumulative_stall_micros(text: &str) -> Option<u64> {
    let rest = text.split("Cumulative stall:").nth(1)?;
    let hms = rest.split_whitespace().next()?;
    let mut parts = hms.split(':');
    let hours: f64 = parts.next()?.parse().ok()?;
    let minutes: f64 = parts.next()?.parse().ok()?;
    let seconds: f64 = parts.next()?.parse().ok()?;
    let micros = ((hours * 60.0 + minutes) * 60.0 + seconds) * 1e6;
    // Whole microseconds of a finite, non-negative duration.
    (micros.is_finite() && micros >= 0.0).then(|| micros.round() as u64)
}

/// (free bytes for an unprivileged writer, total bytes) of the filesystem holding `path`.
#[allow(clippy::useless_conversion)]
fn fs_space(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: an all-zero statvfs is a valid value of this plain C struct.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is NUL-terminated and `st` is ours to write into.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    let frsize = u64::from(st.f_frsize);
    (rc == 0).then(|| {
        (
            u64::from(st.f_bavail).saturating_mul(frsize),
            u64::from(st.f_blocks).saturating_mul(frsize),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::store::records::StoredRecord;
    use crate::store::tests::{account, agent, exercise_store};
    use crate::store::{keys, list_agents, load_account, load_agent};

    #[test]
    fn the_cumulative_stall_is_read_from_the_stats_text() {
        let text = "Cumulative WAL: 3 writes\nCumulative stall: 00:01:2.500 H:M:S, 0.1 percent\nInterval stall: 00:00:0.000 H:M:S";
        assert_eq!(cumulative_stall_micros(text), Some(62_500_000));
        assert_eq!(cumulative_stall_micros("no such line"), None);
        assert_eq!(cumulative_stall_micros("Cumulative stall: x:y:z"), None);
    }

    fn open(dir: &Path) -> Result<RocksStore, StoreError> {
        open_rocks(dir, &RocksOptions::default())
    }

    fn temp() -> tempfile::TempDir {
        tempfile::TempDir::new().expect("tempdir")
    }

    #[test]
    fn a_logged_batch_names_the_accounts_it_writes_and_its_last_sequence() {
        let dir = temp();
        let store = open(dir.path()).expect("open");
        let after = store.latest_sequence().expect("latest");
        let mut batch = Batch::new();
        batch.put_account(&account(7));
        batch.put_agent(&agent(7, 1001));
        batch.delete(Cf::Agents, &keys::agent(9, 1002));
        store.write(&batch, Durability::Wal).expect("write");
        batch.clear();
        batch.put_agent(&agent(11, 1001));
        store.write(&batch, Durability::Wal).expect("write");
        // An account's deletion is a range delete; the accounts after it still count.
        batch.clear();
        batch.delete_range(Cf::Agents, &keys::account_prefix(13));
        batch.put_agent(&agent(15, 1001));
        store.write(&batch, Durability::Wal).expect("write");
        let logged = store.batches_after(after, 10).expect("the log");
        assert_eq!(logged.len(), 3);
        assert_eq!(logged[2].accounts(), Ok(vec![13, 15]));
        // Every account-scoped key, put or deleted, in any column family.
        assert_eq!(logged[0].accounts(), Ok(vec![7, 9]));
        assert_eq!(logged[1].accounts(), Ok(vec![11]));
        assert_eq!(logged[0].last_sequence(), after + 3);
        assert_eq!(logged[1].last_sequence(), after + 4);
        assert_eq!(
            logged[2].last_sequence(),
            store.latest_sequence().expect("latest")
        );
    }

    #[test]
    fn rocks_store_behaves() {
        let dir = temp();
        exercise_store(&open(dir.path()).expect("open"));
    }

    #[test]
    fn writes_survive_reopen() {
        let dir = temp();
        let path = dir.path().join("data"); // created by open
        {
            let store = open(&path).expect("open");
            assert_eq!(
                load_schema_version(&store).expect("meta"),
                Some(SchemaVersion(CURRENT_SCHEMA_VERSION))
            );
            let mut batch = Batch::new();
            batch.put_account(&account(1));
            batch.put_agent(&agent(1, 1001));
            store.write(&batch, Durability::Wal).expect("wal write");
            batch.clear();
            batch.put_agent(&agent(1, 1002));
            store.write(&batch, Durability::Fsync).expect("fsync write");
        }
        let store = open(&path).expect("reopen");
        assert_eq!(load_account(&store, 1).expect("load"), Some(account(1)));
        assert_eq!(list_agents(&store, 1).expect("list").len(), 2);
        assert_eq!(store.path(), path);
    }

    /// The state a failed reopen after a full disk leaves: the database open read-only,
    /// writes refused as full. Reads are served; once there is room, the next write
    /// reopens it for writing and goes through, and nothing is lost.
    #[test]
    fn a_full_store_serves_reads_and_the_next_write_reopens_it() {
        let dir = temp();
        {
            let store = open(dir.path()).expect("create");
            let mut batch = Batch::new();
            batch.put_account(&account(1));
            store.write(&batch, Durability::Wal).expect("write");
        }
        let opts = RocksOptions::default();
        let read_only = open_db(dir.path(), &opts, true).expect("open read-only");
        let store = RocksStore::new(read_only, dir.path(), &opts);
        store.full.store(true, Ordering::Release);
        assert_eq!(load_account(&store, 1).expect("read"), Some(account(1)));
        // The temporary directory's disk has room: writes may be tried.
        assert!(store.accepting_writes());
        let mut batch = Batch::new();
        batch.put_account(&account(2));
        store
            .write(&batch, Durability::Fsync)
            .expect("the write reopens the store");
        assert!(!store.full.load(Ordering::Acquire));
        assert_eq!(load_account(&store, 1).expect("read"), Some(account(1)));
        assert_eq!(load_account(&store, 2).expect("read"), Some(account(2)));
        drop(store);
        let store = open(dir.path()).expect("reopen");
        assert_eq!(load_account(&store, 2).expect("read"), Some(account(2)));
    }

    /// A reopen that fails (here: another handle holds the directory's lock) leaves
    /// the store read-only: reads are served, writes refused as `DiskFull`, until a
    /// later write's reopen succeeds.
    #[test]
    fn a_failed_reopen_falls_back_to_read_only() {
        let dir = temp();
        drop(open(dir.path()).expect("create"));
        let opts = RocksOptions::default();
        {
            let mut batch = Batch::new();
            batch.put_account(&account(1));
            open(dir.path())
                .expect("open")
                .write(&batch, Durability::Fsync)
                .expect("write");
        }
        let store = RocksStore::new(
            open_db(dir.path(), &opts, true).expect("open read-only"),
            dir.path(),
            &opts,
        );
        store.full.store(true, Ordering::Release);
        let holder = open_db(dir.path(), &opts, false).expect("hold the lock");
        let mut batch = Batch::new();
        batch.put_account(&account(2));
        assert!(matches!(
            store.write(&batch, Durability::Fsync),
            Err(StoreError::DiskFull { .. })
        ));
        assert_eq!(load_account(&store, 1).expect("read"), Some(account(1)));
        assert_eq!(load_account(&store, 2).expect("read"), None);
        drop(holder);
        store
            .write(&batch, Durability::Fsync)
            .expect("the lock is free: the write reopens the store");
        assert_eq!(load_account(&store, 2).expect("read"), Some(account(2)));
    }

    #[test]
    fn directory_from_an_older_build_with_fewer_cfs_opens() {
        let dir = temp();
        {
            let mut o = Options::default();
            o.create_if_missing(true);
            o.create_missing_column_families(true);
            let db = DB::open_cf(&o, dir.path(), ["meta", "accounts"]).expect("old db");
            let meta = db.cf_handle("meta").expect("meta");
            db.put_cf(meta, keys::META_SCHEMA_VERSION, SchemaVersion(1).encode())
                .expect("put");
            let accounts = db.cf_handle("accounts").expect("accounts");
            db.put_cf(accounts, keys::account(3), account(3).encode())
                .expect("put");
        }
        let store = open(dir.path()).expect("open older dir");
        assert_eq!(load_account(&store, 3).expect("load"), Some(account(3)));
        let mut batch = Batch::new();
        batch.put_agent(&agent(3, 1001));
        store
            .write(&batch, Durability::Fsync)
            .expect("write new cf");
        assert!(load_agent(&store, 3, 1001).expect("load").is_some());
    }

    /// Schema 1 → 2: the open conversations of a version-1 directory are indexed in
    /// `open_conversations` when it is opened, the closed ones are not, and the
    /// directory is then version 2.
    #[test]
    fn version_1_conversations_are_indexed_when_opened() {
        use crate::store::chat_records::ConversationRecord;
        use kefu_wire::chat::{Channel, CustomerId};
        let conversation = |id: u64, closed_at: Option<i64>| ConversationRecord {
            account: 7,
            conversation: id,
            customer: CustomerId::Identified(format!("c{id}")),
            channel: Channel::Web,
            opened_at: 1,
            agent: Some(1001),
            closed_at,
        };
        let dir = temp();
        {
            let mut o = Options::default();
            o.create_if_missing(true);
            o.create_missing_column_families(true);
            let db = DB::open_cf(&o, dir.path(), ["meta", "conversations"]).expect("old db");
            let meta = db.cf_handle("meta").expect("meta");
            db.put_cf(meta, keys::META_SCHEMA_VERSION, SchemaVersion(1).encode())
                .expect("put");
            let cf = db.cf_handle("conversations").expect("conversations");
            // More than one migration chunk, every third one still open.
            for id in 1..=10_000u64 {
                let closed = (id % 3 != 0).then_some(2);
                db.put_cf(
                    cf,
                    keys::conversation(7, id),
                    conversation(id, closed).encode(),
                )
                .expect("put");
            }
        }
        let store = open(dir.path()).expect("open a version-1 directory");
        assert_eq!(
            load_schema_version(&store).expect("meta"),
            Some(SchemaVersion(CURRENT_SCHEMA_VERSION))
        );
        let range = keys::account_prefix(7);
        let open_ones = store
            .scan(Cf::OpenConversations, &range.start, &range.end, 20_000)
            .expect("scan");
        assert_eq!(open_ones.len(), 3_333);
        for (key, value) in &open_ones {
            let r = ConversationRecord::decode(value).expect("record");
            assert_eq!(r.conversation % 3, 0);
            assert_eq!(r.closed_at, None);
            assert_eq!(key.as_slice(), keys::conversation(7, r.conversation));
        }
        // Opening again changes nothing.
        drop(store);
        let store = open(dir.path()).expect("reopen");
        let again = store
            .scan(Cf::OpenConversations, &range.start, &range.end, 20_000)
            .expect("scan");
        assert_eq!(again.len(), 3_333);
    }

    #[test]
    fn unknown_cf_of_the_same_schema_is_left_alone() {
        let dir = temp();
        drop(open(dir.path()).expect("create"));
        {
            let mut o = Options::default();
            o.create_missing_column_families(true);
            let mut names: Vec<&str> = Cf::ALL.iter().map(|cf| cf.name()).collect();
            names.push("from_the_future");
            drop(DB::open_cf(&o, dir.path(), names).expect("add cf"));
        }
        let store = open(dir.path()).expect("open with extra cf");
        let db = store.db().expect("open");
        assert!(db
            .as_ref()
            .and_then(|db| db.cf_handle("from_the_future"))
            .is_some());
    }

    #[test]
    fn newer_schema_is_refused_even_with_unknown_cfs() {
        let dir = temp();
        {
            let store = open(dir.path()).expect("create");
            let mut batch = Batch::new();
            batch.put_schema_version(SchemaVersion(CURRENT_SCHEMA_VERSION + 1));
            store.write(&batch, Durability::Fsync).expect("write");
        }
        // A newer build may also have added column families we cannot open meaningfully.
        {
            let mut o = Options::default();
            o.create_missing_column_families(true);
            let mut names: Vec<&str> = Cf::ALL.iter().map(|cf| cf.name()).collect();
            names.push("from_the_future");
            drop(DB::open_cf(&o, dir.path(), names).expect("add cf"));
        }
        match open(dir.path()) {
            Err(StoreError::SchemaTooNew { found, supported }) => {
                assert_eq!(
                    (found, supported),
                    (CURRENT_SCHEMA_VERSION + 1, CURRENT_SCHEMA_VERSION)
                );
            }
            other => panic!("expected SchemaTooNew, got {other:?}"),
        }
    }

    #[test]
    fn older_unsupported_schema_is_refused() {
        let dir = temp();
        {
            let store = open(dir.path()).expect("create");
            let mut batch = Batch::new();
            batch.put_schema_version(SchemaVersion(OLDEST_SCHEMA_VERSION - 1));
            store.write(&batch, Durability::Fsync).expect("write");
        }
        assert!(matches!(
            open(dir.path()),
            Err(StoreError::SchemaTooOld { found: 0, .. })
        ));
    }

    #[test]
    fn corrupt_schema_record_is_a_typed_error() {
        let dir = temp();
        {
            let store = open(dir.path()).expect("create");
            let mut batch = Batch::new();
            batch.put(Cf::Meta, keys::META_SCHEMA_VERSION, vec![7, 7]);
            store.write(&batch, Durability::Fsync).expect("write");
        }
        assert!(matches!(
            open(dir.path()),
            Err(StoreError::Corrupt { cf: Cf::Meta, .. })
        ));
    }

    #[test]
    fn foreign_database_is_refused() {
        let dir = temp();
        {
            let mut o = Options::default();
            o.create_if_missing(true);
            let db = DB::open(&o, dir.path()).expect("foreign db");
            db.put(b"k", b"v").expect("put");
        }
        assert!(matches!(
            open(dir.path()),
            Err(StoreError::NotAKefuStore { .. })
        ));
    }

    #[test]
    fn unusable_directory_is_an_io_error() {
        let dir = temp();
        let file = dir.path().join("file");
        std::fs::write(&file, b"not a directory").expect("write file");
        assert!(matches!(
            open(&file.join("data")),
            Err(StoreError::Io { .. })
        ));
    }

    /// `routing_settings` has a small memtable ([`RocksOptions::overwritten_memtable_bytes`]):
    /// overwritten far past its size, it is switched and flushed and every key still
    /// reads its last value, before and after a reopen; a directory written with the
    /// old 64 MiB memtable (its unflushed log larger than the new memtable) opens with
    /// the new options and back, nothing lost.
    #[test]
    fn overwritten_records_survive_small_memtables_and_option_changes() {
        use crate::store::read_state_records::UnreadRecord;
        let dir = temp();
        let old = RocksOptions {
            overwritten_memtable_bytes: 64 << 20,
            ..RocksOptions::default()
        };
        let new = RocksOptions::default();
        // 100 conversations' unread counts, each rewritten `rounds` times, 100 a batch.
        let write = |store: &RocksStore, rounds: u32, base: u32| {
            for round in 1..=rounds {
                let mut batch = Batch::new();
                for conversation in 1..=100u64 {
                    let record = UnreadRecord {
                        account: 7,
                        conversation,
                        unread: base + round,
                    };
                    batch.put(
                        Cf::RoutingSettings,
                        &keys::unread(7, conversation),
                        record.encode(),
                    );
                }
                store.write(&batch, Durability::Wal).expect("write");
            }
        };
        let check = |store: &RocksStore, unread: u32| {
            let range = keys::unread_range(7);
            let rows = store
                .scan(Cf::RoutingSettings, &range.start, &range.end, 1_000)
                .expect("scan");
            assert_eq!(rows.len(), 100);
            for (conversation, (key, value)) in (1..=100u64).zip(&rows) {
                assert_eq!(key.as_slice(), keys::unread(7, conversation));
                let record = UnreadRecord::decode(value).expect("record");
                assert_eq!((record.conversation, record.unread), (conversation, unread));
            }
        };
        let property = |store: &RocksStore, name: &str| -> u64 {
            store
                .with_db(|db| {
                    let handle = cf(db, Cf::RoutingSettings)?;
                    Ok(db.property_int_value_cf(handle, name)?.unwrap_or(0))
                })
                .expect("property")
        };
        let active_entries = "rocksdb.num-entries-active-mem-table";
        // The old options: 100,000 versions (several MiB), all in one memtable and the log.
        {
            let store = open_rocks(dir.path(), &old).expect("open with 64 MiB");
            write(&store, 1_000, 0);
            assert_eq!(property(&store, active_entries), 100_000);
            check(&store, 1_000);
        }
        // The new options replay that log into 1 MiB memtables; written past that size,
        // the memtable is switched and flushed: it never holds all the versions.
        {
            let store = open_rocks(dir.path(), &new).expect("open with 1 MiB");
            check(&store, 1_000);
            write(&store, 1_000, 1_000);
            check(&store, 2_000);
            assert!(property(&store, active_entries) < 100_000);
            assert!(property(&store, "rocksdb.cur-size-active-mem-table") < 2 << 20);
        }
        let store = open_rocks(dir.path(), &old).expect("reopen with 64 MiB");
        check(&store, 2_000);
        drop(store);
        let store = open_rocks(dir.path(), &new).expect("reopen with 1 MiB");
        check(&store, 2_000);
    }

    /// The newest OPTIONS file RocksDB wrote into `dir`: what the engine runs with.
    fn options_file(dir: &Path) -> String {
        let newest = std::fs::read_dir(dir)
            .expect("dir")
            .filter_map(Result::ok)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("OPTIONS-"))
            .max_by_key(|n| n["OPTIONS-".len()..].parse::<u64>().unwrap_or(0))
            .expect("an OPTIONS file");
        std::fs::read_to_string(dir.join(newest)).expect("read OPTIONS")
    }

    /// The value of `name` in column family `cf`'s section of an OPTIONS file.
    fn cf_option(file: &str, cf: Cf, name: &str) -> String {
        let section = format!("[CFOptions \"{}\"]", cf.name());
        let start = file.find(&section).expect("the column family's section");
        file[start + section.len()..]
            .lines()
            .take_while(|l| !l.starts_with('['))
            .find_map(|l| l.trim().strip_prefix(&format!("{name}=")))
            .expect("the option")
            .to_owned()
    }

    /// The engine runs with the memtable insert hints of [`insert_hint_prefix`] on the
    /// column families written per message, none on the others, and none when they are
    /// switched off.
    #[test]
    fn the_memtable_insert_hints_reach_the_engine() {
        const HINT: &str = "memtable_insert_with_hint_prefix_extractor";
        let dir = temp();
        drop(open(dir.path()).expect("open"));
        let file = options_file(dir.path());
        for (cf, prefix) in [
            (Cf::Messages, 22),
            (Cf::ClientMsgs, 22),
            (Cf::RoutingSettings, 17),
            (Cf::InternalMessages, 16),
            (Cf::Counters, 8),
        ] {
            assert_eq!(
                cf_option(&file, cf, HINT),
                format!("rocksdb.FixedPrefix.{prefix}"),
                "{cf}"
            );
        }
        assert_eq!(cf_option(&file, Cf::Accounts, HINT), "nullptr");
        // The other options are still this build's (set after the options string).
        assert_eq!(
            cf_option(&file, Cf::RoutingSettings, "write_buffer_size"),
            (1u32 << 20).to_string()
        );
        assert_eq!(
            cf_option(&file, Cf::Messages, "compression"),
            "kLZ4Compression"
        );
        let off = RocksOptions {
            memtable_insert_hints: false,
            ..RocksOptions::default()
        };
        drop(open_rocks(dir.path(), &off).expect("reopen without hints"));
        assert_eq!(
            cf_option(&options_file(dir.path()), Cf::Messages, HINT),
            "nullptr"
        );
    }

    /// The hints are starting points only: messages of customers of every kind of key
    /// (ids of 1 to 64 bytes, among them the 4-byte ids whose every message is a new
    /// prefix, and visitors), written interleaved, with unread counts rewritten, an
    /// account deleted by range and written again, and the hints switched off and on
    /// across reopens, read back exactly as written, in key order.
    #[test]
    fn keys_land_in_order_whatever_the_hints() {
        use crate::store::read_state_records::UnreadRecord;
        use kefu_wire::chat::CustomerId;
        use std::collections::BTreeMap;
        let dir = temp();
        let mut customers: Vec<CustomerId> = [1usize, 3, 4, 5, 11, 12, 21, 64]
            .iter()
            .flat_map(|&len| {
                (0..4u8).map(move |n| {
                    CustomerId::Identified(
                        std::iter::repeat_n('7', len - 1)
                            .chain([char::from(b'a' + n)])
                            .collect(),
                    )
                })
            })
            .collect();
        customers.extend((0..4u8).map(|n| CustomerId::Visitor([n; 16])));
        let mut model: BTreeMap<(Cf, Vec<u8>), Vec<u8>> = BTreeMap::new();
        let mut next_id = 1u64;
        let mut rng = 0x2545_f491_4f6c_dd1du64;
        let mut write = |store: &RocksStore,
                         model: &mut BTreeMap<(Cf, Vec<u8>), Vec<u8>>,
                         accounts: &[u64],
                         turns: usize| {
            for _ in 0..turns {
                let mut batch = Batch::new();
                for _ in 0..20 {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    let account = accounts[(rng % accounts.len() as u64) as usize];
                    let c = (rng >> 8) as usize % customers.len();
                    let id = next_id;
                    next_id += 1;
                    let value = id.to_be_bytes().to_vec();
                    let message = keys::message(account, &customers[c], id);
                    let client = keys::client_msg(account, None, &customers[c], id);
                    let unread = keys::unread(account, c as u64);
                    let record = UnreadRecord {
                        account,
                        conversation: c as u64,
                        unread: id as u32,
                    }
                    .encode();
                    batch.put(Cf::Messages, &message, value.clone());
                    batch.put(Cf::ClientMsgs, &client, value.clone());
                    batch.put(Cf::RoutingSettings, &unread, record.clone());
                    model.insert((Cf::Messages, message), value.clone());
                    model.insert((Cf::ClientMsgs, client), value);
                    model.insert((Cf::RoutingSettings, unread.to_vec()), record);
                }
                store.write(&batch, Durability::Wal).expect("write");
            }
        };
        let check = |store: &RocksStore, model: &BTreeMap<(Cf, Vec<u8>), Vec<u8>>| {
            for cf in [Cf::Messages, Cf::ClientMsgs, Cf::RoutingSettings] {
                let rows = store
                    .scan(cf, &[], &keys::AFTER_ALL_KEYS, 1_000_000)
                    .expect("scan");
                let expected: Vec<(Vec<u8>, Vec<u8>)> = model
                    .range((cf, Vec::new())..)
                    .take_while(|((c, _), _)| *c == cf)
                    .map(|((_, k), v)| (k.clone(), v.clone()))
                    .collect();
                assert_eq!(rows, expected, "{cf}");
            }
        };
        let off = RocksOptions {
            memtable_insert_hints: false,
            ..RocksOptions::default()
        };
        {
            let store = open(dir.path()).expect("open with hints");
            write(&store, &mut model, &[7, 8], 300);
            check(&store, &model);
            // Account 8 deleted by range in every family written, then written again.
            let mut batch = Batch::new();
            for cf in [Cf::Messages, Cf::ClientMsgs] {
                batch.delete_range(cf, &keys::account_prefix(8));
            }
            batch.delete_range(Cf::RoutingSettings, &keys::unread_range(8));
            store
                .write(&batch, Durability::Wal)
                .expect("delete account 8");
            model.retain(|(_, k), _| !k.starts_with(&8u64.to_be_bytes()));
            write(&store, &mut model, &[8], 100);
            check(&store, &model);
        }
        {
            let store = open_rocks(dir.path(), &off).expect("reopen without hints");
            check(&store, &model);
            write(&store, &mut model, &[7, 8], 100);
            check(&store, &model);
        }
        let store = open(dir.path()).expect("reopen with hints");
        check(&store, &model);
        write(&store, &mut model, &[7, 8], 100);
        check(&store, &model);
        // The newest page of one customer, as history reads it.
        let range = keys::customer_messages(7, &customers[8]);
        let page = store
            .scan_reverse(Cf::Messages, &range.start, &range.end, 30)
            .expect("page");
        let expected: Vec<_> = model
            .range((Cf::Messages, range.start.clone())..(Cf::Messages, range.end.clone()))
            .rev()
            .take(30)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect();
        assert!(!page.is_empty());
        assert_eq!(page, expected);
    }

    #[test]
    fn scan_limit_and_upper_bound_are_respected() {
        let dir = temp();
        let store = open(dir.path()).expect("open");
        let mut batch = Batch::new();
        for id in 0..50u64 {
            batch.put_account(&account(id));
        }
        store.write(&batch, Durability::Wal).expect("write");
        let rows = store
            .scan(Cf::Accounts, &keys::account(10), &keys::account(20), 5)
            .expect("scan");
        let ids: Vec<_> = rows
            .iter()
            .filter_map(|(k, _)| keys::parse_account(k))
            .collect();
        assert_eq!(ids, [10, 11, 12, 13, 14]);
        let rows = store
            .scan(Cf::Accounts, &keys::account(45), &keys::account(100), 100)
            .expect("scan");
        assert_eq!(rows.len(), 5);
    }
}
