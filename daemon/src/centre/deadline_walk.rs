//! When a tick that looks at every loaded account (`chat_tick`'s routing timers,
//! `menu_tick`'s menu walk time-outs) has to walk them. Walking every turn was a cost
//! per message at low rates, where a turn carries about one message: with 500 loaded
//! accounts at 5,000 msg/s the two walks were about 5 % of the shard thread's CPU
//! (benches/PROFILE.md, "less daemon CPU per message at low rates").
//!
//! A walk notes the earliest deadline it leaves behind. A deadline a walk has seen
//! only moves later (it fires or is cancelled; a timer moved earlier is a new timer);
//! one armed after the walk (by a request, an account loading, a settings change)
//! was not seen. So the next walk comes at the earliest deadline seen, or
//! [`REWALK_MS`] after the last walk, whichever is first: a timer armed after a walk
//! with a deadline sooner than that fires at most `REWALK_MS` late. The timers are
//! seconds long, and a loop with nothing to do already turns only once a second.

/// The longest a timer armed since the last walk can wait past its deadline, ms.
pub(super) const REWALK_MS: i64 = 10;

/// When one walk over every account is next due.
#[derive(Debug, Clone, Copy)]
pub(super) struct DeadlineWalk {
    /// The turn time of the last walk.
    walked_ms: i64,
    /// Walk again at this turn time.
    next_ms: i64,
}

impl Default for DeadlineWalk {
    fn default() -> Self {
        DeadlineWalk {
            walked_ms: i64::MIN,
            next_ms: i64::MIN,
        }
    }
}

impl DeadlineWalk {
    /// Whether the turn at `now_ms` walks. A clock set back (an operator's clock
    /// change) walks at once: the deadlines seen were for the clock as it was.
    pub(super) fn due(&self, now_ms: i64) -> bool {
        now_ms >= self.next_ms || now_ms < self.walked_ms
    }

    /// A walk at `now_ms` left `earliest` as the soonest deadline of any account.
    pub(super) fn walked(&mut self, now_ms: i64, earliest: Option<i64>) {
        let rewalk = now_ms.saturating_add(REWALK_MS);
        self.walked_ms = now_ms;
        self.next_ms = earliest.map_or(rewalk, |at| at.min(rewalk));
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
        assert!(!w.due(1_000));
        assert!(!w.due(1_000 + REWALK_MS - 1));
        assert!(
            w.due(1_000 + REWALK_MS),
            "a timer armed since is looked for"
        );
        w.walked(1_000, Some(1_004));
        assert!(!w.due(1_003));
        assert!(w.due(1_004), "the earliest deadline seen");
        w.walked(2_000, None);
        assert!(w.due(2_000 + REWALK_MS));
        assert!(w.due(1_999), "a clock set back walks at once");
    }
}
