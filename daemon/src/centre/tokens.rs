//! Hardware tokens on the shard: bind, unbind, calibrate, the login code
//! check, unlock, and seed import.
//!
//! Ownership: a token bound to an agent is touched only by the shard owning
//! that agent's account, which keeps it in `Centre::tokens` (write-through:
//! every change also goes into the turn's batch). An unbound token belongs to
//! the token shard (`token_home.rs`): binding one, calibrating or unlocking an
//! unbound one, and importing seeds run there, in its turn and its batch, like
//! every other write (no lock, no direct write). Unbinding is the account
//! shard's own write; once committed, the token is the token shard's again.

use super::dispatch::TokenRequest;
use super::token_home::BindRefusal;
use super::{err, Answer, Centre, Outgoing, ReplyTo};
use crate::otp::hotp::{Algorithm, Digits};
use crate::otp::token::{BoundAgent, TokenError, TokenPolicy, TokenState};
use crate::otp::{sealed, ImportedSeed};
use crate::store::{self, TokenAlgorithm, TokenRecord};
use kefu_wire::{ErrorBody, ErrorCode, Response, TokenFileFormat};
use std::num::NonZeroU32;
use std::sync::Arc;

/// The protocol's answer to a token refusal.
pub(super) fn token_err(e: TokenError) -> ErrorBody {
    let code = match e {
        TokenError::WrongCode | TokenError::MalformedCode | TokenError::CalibrationFailed => {
            ErrorCode::OTP_INVALID
        }
        TokenError::Replay => ErrorCode::OTP_REPLAYED,
        TokenError::Locked => ErrorCode::TOKEN_LOCKED,
        TokenError::NotBound => ErrorCode::TOKEN_UNKNOWN,
        TokenError::AlreadyBound => ErrorCode::ALREADY_EXISTS,
    };
    err(code, e.to_string())
}

pub(super) fn storage(e: impl std::fmt::Display) -> ErrorBody {
    err(ErrorCode::STORAGE_FAILURE, format!("storage failed: {e}"))
}

/// Stored token → working state (opens the sealed secret).
pub(super) fn open_token(
    key: &sealed::SealingKey,
    record: &TokenRecord,
) -> Result<TokenState, ErrorBody> {
    let secret = sealed::open(key, &record.serial, &record.sealed_secret)
        .map_err(|e| err(ErrorCode::INTERNAL, format!("token {}: {e}", record.serial)))?;
    Ok(TokenState {
        serial: record.serial.clone(),
        secret,
        algorithm: match record.algorithm {
            TokenAlgorithm::Sha1 => Algorithm::Sha1,
            TokenAlgorithm::Sha256 => Algorithm::Sha256,
            TokenAlgorithm::Sha512 => Algorithm::Sha512,
        },
        digits: Digits::new(u32::from(record.digits)).unwrap_or(Digits::SIX),
        step_secs: NonZeroU32::new(record.step_secs).unwrap_or(NonZeroU32::MIN),
        drift_steps: record.drift_steps,
        last_used_step: record.last_used_step,
        failures: record.failures,
        locked: record.locked,
        bound_agent: record
            .bound
            .map(|(account, agent)| BoundAgent { account, agent }),
    })
}

/// Working state → stored token (the sealed secret never changes after import).
pub(super) fn to_record(state: &TokenState, sealed_secret: &[u8]) -> TokenRecord {
    TokenRecord {
        serial: state.serial.clone(),
        sealed_secret: sealed_secret.to_vec(),
        algorithm: match state.algorithm {
            Algorithm::Sha256 => TokenAlgorithm::Sha256,
            Algorithm::Sha512 => TokenAlgorithm::Sha512,
            _ => TokenAlgorithm::Sha1,
        },
        digits: u8::try_from(state.digits.get()).unwrap_or(6),
        step_secs: state.step_secs.get(),
        drift_steps: state.drift_steps,
        last_used_step: state.last_used_step,
        failures: state.failures,
        locked: state.locked,
        bound: state.bound_agent.map(|b| (b.account, b.agent)),
    }
}

