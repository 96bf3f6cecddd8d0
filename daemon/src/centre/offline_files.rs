//! Offline files (C13, manual §3.7 "发送离线文件"; `wire/PROTOCOL.md` section 28): an
//! upload in chunks to the appliance, a record in `offline_files` once the bytes are
//! checked and durable, a one-time token for the recipient, who alone may fetch it.
//!
//! **No disk I/O on the shard loop.** Every file operation — opening a partial file,
//! writing a chunk, the final hash check and sync, reading a chunk for a fetch — runs
//! on the worker pool (`JobSubmitter::spawn`) and comes back through the mailbox; the
//! loop only checks the request and keeps the upload's state. A chunk is at most 64
//! KiB and an upload has one operation in flight at a time (a second is refused
//! `FILE_BUSY`), so a transfer's cost on the loop is one small request per 64 KiB and
//! a sync of 100 MiB never delays chat. (Writing on the loop would bound each write but
//! not the kernel's stalls under dirty-page throttling; the pool takes those.)
//!
//! **Crash safety**: an upload writes a partial file (`file_store.rs`) named by the
//! upload (sender, recipient, hash, size); only `FinishUpload` — the hash matches, the
//! data is synced, the rename and the directory synced on the worker, then the record
//! written in the turn's batch — makes a file exist. After a `kill -9` the partial file
//! is never listed nor fetchable; `UploadFile` with the same file again **resumes**
//! from the partial file's length.
//!
//! **Quota and limits**: a file is at most `[files] max_file_bytes`; an account's files
//! together at most `account_quota_bytes` (checked at `UploadFile` and again at
//! `FinishUpload`; stored files count whether fetched or not). The account's records
//! are read once, on its first file request, and kept with the account (dropped with
//! it after a failed commit).
//!
//! **Visibility**: only the recipient lists a file and only the recipient may use its
//! token (`FILE_NOT_YOURS` for anyone else, even another agent holding the token); a
//! token works once (`FILE_TOKEN_USED` after).

use super::files::{check_meta, party, Receiver};
use super::{err, Answer, Centre, Recipient, ReplyTo};
use crate::file_store::{FileStore, FinishError};
use crate::session::SessionId;
use crate::store::file_records::{FileParty, OfflineFileRecord};
use crate::store::keys::{self, Cf};
use crate::store::records::StoredRecord;
use kefu_wire::files::{
    FileMeta, FilePeer, OfflineFileInfo, MAX_FILE_CHUNK, MAX_OFFLINE_FILE_PAGE,
};
use kefu_wire::{ErrorBody, ErrorCode, Event, Response};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Uploads one session may have open at once.
const MAX_UPLOADS_PER_SESSION: usize = 4;
/// Fetches one session may have open at once.
const MAX_FETCHES_PER_SESSION: usize = 4;
/// Most file records one account's first file request reads.
const MAX_FILES_READ: usize = 1_000_000;

/// An upload in progress.
#[derive(Debug)]
pub(crate) struct Upload {
    pub(super) session: SessionId,
    account: u64,
    from: FileParty,
    to: FileParty,
    meta: FileMeta,
    partial: PathBuf,
    written: u64,
    /// An operation of it runs on the worker pool.
    busy: bool,
}

/// A fetch in progress.
#[derive(Debug)]
pub(crate) struct Fetch {
    pub(super) session: SessionId,
    object: PathBuf,
    size: u64,
}

/// One account's offline-file records (read on its first file request).
#[derive(Debug, Default)]
pub(crate) struct AccountFiles {
    records: HashMap<u64, OfflineFileRecord>,
    next_id: u64,
    used: u64,
}

fn info(r: &OfflineFileRecord) -> OfflineFileInfo {
    OfflineFileInfo {
        file: r.file,
        from: party(&r.from),
        meta: r.meta.clone(),
        at: r.at,
        token: r.token,
    }
}

