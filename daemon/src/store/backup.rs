//! Online backups of the store, engine-neutral: what a backup is ([`BackupSummary`]) and
//! why an operation on backups failed ([`BackupError`]). The engine does the work
//! ([`KvStore::create_backup`](super::KvStore::create_backup) and its siblings; for
//! RocksDB, `rocks_backup.rs` with its backup engine); the centre only maps the outcome
//! to the protocol (`centre/backup_admin.rs`, wire/PROTOCOL.md section 21).
//!
//! **Consistency.** A backup holds the database as of one instant: the engine flushes
//! its memtables and copies the live files (and the write-ahead logs still needed)
//! while writes go on, so every batch committed before the backup began is in it and
//! each later batch is in it whole or not at all.

/// One backup in the backup directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackupSummary {
    /// Its number, 1, 2, … in the order backups were taken.
    pub id: u32,
    /// When it was taken, unix seconds (the engine's clock).
    pub created_at: i64,
    /// Bytes of its files.
    pub size_bytes: u64,
    /// Number of its files.
    pub files: u32,
    /// Keys read back over every column family (only after a verification).
    pub keys: Option<u64>,
}

/// Why a backup operation failed. Never the caller's fault except [`BackupError::Unknown`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackupError {
    /// No backup of that number in the backup directory.
    #[error("no backup {0} in the backup directory")]
    Unknown(u32),
    /// Another backup operation is running.
    #[error("another backup operation is running; retry once it has finished")]
    Busy,
    /// The engine could not do it (the text says what).
    #[error("{0}")]
    Failed(String),
    /// This store keeps no backups (an in-memory test store, or no backup directory).
    #[error("this store keeps no backups: {0}")]
    Unsupported(&'static str),
}
