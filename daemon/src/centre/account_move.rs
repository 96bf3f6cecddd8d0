//! Accounts across appliances (`daemon/CLUSTER.md` §8; wire/PROTOCOL.md section 40.6):
//! where an account is served decides whether a request is handled here, and the
//! operator's four requests of a move (`kefuctl cluster move-account`).
//!
//! - **Placement check**, before anything else of a request (`route_request`): a
//!   login to, or a request of a connection logged in to, an account served elsewhere
//!   is answered with `GoAwayTo` that appliance (the session, if any, ends); one being
//!   moved is answered `ACCOUNT_MOVING` (nothing done, retryable).
//! - `AdminFreezeAccount` runs on the account's shard, in order with its turns: the
//!   answer goes out after the commit of this turn and so of every earlier one, hence
//!   everything acknowledged before it is in the store when the export reads it.
//! - `AdminExportAccount` reads a page of the account's keys from the store;
//!   `AdminImportAccount` writes one in this turn's batch (acknowledged once durable)
//!   and keeps the account frozen on the target until the operator's thaw, so nobody
//!   is served from a half-copied account.
//! - `AdminAccountChanges` (source) reads the account's changes after a sequence back
//!   from the write-ahead log (`KvStore::account_changes`: puts, deletes and range
//!   deletes, in order, bounded per answer); `AdminApplyAccountChanges` (target)
//!   writes one round of them in this turn's batch, only if it follows the last round
//!   applied (`Placement::receive_round`). This is the catch-up that lets the source
//!   serve the account during the copy (`kefuctl cluster move-account`).
//! - `AdminAccountMoved` ends the account's sessions with `GoAwayTo` the target and
//!   drops it from memory; later requests for it are redirected (`placement.rs`).

use super::dispatch::{target_account, MoveAdminRequest};
use super::{err, Answer, Centre, Outgoing, RedirectWho, ReplyTo};
use crate::cluster::placement::{Place, RoundRefusal};
use crate::log;
use crate::session::{Caller, Phase};
use crate::store::keys::{self, Cf, KeyRange};
use crate::store::{BatchOp, ChangeLimits, StoreError};
use kefu_wire::account_move::{
    AccountChange, AccountChanges, AccountCursor, AccountEntry, AccountExport,
    MAX_EXPORT_PAGE_BYTES, MAX_IMPORT_ENTRIES, MAX_ROUND_CHANGES,
};
use kefu_wire::{ErrorCode, Request, Response};
use std::net::SocketAddr;

/// Keys read per scan of an export page.
const SCAN_STEP: usize = 512;

/// What one `AdminAccountChanges` may read and answer: a bounded piece of work on the
/// shard's loop (logged batches of every account are read to find this one's) and an
/// answer well inside a frame.
const ROUND_LIMITS: ChangeLimits = ChangeLimits {
    max_ops: MAX_ROUND_CHANGES,
    max_bytes: MAX_EXPORT_PAGE_BYTES,
    max_batches: 20_000,
};

impl Centre {
    /// Where the account of `request` (its caller's, or the one a login names) is
    /// served; if not here, answers the request accordingly and returns true.
    pub(super) fn served_elsewhere(
        &mut self,
        caller: &Caller,
        reply: ReplyTo,
        request: &Request,
    ) -> bool {
        if caller.is_admin {
            return false;
        }
        let account = match caller.phase {
            Phase::Agent { account, .. } | Phase::Customer { account } => Some(account),
            _ if request.is_login() => target_account(request),
            _ => None,
        };
        let Some(account) = account else {
            return false;
        };
        match self.shared.placement.of(account) {
            Place::Here => false,
            Place::Moving => {
                self.reply_err(
                    reply,
                    ErrorCode::ACCOUNT_MOVING,
                    format!("account {account} is being moved to another appliance; retry"),
                );
                true
            }
            Place::Elsewhere(address) => {
                let message = format!("account {account} is served by {address}");
                let to = match caller.session {
                    Some(session) if self.session_open(caller.session) => {
                        self.end_session(session);
                        RedirectWho::Session(session)
                    }
                    _ => RedirectWho::Conn(caller.conn, caller.generation),
                };
                self.outbox.push(Outgoing::Redirect {
                    to,
                    code: ErrorCode::ACCOUNT_MOVED,
                    address: address.to_string(),
                    message,
                });
                true
            }
        }
    }

