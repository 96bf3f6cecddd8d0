//! The token state machine: bind, unbind, verify, calibrate, lock and unlock, as pure functions.
//!
//! Every operation is a method on an immutable [`TokenState`] that takes the input and
//! `now` (Unix seconds) and returns an [`Outcome`]: the next state, whether it differs
//! from the old one, and the result. Nothing here reads a clock, touches storage or
//! draws random numbers.
//!
//! # The caller's duties
//!
//! 1. **Persist before answering.** When [`Outcome::changed`] is true the caller writes
//!    [`Outcome::state`] durably *before* it tells anyone the result. A successful
//!    verify sets `last_used_step`; if the success were reported first and the daemon
//!    crashed before the write, the same code would be accepted again after a restart.
//!    Failures change the state too (the failure count), and must be written before
//!    the refusal is sent, or an attacker could guess without ever being counted.
//! 2. **One operation at a time per token.** Two verifies of the same code applied to
//!    the same old state would both succeed. Apply operations to a token one after
//!    another, each on the state the previous one produced (the shard that owns the
//!    token, or a compare-and-swap on the stored record).
//! 3. **Authorisation.** Who may bind, unbind, mark lost and unlock (system settings
//!    permission, the super administrator) is decided before calling; this module
//!    checks only codes and the token's own state.
//!
//! # Rules
//!
//! - Steps: the server's step is `floor(now / step_secs)`; the token is believed to be
//!   at `server step + drift_steps`.
//! - Verify and bind accept a code within ±`window` steps of that (±1 by default).
//! - A code whose step is not after `last_used_step` is a replay and refused, also when
//!   it is otherwise valid: after a newer code was used, older codes are dead too.
//! - Calibrate searches ±[`TokenPolicy::calibrate_window`] steps of the server's own
//!   step (not of the old drift, so |drift| never exceeds that window plus one) for
//!   consecutive steps `s`, `s + 1` showing the two codes. The person reads the first
//!   code, waits for the token to show the next one and submits: at that moment the
//!   token shows step `s + 1`, so the drift becomes `s + 1 - server step`, and both
//!   codes are spent (`last_used_step = s + 1`).
//! - Every refused code counts as a failure: a wrong code, a replay, a malformed code
//!   (not exactly N ASCII digits — it cannot match, but it is still an attempt, and
//!   counting it keeps "attempts" one simple notion), and a failed calibration. At
//!   [`TokenPolicy::max_failures`] consecutive failures the token locks. A success
//!   resets the count. Refusals that involve no code (locked, not bound, already bound)
//!   are not counted.
//! - A locked token refuses every code-checking operation (verify, bind, calibrate)
//!   until [`TokenState::admin_unlock`]. Administrative operations that check no code
//!   ([`TokenState::unbind`], [`TokenState::mark_lost`]) still work, so a locked-out
//!   agent's token can be taken away and replaced without unlocking it first.
//! - Unbinding keeps the drift, the last used step and the lock: they belong to the
//!   token, not to the binding.

use std::num::NonZeroU32;

use thiserror::Error;

use super::hotp::{Algorithm, Code, Digits};
use super::totp::{self, Totp};
use super::{ImportedSeed, Secret};

/// Tunable limits of the state machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TokenPolicy {
    /// Steps either side of the expected step accepted by [`TokenState::verify`].
    pub verify_window: u32,
    /// Steps either side of the expected step accepted by [`TokenState::bind`].
    pub bind_window: u32,
    /// Steps either side of the server's step searched by [`TokenState::calibrate`].
    pub calibrate_window: u32,
    /// Consecutive failures after which the token locks.
    pub max_failures: NonZeroU32,
}

