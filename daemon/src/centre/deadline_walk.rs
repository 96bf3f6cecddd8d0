//! When a tick that looks at every loaded account (`chat_tick`'s routing timers,
//! `menu_tick`'s menu walk time-outs; `csat_tick`'s subscribers) has to walk them.
//! Walking every turn was a cost per message at low rates, where a turn carries about
//! one message: with 500 loaded accounts at 5,000 msg/s the two walks were about 5 %
//! of the shard thread's CPU (benches/PROFILE.md, "less daemon CPU per message at low
//! rates").
//!
//! A walk notes the earliest deadline it leaves behind. A deadline a walk has seen
//! only moves later (it fires or is cancelled; a timer moved earlier is a new timer);
//! one armed after the walk (by a request, an account loading, a settings change)
//! was not seen. Only a turn that did something can arm one: the centre says so
//! ([`DeadlineWalk::may_have_armed`]), and the next walk comes at the earliest
//! deadline seen, or [`REWALK_MS`] after the last walk, whichever is first. A turn
//! that did nothing arms nothing, so an idle shard walks (and wakes,
//! `centre/wake.rs`) only at the deadlines seen, never every `REWALK_MS`.

/// The longest a timer armed since the last walk can wait past its deadline, ms.
pub(super) const REWALK_MS: i64 = 10;

/// How soon a deadline a walk found due and could not clear (its account failed to
/// load, say) is looked at again, ms: never in a busy loop.
pub(super) const STUCK_RETRY_MS: i64 = 1_000;

/// When one walk over every account is next due.
#[derive(Debug, Clone, Copy)]
pub(super) struct DeadlineWalk {
    /// The turn time of the last walk.
    walked_ms: i64,
    /// The earliest deadline the last walk left (`i64::MAX`: none).
    seen_ms: i64,
    /// Something since the last walk may have armed a timer it did not see.
    unseen: bool,
}

impl Default for DeadlineWalk {
    fn default() -> Self {
        DeadlineWalk {
            walked_ms: i64::MIN,
            seen_ms: i64::MIN,
            unseen: true,
        }
    }
}

impl DeadlineWalk {
    /// Whether the turn at `now_ms` walks. A clock set back (an operator's clock
    /// change) walks at once: the deadlines seen were for the clock as it was.
    pub(super) fn due(&self, now_ms: i64) -> bool {
        now_ms < self.walked_ms || now_ms >= self.next_ms()
    }

    /// When the next walk is due (turn ms), `None` when nothing is armed and nothing
    /// could have been armed since the last walk.
    pub(super) fn next_deadline(&self) -> Option<i64> {
        Some(self.next_ms()).filter(|&at| at != i64::MAX)
    }

    fn next_ms(&self) -> i64 {
        if self.unseen {
            self.seen_ms.min(self.walked_ms.saturating_add(REWALK_MS))
        } else {
            self.seen_ms
        }
    }

    /// A walk at `now_ms` left `earliest` as the soonest deadline of any account.
    /// One still due (the walk could not fire it) is retried [`STUCK_RETRY_MS`] later.
    pub(super) fn walked(&mut self, now_ms: i64, earliest: Option<i64>) {
        self.walked_ms = now_ms;
        self.unseen = false;
        self.seen_ms = match earliest {
            Some(at) if at <= now_ms => now_ms.saturating_add(STUCK_RETRY_MS),
            Some(at) => at,
            None => i64::MAX,
        };
    }

    /// The turn did something that may have armed a timer the last walk did not see:
    /// the next walk comes at most [`REWALK_MS`] after the last one.
    pub(super) fn may_have_armed(&mut self) {
        self.unseen = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_at_the_earliest_deadline_seen_or_soon_after_the_last_walk() {
        let mut w = DeadlineWalk::default();
        assert!(w.due(0), "the first turn walks");
        w.walked(1_000, Some(5_000));
        w.may_have_armed();
        assert!(!w.due(1_000));
        assert!(!w.due(1_000 + REWALK_MS - 1));
        assert!(
            w.due(1_000 + REWALK_MS),
            "a timer armed since is looked for"
        );
        assert_eq!(w.next_deadline(), Some(1_000 + REWALK_MS));
        w.walked(1_000, Some(1_004));
        w.may_have_armed();
        assert!(!w.due(1_003));
        assert!(w.due(1_004), "the earliest deadline seen");
        w.walked(2_000, None);
        w.may_have_armed();
        assert!(w.due(2_000 + REWALK_MS));
        assert!(w.due(1_999), "a clock set back walks at once");
    }

    #[test]
    fn an_idle_shard_walks_only_at_the_deadlines_seen() {
        let mut w = DeadlineWalk::default();
        w.walked(1_000, Some(60_000));
        // Nothing happened since: no walk, and no wake, before the deadline.
        assert!(!w.due(1_000 + REWALK_MS));
        assert!(!w.due(59_999));
        assert_eq!(w.next_deadline(), Some(60_000));
        assert!(w.due(60_000));
        w.walked(60_000, None);
        assert_eq!(
            w.next_deadline(),
            None,
            "nothing armed, nothing to wake for"
        );
        assert!(!w.due(i64::MAX - 1));
    }

    #[test]
    fn a_deadline_the_walk_could_not_clear_is_retried_later_not_at_once() {
        let mut w = DeadlineWalk::default();
        w.walked(5_000, Some(4_000));
        assert!(!w.due(5_001));
        assert_eq!(w.next_deadline(), Some(5_000 + STUCK_RETRY_MS));
    }
}