    /// The operator's requests of a move.
    pub(super) fn move_admin(&mut self, request: MoveAdminRequest) -> Answer {
        match request {
            MoveAdminRequest::AdminFreezeAccount { account, frozen } => {
                if frozen && !self.is_loaded(account) {
                    return Err(err(
                        ErrorCode::UNKNOWN_ACCOUNT,
                        format!("no account {account} here"),
                    ));
                }
                self.shared.placement.freeze(account, frozen);
                log::info(
                    self.id,
                    format_args!(
                        "account {account} {} (operator's move)",
                        if frozen { "frozen" } else { "thawed" }
                    ),
                );
                Ok(Response::Ok)
            }
            MoveAdminRequest::AdminExportAccount { account, after } => {
                self.account_export_page(account, after)
            }
            MoveAdminRequest::AdminImportAccount {
                account,
                entries,
                first,
            } => self.account_import_page(account, entries, first),
            MoveAdminRequest::AdminAccountMoved { account, address } => {
                self.account_moved(account, &address)
            }
            MoveAdminRequest::AdminAccountChanges { account, after } => {
                self.account_changes(account, after)
            }
            MoveAdminRequest::AdminApplyAccountChanges {
                account,
                after,
                upto,
                changes,
            } => self.apply_account_changes(account, after, upto, changes),
        }
    }

    /// The account's changes after `after`, or (`None`) the point a copy starts from:
    /// the store's latest sequence, read before any page of the export, so that every
    /// later write of the account is in the log after it.
    fn account_changes(&mut self, account: u64, after: Option<u64>) -> Answer {
        let store = &self.shared.store;
        let gone = |why: String| err(ErrorCode::MOVE_LOG_GONE, why);
        let Some(after) = after else {
            if store
                .get(Cf::Accounts, &keys::account(account))
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?
                .is_none()
            {
                return Err(err(
                    ErrorCode::UNKNOWN_ACCOUNT,
                    format!("no account {account} here"),
                ));
            }
            let latest = store
                .latest_sequence()
                .ok_or_else(|| gone("this store numbers no writes".into()))?;
            return Ok(Response::AccountChanges(AccountChanges {
                after: latest,
                upto: latest,
                latest,
                changes: Vec::new(),
            }));
        };
        let read = store
            .account_changes(account, after, &ROUND_LIMITS)
            .map_err(|e| match e {
                StoreError::LogGone(why) => gone(why),
                e => err(ErrorCode::STORAGE_FAILURE, e.to_string()),
            })?;
        let changes = read.batch.ops().map(to_wire).collect();
        Ok(Response::AccountChanges(AccountChanges {
            after,
            upto: read.upto,
            latest: read.latest,
            changes,
        }))
    }