impl Default for TokenPolicy {
    /// ±1 step for verify and bind, ±30 steps (30 minutes at 60 s) for calibration,
    /// lock after 10 failures.
    fn default() -> TokenPolicy {
        TokenPolicy {
            verify_window: 1,
            bind_window: 1,
            calibrate_window: 30,
            max_failures: NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// The agent a token is bound to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BoundAgent {
    /// The enterprise account.
    pub account: u64,
    /// The agent (工号) within the account.
    pub agent: u32,
}

/// Everything known about one token. The secret is plaintext and lives only in memory;
/// storage keeps it sealed (see [`super::sealed`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenState {
    /// Serial number printed on the token.
    pub serial: String,
    /// The shared secret.
    pub secret: Secret,
    /// HMAC hash function.
    pub algorithm: Algorithm,
    /// Digits per code.
    pub digits: Digits,
    /// Seconds per step.
    pub step_secs: NonZeroU32,
    /// The token's clock minus the server's, in steps (set by calibration).
    pub drift_steps: i64,
    /// The newest step whose code was accepted; codes of this or earlier steps are dead.
    pub last_used_step: Option<u64>,
    /// Consecutive failed attempts.
    pub failures: u32,
    /// Locked after too many failures (or lost) until an administrator unlocks it.
    pub locked: bool,
    /// Who the token protects, if anyone.
    pub bound_agent: Option<BoundAgent>,
}

/// Why an operation was refused. All of them are the requester's doing.
///
/// Exhaustive on purpose: the daemon maps each variant to a protocol error code with a
/// `match` that must fail to compile when a variant is added.
#[derive(Clone, Copy, Debug, Error, PartialEq, Eq)]
pub enum TokenError {
    /// The code does not match any step in the window.
    #[error("wrong token code")]
    WrongCode,
    /// The code matches, but its step was already used (or an older one was).
    #[error("token code already used")]
    Replay,
    /// The token is locked; an administrator must unlock it.
    #[error("token locked after too many failed attempts")]
    Locked,
    /// The token is not bound to any agent.
    #[error("token is not bound to an agent")]
    NotBound,
    /// The token is already bound; unbind it first.
    #[error("token is already bound to an agent")]
    AlreadyBound,
    /// No two consecutive steps in the calibration window show the two codes.
    #[error("calibration failed: the two codes are not consecutive codes of this token")]
    CalibrationFailed,
    /// The code is not exactly the token's number of ASCII digits.
    #[error("malformed token code")]
    MalformedCode,
}

impl TokenError {
    /// Whether this refusal counted as a failed attempt (and may have locked the token).
    pub fn counts_as_failure(self) -> bool {
        matches!(
            self,
            TokenError::WrongCode | TokenError::CalibrationFailed | TokenError::MalformedCode
        )
    }
}

/// A successful verify or bind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Accepted {
    /// The step whose code was presented (now `last_used_step`).
    pub step: u64,
    /// That step minus the expected one (`server step + drift`): within ±window.
    /// A caller may watch it to suggest recalibration.
    pub offset: i64,
}

/// A successful calibration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Calibrated {
    /// The drift before.
    pub previous_drift_steps: i64,
    /// The drift now.
    pub drift_steps: i64,
}

/// The result of an operation: the next state and the answer.
#[must_use = "the state must be persisted when changed, before the result is reported"]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome<T> {
    /// The token's state after the operation (a copy of the old one if unchanged).
    pub state: TokenState,
    /// Whether `state` differs from the old state: if so, persist it before answering.
    pub changed: bool,
    /// The answer to give.
    pub result: Result<T, TokenError>,
}

impl TokenState {
    /// A fresh token from an imported seed: unbound, no drift, nothing used.
    pub fn new(seed: ImportedSeed) -> TokenState {
        TokenState {
            serial: seed.serial,
            secret: seed.secret,
            algorithm: seed.algorithm,
            digits: seed.digits,
            step_secs: seed.step_secs,
            drift_steps: 0,
            last_used_step: None,
            failures: 0,
            locked: false,
            bound_agent: None,
        }
    }

    /// The server's step number at `now`.
    pub fn server_step(&self, now: u64) -> u64 {
        totp::step_at(now, self.step_secs)
    }

    /// Binds the token to `agent` if `code` is the token's current code (within
    /// [`TokenPolicy::bind_window`] of the drift). Refused if locked or already bound
    /// (to anyone, even `agent`). The code is spent.
    pub fn bind(
        &self,
        policy: &TokenPolicy,
        agent: BoundAgent,
        code: &str,
        now: u64,
    ) -> Outcome<Accepted> {
        if self.locked {
            return self.unchanged(Err(TokenError::Locked));
        }
        if self.bound_agent.is_some() {
            return self.unchanged(Err(TokenError::AlreadyBound));
        }
        match self.check_code(policy.bind_window, code, now) {
            Ok(accepted) => {
                let mut next = self.succeeded(accepted.step);
                next.bound_agent = Some(agent);
                self.changed_to(next, Ok(accepted))
            }
            Err(err) => self.failed(policy, err),
        }
    }