impl Centre {
    /// Refuses bind and calibration attempts from an account that keeps
    /// getting unbound tokens' codes wrong (guessing, or probing serials).
    fn token_guess_check(&self, account: u64) -> Result<(), ErrorBody> {
        self.token_guesses
            .check(account, self.now_secs())
            .map_err(|wait| {
                err(
                    ErrorCode::LOGIN_THROTTLED,
                    format!("too many wrong token codes; try again in {wait} s"),
                )
            })
    }

    pub(super) fn token_key(&self) -> Result<Arc<sealed::SealingKey>, ErrorBody> {
        self.shared
            .token_key
            .clone()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "no token sealing key configured"))
    }

    pub(super) fn policy(&self) -> TokenPolicy {
        self.settings.token_policy
    }

    /// The token requests; answers `reply` now or, for work on the token shard
    /// (`token_home.rs`), once that is done.
    pub(super) fn token_request(
        &mut self,
        reply: ReplyTo,
        account: u64,
        me: u32,
        request: TokenRequest,
    ) {
        let answer = match request {
            TokenRequest::BindToken {
                agent,
                serial,
                code,
            } => match self.bind_token(reply, account, agent, serial, code) {
                Ok(()) => return,
                Err(e) => Err(e),
            },
            TokenRequest::UnbindToken { agent } => self.unbind_token(account, agent),
            TokenRequest::CalibrateToken {
                serial,
                code,
                next_code,
            } => match self.calibrate_token(reply, account, me, serial, code, next_code) {
                Some(answer) => answer,
                None => return,
            },
        };
        self.reply(reply, answer);
    }

    /// A bound token of one of this shard's accounts, from the cache or the store.
    pub(super) fn owned_token(&mut self, serial: &str) -> Result<TokenRecord, ErrorBody> {
        if let Some(t) = self.tokens.get(serial) {
            return Ok(t.clone());
        }
        let record = store::load_token(self.shared.store.as_ref(), serial)
            .map_err(storage)?
            .ok_or_else(|| err(ErrorCode::TOKEN_UNKNOWN, format!("no token {serial:?}")))?;
        if let Some((account, _)) = record.bound {
            if crate::accounts::owner_shard(account, self.shard_count()) == self.id {
                self.tokens.insert(serial.to_string(), record.clone());
            }
        }
        Ok(record)
    }

    /// Runs a token operation on a bound token and keeps its new state.
    pub(super) fn apply_owned<T>(
        &mut self,
        record: &TokenRecord,
        op: impl FnOnce(&TokenState, &TokenPolicy) -> crate::otp::token::Outcome<T>,
    ) -> Result<T, ErrorBody> {
        let key = self.token_key()?;
        let state = open_token(&key, record)?;
        let outcome = op(&state, &self.policy());
        if outcome.changed {
            let next = to_record(&outcome.state, &record.sealed_secret);
            self.batch.put_token(&next);
            self.tokens.insert(next.serial.clone(), next);
        }
        outcome.result.map_err(token_err)
    }

    /// At security level high, a password login also needs a valid code from
    /// the agent's token. Called after the password matched.
    pub(super) fn check_login_otp(
        &mut self,
        account: u64,
        agent: u32,
        otp: Option<&str>,
    ) -> Result<(), ErrorBody> {
        let state = self.account_mut(account)?;
        if state.security_level != store::SecurityLevel::High {
            return Ok(());
        }
        let serial = state.agent_tokens.get(&agent).cloned().ok_or_else(|| {
            err(
                ErrorCode::OTP_REQUIRED,
                "security level high: this agent has no token; an administrator must bind one",
            )
        })?;
        let code = otp.ok_or_else(|| {
            err(
                ErrorCode::OTP_REQUIRED,
                "security level high: give the token's code",
            )
        })?;
        let record = self.owned_token(&serial)?;
        let now = self.unix_secs();
        self.apply_owned(&record, |s, p| s.verify(p, code, now))
            .map(|_| ())
    }

    /// Checks what the account's shard knows, then sends the bind to the token
    /// shard, which checks the code and writes; [`Centre::bind_done`] answers.
    fn bind_token(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        serial: String,
        code: String,
    ) -> Result<(), ErrorBody> {
        let state = self.account_mut(account)?;
        if !state.agents.contains_key(&agent) {
            return Err(err(
                ErrorCode::UNKNOWN_AGENT,
                format!("agent {agent}@{account} does not exist"),
            ));
        }
        if let Some(held) = state.agent_tokens.get(&agent) {
            return Err(err(
                ErrorCode::ALREADY_EXISTS,
                format!("agent {agent} holds token {held}; unbind it first"),
            ));
        }
        self.token_guess_check(account)?;
        self.token_key()?;
        // A second bind for the same agent in flight is refused by the token shard,
        // which sees every bind in order (the one place that can tell for sure).
        let from = self.id;
        self.send_to_token_shard(Box::new(move |centre: &mut Centre| {
            centre.home_bind(from, reply, account, agent, serial, code)
        }));
        Ok(())
    }

    /// Back on the account's shard after the token shard's commit (whatever it did):
    /// adopts the binding if the disk holds it, and answers the client.
    pub(super) fn bind_done(
        &mut self,
        reply: ReplyTo,
        account: u64,
        agent: u32,
        serial: &str,
        verdict: Result<(), BindRefusal>,
    ) {
        let answer = match verdict {
            Err(refusal) => {
                if refusal.guessed_wrong {
                    self.token_guesses.failed(account, self.now_secs());
                }
                Err(refusal.error)
            }
            Ok(()) => self.adopt_binding(account, agent, serial),
        };
        // Decided by the token shard's commit, not by this turn's batch.
        self.queue(Outgoing::Answer {
            reply,
            result: answer,
        });
    }

    /// The token shard wrote a binding: believe the disk, not the message (its
    /// commit may have failed), so the cache is never ahead of the disk.
    fn adopt_binding(&mut self, account: u64, agent: u32, serial: &str) -> Answer {
        let record = store::load_token(self.shared.store.as_ref(), serial).map_err(|e| {
            err(
                ErrorCode::STORAGE_FAILURE,
                format!("storage failed reading the bind's outcome (check the agent's token): {e}"),
            )
        })?;
        match record {
            Some(record) if record.bound == Some((account, agent)) => {
                self.tokens.insert(serial.to_string(), record);
                match self.actors.get_mut(&account) {
                    Some(actor) => {
                        actor.state.agent_tokens.insert(agent, serial.to_string());
                    }
                    // Reloads from the disk on next use; a load already under way
                    // may have read it before the bind, so it is not adopted.
                    None => self.evictions += 1,
                }
                Ok(Response::Ok)
            }
            _ => Err(err(
                ErrorCode::STORAGE_FAILURE,
                "storage failed; the token was not bound",
            )),
        }
    }

    /// Unbinds an agent's token: the account's shard owns it, so it writes into
    /// its own batch; once committed, the token is unbound on the disk, where the
    /// token shard reads it.
    fn unbind_token(&mut self, account: u64, agent: u32) -> Answer {
        let state = self.account_mut(account)?;
        let serial = state.agent_tokens.get(&agent).cloned().ok_or_else(|| {
            err(
                ErrorCode::TOKEN_UNKNOWN,
                format!("agent {agent} holds no token"),
            )
        })?;
        let record = self.owned_token(&serial)?;
        let key = self.token_key()?;
        let token = open_token(&key, &record)?;
        let outcome = token.unbind();
        outcome.result.map_err(token_err)?;
        let next = to_record(&outcome.state, &record.sealed_secret);
        self.batch.put_token(&next);
        self.batch.delete_agent_token(account, agent);
        self.tokens.remove(&serial);
        if let Ok(state) = self.account_mut(account) {
            state.agent_tokens.remove(&agent);
        }
        Ok(Response::Ok)
    }

    /// `None`: the token shard answers (an unbound token).
    fn calibrate_token(
        &mut self,
        reply: ReplyTo,
        account: u64,
        me: u32,
        serial: String,
        code: String,
        next: String,
    ) -> Option<Answer> {
        let state = match self.account_mut(account) {
            Ok(state) => state,
            Err(e) => return Some(Err(e)),
        };
        let holder = state
            .agent_tokens
            .iter()
            .find(|(_, s)| **s == serial)
            .map(|(a, _)| *a);
        let may_manage = state
            .permissions(me)
            .contains(crate::store::Permission::SystemSettings);
        let now = self.unix_secs();
        match holder {
            Some(agent) if agent == me || may_manage => {
                Some(self.owned_token(&serial).and_then(|record| {
                    self.apply_owned(&record, |s, p| s.calibrate(p, &code, &next, now))
                        .map(|_| Response::Ok)
                }))
            }
            // An administrator calibrates a new token before binding it, so a
            // token whose clock drifted in the box can still be bound.
            None if may_manage => {
                if let Err(e) = self.token_guess_check(account).and(self.token_key()) {
                    return Some(Err(e));
                }
                let from = self.id;
                self.send_to_token_shard(Box::new(move |centre: &mut Centre| {
                    centre.home_calibrate(from, reply, account, &serial, (&code, &next))
                }));
                None
            }
            _ => Some(Err(err(
                ErrorCode::TOKEN_UNKNOWN,
                format!("token {serial:?} is not bound to you (or to an agent you manage)"),
            ))),
        }
    }

    /// Operator: unlock a token. A bound token is unlocked by its account's
    /// shard (the caller routes it there); an unbound one by the token shard.
    pub(super) fn unlock_token(&mut self, reply: ReplyTo, serial: String) {
        let record = match store::load_token(self.shared.store.as_ref(), &serial) {
            Ok(Some(record)) => record,
            Ok(None) => {
                return self.reply_err(
                    reply,
                    ErrorCode::TOKEN_UNKNOWN,
                    format!("no token {serial:?}"),
                )
            }
            Err(e) => return self.reply(reply, Err(storage(e))),
        };
        let answer = match record.bound {
            Some(_) => self.owned_token(&serial).and_then(|record| {
                self.apply_owned(&record, |s, _| s.admin_unlock())
                    .map(|()| Response::Ok)
            }),
            None => {
                return self.send_to_token_shard(Box::new(move |centre: &mut Centre| {
                    centre.home_unlock(reply, serial)
                }))
            }
        };
        self.reply(reply, answer);
    }

    /// Operator: import seeds. Parsing a PSKC file may run PBKDF2 for a long
    /// time, so it runs on the worker pool and answers through the mailbox.
    pub(super) fn import_tokens(
        &mut self,
        reply: ReplyTo,
        format: TokenFileFormat,
        data: Vec<u8>,
        key_hex: Option<String>,
        password: Option<String>,
    ) {
        let shared = Arc::clone(&self.shared);
        let mailbox = Arc::clone(&self.mailbox);
        // On the worker pool, like every slow job: PSKC key derivation may take
        // seconds. The writes then go into the token shard's batch.
        let spawned = self.shared.workers.spawn(move || {
            match seal_seeds(
                &shared,
                format,
                &data,
                key_hex.as_deref(),
                password.as_deref(),
            ) {
                Ok(records) => mailbox.call(Box::new(move |centre: &mut Centre| {
                    centre.send_to_token_shard(Box::new(move |centre: &mut Centre| {
                        centre.home_import(reply, records)
                    }))
                })),
                Err(e) => mailbox.answer(reply, Err(e)),
            }
        });
        if !spawned {
            self.reply_err(reply, ErrorCode::OVERLOADED, "cannot start the import");
        }
    }
}