    /// Writes a round of the account's changes in this turn's batch: every change is
    /// checked first (the account's keys only) and the round must follow the last one
    /// applied; a refusal changes nothing.
    fn apply_account_changes(
        &mut self,
        account: u64,
        after: u64,
        upto: u64,
        changes: Vec<AccountChange>,
    ) -> Answer {
        // A round holds up to MAX_ROUND_CHANGES, or one logged batch alone if it holds
        // more (one turn's writes); the target takes as many as an import page.
        if changes.len() > MAX_IMPORT_ENTRIES {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("at most {MAX_IMPORT_ENTRIES} changes a round"),
            ));
        }
        let mut checked = Vec::with_capacity(changes.len());
        for change in &changes {
            match checked_change(account, change) {
                Some(c) => checked.push(c),
                None => {
                    return Err(err(
                        ErrorCode::FOREIGN_ENTRY,
                        format!("a change that is not account {account}'s: {change:?}"),
                    ))
                }
            }
        }
        self.shared
            .placement
            .receive_round(account, after, upto)
            .map_err(|r| match r {
                RoundRefusal::NotReceiving => err(
                    ErrorCode::NOT_RECEIVING_ACCOUNT,
                    format!("account {account} is not being received here"),
                ),
                RoundRefusal::OutOfOrder { expected } => err(
                    ErrorCode::MOVE_ROUND_OUT_OF_ORDER,
                    format!(
                        "a round of account {account}'s changes after {after}: the last \
                         one applied ended at {expected}"
                    ),
                ),
            })?;
        for (change, cf) in changes.into_iter().zip(checked) {
            match change {
                AccountChange::Put { key, value, .. } => self.batch.put(cf, &key, value),
                AccountChange::Delete { key, .. } => self.batch.delete(cf, &key),
                AccountChange::DeleteRange { start, end, .. } => {
                    self.batch.delete_range(cf, &KeyRange { start, end })
                }
                AccountChange::Clear => {
                    let all = keys::account_prefix(account);
                    for cf in Cf::ALL.into_iter().filter(|cf| cf.is_account_scoped()) {
                        self.batch.delete_range(cf, &all);
                    }
                }
            }
        }
        Ok(Response::Ok)
    }

    /// A page of the account's keys, from `after` on.
    fn account_export_page(&mut self, account: u64, after: Option<AccountCursor>) -> Answer {
        let storage = |e: crate::store::StoreError| err(ErrorCode::STORAGE_FAILURE, e.to_string());
        let store = &self.shared.store;
        if store
            .get(Cf::Accounts, &keys::account(account))
            .map_err(storage)?
            .is_none()
        {
            return Err(err(
                ErrorCode::UNKNOWN_ACCOUNT,
                format!("no account {account} here"),
            ));
        }
        let scoped = Cf::ALL.into_iter().filter(|cf| cf.is_account_scoped());
        let (first_cf, mut start) = match &after {
            None => (None, None),
            Some(c) => {
                let cf = cf_named(&c.cf)
                    .filter(|cf| cf.is_account_scoped())
                    .ok_or_else(|| {
                        err(
                            ErrorCode::INVALID_ARGUMENT,
                            format!("no column family {:?}", c.cf),
                        )
                    })?;
                let mut key = c.key.clone();
                key.push(0); // the first key after the cursor's
                (Some(cf), Some(key))
            }
        };
        let range = keys::account_prefix(account);
        let mut entries = Vec::new();
        let mut bytes = 0usize;
        for cf in scoped.skip_while(|cf| first_cf.is_some_and(|f| f != *cf)) {
            let mut from = start.take().unwrap_or_else(|| range.start.clone());
            if from < range.start {
                from.clone_from(&range.start);
            }
            loop {
                let got = store
                    .scan(cf, &from, &range.end, SCAN_STEP)
                    .map_err(storage)?;
                let full = got.len() >= SCAN_STEP;
                for (key, value) in got {
                    bytes += key.len() + value.len() + cf.name().len();
                    from.clone_from(&key);
                    from.push(0);
                    entries.push(AccountEntry {
                        cf: cf.name().to_string(),
                        key,
                        value,
                    });
                    if bytes >= MAX_EXPORT_PAGE_BYTES {
                        let next = entries.last().map(|e| AccountCursor {
                            cf: e.cf.clone(),
                            key: e.key.clone(),
                        });
                        return Ok(Response::AccountExport(AccountExport {
                            pair: self.shared.placement.pair().to_string(),
                            entries,
                            next,
                        }));
                    }
                }
                if !full {
                    break;
                }
            }
        }
        Ok(Response::AccountExport(AccountExport {
            pair: self.shared.placement.pair().to_string(),
            entries,
            next: None,
        }))
    }

    /// Writes a page of the account's keys in this turn's batch; the account stays
    /// frozen here until the operator's thaw.
    fn account_import_page(
        &mut self,
        account: u64,
        entries: Vec<AccountEntry>,
        first: bool,
    ) -> Answer {
        if entries.len() > MAX_IMPORT_ENTRIES {
            return Err(err(
                ErrorCode::INVALID_ARGUMENT,
                format!("at most {MAX_IMPORT_ENTRIES} entries a page"),
            ));
        }
        let mut checked = Vec::with_capacity(entries.len());
        for e in &entries {
            let cf = cf_named(&e.cf)
                .filter(|cf| cf.is_account_scoped())
                .filter(|cf| cf.account_of(&e.key) == Some(account))
                .filter(|_| e.key.len() <= keys::MAX_KEY_LEN);
            match cf {
                Some(cf) => checked.push(cf),
                None => {
                    return Err(err(
                        ErrorCode::FOREIGN_ENTRY,
                        format!(
                            "an entry of column family {:?} is not account {account}'s",
                            e.cf
                        ),
                    ))
                }
            }
        }
        if first {
            let present = self
                .shared
                .store
                .get(Cf::Accounts, &keys::account(account))
                .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?
                .is_some();
            if present || self.is_loaded(account) {
                return Err(err(
                    ErrorCode::ACCOUNT_PRESENT,
                    format!("account {account} exists here already"),
                ));
            }
        }
        // Nobody is served from a half-copied account.
        self.shared.placement.receive(account);
        for (cf, e) in checked.into_iter().zip(entries) {
            self.batch.put(cf, &e.key, e.value);
        }
        Ok(Response::Ok)
    }

    /// The move is over: the account's users go to `address`.
    fn account_moved(&mut self, account: u64, address: &str) -> Answer {
        let to: SocketAddr = address.parse().map_err(|_| {
            err(
                ErrorCode::INVALID_ARGUMENT,
                format!("{address:?} is not an ip:port"),
            )
        })?;
        self.shared.placement.moved(account, to);
        let sessions = self.sessions_of(account);
        for &session in &sessions {
            self.end_session(session);
            self.outbox.push(Outgoing::Redirect {
                to: RedirectWho::Session(session),
                code: ErrorCode::ACCOUNT_MOVED,
                address: to.to_string(),
                message: format!("account {account} moved to {to}"),
            });
        }
        // Freeing a large account (100,000 contacts and their index) takes tens of ms:
        // on the worker pool, so the answer, and the end of the move's frozen window,
        // does not wait for it.
        if let Some(actor) = self.actors.remove(&account) {
            self.shared.workers.spawn(move || drop(actor));
        }
        self.sms.forget(&[account]);
        self.online.remove(&account);
        self.customers.remove(&account);
        self.counters.set_accounts(self.actors.len() as u64);
        log::info(
            self.id,
            format_args!(
                "account {account} moved to {to}: {} sessions redirected",
                sessions.len()
            ),
        );
        Ok(Response::Ok)
    }
}

