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
//! - `AdminAccountMoved` ends the account's sessions with `GoAwayTo` the target and
//!   drops it from memory; later requests for it are redirected (`placement.rs`).

use super::dispatch::{target_account, MoveAdminRequest};
use super::{err, Answer, Centre, Outgoing, RedirectWho, ReplyTo};
use crate::cluster::placement::Place;
use crate::log;
use crate::session::{Caller, Phase};
use crate::store::keys::{self, Cf};
use kefu_wire::account_move::{
    AccountCursor, AccountEntry, AccountExport, MAX_EXPORT_PAGE_BYTES, MAX_IMPORT_ENTRIES,
};
use kefu_wire::{ErrorCode, Request, Response};
use std::net::SocketAddr;

/// Keys read per scan of an export page.
const SCAN_STEP: usize = 512;

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
        }
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
        self.shared.placement.freeze(account, true);
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
        self.actors.remove(&account);
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
