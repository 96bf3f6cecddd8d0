//! What the loop's turns did (issue 13, point 3; wire/PROTOCOL.md section 20.1.1): the
//! longest turn a shard has made, with the work it held (frames read, inbox messages,
//! logins completed, connections accepted, batch operations committed), and the most
//! logins and inbox messages any one turn handled. The turn-duration histogram says
//! that a stall happened; this says what the stalled turn was doing.
//!
//! Written by the shard's own thread once a turn (a compare, and stores only when a
//! figure is beaten), read by a scrape: the fields of the longest turn are separate
//! atomics, so a scrape racing a new record may pair one turn's duration with another
//! turn's counts — a diagnostic, never a decision, so that is accepted.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// What one turn did, counted by the loop.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TurnWork {
    /// How long the turn took, microseconds.
    pub micros: u64,
    /// Frames read from clients.
    pub frames_in: u64,
    /// Messages taken from the shard's inbox (other shards, the worker pool).
    pub inbox: u64,
    /// Logins completed (sessions opened).
    pub logins: u64,
    /// Connections accepted.
    pub accepted: u64,
    /// Operations in the turn's committed batch.
    pub batch_ops: u64,
}

/// One shard's record of its turns.
#[derive(Debug, Default)]
pub struct TurnStats {
    /// The longest turn: micros, frames_in, inbox, logins, accepted, batch_ops.
    longest: [AtomicU64; 6],
    most_logins: AtomicU64,
    most_inbox: AtomicU64,
}

impl TurnStats {
    /// Records one turn (called by the shard's thread only).
    pub fn record(&self, w: &TurnWork) {
        if w.micros > self.longest[0].load(Relaxed) {
            let values = [
                w.micros,
                w.frames_in,
                w.inbox,
                w.logins,
                w.accepted,
                w.batch_ops,
            ];
            for (slot, v) in self.longest.iter().zip(values) {
                slot.store(v, Relaxed);
            }
        }
        if w.logins > self.most_logins.load(Relaxed) {
            self.most_logins.store(w.logins, Relaxed);
        }
        if w.inbox > self.most_inbox.load(Relaxed) {
            self.most_inbox.store(w.inbox, Relaxed);
        }
    }

    /// The longest turn so far and what it did.
    pub fn longest(&self) -> TurnWork {
        let [micros, frames_in, inbox, logins, accepted, batch_ops] =
            [0, 1, 2, 3, 4, 5].map(|i| self.longest[i].load(Relaxed));
        TurnWork {
            micros,
            frames_in,
            inbox,
            logins,
            accepted,
            batch_ops,
        }
    }

    /// The most logins one turn completed.
    pub fn most_logins(&self) -> u64 {
        self.most_logins.load(Relaxed)
    }

    /// The most inbox messages one turn took.
    pub fn most_inbox(&self) -> u64 {
        self.most_inbox.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_turn_keeps_its_counts_and_the_maxima_are_separate() {
        let s = TurnStats::default();
        let long = TurnWork {
            micros: 900,
            frames_in: 3,
            inbox: 1,
            logins: 0,
            accepted: 2,
            batch_ops: 7,
        };
        s.record(&long);
        s.record(&TurnWork {
            micros: 10,
            logins: 40,
            inbox: 50,
            ..TurnWork::default()
        });
        assert_eq!(s.longest(), long);
        assert_eq!((s.most_logins(), s.most_inbox()), (40, 50));
    }
}