    /// Unbinds the token; answers the agent it was bound to. Works while locked.
    pub fn unbind(&self) -> Outcome<BoundAgent> {
        match self.bound_agent {
            None => self.unchanged(Err(TokenError::NotBound)),
            Some(agent) => {
                let mut next = self.clone();
                next.bound_agent = None;
                self.changed_to(next, Ok(agent))
            }
        }
    }

    /// The token was reported lost (§12.5): unbind it (if bound) and lock it, so whoever
    /// finds it can neither use it nor have it bound again until an administrator
    /// unlocks it. Answers the agent it was bound to.
    pub fn mark_lost(&self) -> Outcome<Option<BoundAgent>> {
        let mut next = self.clone();
        next.bound_agent = None;
        next.locked = true;
        let changed = next != *self;
        Outcome {
            state: next,
            changed,
            result: Ok(self.bound_agent),
        }
    }

    /// Checks `code` for the bound agent (login, value-added operations): accepted if it
    /// is the code of a step within [`TokenPolicy::verify_window`] of the drift that is
    /// after `last_used_step`. On success that step becomes `last_used_step` — persist
    /// the state before reporting success (see the module documentation).
    pub fn verify(&self, policy: &TokenPolicy, code: &str, now: u64) -> Outcome<Accepted> {
        if self.locked {
            return self.unchanged(Err(TokenError::Locked));
        }
        if self.bound_agent.is_none() {
            return self.unchanged(Err(TokenError::NotBound));
        }
        match self.check_code(policy.verify_window, code, now) {
            Ok(accepted) => self.changed_to(self.succeeded(accepted.step), Ok(accepted)),
            Err(err) => self.failed(policy, err),
        }
    }

    /// Calibrates the token's clock from its current code and the next one (§12.8).
    /// Works whether or not the token is bound; refused while locked.
    pub fn calibrate(
        &self,
        policy: &TokenPolicy,
        current_code: &str,
        next_code: &str,
        now: u64,
    ) -> Outcome<Calibrated> {
        if self.locked {
            return self.unchanged(Err(TokenError::Locked));
        }
        let (Some(first), Some(second)) = (
            Code::parse(current_code, self.digits),
            Code::parse(next_code, self.digits),
        ) else {
            return self.failed(policy, TokenError::MalformedCode);
        };
        let server = self.server_step(now);
        let Some((lo, hi)) = window(i128::from(server), policy.calibrate_window) else {
            return self.failed(policy, TokenError::CalibrationFailed);
        };
        let totp = self.totp();
        let mut fresh = None;
        let mut replayed = false;
        // Walk the window once, carrying the previous step's comparison forward.
        let mut prev_matches_first = false;
        let mut step = lo;
        loop {
            let code = totp.code_for_step(step);
            if prev_matches_first && code.ct_eq(&second) {
                // `step` ≥ 1 here, since a previous step exists.
                let s = step.saturating_sub(1);
                if self.is_after_last_used(s) {
                    fresh = fresh.or(Some(s));
                } else {
                    replayed = true;
                }
            }
            prev_matches_first = step <= hi && code.ct_eq(&first);
            // The pair may end one step past the window's end.
            if step > hi || step == u64::MAX {
                break;
            }
            step += 1;
        }
        match fresh {
            Some(s) => {
                let token_now = i128::from(s) + 1;
                let drift = token_now - i128::from(server);
                // |drift| ≤ calibrate_window + 1, far inside i64.
                let drift = i64::try_from(drift).unwrap_or(0);
                let mut next = self.succeeded(s.saturating_add(1));
                next.drift_steps = drift;
                let calibrated = Calibrated {
                    previous_drift_steps: self.drift_steps,
                    drift_steps: drift,
                };
                self.changed_to(next, Ok(calibrated))
            }
            None if replayed => self.failed(policy, TokenError::Replay),
            None => self.failed(policy, TokenError::CalibrationFailed),
        }
    }

    /// An administrator unlocks the token and clears its failure count.
    pub fn admin_unlock(&self) -> Outcome<()> {
        let mut next = self.clone();
        next.locked = false;
        next.failures = 0;
        let changed = next != *self;
        Outcome {
            state: next,
            changed,
            result: Ok(()),
        }
    }

    /// The TOTP generator for this token.
    pub fn totp(&self) -> Totp {
        Totp::new(
            self.algorithm,
            self.secret.expose(),
            self.digits,
            self.step_secs,
        )
    }

