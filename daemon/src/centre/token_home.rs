//! The token shard: the one owner of every unbound hardware token.
//!
//! A token bound to an agent belongs to the shard owning that agent's account
//! (`tokens.rs`). An unbound token belongs to [`TOKEN_SHARD`], shard 0. A fixed
//! shard rather than one hashed from the serial: binding, calibrating, unlocking
//! and importing unbound tokens are rare operator actions, so one owner costs
//! nothing, and an import of many serials stays one batch on one shard (all or
//! nothing) instead of scattering over shards that commit separately.
//!
//! Only the token shard reads-checks-writes an unbound token's record, inside
//! its own turn and into its own batch: no lock, no direct write. Its reads see
//! its own turn's batch first (the last write of a key wins) ([`Centre::home_token`], [`Centre::home_agent_token`]),
//! so two requests for the same token (or agent) in one turn see each other; the
//! store answers for everything committed. A bound token's record only ever
//! changes on its account's shard, and it becomes unbound there (unbind) by a
//! commit of that shard, after which the token shard reads it from the disk.
//!
//! Work reaches the token shard as an `Outgoing::Call` queued with
//! [`Centre::queue`]: released after the sender's commit whatever that commit did,
//! since none of it depends on the sender's batch (so a failed turn of the sender
//! never loses a client's request). Outcomes:
//! - bind: the token record and the agent's `AgentTokenRecord` go into the token
//!   shard's one batch (atomic), and a call goes back to the account's shard,
//!   again released whatever the commit did. The account's shard reads the token
//!   from the disk, adopts the binding only if it is there, and answers the client:
//!   a failed write is never reported as done and its cache is never ahead of the
//!   disk (`tokens.rs`, `bind_done`).
//! - calibrate, unlock, import: the token shard answers the client itself, through
//!   its outbox, so a failed commit turns a success into `STORAGE_FAILURE`; a wrong
//!   calibration code is reported back to the account's shard, which throttles
//!   its guesses.

use super::tokens::{open_token, storage, to_record, token_err};
use super::{err, Answer, Centre, CentreCall, Outgoing, ReplyTo};
use crate::otp::token::BoundAgent;
use crate::store::keys::{self, Cf};
use crate::store::{self, AgentTokenRecord, StoredRecord, TokenRecord};
use kefu_wire::{ErrorBody, ErrorCode, Request, Response};

/// The shard owning every unbound token.
pub(super) const TOKEN_SHARD: usize = 0;

/// Why the token shard refused a bind.
pub(super) struct BindRefusal {
    /// The answer for the client.
    pub(super) error: ErrorBody,
    /// A wrong code: counted against the guessing account on its own shard.
    pub(super) guessed_wrong: bool,
}

impl From<ErrorBody> for BindRefusal {
    fn from(error: ErrorBody) -> Self {
        BindRefusal {
            error,
            guessed_wrong: false,
        }
    }
}

impl Centre {
    /// Runs `call` on the token shard after this turn's commit (even when this is
    /// the token shard: the same path for every caller, one turn later).
    pub(super) fn send_to_token_shard(&mut self, call: CentreCall) {
        self.queue(Outgoing::Call {
            shard: TOKEN_SHARD,
            call,
        });
    }

    /// Runs `call` on shard `shard` after this turn's commit, whatever it did.
    fn call_back(&mut self, shard: usize, call: CentreCall) {
        self.queue(Outgoing::Call { shard, call });
    }

    /// The token as the token shard sees it: the batches not yet written first (this
    /// turn's, the one in flight), then the store.
    pub(super) fn home_token(&self, serial: &str) -> Result<Option<TokenRecord>, ErrorBody> {
        let Some(key) = keys::token(serial) else {
            return Ok(None);
        };
        let latest = self.unwritten_value(Cf::Tokens, key);
        match latest {
            Some(Some(value)) => TokenRecord::decode(value).map(Some).map_err(storage),
            Some(None) => Ok(None),
            None => store::load_token(self.shared.store.as_ref(), serial).map_err(storage),
        }
    }

    /// The serial agent `agent` of `account` holds, as the token shard sees it (the
    /// batches not yet written first, then the store).
    fn home_agent_token(&self, account: u64, agent: u32) -> Result<Option<String>, ErrorBody> {
        let key = keys::agent_token(account, agent);
        let latest = self.unwritten_value(Cf::AgentTokens, &key);
        match latest {
            Some(Some(value)) => AgentTokenRecord::decode(value)
                .map(|r| Some(r.serial))
                .map_err(storage),
            Some(None) => Ok(None),
            None => Ok(
                store::load_agent_tokens(self.shared.store.as_ref(), account)
                    .map_err(storage)?
                    .into_iter()
                    .find(|r| r.agent == agent)
                    .map(|r| r.serial),
            ),
        }
    }

    /// On the token shard: binds `serial` to agent `agent` of `account` (owned by
    /// shard `from`) if `code` is right, and tells `from` what happened.
    pub(super) fn home_bind(
        &mut self,
        from: usize,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        serial: String,
        code: String,
    ) {
        let verdict = self.home_bind_write(account, agent, &serial, &code);
        self.call_back(
            from,
            Box::new(move |centre: &mut Centre| {
                centre.bind_done(reply, account, agent, &serial, verdict)
            }),
        );
    }

