//! Loading an account off the loop.
//!
//! The first request for an account that is not in memory would otherwise read, on
//! the shard thread, its agents and roles, its open conversations, every contact (up
//! to 100,000) and up to 100,000 conversations for "recently contacted": 0.15–0.65 s
//! during which every other connection of the shard waits. Instead the request is
//! **parked**, its connection paused (as during a password check), and one job on the
//! worker pool reads the whole account in a defined order — account and agents,
//! then conversations (which need the agents), then the CRM (which needs the
//! account's plan and time zone) — with pure reads ([`read_account`]). The result
//! comes back through the shard's mailbox; [`Centre::on_account_loaded`] adopts it
//! and runs the parked requests in arrival order. Other accounts are served
//! meanwhile.
//!
//! **Consistency**: while an account loads, every request for it on this shard is
//! parked, so nothing on this shard writes it; a failed commit in between (which
//! evicts accounts) bumps [`Centre::evictions`], and a load submitted before it is
//! discarded rather than adopted, since the disk may have moved under it. An account
//! already in memory (loaded by a fallback path meanwhile) is kept, never replaced.

use super::chat::{read_chat, ChatState};
use super::crm::{read_crm, CrmState};
use super::{Answer, Centre, ReplyTo};
use crate::accounts::AccountState;
use crate::session::{Caller, ConnUpdate, Phase};
use crate::store::KvStore;
use kefu_wire::{ErrorBody, ErrorCode, Request};
use std::sync::Arc;
use std::time::Instant;

/// A request waiting for its account to load.
pub(super) struct Parked {
    /// The connection it came from; `None` for an operator's request forwarded by
    /// another shard.
    pub(super) caller: Option<Caller>,
    pub(super) reply: ReplyTo,
    pub(super) request: Request,
}

/// An account as the store has it, read off the loop.
pub(super) struct LoadedAccount {
    state: AccountState,
    chat: ChatState,
    crm: CrmState,
}

/// Reads everything about `account`, in order; `None` if it does not exist.
pub(super) fn read_account(
    store: &dyn KvStore,
    token_key: Option<&crate::otp::sealed::SealingKey>,
    account: u64,
) -> Result<Option<LoadedAccount>, ErrorBody> {
    let storage = |e: crate::store::StoreError| ErrorBody {
        code: ErrorCode::STORAGE_FAILURE,
        message: format!("loading account {account}: {e}"),
    };
    let Some(state) = AccountState::load(store, account).map_err(storage)? else {
        return Ok(None);
    };
    let chat = read_chat(store, token_key, account, &state)?;
    let crm = read_crm(store, account, state.record.plan, chat.utc_offset_secs())?;
    Ok(Some(LoadedAccount { state, chat, crm }))
}

impl Centre {
    /// Whether `account` is in memory.
    pub(super) fn is_loaded(&self, account: u64) -> bool {
        self.actors.contains_key(&account)
    }

    /// Parks `parked` until `account` is loaded, starting the load if it is the first.
    /// A parked connection is paused like one whose password is being checked.
    pub(super) fn park(&mut self, account: u64, parked: Parked) {
        if let Some(caller) = &parked.caller {
            let pause = ConnUpdate::Phase(Phase::LoggingIn);
            self.update_conn(caller.conn, caller.generation, pause);
        }
        let waiting = self.parked.entry(account).or_default();
        waiting.push(parked);
        if waiting.len() > 1 {
            return; // already loading
        }
        let store = Arc::clone(&self.shared.store);
        let token_key = self.shared.token_key.clone();
        let mailbox = Arc::clone(&self.mailbox);
        let epoch = self.evictions;
        let started = self.now_ms;
        let spawned = self.shared.workers.spawn(move || {
            let began = Instant::now();
            let loaded = read_account(store.as_ref(), token_key.as_deref(), account);
            let took = began.elapsed();
            mailbox.call(Box::new(move |centre: &mut Centre| {
                centre.on_account_loaded(account, epoch, started, took, loaded)
            }));
        });
        if !spawned {
            // No pool (shutting down): load on the loop, as before.
            let loaded = read_account(
                self.shared.store.as_ref(),
                self.shared.token_key.as_deref(),
                account,
            );
            self.on_account_loaded(account, epoch, started, Default::default(), loaded);
        }
    }

    /// A load finished: adopt what is still missing (unless a failed commit happened
    /// since it started), then run the requests that waited for it.
    pub(super) fn on_account_loaded(
        &mut self,
        account: u64,
        epoch: u64,
        started_ms: i64,
        took: std::time::Duration,
        loaded: Result<Option<LoadedAccount>, ErrorBody>,
    ) {
        // The part the loop pays: putting the loaded account in place.
        let adopting = Instant::now();
        match loaded {
            Ok(Some(loaded)) if epoch == self.evictions => self.adopt(account, loaded),
            Ok(_) => {}
            Err(e) => crate::log::error(self.id, format_args!("{}", e.message)),
        }
        let adopted = adopting.elapsed();
        if took.as_millis() >= 50 {
            crate::log::info(
                self.id,
                format_args!(
                    "account {account} loaded off the loop in {took:?} ({} ms after its first \
                     request), adopted on the loop in {adopted:?}",
                    self.now_ms.saturating_sub(started_ms)
                ),
            );
        }
        for parked in self.parked.remove(&account).unwrap_or_default() {
            self.run_parked(parked);
        }
    }

    /// Puts a loaded account in memory, unless it already is (never replaced).
    pub(super) fn adopt(&mut self, account: u64, loaded: LoadedAccount) {
        if self.actors.contains_key(&account) {
            return;
        }
        let LoadedAccount { state, chat, crm } = loaded;
        self.install_actor(account, state, chat, crm);
    }

    /// Runs a request that waited for its account, then lets its connection read on.
    fn run_parked(&mut self, parked: Parked) {
        let Parked {
            caller,
            reply,
            request,
        } = parked;
        match caller {
            Some(caller) => {
                let (conn, generation) = (caller.conn, caller.generation);
                self.update_conn(conn, generation, ConnUpdate::Phase(caller.phase));
                let flow = self.handle_loaded_request(&caller, reply, request);
                if flow == crate::session::Flow::Continue {
                    self.update_conn(conn, generation, ConnUpdate::Resume);
                }
            }
            None => self.run_forwarded(reply, request),
        }
    }

    /// A connection closed while its request was parked: the request is dropped.
    pub(super) fn unpark_connection(&mut self, conn: usize, generation: u32) {
        for waiting in self.parked.values_mut() {
            waiting.retain(|p| {
                p.caller
                    .as_ref()
                    .is_none_or(|c| (c.conn, c.generation) != (conn, generation))
            });
        }
    }

    /// Answers every parked request with `error` (shutdown).
    pub(super) fn refuse_parked(&mut self, error: &ErrorBody) {
        let replies: Vec<(ReplyTo, Answer)> = self
            .parked
            .drain()
            .flat_map(|(_, waiting)| waiting)
            .map(|p| (p.reply, Err(error.clone())))
            .collect();
        for (reply, answer) in replies {
            self.reply(reply, answer);
        }
    }
}