/// Parses and seals a seed file (on the worker pool); storing is the token shard's.
fn seal_seeds(
    shared: &super::Shared,
    format: TokenFileFormat,
    data: &[u8],
    key_hex: Option<&str>,
    password: Option<&str>,
) -> Result<Vec<TokenRecord>, ErrorBody> {
    let key = shared
        .token_key
        .clone()
        .ok_or_else(|| err(ErrorCode::INTERNAL, "no token sealing key configured"))?;
    let seeds: Vec<ImportedSeed> = match format {
        TokenFileFormat::Csv => crate::otp::seed_csv::parse(data)
            .map_err(|e| err(ErrorCode::INVALID_ARGUMENT, e.to_string()))?,
        TokenFileFormat::Pskc => crate::otp::pskc::import_file(data, key_hex, password)
            .map_err(|e| err(ErrorCode::INVALID_ARGUMENT, e.to_string()))?,
    };
    let rng = ring::rand::SystemRandom::new();
    let mut records = Vec::with_capacity(seeds.len());
    for seed in seeds {
        let sealed_secret = sealed::seal(&key, &seed.serial, seed.secret.expose(), &rng)
            .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?;
        let state = TokenState::new(seed);
        records.push(to_record(&state, &sealed_secret));
    }
    Ok(records)
}