    /// Finds the step within ±`width` of the expected step whose code is `code`.
    fn check_code(&self, width: u32, code: &str, now: u64) -> Result<Accepted, TokenError> {
        let presented = Code::parse(code, self.digits).ok_or(TokenError::MalformedCode)?;
        let expected = i128::from(self.server_step(now)) + i128::from(self.drift_steps);
        let (lo, hi) = window(expected, width).ok_or(TokenError::WrongCode)?;
        let totp = self.totp();
        let mut fresh = None;
        let mut replayed = false;
        // Every step in the window is computed and compared, match or not.
        for step in lo..=hi {
            if totp.code_for_step(step).ct_eq(&presented) {
                if self.is_after_last_used(step) {
                    fresh = fresh.or(Some(step));
                } else {
                    replayed = true;
                }
            }
        }
        match fresh {
            Some(step) => Ok(Accepted {
                step,
                // |offset| ≤ width, far inside i64.
                offset: i64::try_from(i128::from(step) - expected).unwrap_or(0),
            }),
            None if replayed => Err(TokenError::Replay),
            None => Err(TokenError::WrongCode),
        }
    }

    fn is_after_last_used(&self, step: u64) -> bool {
        self.last_used_step.is_none_or(|used| step > used)
    }

    /// The state after an accepted code of `step`.
    fn succeeded(&self, step: u64) -> TokenState {
        let mut next = self.clone();
        next.last_used_step = Some(step);
        next.failures = 0;
        next
    }

    fn failed<T>(&self, policy: &TokenPolicy, err: TokenError) -> Outcome<T> {
        // A replay is refused but not counted: whoever sent it held a valid code
        // (a client retrying, or the same code from many connections at once), and
        // counting it would let one legitimate burst lock the token.
        if !err.counts_as_failure() {
            return self.unchanged(Err(err));
        }
        let mut next = self.clone();
        next.failures = next.failures.saturating_add(1);
        if next.failures >= policy.max_failures.get() {
            next.locked = true;
        }
        self.changed_to(next, Err(err))
    }

    fn unchanged<T>(&self, result: Result<T, TokenError>) -> Outcome<T> {
        Outcome {
            state: self.clone(),
            changed: false,
            result,
        }
    }

    fn changed_to<T>(&self, next: TokenState, result: Result<T, TokenError>) -> Outcome<T> {
        Outcome {
            changed: next != *self,
            state: next,
            result,
        }
    }
}

