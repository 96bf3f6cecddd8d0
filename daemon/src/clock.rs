//! Time, injected: the daemon reads the wall clock through [`Clock`], so tests
//! can set it (a welcome message of Saturday, a timeout an hour later) without
//! waiting, and so can the operator of a daemon in test mode ([`TestClock`],
//! `[test] clock_control`, wire/PROTOCOL.md section 19).

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Where the daemon's domain logic gets "now".
pub trait Clock: Send + Sync {
    /// Unix time in milliseconds.
    fn now_ms(&self) -> i64;

    /// The operator's handle on this clock, when it is a [`TestClock`]; `None` for a
    /// clock the operator may not move (the real one, a test's [`ManualClock`]).
    fn test_clock(&self) -> Option<&TestClock> {
        None
    }
}

/// The latest time the test clock may show: 9999-12-31T23:59:59.999Z. Beyond it,
/// dates no longer have four-digit years and sums of times approach `i64::MAX`.
pub const MAX_TEST_CLOCK_MS: i64 = 253_402_300_799_999;

/// Why the test clock refused to move.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoveError {
    /// The move would take the clock back in time.
    #[error("the test clock only moves forward: it shows {now_ms} ms, {asked_ms} ms is earlier")]
    Backwards {
        /// What the clock shows.
        now_ms: i64,
        /// What was asked for.
        asked_ms: i64,
    },
    /// The move would take the clock past [`MAX_TEST_CLOCK_MS`].
    #[error("the test clock stops at {MAX_TEST_CLOCK_MS} ms (9999-12-31T23:59:59.999Z)")]
    TooLate,
}

/// A clock the operator may move forward: an inner clock (the real one in
/// `kefud`) plus an offset, shared by every shard. It keeps running at the inner
/// clock's pace between moves and never goes back, whatever the operator asks.
pub struct TestClock {
    inner: Arc<dyn Clock>,
    /// Milliseconds added to the inner clock; only ever grows.
    offset_ms: AtomicI64,
}

impl std::fmt::Debug for TestClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestClock")
            .field("offset_ms", &self.offset_ms.load(Ordering::SeqCst))
            .finish_non_exhaustive()
    }
}

impl TestClock {
    /// `inner` with no offset yet.
    pub fn new(inner: Arc<dyn Clock>) -> TestClock {
        TestClock {
            inner,
            offset_ms: AtomicI64::new(0),
        }
    }

    /// How far ahead of the inner clock this one is, milliseconds.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::SeqCst)
    }

    /// Moves the clock forward by `ms`; returns the new time.
    pub fn advance(&self, ms: i64) -> Result<i64, MoveError> {
        if ms < 0 {
            let now_ms = self.now_ms();
            return Err(MoveError::Backwards {
                now_ms,
                asked_ms: now_ms.saturating_add(ms),
            });
        }
        self.shift(|base, offset| {
            let now = base.saturating_add(offset);
            let target = now.checked_add(ms).ok_or(MoveError::TooLate)?;
            Ok(target)
        })
    }

    /// Moves the clock to `unix_ms`, which must not be earlier than what it shows;
    /// returns the new time.
    pub fn set(&self, unix_ms: i64) -> Result<i64, MoveError> {
        self.shift(|_, _| Ok(unix_ms))
    }

    /// Applies `target(inner now, offset)` as the new time, atomically against other
    /// moves, refusing to go back or past [`MAX_TEST_CLOCK_MS`].
    fn shift(&self, target: impl Fn(i64, i64) -> Result<i64, MoveError>) -> Result<i64, MoveError> {
        let base = self.inner.now_ms();
        let mut result = Ok(0);
        // `fetch_update` retries if another move landed in between, so two moves
        // never lose one another and the offset never shrinks.
        let _ = self
            .offset_ms
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |offset| {
                let now = base.saturating_add(offset);
                result = target(base, offset).and_then(|to| {
                    if to > MAX_TEST_CLOCK_MS {
                        Err(MoveError::TooLate)
                    } else if to < now {
                        Err(MoveError::Backwards {
                            now_ms: now,
                            asked_ms: to,
                        })
                    } else {
                        Ok(to)
                    }
                });
                let offset = result.as_ref().ok()?.checked_sub(base);
                if offset.is_none() {
                    result = Err(MoveError::TooLate);
                }
                offset
            });
        result
    }
}

impl Clock for TestClock {
    fn now_ms(&self) -> i64 {
        self.inner
            .now_ms()
            .saturating_add(self.offset_ms.load(Ordering::SeqCst))
    }

    fn test_clock(&self) -> Option<&TestClock> {
        Some(self)
    }
}

/// The real clock.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place the daemon reads the wall clock; everything else asks a `Clock`.
    #[allow(clippy::disallowed_methods)]
    fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}

/// A clock that only moves when told to (tests).
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    /// A clock showing `now_ms`.
    pub fn new(now_ms: i64) -> ManualClock {
        ManualClock(AtomicI64::new(now_ms))
    }

    /// Sets the time.
    pub fn set(&self, now_ms: i64) {
        self.0.store(now_ms, Ordering::SeqCst);
    }

    /// Moves the time forward.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock_at(ms: i64) -> (Arc<ManualClock>, TestClock) {
        let real = Arc::new(ManualClock::new(ms));
        let test = TestClock::new(Arc::clone(&real) as Arc<dyn Clock>);
        (real, test)
    }

    #[test]
    fn advance_and_set_move_forward_and_keep_running() {
        let (real, test) = clock_at(1_000);
        assert_eq!(test.now_ms(), 1_000);
        assert_eq!(test.advance(86_400_000), Ok(86_401_000));
        assert_eq!(test.now_ms(), 86_401_000);
        // Between moves it runs with the real clock.
        real.advance(5);
        assert_eq!(test.now_ms(), 86_401_005);
        assert_eq!(test.set(90_000_000), Ok(90_000_000));
        assert_eq!(test.offset_ms(), 90_000_000 - 1_005);
        assert_eq!(test.advance(0), Ok(90_000_000));
        assert_eq!(
            test.test_clock().map(TestClock::offset_ms),
            Some(test.offset_ms())
        );
        assert!(real.test_clock().is_none());
    }

    #[test]
    fn moves_back_and_past_the_end_are_refused_and_change_nothing() {
        let (_, test) = clock_at(1_000);
        test.advance(500).expect("forward");
        let cases = [
            (test.set(1_499), "set back"),
            (test.advance(-1), "negative advance"),
            (test.advance(i64::MIN), "most negative advance"),
            (test.set(MAX_TEST_CLOCK_MS + 1), "set past the end"),
            (test.advance(i64::MAX), "advance past the end"),
            (test.set(i64::MIN), "set to the smallest time"),
        ];
        for (result, what) in cases {
            assert!(result.is_err(), "{what}: {result:?}");
            assert_eq!(test.now_ms(), 1_500, "{what} changed the clock");
        }
        assert_eq!(test.set(MAX_TEST_CLOCK_MS), Ok(MAX_TEST_CLOCK_MS));
        assert_eq!(test.advance(1), Err(MoveError::TooLate));
    }
}