fn storage(e: &std::io::Error) -> ErrorBody {
    err(ErrorCode::STORAGE_FAILURE, format!("file storage: {e}"))
}

/// The name of an upload: the same file from the same sender to the same recipient is
/// the same upload, so it resumes.
fn upload_key(from: &FileParty, to: &FileParty, meta: &FileMeta) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in [from, to] {
        match p {
            FileParty::Agent(a) => {
                ctx.update(&[0]);
                ctx.update(&a.to_be_bytes());
            }
            FileParty::Customer(kefu_wire::chat::CustomerId::Identified(id)) => {
                ctx.update(&[1, id.len() as u8]);
                ctx.update(id.as_bytes());
            }
            FileParty::Customer(kefu_wire::chat::CustomerId::Visitor(v)) => {
                ctx.update(&[2]);
                ctx.update(v);
            }
        }
    }
    ctx.update(&meta.sha256);
    ctx.update(&meta.size.to_be_bytes());
    let mut key = [0u8; 32];
    key.copy_from_slice(ctx.finish().as_ref());
    key
}

/// Equal in time independent of where they differ.
fn same_token(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |d, (x, y)| d | (x ^ y)) == 0
}

impl Centre {
    fn file_store(&self) -> Result<Arc<FileStore>, ErrorBody> {
        self.shared
            .files
            .clone()
            .ok_or_else(|| err(ErrorCode::FILE_STATE, "offline files are not enabled"))
    }

