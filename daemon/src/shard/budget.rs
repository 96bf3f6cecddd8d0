//! The daemon-wide budget for unsent output (`limits.max_total_pending_output_bytes`,
//! PROTOCOL.md section 6.3): each connection's output is bounded on its own
//! (`max_pending_output_bytes`), and this bounds their sum, so that 10,000 readers
//! that stop at once cannot cost 10,000 times the per-connection bound.
//!
//! Each shard holds an equal share of the budget and keeps its own account, with no
//! lock and no talk between shards: after a connection is flushed the loop reports
//! what it still holds unsent ([`OutputBudget::update`]); only connections holding
//! something have an entry, so the running total costs one map update per flush of
//! such a connection and nothing per turn. A connection that goes (closed, handed to
//! another shard) leaves the account with [`OutputBudget::remove`].
//!
//! Past its share, a shard drops **the connections holding the most that are not
//! reading** — whose socket has taken less than [`READING_BYTES`] of their output in
//! the last [`NOT_READING_AFTER`] (a reader, even on a slow link, takes some at every
//! round trip; a stalled one only the crumbs its kernel finds room for when it
//! compacts its buffers) — largest first, until
//! its total is under the low-water mark (three quarters of the share). A connection
//! that is reading is never dropped for someone else's stall: if the stalled ones are
//! not enough, the shard stays over its share until more of them qualify. While over
//! and short of candidates, the map is looked at again only when the oldest stall
//! qualifies ([`OutputBudget::next_check`]), not every turn.
//!
//! Time comes from the loop's turn (`now`); the state is plain data, tested here.

use super::Shard;
use crate::log;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// A connection whose socket has taken less than [`READING_BYTES`] of its output for
/// this long is not reading: the budget may drop it.
pub(super) const NOT_READING_AFTER: Duration = Duration::from_secs(2);

/// What a connection's socket must take of its output (in one go or in pieces) to
/// count as reading: 8 KiB a second over [`NOT_READING_AFTER`].
pub(super) const READING_BYTES: usize = 16 * 1024;

/// What the budget knows of one connection holding unsent output.
#[derive(Debug, Clone, Copy)]
struct Held {
    generation: u32,
    bytes: usize,
    /// When its socket last took [`READING_BYTES`] of its output (or its output began
    /// waiting).
    progress: Instant,
    /// What its socket took since `progress`.
    taken: usize,
}

/// A connection to drop: (slab index, generation, bytes it holds).
pub(super) type Victim = (usize, u32, usize);

/// One shard's account of its connections' unsent output.
#[derive(Debug, Default)]
pub(super) struct OutputBudget {
    held: HashMap<usize, Held>,
    total: usize,
    /// While over the share with too few candidates: when the next could qualify.
    next_check: Option<Instant>,
}

impl OutputBudget {
    /// After a flush: the connection `idx` still holds `bytes` unsent; its socket
    /// took `taken` bytes of its output in that flush.
    pub(super) fn update(
        &mut self,
        idx: usize,
        generation: u32,
        bytes: usize,
        taken: usize,
        now: Instant,
    ) {
        if bytes == 0 {
            self.remove(idx);
            return;
        }
        let fresh = Held {
            generation,
            bytes: 0,
            progress: now,
            taken: 0,
        };
        let entry = self.held.entry(idx).or_insert(fresh);
        if entry.generation != generation {
            // A stale entry of a slot reused without `remove`: start afresh.
            self.total -= entry.bytes;
            *entry = fresh;
        }
        entry.taken = entry.taken.saturating_add(taken);
        if entry.taken >= READING_BYTES {
            entry.progress = now;
            entry.taken = 0;
        }
        self.total = self.total - entry.bytes + bytes;
        entry.bytes = bytes;
    }

    /// The connection `idx` went (closed, handed over): it holds nothing here now.
    pub(super) fn remove(&mut self, idx: usize) {
        if let Some(held) = self.held.remove(&idx) {
            self.total -= held.bytes;
        }
    }

    /// Bytes held unsent by the shard's connections.
    pub(super) fn total(&self) -> usize {
        self.total
    }

    /// When the loop must look again though nothing happens (see module docs).
    pub(super) fn next_check(&self) -> Option<Instant> {
        self.next_check
    }

    /// The connections to drop now to keep within `share` (largest first, down to
    /// three quarters of it), or none. Cheap unless over the share.
    pub(super) fn over_share(&mut self, share: usize, now: Instant) -> Vec<Victim> {
        if self.total <= share {
            self.next_check = None;
            return Vec::new();
        }
        if self.next_check.is_some_and(|at| now < at) {
            return Vec::new();
        }
        let low = share - share / 4;
        let mut stalled: Vec<Victim> = Vec::new();
        let mut earliest: Option<Instant> = None;
        for (&idx, held) in &self.held {
            let since = now.saturating_duration_since(held.progress);
            if since >= NOT_READING_AFTER {
                stalled.push((idx, held.generation, held.bytes));
            } else if let Some(at) = held.progress.checked_add(NOT_READING_AFTER) {
                earliest = Some(earliest.map_or(at, |e| e.min(at)));
            }
        }
        // Largest first; the slot breaks ties, so the choice does not depend on the map.
        stalled.sort_unstable_by(|a, b| b.2.cmp(&a.2).then(a.0.cmp(&b.0)));
        let mut left = self.total;
        let mut victims = Vec::new();
        for victim in stalled {
            if left <= low {
                break;
            }
            left -= victim.2;
            victims.push(victim);
        }
        // Still over: look again when the next stall qualifies.
        self.next_check = if left > share { earliest } else { None };
        victims
    }
}

