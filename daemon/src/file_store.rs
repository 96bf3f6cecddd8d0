//! Offline files on the disk (C13, manual §3.7; `wire/PROTOCOL.md` section 28): plain
//! `std::fs`, no domain logic, called from the worker pool only (never on a shard loop).
//!
//! Layout under `<data_dir>/files`:
//!
//! | path                                   | what                                              |
//! |----------------------------------------|---------------------------------------------------|
//! | `<account>/objects/<sha256 hex>`       | a complete file: hash checked, synced, then renamed here |
//! | `<account>/partial/<upload key hex>`   | an upload in progress (appended in order)         |
//!
//! Content-addressed within an account: the same bytes uploaded twice are one object.
//! An upload's key is the SHA-256 of (sender, recipient, declared hash, declared size),
//! so the same upload started again — after a disconnect or a `kill -9` of kefud — finds
//! its partial file and **resumes from its length** (every byte written before the kill
//! is in the page cache, hence in the file; a power cut may lose a tail, which the final
//! hash check catches: the partial file is then removed and the upload restarts from 0).
//!
//! A partial file is never served: only [`FileStore::finish`] makes an object, after the
//! hash matches and the data is synced, by a rename (atomic) followed by a sync of the
//! directory. Fetches read objects only.

use ring::digest::{Context, SHA256};
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// Where offline files live and their limits (`[files]`).
#[derive(Debug, Clone)]
pub struct FileStore {
    root: PathBuf,
    /// Largest file, online or offline, in bytes.
    pub max_file_bytes: u64,
    /// Offline files one account may keep in all, in bytes.
    pub account_quota_bytes: u64,
}

/// Why an upload could not be finished.
#[derive(Debug)]
pub enum FinishError {
    /// The bytes do not hash to the declared SHA-256 (or are not the declared size);
    /// the partial file was removed.
    Mismatch,
    /// The disk refused.
    Io(io::Error),
}

/// Lowercase hex of `bytes`.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl FileStore {
    /// Files under `root` (`<data_dir>/files`), with these limits.
    pub fn new(root: PathBuf, max_file_bytes: u64, account_quota_bytes: u64) -> FileStore {
        FileStore {
            root,
            max_file_bytes,
            account_quota_bytes,
        }
    }

    /// The partial file of an upload.
    pub fn partial_path(&self, account: u64, upload_key: &[u8; 32]) -> PathBuf {
        self.root
            .join(account.to_string())
            .join("partial")
            .join(hex(upload_key))
    }

    /// The object of a complete file.
    pub fn object_path(&self, account: u64, sha256: &[u8; 32]) -> PathBuf {
        self.root
            .join(account.to_string())
            .join("objects")
            .join(hex(sha256))
    }

    /// Opens (creating it if needed) an upload's partial file; returns the bytes it
    /// holds, the offset the upload resumes from. A partial file longer than the
    /// declared size cannot be this upload's: it is emptied.
    pub fn open_partial(path: &Path, size: u64) -> io::Result<u64> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)?;
        let len = file.metadata()?.len();
        if len > size {
            file.set_len(0)?;
            return Ok(0);
        }
        Ok(len)
    }

    /// Writes `data` at `offset` of a partial file, which must hold exactly `offset`
    /// bytes; returns the new length. Not synced: [`Self::finish`] syncs once.
    pub fn append(path: &Path, offset: u64, data: &[u8]) -> io::Result<u64> {
        let file = OpenOptions::new().write(true).open(path)?;
        let len = file.metadata()?.len();
        if len != offset {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("the partial file holds {len} bytes"),
            ));
        }
        file.write_all_at(data, offset)?;
        Ok(offset + data.len() as u64)
    }

    /// Checks a complete upload: its size and SHA-256, then syncs it and renames it
    /// into its object (an object already there with the same hash is kept, the
    /// partial file removed), and syncs the objects directory. On a mismatch the
    /// partial file is removed.
    pub fn finish(
        partial: &Path,
        object: &Path,
        size: u64,
        sha256: &[u8; 32],
    ) -> Result<(), FinishError> {
        let mut file = File::open(partial).map_err(FinishError::Io)?;
        let mut ctx = Context::new(&SHA256);
        let mut buf = vec![0u8; 256 << 10];
        let mut total = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(FinishError::Io)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            ctx.update(buf.get(..n).unwrap_or_default());
        }
        if total != size || ctx.finish().as_ref() != sha256.as_slice() {
            let _ = fs::remove_file(partial);
            return Err(FinishError::Mismatch);
        }
        file.sync_all().map_err(FinishError::Io)?;
        let dir = object.parent().unwrap_or(Path::new("."));
        fs::create_dir_all(dir).map_err(FinishError::Io)?;
        if object.exists() {
            let _ = fs::remove_file(partial);
        } else {
            fs::rename(partial, object).map_err(FinishError::Io)?;
        }
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(FinishError::Io)?;
        Ok(())
    }

    /// Up to `max` bytes of an object from `offset` (empty past its end).
    pub fn read_at(object: &Path, offset: u64, max: usize) -> io::Result<Vec<u8>> {
        let file = File::open(object)?;
        let len = file.metadata()?.len();
        let n = usize::try_from(len.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(max);
        let mut data = vec![0u8; n];
        file.read_exact_at(&mut data, offset)?;
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sha(data: &[u8]) -> [u8; 32] {
        let d = ring::digest::digest(&SHA256, data);
        let mut out = [0u8; 32];
        out.copy_from_slice(d.as_ref());
        out
    }

    #[test]
    fn an_upload_appends_in_order_resumes_and_becomes_an_object_once_checked() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().join("files"), 1 << 20, 1 << 30);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let hash = sha(&data);
        let partial = store.partial_path(7, &[1; 32]);
        let object = store.object_path(7, &hash);
        assert_eq!(
            FileStore::open_partial(&partial, data.len() as u64).unwrap(),
            0
        );
        assert_eq!(
            FileStore::append(&partial, 0, &data[..40_000]).unwrap(),
            40_000
        );
        // Out of order: refused, nothing written.
        assert!(FileStore::append(&partial, 50_000, &data[50_000..]).is_err());
        // Opened again (a restart): resumes from its length.
        assert_eq!(
            FileStore::open_partial(&partial, data.len() as u64).unwrap(),
            40_000
        );
        // Not complete: refused, and the partial file is gone.
        assert!(matches!(
            FileStore::finish(&partial, &object, data.len() as u64, &hash),
            Err(FinishError::Mismatch)
        ));
        assert!(!partial.exists() && !object.exists());
        FileStore::open_partial(&partial, data.len() as u64).unwrap();
        FileStore::append(&partial, 0, &data).unwrap();
        FileStore::finish(&partial, &object, data.len() as u64, &hash).unwrap();
        assert!(!partial.exists());
        assert_eq!(
            FileStore::read_at(&object, 99_990, 64).unwrap(),
            &data[99_990..]
        );
        assert!(FileStore::read_at(&object, 200_000, 64).unwrap().is_empty());
    }

    #[test]
    fn a_wrong_hash_removes_the_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path().to_path_buf(), 1 << 20, 1 << 30);
        let partial = store.partial_path(1, &[2; 32]);
        FileStore::open_partial(&partial, 3).unwrap();
        FileStore::append(&partial, 0, b"abc").unwrap();
        let object = store.object_path(1, &[0; 32]);
        assert!(matches!(
            FileStore::finish(&partial, &object, 3, &[0; 32]),
            Err(FinishError::Mismatch)
        ));
        assert!(!partial.exists() && !object.exists());
    }
}