    /// Runs `work` on the worker pool, then `then` on this shard with its result.
    fn file_job<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
        then: impl FnOnce(&mut Centre, T) + Send + 'static,
    ) -> bool {
        let mailbox = Arc::clone(&self.mailbox);
        self.shared.workers.spawn(move || {
            let out = work();
            mailbox.call(Box::new(move |c: &mut Centre| then(c, out)));
        })
    }

    /// The account's file records, read from the store on first use.
    fn account_files(&mut self, account: u64) -> Result<&mut AccountFiles, ErrorBody> {
        if self.actor_mut(account)?.files.is_none() {
            let range = keys::account_prefix(account);
            let rows = self
                .shared
                .store
                .scan(Cf::OfflineFiles, &range.start, &range.end, MAX_FILES_READ)
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
            let mut files = AccountFiles {
                next_id: 1,
                ..AccountFiles::default()
            };
            for (_, value) in rows {
                let r = OfflineFileRecord::decode(&value)
                    .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?;
                files.next_id = files.next_id.max(r.file.saturating_add(1));
                files.used = files.used.saturating_add(r.meta.size);
                files.records.insert(r.file, r);
            }
            self.actor_mut(account)?.files = Some(files);
        }
        self.actor_mut(account)?
            .files
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "files vanished"))
    }

    fn check_quota(&mut self, account: u64, size: u64) -> Result<(), ErrorBody> {
        let quota = self.file_store()?.account_quota_bytes;
        let used = self.account_files(account)?.used;
        if used.saturating_add(size) > quota {
            return Err(err(
                ErrorCode::FILE_QUOTA_EXCEEDED,
                format!("the account keeps {used} of {quota} bytes of files"),
            ));
        }
        Ok(())
    }

    /// `UploadFile`: checks, then opens (or finds) the partial file on the worker pool.
    pub(super) fn upload_file(
        &mut self,
        reply: ReplyTo,
        account: u64,
        session: SessionId,
        me: FileParty,
        to: FilePeer,
        meta: FileMeta,
    ) {
        let opened = self.open_upload(account, session, me, to, meta);
        let (id, partial, size) = match opened {
            Ok(o) => o,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let started = self.file_job(
            move || FileStore::open_partial(&partial, size),
            move |c: &mut Centre, result| {
                let answer = match (result, c.files.uploads.get_mut(&id)) {
                    (Ok(len), Some(u)) => {
                        u.busy = false;
                        u.written = len;
                        Ok(Response::Upload {
                            upload: id,
                            offset: len,
                        })
                    }
                    (Err(e), _) => {
                        c.files.uploads.remove(&id);
                        Err(storage(&e))
                    }
                    (Ok(_), None) => Err(err(ErrorCode::FILE_UNKNOWN, "the upload ended")),
                };
                c.reply(reply, answer);
            },
        );
        if !started {
            self.files.uploads.remove(&id);
            self.reply_err(reply, ErrorCode::SHUTTING_DOWN, "server shutting down");
        }
    }

    /// The checks of `UploadFile` and the new upload (busy until its file is open).
    fn open_upload(
        &mut self,
        account: u64,
        session: SessionId,
        me: FileParty,
        to: FilePeer,
        meta: FileMeta,
    ) -> Result<(u64, PathBuf, u64), ErrorBody> {
        let store = self.file_store()?;
        check_meta(&meta, store.max_file_bytes)?;
        let Receiver { party: to, .. } = self.file_receiver(account, &me, to)?;
        self.check_quota(account, meta.size)?;
        let partial = store.partial_path(account, &upload_key(&me, &to, &meta));
        // The same upload again (a new connection, a retry): it takes the old one over.
        if self
            .files
            .uploads
            .values()
            .any(|u| u.partial == partial && u.busy)
        {
            return Err(err(ErrorCode::FILE_BUSY, "this upload is being written"));
        }
        self.files.uploads.retain(|_, u| u.partial != partial);
        let mine = self
            .files
            .uploads
            .values()
            .filter(|u| u.session == session)
            .count();
        if mine >= MAX_UPLOADS_PER_SESSION {
            return Err(err(
                ErrorCode::FILE_BUSY,
                format!("at most {MAX_UPLOADS_PER_SESSION} uploads at once"),
            ));
        }
        let id = self.files.new_id();
        let size = meta.size;
        let upload = Upload {
            session,
            account,
            from: me,
            to,
            meta,
            partial: partial.clone(),
            written: 0,
            busy: true,
        };
        self.files.uploads.insert(id, upload);
        Ok((id, partial, size))
    }

    /// The upload `id` of `session`, idle.
    fn my_upload(&mut self, session: SessionId, id: u64) -> Result<&mut Upload, ErrorBody> {
        let u = self
            .files
            .uploads
            .get_mut(&id)
            .filter(|u| u.session == session)
            .ok_or_else(|| err(ErrorCode::FILE_UNKNOWN, "no such upload of yours"))?;
        if u.busy {
            return Err(err(
                ErrorCode::FILE_BUSY,
                "wait for the answer to the previous chunk",
            ));
        }
        Ok(u)
    }

    /// `UploadChunk`: written on the worker pool, answered with the new offset.
    pub(super) fn upload_chunk(
        &mut self,
        reply: ReplyTo,
        session: SessionId,
        id: u64,
        offset: u64,
        data: Vec<u8>,
    ) {
        let u = match self.my_upload(session, id) {
            Ok(u) => u,
            Err(e) => {
                self.counters.add_file_refused_chunk();
                return self.reply(reply, Err(e));
            }
        };
        let end = offset.saturating_add(data.len() as u64);
        if offset != u.written
            || data.is_empty()
            || data.len() > MAX_FILE_CHUNK
            || end > u.meta.size
        {
            let message = format!(
                "the next chunk starts at {}, 1..=65536 bytes within the size",
                u.written
            );
            self.counters.add_file_refused_chunk();
            return self.reply_err(reply, ErrorCode::FILE_BAD_OFFSET, message);
        }
        u.busy = true;
        let partial = u.partial.clone();
        let len = data.len() as u64;
        let started = self.file_job(
            move || FileStore::append(&partial, offset, &data),
            move |c: &mut Centre, result| {
                let answer = match (result, c.files.uploads.get_mut(&id)) {
                    (Ok(written), Some(u)) => {
                        u.busy = false;
                        u.written = written;
                        c.counters.add_file_stored(len);
                        Ok(Response::Upload {
                            upload: id,
                            offset: written,
                        })
                    }
                    (Err(e), Some(u)) => {
                        u.busy = false;
                        Err(storage(&e))
                    }
                    (_, None) => Err(err(ErrorCode::FILE_UNKNOWN, "the upload ended")),
                };
                c.reply(reply, answer);
            },
        );
        if !started {
            self.reply_err(reply, ErrorCode::SHUTTING_DOWN, "server shutting down");
        }
    }

    /// `FinishUpload`: the hash check, sync and rename on the worker pool, then the
    /// record in the turn's batch and the recipient told.
    pub(super) fn finish_upload(
        &mut self,
        reply: ReplyTo,
        account: u64,
        session: SessionId,
        id: u64,
    ) {
        let checked = self.check_finish(account, session, id);
        let (partial, object, size, sha256) = match checked {
            Ok(c) => c,
            Err(e) => return self.reply(reply, Err(e)),
        };
        let started = self.file_job(
            move || FileStore::finish(&partial, &object, size, &sha256),
            move |c: &mut Centre, result| {
                let answer = c.upload_finished(id, result);
                c.reply(reply, answer);
            },
        );
        if !started {
            self.reply_err(reply, ErrorCode::SHUTTING_DOWN, "server shutting down");
        }
    }

    fn check_finish(
        &mut self,
        account: u64,
        session: SessionId,
        id: u64,
    ) -> Result<(PathBuf, PathBuf, u64, [u8; 32]), ErrorBody> {
        let store = self.file_store()?;
        let u = self.my_upload(session, id)?;
        if u.written != u.meta.size {
            return Err(err(
                ErrorCode::FILE_STATE,
                format!("{} of {} bytes uploaded", u.written, u.meta.size),
            ));
        }
        let (size, sha256, partial) = (u.meta.size, u.meta.sha256, u.partial.clone());
        self.check_quota(account, size)?;
        if let Some(u) = self.files.uploads.get_mut(&id) {
            u.busy = true;
        }
        Ok((partial, store.object_path(account, &sha256), size, sha256))
    }

    /// The worker checked and stored the file (or not): the record, the recipient told.
    fn upload_finished(&mut self, id: u64, result: Result<(), FinishError>) -> Answer {
        let Some(u) = self.files.uploads.remove(&id) else {
            return Err(err(ErrorCode::FILE_UNKNOWN, "the upload ended"));
        };
        match result {
            Ok(()) => {}
            Err(FinishError::Mismatch) => {
                return Err(err(
                    ErrorCode::FILE_HASH_MISMATCH,
                    "the bytes do not match the declared SHA-256: upload again from 0",
                ))
            }
            Err(FinishError::Io(e)) => {
                self.files.uploads.insert(id, Upload { busy: false, ..u });
                return Err(storage(&e));
            }
        }
        let mut secret = [0u8; 24];
        ring::rand::SecureRandom::fill(&self.rng, &mut secret)
            .map_err(|_| err(ErrorCode::INTERNAL, "no randomness"))?;
        let (account, at) = (u.account, self.now_ms);
        let files = self.account_files(account)?;
        let file = files.next_id;
        files.next_id += 1;
        let mut token = [0u8; 32];
        let bytes = file.to_be_bytes().into_iter().chain(secret);
        for (t, b) in token.iter_mut().zip(bytes) {
            *t = b;
        }
        let record = OfflineFileRecord {
            account,
            file,
            from: u.from,
            to: u.to.clone(),
            meta: u.meta,
            at,
            token,
            fetched: false,
        };
        files.used = files.used.saturating_add(record.meta.size);
        files.records.insert(file, record.clone());
        self.batch
            .put(Cf::OfflineFiles, &record.key(), record.encode());
        let to = match u.to {
            FileParty::Agent(a) => Recipient::Agent(a),
            FileParty::Customer(c) => Recipient::Customer(c),
        };
        self.push(account, to, Event::OfflineFile(info(&record)));
        Ok(Response::OfflineFileStored { file })
    }

    /// `ListOfflineFiles`: the files waiting for `me`, oldest first.
    pub(super) fn list_offline_files(&mut self, account: u64, me: &FileParty) -> Answer {
        self.file_store()?;
        let files = self.account_files(account)?;
        let mut mine: Vec<&OfflineFileRecord> = files
            .records
            .values()
            .filter(|r| &r.to == me && !r.fetched)
            .collect();
        mine.sort_by_key(|r| r.file);
        mine.truncate(MAX_OFFLINE_FILE_PAGE);
        Ok(Response::OfflineFiles(mine.into_iter().map(info).collect()))
    }

    /// `FetchFile`: the recipient uses the token (once; stored in the turn's batch).
    pub(super) fn fetch_file(
        &mut self,
        account: u64,
        session: SessionId,
        me: &FileParty,
        token: [u8; 32],
    ) -> Answer {
        let store = self.file_store()?;
        let open = self
            .files
            .fetches
            .values()
            .filter(|f| f.session == session)
            .count();
        let mut id = [0u8; 8];
        for (d, t) in id.iter_mut().zip(token) {
            *d = t;
        }
        let files = self.account_files(account)?;
        let r = files
            .records
            .get_mut(&u64::from_be_bytes(id))
            .filter(|r| same_token(&r.token, &token))
            .ok_or_else(|| err(ErrorCode::FILE_UNKNOWN, "no such file"))?;
        if &r.to != me {
            return Err(err(
                ErrorCode::FILE_NOT_YOURS,
                "a received file is visible only to its recipient",
            ));
        }
        if r.fetched {
            return Err(err(ErrorCode::FILE_TOKEN_USED, "this token was used"));
        }
        if open >= MAX_FETCHES_PER_SESSION {
            return Err(err(
                ErrorCode::FILE_BUSY,
                format!("at most {MAX_FETCHES_PER_SESSION} fetches at once"),
            ));
        }
        r.fetched = true;
        let record = r.clone();
        self.batch
            .put(Cf::OfflineFiles, &record.key(), record.encode());
        let fetch = self.files.new_id();
        let object = store.object_path(account, &record.meta.sha256);
        let size = record.meta.size;
        self.files.fetches.insert(
            fetch,
            Fetch {
                session,
                object,
                size,
            },
        );
        Ok(Response::Fetch {
            fetch,
            file: info(&record),
        })
    }

    /// `FetchChunk`: read on the worker pool and answered from there. The fetch closes
    /// once a chunk reaches the end.
    pub(super) fn fetch_chunk(
        &mut self,
        reply: ReplyTo,
        session: SessionId,
        id: u64,
        offset: u64,
        max: u32,
    ) {
        let Some(f) = self.files.fetches.get(&id).filter(|f| f.session == session) else {
            return self.reply_err(reply, ErrorCode::FILE_UNKNOWN, "no such fetch of yours");
        };
        if max == 0 {
            return self.reply_err(reply, ErrorCode::INVALID_ARGUMENT, "max is 1..=65536");
        }
        let max = (max as usize).min(MAX_FILE_CHUNK);
        let object = f.object.clone();
        if offset.saturating_add(max as u64) >= f.size {
            self.files.fetches.remove(&id);
        }
        let mailbox = Arc::clone(&self.mailbox);
        let started = self.shared.workers.spawn(move || {
            let answer = FileStore::read_at(&object, offset, max)
                .map(|data| Response::FileData { offset, data })
                .map_err(|e| storage(&e));
            mailbox.answer(reply, answer);
        });
        if !started {
            self.reply_err(reply, ErrorCode::SHUTTING_DOWN, "server shutting down");
        }
    }
}
