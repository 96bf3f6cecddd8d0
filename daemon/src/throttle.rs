//! Login throttling: counts failed password logins per key (an agent, a source
//! address) and says when a key must wait.
//!
//! Rules (defaults from the security issue, configurable): after
//! `max_consecutive` failures in a row a key cools down for `cool_down_secs`;
//! and no key may fail more than `max_per_hour` times in any rolling hour
//! (approximated by hour-long buckets: the count resets an hour after the
//! first failure of the bucket). A success clears the consecutive count only,
//! so an attacker who knows one password cannot launder the hourly budget.
//! Pure: time comes in as `now` (unix seconds).

use std::collections::HashMap;
use std::hash::Hash;

/// Throttling limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleLimits {
    /// Failures in a row before a cool-down.
    pub max_consecutive: u32,
    /// Length of the cool-down, seconds.
    pub cool_down_secs: i64,
    /// Failures allowed per hour.
    pub max_per_hour: u32,
}

impl Default for ThrottleLimits {
    fn default() -> Self {
        ThrottleLimits {
            max_consecutive: 10,
            cool_down_secs: 300,
            max_per_hour: 100,
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Failures {
    consecutive: u32,
    blocked_until: i64,
    hour_started: i64,
    in_hour: u32,
}

/// Failure counters for one kind of key.
#[derive(Debug)]
pub struct Throttle<K> {
    limits: ThrottleLimits,
    keys: HashMap<K, Failures>,
}

impl<K: Hash + Eq + Copy> Throttle<K> {
    /// Empty counters under `limits`.
    pub fn new(limits: ThrottleLimits) -> Throttle<K> {
        Throttle {
            limits,
            keys: HashMap::new(),
        }
    }

    /// Replaces the limits (SIGHUP); counts are kept.
    pub fn set_limits(&mut self, limits: ThrottleLimits) {
        self.limits = limits;
    }

    /// `Err(seconds to wait)` if `key` may not try now.
    pub fn check(&self, key: K, now: i64) -> Result<(), i64> {
        let Some(f) = self.keys.get(&key) else {
            return Ok(());
        };
        if f.blocked_until > now {
            return Err(f.blocked_until - now);
        }
        if f.in_hour >= self.limits.max_per_hour && now < f.hour_started + 3600 {
            return Err(f.hour_started + 3600 - now);
        }
        Ok(())
    }

    /// Counts a failed attempt.
    pub fn failed(&mut self, key: K, now: i64) {
        let limits = self.limits;
        let f = self.keys.entry(key).or_default();
        if f.in_hour == 0 || now >= f.hour_started + 3600 {
            f.hour_started = now;
            f.in_hour = 0;
        }
        f.in_hour = f.in_hour.saturating_add(1);
        f.consecutive = f.consecutive.saturating_add(1);
        if f.consecutive >= limits.max_consecutive {
            f.blocked_until = now + limits.cool_down_secs;
            f.consecutive = 0;
        }
    }

    /// Counts a success: the run of failures is over.
    pub fn succeeded(&mut self, key: K) {
        if let Some(f) = self.keys.get_mut(&key) {
            f.consecutive = 0;
            if f.in_hour == 0 && f.blocked_until == 0 {
                self.keys.remove(&key);
            }
        }
    }

    /// Forgets everything about `key` (an administrator's unlock).
    pub fn clear(&mut self, key: K) {
        self.keys.remove(&key);
    }

    /// Drops entries with nothing left to enforce, so memory stays bounded.
    pub fn prune(&mut self, now: i64) {
        self.keys
            .retain(|_, f| f.blocked_until > now || now < f.hour_started + 3600);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> ThrottleLimits {
        ThrottleLimits {
            max_consecutive: 3,
            cool_down_secs: 60,
            max_per_hour: 5,
        }
    }

    #[test]
    fn consecutive_failures_cool_down_then_recover() {
        let mut t = Throttle::new(limits());
        for _ in 0..2 {
            t.failed(1, 1000);
        }
        assert_eq!(t.check(1, 1000), Ok(()));
        t.failed(1, 1000);
        assert_eq!(t.check(1, 1000), Err(60));
        assert_eq!(t.check(1, 1059), Err(1));
        assert_eq!(t.check(1, 1060), Ok(()));
        assert_eq!(t.check(2, 1000), Ok(()), "keys are independent");
    }

    #[test]
    fn hourly_budget_survives_successes() {
        let mut t = Throttle::new(limits());
        for i in 0..5 {
            t.failed(7, 2000 + i);
            t.succeeded(7);
        }
        assert_eq!(t.check(7, 2010), Err(3600 - 10));
        assert_eq!(t.check(7, 5600), Ok(()));
        t.clear(7);
        assert_eq!(t.check(7, 2010), Ok(()));
    }

    #[test]
    fn prune_forgets_stale_keys() {
        let mut t = Throttle::new(limits());
        t.failed(1, 0);
        t.prune(10);
        assert!(t.keys.contains_key(&1));
        t.prune(3601);
        assert!(t.keys.is_empty());
    }
}
