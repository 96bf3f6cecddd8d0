//! Hardware tokens on the shard: bind, unbind, calibrate, the login code
//! check, unlock, and seed import.
//!
//! Ownership: a token bound to an agent is touched only by the shard owning
//! that agent's account, which keeps it in `Shard::tokens` (write-through:
//! every change also goes into the turn's batch). An unbound token belongs to
//! nobody; binding one, and importing or unlocking unbound ones, happens under
//! the appliance-wide `Shared::token_lock` with a direct write, so two shards
//! cannot both bind it. Those are rare operator actions, never the hot path.

use super::dispatch::TokenRequest;
use super::{err, Answer, Centre, ReplyTo};
use crate::otp::hotp::{Algorithm, Digits};
use crate::otp::token::{BoundAgent, TokenError, TokenPolicy, TokenState};
use crate::otp::{sealed, ImportedSeed};
use crate::store::{self, AgentTokenRecord, Batch, TokenAlgorithm, TokenRecord};
use kefu_wire::{ErrorBody, ErrorCode, Response, TokenFileFormat};
use std::num::NonZeroU32;
use std::sync::Arc;

/// The protocol's answer to a token refusal.
fn token_err(e: TokenError) -> ErrorBody {
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

fn storage(e: impl std::fmt::Display) -> ErrorBody {
    err(ErrorCode::STORAGE_FAILURE, format!("storage failed: {e}"))
}

/// Stored token → working state (opens the sealed secret).
fn open_token(key: &sealed::SealingKey, record: &TokenRecord) -> Result<TokenState, ErrorBody> {
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
fn to_record(state: &TokenState, sealed_secret: &[u8]) -> TokenRecord {
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

fn now_i64(now: u64) -> i64 {
    i64::try_from(now).unwrap_or(i64::MAX)
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

    fn token_key(&self) -> Result<Arc<sealed::SealingKey>, ErrorBody> {
        self.shared
            .token_key
            .clone()
            .ok_or_else(|| err(ErrorCode::INTERNAL, "no token sealing key configured"))
    }

    fn policy(&self) -> TokenPolicy {
        self.settings.token_policy
    }

    /// The token requests; `None` if `request` is not one.
    pub(super) fn token_request(&mut self, account: u64, me: u32, request: TokenRequest) -> Answer {
        match request {
            TokenRequest::BindToken {
                agent,
                serial,
                code,
            } => self.bind_token(account, agent, &serial, &code),
            TokenRequest::UnbindToken { agent } => self.unbind_token(account, agent),
            TokenRequest::CalibrateToken {
                serial,
                code,
                next_code,
            } => self.calibrate_token(account, me, &serial, &code, &next_code),
        }
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

    fn bind_token(&mut self, account: u64, agent: u32, serial: &str, code: &str) -> Answer {
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
        let key = self.token_key()?;
        let shared = Arc::clone(&self.shared);
        let _guard = shared
            .token_lock
            .lock()
            .map_err(|_| err(ErrorCode::INTERNAL, "token lock poisoned"))?;
        let record = store::load_token(shared.store.as_ref(), serial)
            .map_err(storage)?
            .ok_or_else(|| err(ErrorCode::TOKEN_UNKNOWN, format!("no token {serial:?}")))?;
        let token = open_token(&key, &record)?;
        let now = self.unix_secs();
        let outcome = token.bind(&self.policy(), BoundAgent { account, agent }, code, now);
        let next = to_record(&outcome.state, &record.sealed_secret);
        let mut batch = Batch::new();
        // A wrong code on an unbound token is counted against the guessing account
        // (see `token_guess_check`), not on the token, or any account could lock
        // tokens imported for another.
        let guessed_wrong = matches!(&outcome.result, Err(e) if e.counts_as_failure());
        if outcome.changed && !guessed_wrong {
            batch.put_token(&next);
        }
        if guessed_wrong {
            self.token_guesses.failed(account, now_i64(now));
        }
        let bound = outcome.result.is_ok();
        if bound {
            batch.put_agent_token(&AgentTokenRecord {
                account,
                agent,
                serial: serial.to_string(),
            });
        }
        // Written now, under the lock, so no other shard can bind the same token.
        if !batch.is_empty() {
            shared
                .store
                .write(&batch, shared.durability)
                .map_err(storage)?;
        }
        outcome.result.map_err(token_err)?;
        if bound {
            self.tokens.insert(serial.to_string(), next);
            if let Ok(state) = self.account_mut(account) {
                state.agent_tokens.insert(agent, serial.to_string());
            }
        }
        Ok(Response::Ok)
    }

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
        let next = to_record(&outcome.state, &record.sealed_secret);
        let shared = Arc::clone(&self.shared);
        let _guard = shared
            .token_lock
            .lock()
            .map_err(|_| err(ErrorCode::INTERNAL, "token lock poisoned"))?;
        let mut batch = Batch::new();
        batch.put_token(&next);
        batch.delete_agent_token(account, agent);
        shared
            .store
            .write(&batch, shared.durability)
            .map_err(storage)?;
        self.tokens.remove(&serial);
        if let Ok(state) = self.account_mut(account) {
            state.agent_tokens.remove(&agent);
        }
        outcome.result.map(|_| Response::Ok).map_err(token_err)
    }

    fn calibrate_token(
        &mut self,
        account: u64,
        me: u32,
        serial: &str,
        code: &str,
        next: &str,
    ) -> Answer {
        let state = self.account_mut(account)?;
        let holder = state
            .agent_tokens
            .iter()
            .find(|(_, s)| s.as_str() == serial)
            .map(|(a, _)| *a);
        let may_manage = state
            .permissions(me)
            .contains(crate::store::Permission::SystemSettings);
        let now = self.unix_secs();
        match holder {
            Some(agent) if agent == me || may_manage => {
                let record = self.owned_token(serial)?;
                self.apply_owned(&record, |s, p| s.calibrate(p, code, next, now))
                    .map(|_| Response::Ok)
            }
            // An administrator calibrates a new token before binding it, so a
            // token whose clock drifted in the box can still be bound.
            None if may_manage => self.calibrate_unbound(account, serial, code, next, now),
            _ => Err(err(
                ErrorCode::TOKEN_UNKNOWN,
                format!("token {serial:?} is not bound to you (or to an agent you manage)"),
            )),
        }
    }

    fn calibrate_unbound(
        &mut self,
        account: u64,
        serial: &str,
        code: &str,
        next: &str,
        now: u64,
    ) -> Answer {
        self.token_guess_check(account)?;
        let key = self.token_key()?;
        let policy = self.policy();
        let shared = Arc::clone(&self.shared);
        let _guard = shared
            .token_lock
            .lock()
            .map_err(|_| err(ErrorCode::INTERNAL, "token lock poisoned"))?;
        let record = store::load_token(shared.store.as_ref(), serial)
            .map_err(storage)?
            .filter(|r| r.bound.is_none())
            .ok_or_else(|| {
                err(
                    ErrorCode::TOKEN_UNKNOWN,
                    format!("no unbound token {serial:?}"),
                )
            })?;
        let outcome = open_token(&key, &record)?.calibrate(&policy, code, next, now);
        let guessed_wrong = matches!(&outcome.result, Err(e) if e.counts_as_failure());
        if guessed_wrong {
            self.token_guesses.failed(account, now_i64(now));
        }
        if outcome.changed && !guessed_wrong {
            let mut batch = Batch::new();
            batch.put_token(&to_record(&outcome.state, &record.sealed_secret));
            shared
                .store
                .write(&batch, shared.durability)
                .map_err(storage)?;
        }
        outcome.result.map(|_| Response::Ok).map_err(token_err)
    }

    /// Operator: unlock a token. A bound token is unlocked by its account's
    /// shard (the caller routes it there); an unbound one under the lock.
    pub(super) fn unlock_token(&mut self, serial: &str) -> Answer {
        let record = store::load_token(self.shared.store.as_ref(), serial)
            .map_err(storage)?
            .ok_or_else(|| err(ErrorCode::TOKEN_UNKNOWN, format!("no token {serial:?}")))?;
        match record.bound {
            Some(_) => {
                let record = self.owned_token(serial)?;
                self.apply_owned(&record, |s, _| s.admin_unlock())
                    .map(|()| Response::Ok)
            }
            None => {
                let key = self.token_key()?;
                let shared = Arc::clone(&self.shared);
                let _guard = shared
                    .token_lock
                    .lock()
                    .map_err(|_| err(ErrorCode::INTERNAL, "token lock poisoned"))?;
                let outcome = open_token(&key, &record)?.admin_unlock();
                let mut batch = Batch::new();
                batch.put_token(&to_record(&outcome.state, &record.sealed_secret));
                shared
                    .store
                    .write(&batch, shared.durability)
                    .map_err(storage)?;
                outcome.result.map(|()| Response::Ok).map_err(token_err)
            }
        }
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
        // On the worker pool, like every slow job: PSKC key derivation may take seconds.
        let spawned = self.shared.workers.spawn(move || {
            let result = import_seeds(
                &shared,
                format,
                &data,
                key_hex.as_deref(),
                password.as_deref(),
            );
            mailbox.answer(reply, result);
        });
        if !spawned {
            self.reply_err(reply, ErrorCode::OVERLOADED, "cannot start the import");
        }
    }
}

/// Parses, seals and stores a seed file: all or nothing.
fn import_seeds(
    shared: &super::Shared,
    format: TokenFileFormat,
    data: &[u8],
    key_hex: Option<&str>,
    password: Option<&str>,
) -> Answer {
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
    let _guard = shared
        .token_lock
        .lock()
        .map_err(|_| err(ErrorCode::INTERNAL, "token lock poisoned"))?;
    let mut existing = Vec::new();
    for seed in &seeds {
        if store::load_token(shared.store.as_ref(), &seed.serial)
            .map_err(storage)?
            .is_some()
        {
            existing.push(seed.serial.clone());
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
    let mut batch = Batch::new();
    let mut serials = Vec::with_capacity(seeds.len());
    for seed in seeds {
        let sealed_secret = sealed::seal(&key, &seed.serial, seed.secret.expose(), &rng)
            .map_err(|e| err(ErrorCode::INTERNAL, e.to_string()))?;
        let state = TokenState::new(seed);
        batch.put_token(&to_record(&state, &sealed_secret));
        serials.push(state.serial);
    }
    shared
        .store
        .write(&batch, shared.durability)
        .map_err(storage)?;
    Ok(Response::TokensImported { serials })
}
