//! Operating the appliance (wire/PROTOCOL.md section 20): the metrics
//! (`AdminMetrics`), the storage check (`AdminCheckStorage`) and deleting an account
//! (`AdminDeleteAccount`, feature E6).
//!
//! **Deleting an account** runs on the account's shard, in its turn and its batch:
//! every session of the account ends (its connection is told `GoAway`
//! `UNKNOWN_ACCOUNT`), one range delete per account-scoped column family removes
//! every key with the account's 8-byte prefix, the hardware tokens bound to its agents
//! are deleted from the store-wide `tokens` column family, and the account leaves
//! memory. The answer goes out after the commit like any other, so a refused commit
//! refuses the deletion (the account is evicted and reloads, whole, from the disk).
//! Once committed, the space is reclaimed off the loop: a worker compacts the
//! account's key ranges (`KvStore::compact_account`) and logs when it is done.
//! Until the commit, requests for the account in the same turn are refused
//! `UNKNOWN_ACCOUNT`, and a load of it started before the commit is not adopted.
//!
//! **The storage check** is a synced write of a probe record and the free space of
//! the data directory's filesystem, done on a worker (never on the loop) and
//! answered from there.

use super::dispatch::OpsRequest;
use super::{err, Answer, Centre, Outgoing, ReplyTo};
use crate::log;
use crate::metrics::{self, Sources};
use crate::stats::AccountConversations;
use crate::store::{self, keys, AgentTokenRecord, BatchOp, Cf, StoredRecord};
use kefu_wire::{ErrorCode, Response, StorageCheck};
use std::sync::Arc;

/// How often the per-account conversation figures are published (turn ms).
const PUBLISH_EVERY_MS: i64 = 1_000;

impl Centre {
    /// Handles one operations request (the operator's alone, see `auth.rs`).
    pub(super) fn ops_request(&mut self, reply: ReplyTo, request: OpsRequest) {
        let answer = match request {
            OpsRequest::AdminMetrics => Ok(Response::Metrics {
                text: metrics::render(&Sources {
                    counters: self.shared.counters.clone(),
                    store: Arc::clone(&self.shared.store),
                    started: self.shared.started,
                    replication: self
                        .shared
                        .replication
                        .as_ref()
                        .map(|r| Arc::clone(&r.state)),
                }),
            }),
            OpsRequest::AdminCheckStorage => return self.check_storage(reply),
            OpsRequest::AdminDeleteAccount { account } => self.delete_account(account),
        };
        self.reply(reply, answer);
    }

    /// Publishes the open and queued conversations per account, once a second.
    pub(super) fn publish_metrics(&mut self) {
        if self.now_ms.saturating_sub(self.metrics_published_ms) < PUBLISH_EVERY_MS {
            return;
        }
        self.metrics_published_ms = self.now_ms;
        let table = self
            .actors
            .iter()
            .map(|(&account, a)| AccountConversations {
                account,
                open: a.chat.routing.open_count() as u64,
                queued: a.chat.routing.queued_count() as u64,
            })
            .collect();
        self.counters.publish_accounts(table);
        let parked = self.parked.values().map(Vec::len).sum::<usize>();
        self.counters.set_parked(parked as u64);
    }

    /// `AdminCheckStorage`: a synced write and the free space, on a worker.
    fn check_storage(&mut self, reply: ReplyTo) {
        let store = Arc::clone(&self.shared.store);
        let mailbox = Arc::clone(&self.mailbox);
        let check = move || {
            let probe = store.probe();
            let (writable, error, us) = match &probe.synced_write {
                Ok(took) => (
                    true,
                    String::new(),
                    u64::try_from(took.as_micros()).unwrap_or(u64::MAX),
                ),
                Err(e) => (false, e.to_string(), 0),
            };
            let answer = Ok(Response::StorageCheck(StorageCheck {
                data_dir: probe.data_dir,
                writable,
                error,
                synced_write_us: us,
                free_bytes: probe.free_bytes,
                total_bytes: probe.total_bytes,
                disk_full: !store.accepting_writes(),
            }));
            mailbox.answer(reply, answer);
        };
        if !self.shared.workers.spawn(check) {
            self.reply_err(reply, ErrorCode::SHUTTING_DOWN, "server shutting down");
        }
    }

    /// `AdminDeleteAccount` (see the module doc).
    fn delete_account(&mut self, account: u64) -> Answer {
        self.actor_mut(account)?;
        let serials = self.bound_serials(account)?;
        let sessions = self.sessions_of(account);
        for &session in &sessions {
            self.close_session(
                session,
                ErrorCode::UNKNOWN_ACCOUNT,
                format!("account {account} was deleted"),
            );
        }
        let range = keys::account_prefix(account);
        for cf in Cf::ALL.into_iter().filter(|cf| cf.is_account_scoped()) {
            self.batch.delete_range(cf, &range);
        }
        for serial in &serials {
            if let Some(key) = keys::token(serial) {
                self.batch.delete(Cf::Tokens, key);
            }
            self.tokens.remove(serial);
        }
        self.actors.remove(&account);
        self.sms.forget(&[account]);
        self.online.remove(&account);
        self.customers.remove(&account);
        self.counters.set_accounts(self.actors.len() as u64);
        self.deleted.push(account);
        // Reclaim the space once the deletion is committed: a call runs after the
        // commit, and only if it succeeded.
        let store = Arc::clone(&self.shared.store);
        self.outbox.push(Outgoing::Call {
            shard: self.id,
            call: Box::new(move |centre: &mut Centre| {
                let shard = centre.id;
                let spawned =
                    centre
                        .shared
                        .workers
                        .spawn(move || match store.compact_account(account) {
                            Ok(()) => log::info(
                                shard,
                                format_args!("account {account} deleted; its storage is compacted"),
                            ),
                            Err(e) => log::warn(
                                shard,
                                format_args!("account {account} deleted; compacting failed: {e}"),
                            ),
                        });
                if !spawned {
                    log::warn(shard, format_args!("account {account}: compaction skipped"));
                }
            }),
        });
        log::info(
            self.id,
            format_args!(
                "deleting account {account} (operator): {} sessions ended, {} tokens removed",
                sessions.len(),
                serials.len()
            ),
        );
        Ok(Response::AccountDeleted {
            sessions_closed: u32::try_from(sessions.len()).unwrap_or(u32::MAX),
            tokens_removed: u32::try_from(serials.len()).unwrap_or(u32::MAX),
        })
    }

    /// The serials of the tokens bound to agents of `account`: the store's, and
    /// those bound in batches not written yet (this turn's, the one in flight).
    fn bound_serials(&self, account: u64) -> Result<Vec<String>, kefu_wire::ErrorBody> {
        let storage = |e: store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
        let mut serials: Vec<String> =
            store::load_agent_tokens(self.shared.store.as_ref(), account)
                .map_err(storage)?
                .into_iter()
                .map(|t| t.serial)
                .collect();
        for op in self.unwritten_ops() {
            if let BatchOp::Put {
                cf: Cf::AgentTokens,
                key,
                value,
            } = op
            {
                if Cf::AgentTokens.account_of(key) == Some(account) {
                    if let Ok(t) = AgentTokenRecord::decode(value) {
                        serials.push(t.serial);
                    }
                }
            }
        }
        serials.sort_unstable();
        serials.dedup();
        Ok(serials)
    }
}
