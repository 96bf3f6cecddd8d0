//! RocksDB's backup engine behind [`KvStore::create_backup`](super::KvStore::create_backup),
//! `list_backups` and `verify_backup`, and the offline restore `kefud --restore` runs
//! ([`restore`]). With `rocks.rs`, the only daemon file that names RocksDB.
//!
//! The backup directory is the engine's: backups share the table files they have in
//! common, each backup's metadata lists its files with their sizes and checksums. A
//! backup flushes the memtables first and copies the live files while the database
//! serves (RocksDB keeps the files it copies from being deleted meanwhile), so it is
//! the database as of one instant. Verifying a backup checks its files' sizes, restores
//! it into a scratch directory inside the backup directory, opens that read-only and
//! reads every key of every column family (each block's checksum is verified as it is
//! read), then removes the scratch copy.

use std::path::{Path, PathBuf};

use rocksdb::backup::{BackupEngine, BackupEngineInfo, BackupEngineOptions, RestoreOptions};
use rocksdb::{Env, Options, DB};

use super::backup::{BackupError, BackupSummary};

fn failed(what: impl std::fmt::Display, e: impl std::fmt::Display) -> BackupError {
    BackupError::Failed(format!("{what}: {e}"))
}

fn summary(info: &BackupEngineInfo) -> BackupSummary {
    BackupSummary {
        id: info.backup_id,
        created_at: info.timestamp,
        size_bytes: info.size,
        files: info.num_files,
        keys: None,
    }
}

/// Opens the backup engine on `dir`, creating the directory if `create`.
fn engine(dir: &Path, create: bool) -> Result<BackupEngine, BackupError> {
    if create {
        std::fs::create_dir_all(dir)
            .map_err(|e| failed(format_args!("creating {}", dir.display()), e))?;
    }
    let opts = BackupEngineOptions::new(dir)
        .map_err(|e| failed(format_args!("backup directory {}", dir.display()), e))?;
    let env = Env::new().map_err(|e| failed("storage environment", e))?;
    BackupEngine::open(&opts, &env)
        .map_err(|e| failed(format_args!("opening backups in {}", dir.display()), e))
}

/// Takes a backup of `db` into `dir` (created if missing) and describes it.
pub(super) fn create(db: &DB, dir: &Path) -> Result<BackupSummary, BackupError> {
    let mut engine = engine(dir, true)?;
    engine
        .create_new_backup_flush(db, true)
        .map_err(|e| failed(format_args!("backing up into {}", dir.display()), e))?;
    engine
        .get_backup_info()
        .iter()
        .max_by_key(|i| i.backup_id)
        .map(summary)
        .ok_or_else(|| BackupError::Failed("the new backup is not listed".into()))
}

/// The backups in `dir`, oldest first; none if the directory does not exist.
pub(super) fn list(dir: &Path) -> Result<Vec<BackupSummary>, BackupError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut all: Vec<BackupSummary> = engine(dir, false)?
        .get_backup_info()
        .iter()
        .map(summary)
        .collect();
    all.sort_by_key(|b| b.id);
    Ok(all)
}

/// Checks backup `id` in `dir` (see the module doc) and counts its keys.
pub(super) fn verify(dir: &Path, id: u32) -> Result<BackupSummary, BackupError> {
    if !dir.exists() {
        return Err(BackupError::Unknown(id));
    }
    let mut engine = engine(dir, false)?;
    let info = engine
        .get_backup_info()
        .iter()
        .find(|i| i.backup_id == id)
        .map(summary)
        .ok_or(BackupError::Unknown(id))?;
    engine
        .verify_backup(id)
        .map_err(|e| failed(format_args!("backup {id}"), e))?;
    let scratch = dir.join(format!(".verify-{id}"));
    let _ = std::fs::remove_dir_all(&scratch);
    let counted = engine
        .restore_from_backup(&scratch, &scratch, &RestoreOptions::default(), id)
        .map_err(|e| failed(format_args!("restoring backup {id} to check it"), e))
        .and_then(|()| count_keys(&scratch));
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(BackupSummary {
        keys: Some(counted?),
        ..info
    })
}

/// Reads every key of every column family of the database in `db_dir`, read-only.
fn count_keys(db_dir: &Path) -> Result<u64, BackupError> {
    let opts = Options::default();
    let names = DB::list_cf(&opts, db_dir)
        .map_err(|e| failed("listing the restored column families", e))?;
    let db = DB::open_cf_for_read_only(&opts, db_dir, &names, false)
        .map_err(|e| failed("opening the restored copy", e))?;
    let mut keys = 0u64;
    for name in &names {
        let cf = db
            .cf_handle(name)
            .ok_or_else(|| BackupError::Failed(format!("column family {name} did not open")))?;
        let mut iter = db.raw_iterator_cf(cf);
        iter.seek_to_first();
        while iter.valid() {
            keys += 1;
            iter.next();
        }
        iter.status()
            .map_err(|e| failed(format_args!("reading column family {name}"), e))?;
    }
    Ok(keys)
}

/// Restores backup `id` (the newest if `None`) from `backup_dir` into `db_dir`, which
/// must not exist or be empty: `kefud --restore`. The daemon must not be running on it.
pub fn restore(
    backup_dir: &Path,
    id: Option<u32>,
    db_dir: &Path,
) -> Result<BackupSummary, BackupError> {
    let occupied = std::fs::read_dir(db_dir).is_ok_and(|mut d| d.next().is_some());
    if occupied {
        return Err(BackupError::Failed(format!(
            "{} is not empty: restore only into an empty data directory \
             (move the old one aside first)",
            db_dir.display()
        )));
    }
    if !backup_dir.exists() {
        return Err(BackupError::Failed(format!(
            "no backup directory {}",
            backup_dir.display()
        )));
    }
    let mut engine = engine(backup_dir, false)?;
    let infos = engine.get_backup_info();
    let chosen = match id {
        Some(id) => infos.iter().find(|i| i.backup_id == id),
        None => infos.iter().max_by_key(|i| i.backup_id),
    }
    .map(summary)
    .ok_or(match id {
        Some(id) => BackupError::Unknown(id),
        None => BackupError::Failed(format!("no backup in {}", backup_dir.display())),
    })?;
    let parent: PathBuf = db_dir.parent().map(Path::to_path_buf).unwrap_or_default();
    if !parent.as_os_str().is_empty() {
        std::fs::create_dir_all(&parent)
            .map_err(|e| failed(format_args!("creating {}", parent.display()), e))?;
    }
    engine
        .restore_from_backup(db_dir, db_dir, &RestoreOptions::default(), chosen.id)
        .map_err(|e| failed(format_args!("restoring backup {}", chosen.id), e))?;
    Ok(chosen)
}