    /// The check and the writes of a bind, into this turn's batch.
    fn home_bind_write(
        &mut self,
        account: u64,
        agent: u32,
        serial: &str,
        code: &str,
    ) -> Result<(), BindRefusal> {
        let key = self.token_key()?;
        // A second bind for the same agent (another serial) serialises here too.
        if let Some(held) = self.home_agent_token(account, agent)? {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!("agent {agent} holds token {held}; unbind it first"),
            )
            .into());
        }
        let record = self
            .home_token(serial)?
            .ok_or_else(|| err(ErrorCode::TOKEN_UNKNOWN, format!("no token {serial:?}")))?;
        let token = open_token(&key, &record)?;
        let now = self.unix_secs();
        let outcome = token.bind(&self.policy(), BoundAgent { account, agent }, code, now);
        // A wrong code on an unbound token is counted against the guessing account
        // (on its shard), not on the token, or any account could lock tokens
        // imported for another.
        let guessed_wrong = matches!(&outcome.result, Err(e) if e.counts_as_failure());
        if outcome.changed && !guessed_wrong {
            self.batch
                .put_token(&to_record(&outcome.state, &record.sealed_secret));
        }
        match outcome.result {
            Ok(_) => {
                // The same batch: the token and the agent's binding land together.
                self.batch.put_agent_token(&AgentTokenRecord {
                    account,
                    agent,
                    serial: serial.to_string(),
                });
                Ok(())
            }
            Err(e) => Err(BindRefusal {
                error: token_err(e),
                guessed_wrong,
            }),
        }
    }

    /// On the token shard: calibrates an unbound token and answers the client;
    /// a wrong code is reported to shard `from`, which throttles `account`.
    pub(super) fn home_calibrate(
        &mut self,
        from: usize,
        reply: ReplyTo,
        account: u64,
        serial: &str,
        codes: (&str, &str),
    ) {
        let (code, next) = codes;
        let mut guessed_wrong = false;
        let answer = self.home_calibrate_write(serial, code, next, &mut guessed_wrong);
        if guessed_wrong {
            self.call_back(
                from,
                Box::new(move |centre: &mut Centre| {
                    let now = centre.now_secs();
                    centre.token_guesses.failed(account, now);
                }),
            );
        }
        self.reply(reply, answer);
    }

    fn home_calibrate_write(
        &mut self,
        serial: &str,
        code: &str,
        next: &str,
        guessed_wrong: &mut bool,
    ) -> Answer {
        let key = self.token_key()?;
        let record = self
            .home_token(serial)?
            .filter(|r| r.bound.is_none())
            .ok_or_else(|| {
                err(
                    ErrorCode::TOKEN_UNKNOWN,
                    format!("no unbound token {serial:?}"),
                )
            })?;
        let now = self.unix_secs();
        let outcome = open_token(&key, &record)?.calibrate(&self.policy(), code, next, now);
        *guessed_wrong = matches!(&outcome.result, Err(e) if e.counts_as_failure());
        if outcome.changed && !*guessed_wrong {
            self.batch
                .put_token(&to_record(&outcome.state, &record.sealed_secret));
        }
        outcome.result.map(|_| Response::Ok).map_err(token_err)
    }

    /// On the token shard: unlocks a token and answers the client. If it was bound
    /// meanwhile, its account's shard does it (forwarded there, or done here).
    pub(super) fn home_unlock(&mut self, reply: ReplyTo, serial: String) {
        let answer = match self.home_token(&serial) {
            Ok(Some(record)) => match record.bound {
                Some((account, _)) => {
                    let owner = crate::accounts::owner_shard(account, self.shard_count());
                    if owner != self.id {
                        self.outbox.push(Outgoing::Forward {
                            shard: owner,
                            reply,
                            request: Request::AdminUnlockToken { serial },
                        });
                        return;
                    }
                    self.owned_token(&serial).and_then(|record| {
                        self.apply_owned(&record, |s, _| s.admin_unlock())
                            .map(|()| Response::Ok)
                    })
                }
                None => self.token_key().and_then(|key| {
                    let outcome = open_token(&key, &record)?.admin_unlock();
                    if outcome.changed {
                        self.batch
                            .put_token(&to_record(&outcome.state, &record.sealed_secret));
                    }
                    outcome.result.map(|()| Response::Ok).map_err(token_err)
                }),
            },
            Ok(None) => Err(err(
                ErrorCode::TOKEN_UNKNOWN,
                format!("no token {serial:?}"),
            )),
            Err(e) => Err(e),
        };
        self.reply(reply, answer);
    }

    /// On the token shard: stores imported (already sealed) tokens, all or nothing,
    /// and answers the client.
    pub(super) fn home_import(&mut self, reply: ReplyTo, records: Vec<TokenRecord>) {
        let answer = self.home_import_write(records);
        self.reply(reply, answer);
    }

    fn home_import_write(&mut self, records: Vec<TokenRecord>) -> Answer {
        let mut existing = Vec::new();
        for record in &records {
            if self.home_token(&record.serial)?.is_some() {
                existing.push(record.serial.clone());
            }
        }
        if !existing.is_empty() {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!(
                    "tokens exist already, nothing imported: {}",
                    existing.join(", ")
                ),
            ));
        }
        let mut serials = Vec::with_capacity(records.len());
        for record in records {
            self.batch.put_token(&record);
            serials.push(record.serial);
        }
        Ok(Response::TokensImported { serials })
    }
}
