//! Balance and points of value-added services (V6, V7; `wire/PROTOCOL.md` section 29):
//! the operator's top-up and view (`AdminBalanceTopUp`, `AdminBalanceShow`) and an
//! agent's view (`GetBalance`, permission 10 and the security level's token rule).
//!
//! The balance is read from the store once and kept in the [`Account`](super::Account)
//! (so every request of a turn sees the movements before it); each movement goes
//! through [`BalanceRecord::apply`] and writes the new balance and its ledger entry
//! in the turn's batch. A failed commit evicts the account, balance included, and the
//! next use reads the store again.

use super::dispatch::{BalanceAdminRequest, ValueAddedRequest};
use super::{err, Answer, Centre};
use crate::store::balance_records::{self, BalanceError, BalanceRecord, Movement};
use kefu_wire::valueadded::MAX_TOPUP_UNITS;
use kefu_wire::{ErrorBody, ErrorCode, Response};

/// The typed refusal of a movement.
pub(super) fn balance_error(e: BalanceError) -> ErrorBody {
    match e {
        BalanceError::Insufficient { .. } => err(ErrorCode::INSUFFICIENT_BALANCE, e.to_string()),
        BalanceError::Limit => err(ErrorCode::BALANCE_LIMIT, e.to_string()),
        BalanceError::Zero => err(ErrorCode::INVALID_ARGUMENT, e.to_string()),
        BalanceError::NotReserved { .. } => err(ErrorCode::INTERNAL, e.to_string()),
    }
}

impl Centre {
    /// The operator's balance requests.
    pub(super) fn balance_admin(&mut self, request: BalanceAdminRequest) -> Answer {
        match request {
            BalanceAdminRequest::AdminBalanceShow { account } => {
                Ok(Response::Balance(self.balance_mut(account)?.info()))
            }
            BalanceAdminRequest::AdminBalanceTopUp { account, units } => {
                if units == 0 || units > MAX_TOPUP_UNITS {
                    return Err(err(
                        ErrorCode::INVALID_ARGUMENT,
                        format!("a top-up is 1..={MAX_TOPUP_UNITS} units"),
                    ));
                }
                self.move_units(account, Movement::TopUp, units, 0)
                    .map(|b| Response::Balance(b.info()))
            }
        }
    }

    /// An agent's value-added requests (permission 10 checked by `auth.rs`).
    pub(super) fn value_added_request(
        &mut self,
        account: u64,
        me: u32,
        request: ValueAddedRequest,
    ) -> Answer {
        match request {
            ValueAddedRequest::GetBalance { otp } => {
                self.account_mut(account)?;
                self.value_added_otp(account, me, otp.as_deref())?;
                Ok(Response::Balance(self.balance_mut(account)?.info()))
            }
            // Taken by `agent_request` into a submission job (`submit_jobs.rs`).
            ValueAddedRequest::SubmitBroadcast { .. }
            | ValueAddedRequest::ResubmitBroadcast { .. }
            | ValueAddedRequest::SubmitSurveyBroadcast { .. }
            | ValueAddedRequest::PreviewBroadcast { .. }
            | ValueAddedRequest::PreviewSurveyBroadcast { .. } => Err(err(
                ErrorCode::INTERNAL,
                "a submission is resolved by the account's submission job",
            )),
            ValueAddedRequest::CancelBroadcast { id, otp } => {
                self.cancel_broadcast(account, me, id, otp.as_deref())
            }
            ValueAddedRequest::ListBroadcasts { otp } => {
                self.list_broadcasts(account, me, otp.as_deref())
            }
            ValueAddedRequest::ListBroadcastPage { before, limit, otp } => {
                self.broadcast_page(account, me, before, limit, otp.as_deref())
            }
            ValueAddedRequest::GetBroadcastCustomers {
                id,
                offset,
                limit,
                otp,
            } => self.broadcast_customers(account, me, id, offset, limit, otp.as_deref()),
        }
    }

    /// The account's balance, read from the store on first use.
    pub(super) fn balance_mut(&mut self, account: u64) -> Result<&mut BalanceRecord, ErrorBody> {
        self.account_mut(account)?;
        let loaded = match self.actors.get(&account).and_then(|a| a.balance) {
            Some(_) => None,
            None => Some(
                balance_records::load_balance(self.shared.store.as_ref(), account)
                    .map_err(|e| err(ErrorCode::STORAGE_FAILURE, e.to_string()))?,
            ),
        };
        let actor = self.actor_mut(account)?;
        if let Some(b) = loaded {
            actor.balance = Some(b);
        }
        actor
            .balance
            .as_mut()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "balance not loaded"))
    }

    /// One movement of the account's units: applied to the balance in memory and
    /// written with its ledger entry in the turn's batch; refused with a typed code and
    /// nothing changed if it would break the ledger's invariant.
    pub(super) fn move_units(
        &mut self,
        account: u64,
        movement: Movement,
        units: u64,
        broadcast: u64,
    ) -> Result<BalanceRecord, ErrorBody> {
        let now = self.now_ms;
        let balance = self.balance_mut(account)?;
        let entry = balance
            .apply(movement, units, broadcast, now)
            .map_err(balance_error)?;
        let balance = *balance;
        balance.write(&entry, &mut self.batch);
        self.touched.push(account);
        Ok(balance)
    }
}
