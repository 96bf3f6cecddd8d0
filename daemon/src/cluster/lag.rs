//! Replication lag (`daemon/CLUSTER.md` §6): how far the standby is behind, in sequence
//! numbers and in seconds, as each side of the pair can measure it with its own
//! monotonic clock (never by comparing the two machines' clocks).
//!
//! - **Primary**: sequences = its latest commit − the standby's last acknowledgement;
//!   seconds = the age of the oldest commit the standby has not acknowledged
//!   ([`CommitTimes`]: the moment of each commit, dropped once acknowledged).
//! - **Standby**: sequences = the primary's latest as its last frame said − applied;
//!   seconds = how long it has been behind that, counted from the frame that first told
//!   it of a sequence it has not applied ([`BehindSince`]). A lower bound: what the
//!   primary committed and has not sent yet is invisible from here.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// At most this many commit moments are kept; beyond it the newest entry absorbs the
/// later commits (keeping its older moment), so the age is then an upper bound.
pub const MAX_COMMIT_TIMES: usize = 4_096;

/// The lag as one side measures it.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Lag {
    /// The primary's latest sequence, as this side knows it.
    pub latest: u64,
    /// The standby's applied sequence, as this side knows it.
    pub applied: u64,
    /// `latest − applied`.
    pub sequences: u64,
    /// The age of the oldest sequence not yet applied (0 when caught up).
    pub age: Duration,
}

/// The primary's commit moments not yet acknowledged by the standby, oldest first:
/// `(last sequence of a commit, when it was committed)`, sequences increasing.
#[derive(Debug, Default)]
pub struct CommitTimes {
    pending: VecDeque<(u64, Instant)>,
}

impl CommitTimes {
    /// A commit ending at `sequence` happened at `at`. A sequence at or below the newest
    /// entry is already covered by that entry's (older) moment (committers of several
    /// shards may report out of order).
    pub fn committed(&mut self, sequence: u64, at: Instant) {
        let full = self.pending.len() >= MAX_COMMIT_TIMES;
        match self.pending.back_mut() {
            Some((last, _)) if sequence <= *last => {}
            Some((last, _)) if full => *last = sequence,
            _ => self.pending.push_back((sequence, at)),
        }
    }

    /// The standby acknowledged everything up to `applied`.
    pub fn acknowledged(&mut self, applied: u64) {
        while self.pending.front().is_some_and(|(s, _)| *s <= applied) {
            self.pending.pop_front();
        }
    }

    /// The age at `now` of the oldest commit beyond `applied` (zero if none).
    pub fn oldest_age(&self, applied: u64, now: Instant) -> Duration {
        self.pending
            .iter()
            .find(|(s, _)| *s > applied)
            .map_or(Duration::ZERO, |(_, at)| now.saturating_duration_since(*at))
    }
}

/// The standby's "behind since": set when a frame names a primary sequence beyond the
/// applied one, cleared once the applied sequence reaches the last one heard of.
#[derive(Debug, Default)]
pub struct BehindSince {
    since: Option<Instant>,
}

impl BehindSince {
    /// Updates with the primary's latest as heard and the applied sequence, at `now`.
    pub fn update(&mut self, heard: u64, applied: u64, now: Instant) {
        if applied >= heard {
            self.since = None;
        } else if self.since.is_none() {
            self.since = Some(now);
        }
    }

    /// How long the standby has been behind, at `now`.
    pub fn age(&self, now: Instant) -> Duration {
        self.since
            .map_or(Duration::ZERO, |t| now.saturating_duration_since(t))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_age_is_that_of_the_oldest_unacknowledged_commit() {
        let t0 = Instant::now();
        let mut c = CommitTimes::default();
        c.committed(10, t0);
        c.committed(8, t0 + Duration::from_secs(1)); // out of order: covered by 10
        c.committed(20, t0 + Duration::from_secs(2));
        let now = t0 + Duration::from_secs(5);
        assert_eq!(c.oldest_age(0, now), Duration::from_secs(5));
        assert_eq!(c.oldest_age(10, now), Duration::from_secs(3));
        c.acknowledged(10);
        assert_eq!(c.oldest_age(10, now), Duration::from_secs(3));
        c.acknowledged(20);
        assert_eq!(c.oldest_age(20, now), Duration::ZERO);
    }

    #[test]
    fn past_the_bound_the_newest_entry_absorbs_later_commits_and_keeps_its_moment() {
        let t0 = Instant::now();
        let mut c = CommitTimes::default();
        for i in 0..MAX_COMMIT_TIMES as u64 + 10 {
            c.committed(i + 1, t0 + Duration::from_millis(i));
        }
        assert_eq!(c.pending.len(), MAX_COMMIT_TIMES);
        let last_kept = t0 + Duration::from_millis(MAX_COMMIT_TIMES as u64 - 1);
        let now = t0 + Duration::from_secs(60);
        // Everything but the absorbed tail acknowledged: the age is at least the truth.
        c.acknowledged(MAX_COMMIT_TIMES as u64 + 5);
        assert_eq!(
            c.oldest_age(MAX_COMMIT_TIMES as u64 + 5, now),
            now - last_kept
        );
    }

    #[test]
    fn a_standby_is_behind_from_the_first_frame_it_could_not_follow_until_caught_up() {
        let t0 = Instant::now();
        let mut b = BehindSince::default();
        b.update(5, 5, t0);
        assert_eq!(b.age(t0 + Duration::from_secs(1)), Duration::ZERO);
        b.update(9, 5, t0);
        b.update(12, 7, t0 + Duration::from_secs(1)); // still behind: keeps the start
        assert_eq!(b.age(t0 + Duration::from_secs(3)), Duration::from_secs(3));
        b.update(12, 12, t0 + Duration::from_secs(4));
        assert_eq!(b.age(t0 + Duration::from_secs(5)), Duration::ZERO);
    }
}