/// The steps `centre - width ..= centre + width`, clipped to valid step numbers;
/// `None` if none is valid.
fn window(centre: i128, width: u32) -> Option<(u64, u64)> {
    let width = i128::from(width);
    let lo = (centre - width).max(0);
    let hi = (centre + width).min(i128::from(u64::MAX));
    if lo > hi {
        return None;
    }
    Some((u64::try_from(lo).ok()?, u64::try_from(hi).ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"12345678901234567890";
    /// 2026-01-01T00:00:00Z, a whole minute.
    const T: u64 = 1_767_225_600;
    const AGENT: BoundAgent = BoundAgent {
        account: 2_000_001,
        agent: 1001,
    };

    fn fresh() -> TokenState {
        TokenState::new(ImportedSeed {
            serial: "TK0001".into(),
            secret: Secret::new(SECRET.to_vec()),
            algorithm: Algorithm::Sha1,
            digits: Digits::SIX,
            step_secs: totp::DEFAULT_STEP_SECS,
        })
    }

    /// What a token whose clock runs `ahead` seconds fast shows at server time `at`.
    fn shown(ahead: i64, at: u64) -> String {
        let token_time = u64::try_from(i128::from(at) + i128::from(ahead)).unwrap();
        fresh().totp().code_at(token_time).as_str().to_owned()
    }

    fn bound() -> TokenState {
        let out = fresh().bind(&TokenPolicy::default(), AGENT, &shown(0, T), T);
        assert!(out.result.is_ok());
        out.state
    }

    /// A bound token whose last used step is far in the past, so codes near `T` are new.
    fn bound_long_ago() -> TokenState {
        let out = fresh().bind(&TokenPolicy::default(), AGENT, &shown(0, 0), 0);
        assert!(out.result.is_ok());
        out.state
    }

    fn err<T: std::fmt::Debug>(out: &Outcome<T>) -> TokenError {
        *out.result.as_ref().unwrap_err()
    }

    #[test]
    fn bind_with_current_code() {
        let out = fresh().bind(&TokenPolicy::default(), AGENT, &shown(0, T), T + 5);
        let accepted = out.result.unwrap();
        assert_eq!(accepted.step, T / 60);
        assert_eq!(accepted.offset, 0);
        assert!(out.changed);
        assert_eq!(out.state.bound_agent, Some(AGENT));
        assert_eq!(out.state.last_used_step, Some(T / 60));
    }

    #[test]
    fn bind_with_wrong_code_refused_and_counted() {
        let token = fresh();
        let right = shown(0, T);
        let wrong = if right == "000000" {
            "000001"
        } else {
            "000000"
        };
        let out = token.bind(&TokenPolicy::default(), AGENT, wrong, T);
        assert_eq!(err(&out), TokenError::WrongCode);
        assert!(out.changed);
        assert_eq!(out.state.bound_agent, None);
        assert_eq!(out.state.failures, 1);
        assert_eq!(out.state.last_used_step, None);
    }

    #[test]
    fn bind_window_edges() {
        // (token clock offset in seconds, accepted?) with the default ±1 step.
        let cases: &[(i64, bool)] = &[
            (-120, false),
            (-60, true),
            (0, true),
            (60, true),
            (120, false),
            (600, false),
        ];
        for &(ahead, ok) in cases {
            let out = fresh().bind(&TokenPolicy::default(), AGENT, &shown(ahead, T), T);
            assert_eq!(out.result.is_ok(), ok, "token {ahead} s ahead");
            if let Ok(accepted) = out.result {
                assert_eq!(accepted.offset, ahead / 60);
            }
        }
    }

    #[test]
    fn bind_refusals_without_a_code_check() {
        let policy = TokenPolicy::default();
        let already = bound();
        let other = BoundAgent {
            account: 2_000_001,
            agent: 1002,
        };
        let out = already.bind(&policy, other, &shown(0, T + 60), T + 60);
        assert_eq!(err(&out), TokenError::AlreadyBound);
        assert!(!out.changed);
        assert_eq!(out.state.bound_agent, Some(AGENT));

        let mut locked = fresh();
        locked.locked = true;
        let out = locked.bind(&policy, AGENT, &shown(0, T), T);
        assert_eq!(err(&out), TokenError::Locked);
        assert!(!out.changed);
    }

    #[test]
    fn verify_accepts_current_code_once() {
        let policy = TokenPolicy::default();
        let token = bound_long_ago();
        let code = shown(0, T);
        let first = token.verify(&policy, &code, T + 10);
        assert_eq!(
            first.result,
            Ok(Accepted {
                step: T / 60,
                offset: 0
            })
        );
        assert!(first.changed);
        assert_eq!(first.state.last_used_step, Some(T / 60));

        // The same code again, in the same step and in the next one: a replay.
        for at in [T + 20, T + 70] {
            let again = first.state.verify(&policy, &code, at);
            assert_eq!(err(&again), TokenError::Replay, "at {at}");
            assert_eq!(again.state.last_used_step, Some(T / 60));
            assert_eq!(again.state.failures, 0);
        }
        // Two concurrent requests applied to the same old state would both pass: the
        // caller serialises them (module docs). Applied in order, the second is refused.
        let second = first.state.verify(&policy, &code, T + 10);
        assert_eq!(err(&second), TokenError::Replay);
    }

    #[test]
    fn replay_refused_after_restart_from_persisted_state() {
        let policy = TokenPolicy::default();
        let code = shown(0, T);
        let out = bound_long_ago().verify(&policy, &code, T);
        assert!(out.result.is_ok() && out.changed);
        // The persisted state is all a restarted daemon knows.
        let restored = out.state.clone();
        assert_eq!(
            err(&restored.verify(&policy, &code, T + 1)),
            TokenError::Replay
        );
    }

    #[test]
    fn older_code_refused_after_newer_used() {
        let policy = TokenPolicy::default();
        let token = bound_long_ago();
        // The next minute's code is used first (the token runs a little fast) ...
        let newer = token.verify(&policy, &shown(0, T + 60), T);
        assert_eq!(newer.result.unwrap().offset, 1);
        // ... then the current and the previous minute's codes are dead, though in window.
        for earlier in [T, T - 60] {
            let out = newer.state.verify(&policy, &shown(0, earlier), T);
            assert_eq!(err(&out), TokenError::Replay, "code of {earlier}");
        }
        // The minute after is still good.
        assert!(newer
            .state
            .verify(&policy, &shown(0, T + 120), T + 60)
            .result
            .is_ok());
    }

    #[test]
    fn verify_window_is_configurable() {
        let token = bound_long_ago();
        // (window, token clock offset in seconds, accepted?)
        let cases: &[(u32, i64, bool)] = &[
            (0, 0, true),
            (0, 60, false),
            (0, -60, false),
            (1, -60, true),
            (1, 60, true),
            (1, 120, false),
            (2, 120, true),
            (2, -120, true),
            (2, 180, false),
        ];
        for &(width, ahead, ok) in cases {
            let policy = TokenPolicy {
                verify_window: width,
                ..TokenPolicy::default()
            };
            let out = token.verify(&policy, &shown(ahead, T), T);
            assert_eq!(out.result.is_ok(), ok, "window {width}, {ahead} s ahead");
        }
    }

    #[test]
    fn verify_refusals() {
        let policy = TokenPolicy::default();
        let out = fresh().verify(&policy, &shown(0, T), T);
        assert_eq!(err(&out), TokenError::NotBound);
        assert!(!out.changed);

        let token = bound_long_ago();
        let malformed = ["", "12345", "1234567", "12345a", " 123456", "１２３４５６"];
        for code in malformed {
            let out = token.verify(&policy, code, T);
            assert_eq!(err(&out), TokenError::MalformedCode, "{code:?}");
            assert_eq!(out.state.failures, 1, "malformed codes count");
            assert!(out.changed);
        }
    }

    #[test]
    fn lockout_after_max_failures_and_admin_unlock() {
        let policy = TokenPolicy {
            max_failures: NonZeroU32::new(3).unwrap(),
            ..TokenPolicy::default()
        };
        let right = shown(0, T);
        let wrong = if right == "999999" {
            "999998"
        } else {
            "999999"
        };
        let mut token = bound_long_ago();
        for attempt in 1..=3u32 {
            let out = token.verify(&policy, wrong, T);
            assert_eq!(err(&out), TokenError::WrongCode, "attempt {attempt}");
            assert_eq!(out.state.failures, attempt);
            assert_eq!(out.state.locked, attempt == 3);
            token = out.state;
        }
        // Locked: even the right code, binding and calibrating are refused, uncounted.
        let out = token.verify(&policy, &right, T);
        assert_eq!(err(&out), TokenError::Locked);
        assert!(!out.changed);
        let out = token.calibrate(&policy, &right, &shown(0, T + 60), T + 60);
        assert_eq!(err(&out), TokenError::Locked);
        assert!(!out.changed);

        let unlocked = token.admin_unlock();
        assert!(unlocked.changed && unlocked.result.is_ok());
        assert!(!unlocked.state.locked);
        assert_eq!(unlocked.state.failures, 0);
        assert!(unlocked.state.verify(&policy, &right, T).result.is_ok());
        // Unlocking an unlocked token changes nothing.
        assert!(!unlocked.state.admin_unlock().changed);
    }

    #[test]
    fn default_lockout_is_ten_and_success_resets_the_count() {
        let policy = TokenPolicy::default();
        let right = shown(0, T);
        let wrong = if right == "111111" {
            "111112"
        } else {
            "111111"
        };
        let mut token = bound_long_ago();
        for _ in 0..9 {
            token = token.verify(&policy, wrong, T).state;
        }
        assert_eq!(token.failures, 9);
        assert!(!token.locked);
        let ok = token.verify(&policy, &right, T);
        assert!(ok.result.is_ok());
        assert_eq!(ok.state.failures, 0);
        token = ok.state;
        for _ in 0..10 {
            token = token.verify(&policy, wrong, T + 60).state;
        }
        assert!(token.locked);
        assert_eq!(token.failures, 10);
    }

    #[test]
    fn every_kind_of_failure_counts() {
        fn summary<T: std::fmt::Debug>(out: Outcome<T>) -> (TokenError, u32, bool) {
            (err(&out), out.state.failures, out.changed)
        }
        let policy = TokenPolicy::default();
        let token = bound_long_ago();
        let used = token.verify(&policy, &shown(0, T), T).state;
        let cases = [
            (
                summary(token.verify(&policy, "abc", T)),
                TokenError::MalformedCode,
            ),
            (
                summary(token.calibrate(&policy, "000000", "000000", T)),
                TokenError::CalibrationFailed,
            ),
        ];
        for ((got, failures, changed), want) in cases {
            assert_eq!(got, want);
            assert!(want.counts_as_failure());
            assert_eq!(failures, 1, "{want:?}");
            assert!(changed, "{want:?}");
        }
        // A replay is refused without counting: its sender held a valid code.
        let replay = used.verify(&policy, &shown(0, T), T);
        assert_eq!(
            (err(&replay), replay.state.failures, replay.changed),
            (TokenError::Replay, 0, false)
        );
        for e in [
            TokenError::Replay,
            TokenError::Locked,
            TokenError::NotBound,
            TokenError::AlreadyBound,
        ] {
            assert!(!e.counts_as_failure());
        }
    }

    #[test]
    fn calibrate_ten_minutes_ahead_then_later_codes_verify() {
        let policy = TokenPolicy::default();
        let ahead = 600;
        let token = bound_long_ago();
        // Ten minutes fast: the current code is out of the ±1 window.
        let out = token.verify(&policy, &shown(ahead, T), T);
        assert_eq!(err(&out), TokenError::WrongCode);

        // The person reads the code at T, waits for the next one, submits at T + 60.
        let out = token.calibrate(&policy, &shown(ahead, T), &shown(ahead, T + 60), T + 60);
        assert_eq!(
            out.result,
            Ok(Calibrated {
                previous_drift_steps: 0,
                drift_steps: 10
            })
        );
        assert!(out.changed);
        let calibrated = out.state;
        assert_eq!(calibrated.drift_steps, 10);
        assert_eq!(calibrated.last_used_step, Some((T + 60 + 600) / 60));
        assert_eq!(calibrated.failures, 0);

        // Both calibration codes are spent.
        let out = calibrated.verify(&policy, &shown(ahead, T + 60), T + 60);
        assert_eq!(err(&out), TokenError::Replay);

        // Later codes at the same offset verify, minute after minute.
        let mut state = calibrated;
        for minute in 2..30u64 {
            let at = T + minute * 60 + 17;
            let out = state.verify(&policy, &shown(ahead, at), at);
            assert_eq!(out.result.map(|a| a.offset), Ok(0), "minute {minute}");
            state = out.state;
        }
    }

    #[test]
    fn calibrate_with_both_codes_typed_at_once_still_verifies_later() {
        // A person who somehow has both codes at T: the drift is one step more than the
        // token's real offset, still within the ±1 verify window.
        let policy = TokenPolicy::default();
        let ahead = 600;
        let out = bound_long_ago().calibrate(&policy, &shown(ahead, T), &shown(ahead, T + 60), T);
        assert_eq!(out.result.map(|c| c.drift_steps), Ok(11));
        let later = T + 300;
        let verified = out.state.verify(&policy, &shown(ahead, later), later);
        assert_eq!(verified.result.map(|a| a.offset), Ok(-1));
    }

    #[test]
    fn calibrate_window_edges_and_order() {
        let policy = TokenPolicy::default();
        // (token clock offset in minutes, calibrates?) with the default ±30 steps; the
        // searched first step is s, the drift becomes s + 1 - server step.
        let cases: &[(i64, bool)] = &[
            (-31, false),
            (-30, true),
            (-1, true),
            (0, true),
            (10, true),
            (29, true),
            (30, true),
            (31, false),
            (-600, false),
        ];
        for &(minutes, ok) in cases {
            let ahead = minutes * 60;
            // Codes read at T and T + 60; submitted at T + 60 minus one step of server
            // time so that `s` is exactly `server step + minutes`.
            let out =
                bound_long_ago().calibrate(&policy, &shown(ahead, T), &shown(ahead, T + 60), T);
            assert_eq!(out.result.is_ok(), ok, "{minutes} min");
            if let Ok(c) = out.result {
                assert_eq!(c.drift_steps, minutes + 1);
            }
        }
        // Codes given in the wrong order are not consecutive.
        let out = fresh().calibrate(&policy, &shown(0, T + 60), &shown(0, T), T);
        assert_eq!(err(&out), TokenError::CalibrationFailed);
        // The same code twice is not consecutive either (bar a one-in-a-million clash).
        let out = fresh().calibrate(&policy, &shown(0, T), &shown(0, T), T);
        assert_eq!(err(&out), TokenError::CalibrationFailed);
    }

    #[test]
    fn calibrate_window_is_configurable() {
        let policy = TokenPolicy {
            calibrate_window: 60,
            ..TokenPolicy::default()
        };
        let ahead = 45 * 60;
        let out = fresh().calibrate(&policy, &shown(ahead, T), &shown(ahead, T + 60), T + 60);
        assert_eq!(out.result.map(|c| c.drift_steps), Ok(45));
        let narrow = TokenPolicy::default();
        let out = fresh().calibrate(&narrow, &shown(ahead, T), &shown(ahead, T + 60), T + 60);
        assert_eq!(err(&out), TokenError::CalibrationFailed);
    }

    #[test]
    fn calibrate_refuses_used_codes_and_works_unbound() {
        let policy = TokenPolicy::default();
        let token = bound_long_ago();
        let used = token.verify(&policy, &shown(0, T), T).state;
        // The first code was already used: replay.
        let out = used.calibrate(&policy, &shown(0, T), &shown(0, T + 60), T + 60);
        assert_eq!(err(&out), TokenError::Replay);
        assert_eq!(out.state.failures, 0, "a replay is refused, not counted");

        // Unbound tokens can be calibrated (§12.8 needs only the serial and codes).
        let out = fresh().calibrate(&policy, &shown(-180, T), &shown(-180, T + 60), T + 60);
        assert_eq!(out.result.map(|c| c.drift_steps), Ok(-3));
        assert_eq!(out.state.bound_agent, None);

        let out = token.calibrate(&policy, "12345", "123456", T);
        assert_eq!(err(&out), TokenError::MalformedCode);
    }

    #[test]
    fn unbind_and_lost_token() {
        let token = bound();
        let out = token.unbind();
        assert_eq!(out.result, Ok(AGENT));
        assert!(out.changed);
        assert_eq!(out.state.bound_agent, None);
        // The token's history stays with the token.
        assert_eq!(out.state.last_used_step, token.last_used_step);
        let again = out.state.unbind();
        assert_eq!(err(&again), TokenError::NotBound);
        assert!(!again.changed);

        // Unbinding works on a locked token; the lock stays.
        let mut locked = bound();
        locked.locked = true;
        let out = locked.unbind();
        assert_eq!(out.result, Ok(AGENT));
        assert!(out.state.locked);

        // Lost: unbound and locked; cannot be bound again until unlocked.
        let lost = bound().mark_lost();
        assert_eq!(lost.result, Ok(Some(AGENT)));
        assert!(lost.changed && lost.state.locked && lost.state.bound_agent.is_none());
        let policy = TokenPolicy::default();
        let out = lost.state.bind(&policy, AGENT, &shown(0, T + 120), T + 120);
        assert_eq!(err(&out), TokenError::Locked);
        let unlocked = lost.state.admin_unlock().state;
        let out = unlocked.bind(&policy, AGENT, &shown(0, T + 120), T + 120);
        assert!(out.result.is_ok());
        let twice = lost.state.mark_lost();
        assert_eq!(twice.result, Ok(None));
        assert!(!twice.changed);
    }

    #[test]
    fn time_edges_never_panic() {
        let policy = TokenPolicy::default();
        let mut token = bound_long_ago();
        // (drift, step seconds, now): windows past either end of the step range.
        let cases: &[(i64, u32, u64)] = &[
            (i64::MIN, 60, u64::MAX),
            (i64::MIN, 1, 0),
            (i64::MAX, 1, u64::MAX),
            (i64::MAX, 1, 0),
            (0, 1, u64::MAX),
            (0, u32::MAX, 0),
        ];
        for &(drift, step, now) in cases {
            token.drift_steps = drift;
            token.step_secs = NonZeroU32::new(step).unwrap();
            let _ = token.verify(&policy, "123456", now);
            let _ = token.calibrate(&policy, "123456", "654321", now);
        }
        // The very first step and the very last one are usable.
        let mut edge = fresh();
        edge.step_secs = NonZeroU32::MIN;
        for now in [0, u64::MAX] {
            let code = edge.totp().code_at(now);
            let out = edge.bind(&policy, AGENT, code.as_str(), now);
            assert_eq!(out.result.map(|a| a.step), Ok(now));
        }
    }

    #[test]
    fn debug_does_not_show_the_secret() {
        let shown = format!("{:?}", fresh());
        assert!(shown.contains("Secret(20 bytes)"));
        assert!(!shown.contains("12345678901234567890"));
        assert!(!shown.contains("49, 50, 51"));
    }
}