impl Shard {
    /// After the turn's flush: publishes the shard's unsent output and, past the
    /// shard's share of the daemon-wide budget, drops the connections the budget
    /// names (`GoAway` `SLOW_CONSUMER`, the backlog dropped first so the goodbye goes
    /// out at once; their resumable sessions keep what was not acknowledged).
    pub(super) fn keep_output_budget(&mut self) {
        let shards = self.links.len().max(1);
        let share = self.settings.max_total_pending_output / shards;
        let before = self.output.total();
        let victims = self.output.over_share(share, self.now);
        if !victims.is_empty() {
            let (secs, kib) = (NOT_READING_AFTER.as_secs(), READING_BYTES / 1024);
            let (mut dropped, mut freed) = (0u64, 0usize);
            for (idx, generation, bytes) in victims {
                let Some(conn) = self.conns.get_mut(idx, generation) else {
                    // A stale entry: its connection went unseen by the account.
                    self.output.remove(idx);
                    continue;
                };
                let message = format!(
                    "the server's budget for unsent output is spent, and this connection \
                     took less than {kib} KiB of its {bytes} bytes in {secs} s"
                );
                if conn.protocol.shed_output(message) {
                    dropped += 1;
                    freed += bytes;
                    self.counters.add_slow_consumer();
                    self.start_closing(idx);
                }
            }
            self.counters.add_output_budget_drops(dropped);
            log::warn(
                self.id,
                format_args!(
                    "output budget: {before} bytes unsent, over this shard's share of \
                     {share} (limits.max_total_pending_output_bytes over {shards} shards); \
                     {dropped} connections that took less than {kib} KiB in {secs} s dropped \
                     as slow consumers, freeing {freed} bytes"
                ),
            );
            // Their goodbyes go out now, and the account follows.
            self.flush_dirty();
        }
        self.counters.set_pending_output(self.output.total() as u64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_largest_stalled_connections_go_until_under_the_low_water_mark() {
        let t0 = Instant::now();
        let later = t0 + NOT_READING_AFTER;
        let mut b = OutputBudget::default();
        // Slots 1..=4 stall with 100, 400, 300 and 200 bytes; slot 5 reads (it made
        // progress just now) and holds the most.
        for (idx, bytes) in [(1, 100), (2, 400), (3, 300), (4, 200)] {
            b.update(idx, 7, bytes, READING_BYTES, t0);
        }
        b.update(5, 7, 900, READING_BYTES, later);
        assert_eq!(b.total(), 1_900);
        assert!(b.over_share(2_000, later).is_empty(), "within the share");
        // Share 1,600: down to 1,200 at most; the two largest stalled ones go.
        assert_eq!(b.over_share(1_600, later), vec![(2, 7, 400), (3, 7, 300)]);
        b.remove(2);
        b.remove(3);
        assert_eq!(b.total(), 1_200);
        assert!(b.over_share(1_600, later).is_empty());
    }

    #[test]
    fn a_reading_connection_is_never_dropped_and_the_check_waits_for_the_next_stall() {
        let t0 = Instant::now();
        let mut b = OutputBudget::default();
        b.update(1, 1, 500, 0, t0);
        let t1 = t0 + Duration::from_millis(500);
        b.update(2, 1, 500, READING_BYTES, t1);
        // The socket of slot 1 takes crumbs only: not reading; the bytes grow.
        b.update(1, 1, 800, READING_BYTES / 2 - 1, t1);
        b.update(1, 1, 800, READING_BYTES / 2, t1);
        // Over, but nobody has stalled long enough yet.
        assert!(b.over_share(1_000, t1).is_empty());
        assert_eq!(b.next_check(), Some(t0 + NOT_READING_AFTER));
        // Before then, nothing is looked at.
        assert!(b
            .over_share(1_000, t0 + NOT_READING_AFTER - Duration::from_millis(1))
            .is_empty());
        // Slot 1 qualifies; slot 2 keeps reading (progress) and is spared although
        // the total stays over the low-water mark without it.
        let t2 = t0 + NOT_READING_AFTER;
        b.update(2, 1, 400, READING_BYTES / 2, t2);
        b.update(2, 1, 900, READING_BYTES / 2, t2);
        assert_eq!(b.over_share(1_000, t2), vec![(1, 1, 800)]);
        b.remove(1);
        assert_eq!(b.total(), 900, "over the low-water mark, within the share");
        assert!(b.over_share(1_000, t2).is_empty());
        assert_eq!(b.next_check(), None);
    }

    #[test]
    fn the_account_follows_updates_removals_and_reused_slots() {
        let t0 = Instant::now();
        let mut b = OutputBudget::default();
        b.update(3, 1, 1_000, 0, t0);
        b.update(3, 1, 250, 750, t0);
        assert_eq!(b.total(), 250);
        // The slot was reused by a new connection (generation 2) without a removal.
        b.update(3, 2, 100, 0, t0);
        assert_eq!(b.total(), 100);
        b.update(3, 2, 0, 100, t0);
        assert_eq!(b.total(), 0);
        b.remove(3);
        b.remove(9);
        assert_eq!(b.total(), 0);
    }
}