/// The column family of a name.
fn cf_named(name: &str) -> Option<Cf> {
    Cf::ALL.into_iter().find(|cf| cf.name() == name)
}

/// An operation of the store's batch as a change on the wire.
fn to_wire(op: BatchOp<'_>) -> AccountChange {
    match op {
        BatchOp::Put { cf, key, value } => AccountChange::Put {
            cf: cf.name().to_string(),
            key: key.to_vec(),
            value: value.to_vec(),
        },
        BatchOp::Delete { cf, key } => AccountChange::Delete {
            cf: cf.name().to_string(),
            key: key.to_vec(),
        },
        BatchOp::DeleteRange { cf, start, end } => AccountChange::DeleteRange {
            cf: cf.name().to_string(),
            start: start.to_vec(),
            end: end.to_vec(),
        },
    }
}

/// The column family of a change of `account`'s keys, `None` if it is not one: an
/// unknown or store-wide column family, a key (or a range) outside the account's.
/// `Clear` names none (its column families are every account-scoped one).
fn checked_change(account: u64, change: &AccountChange) -> Option<Cf> {
    let ours = |cf: &str, key: &[u8]| {
        cf_named(cf)
            .filter(|cf| cf.account_of(key) == Some(account))
            .filter(|_| key.len() <= keys::MAX_KEY_LEN)
    };
    match change {
        AccountChange::Put { cf, key, .. } | AccountChange::Delete { cf, key } => ours(cf, key),
        AccountChange::DeleteRange { cf, start, end } => ours(cf, start)
            .filter(|_| start < end && end.len() <= keys::MAX_KEY_LEN + 1)
            .filter(|_| *end <= keys::account_prefix(account).end),
        AccountChange::Clear => Some(Cf::Accounts),
    }
}
