//! The operator's backups (`AdminBackupCreate`, `AdminBackupList`, `AdminBackupVerify`;
//! wire/PROTOCOL.md section 21): each runs on a thread of its own, since copying or
//! reading a whole database takes seconds to minutes and a shard never blocks (nor
//! should the password-hashing pool wait behind it); the answer comes back through the
//! shard's mailbox like a forwarded request's. The store does the
//! work (`KvStore::create_backup` and its siblings) and allows one operation at a time.

use super::dispatch::BackupRequest;
use super::{err, Answer, Centre, ReplyTo};
use crate::store::{BackupError, BackupSummary, KvStore};
use kefu_wire::{BackupInfo, ErrorCode, Response};
use std::sync::Arc;

impl Centre {
    /// Starts one backup operation; its answer follows when it is done.
    pub(super) fn backup_admin(&mut self, reply: ReplyTo, request: BackupRequest) {
        let store = Arc::clone(&self.shared.store);
        let mailbox = Arc::clone(&self.mailbox);
        let shard = self.id;
        let spawned = std::thread::Builder::new()
            .name("kefu-backup".into())
            .spawn(move || {
                let answer = run(store.as_ref(), shard, request);
                mailbox.answer(reply, answer);
            });
        if let Err(e) = spawned {
            let message = format!("starting the backup thread: {e}");
            self.reply(reply, Err(err(ErrorCode::BACKUP_FAILED, message)));
        }
    }
}

/// Runs `request` against the store (off the shard) and logs what it did.
fn run(store: &dyn KvStore, shard: usize, request: BackupRequest) -> Answer {
    let outcome = match request {
        BackupRequest::AdminBackupCreate => store
            .create_backup()
            .map(|b| Response::Backup(info(b)))
            .inspect(|_| crate::log::info(shard, format_args!("backup taken by the operator"))),
        BackupRequest::AdminBackupList => store
            .list_backups()
            .map(|all| Response::Backups(all.into_iter().map(info).collect())),
        BackupRequest::AdminBackupVerify { backup_id } => store
            .verify_backup(backup_id)
            .map(|b| Response::Backup(info(b))),
    };
    outcome.map_err(|e| {
        let code = match e {
            BackupError::Unknown(_) => ErrorCode::UNKNOWN_BACKUP,
            BackupError::Busy => ErrorCode::BACKUP_BUSY,
            BackupError::Failed(_) | BackupError::Unsupported(_) => ErrorCode::BACKUP_FAILED,
        };
        if code == ErrorCode::BACKUP_FAILED {
            crate::log::error(shard, format_args!("backup: {e}"));
        }
        err(code, e.to_string())
    })
}

fn info(b: BackupSummary) -> BackupInfo {
    BackupInfo {
        backup_id: b.id,
        created_at: b.created_at,
        size_bytes: b.size_bytes,
        files: b.files,
        keys: b.keys,
    }
}
