//! A hashed timing wheel: one per shard holds the idle-customer timers of every open
//! conversation of its accounts (feature M3, `centre/idle.rs`), however many.
//!
//! Time is cut into ticks of `tick_ms`; a timer due at `d` sits in slot
//! `(d / tick_ms) mod slots` (a timer due in the past or in the tick being processed
//! sits in the current tick's slot). Each timer also keeps its exact deadline, so a
//! slot holds timers of later rounds beside this round's and a timer fires at exactly
//! its millisecond, never early: [`TimerWheel::advance`] to `now` visits only the slots
//! of the ticks elapsed since the last advance (at most one whole turn of the wheel,
//! however far the clock jumped), and in each only if its earliest deadline is due.
//!
//! Costs: [`insert`](TimerWheel::insert), [`cancel`](TimerWheel::cancel) and firing a
//! due timer are O(1) (a map from key to slot and position, and `swap_remove` in the
//! slot). Advancing while nothing is due costs one comparison per elapsed tick and
//! touches no timer, so 100,000 armed timers cost nothing while idle: no scan of all
//! timers ever happens. [`TimerWheel::work`] counts the timers advancing examined, so
//! tests show it (and `benches/benches/timers.rs` times it).
//!
//! [`TimerWheel::next_deadline`] says when the next timer can be due (the shard's
//! loop sleeps until then, `centre/wake.rs`): a lower bound kept on insert and
//! recomputed over the slots' minima (one pass of `slots` comparisons) only when an
//! advance reached it, so a cancelled earliest timer costs at most one early wake.
//!
//! Pure: no clock of its own (the caller passes the turn's `now`), no I/O.

use std::collections::HashMap;
use std::hash::Hash;

/// Where a timer is.
#[derive(Debug, Clone, Copy)]
struct Place {
    deadline: i64,
    slot: usize,
    pos: usize,
}

/// A hashed timing wheel of timers named by keys `K` (one timer per key).
#[derive(Debug)]
pub struct TimerWheel<K> {
    slots: Vec<Vec<K>>,
    /// Per slot, no timer in it is due before this (a lower bound: a cancel does not
    /// raise it; the next visit recomputes it).
    slot_min: Vec<i64>,
    index: HashMap<K, Place>,
    tick_ms: i64,
    /// The tick advanced to last; every timer's slot tick is at or after it.
    cursor: i64,
    /// Timers examined by `advance` so far.
    work: u64,
    /// No timer is due before this (a lower bound: a cancel does not raise it; an
    /// advance that reaches it recomputes it). `i64::MAX`: none armed.
    earliest: i64,
}

impl<K: Copy + Eq + Hash> TimerWheel<K> {
    /// A wheel of `slots` slots (at least 1) of `tick_ms` milliseconds (at least 1),
    /// starting at `now_ms`.
    pub fn new(slots: usize, tick_ms: i64, now_ms: i64) -> TimerWheel<K> {
        let slots = slots.max(1);
        let tick_ms = tick_ms.max(1);
        TimerWheel {
            slots: (0..slots).map(|_| Vec::new()).collect(),
            slot_min: vec![i64::MAX; slots],
            index: HashMap::new(),
            tick_ms,
            cursor: now_ms.div_euclid(tick_ms),
            work: 0,
            earliest: i64::MAX,
        }
    }

    /// Timers armed.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no timer is armed.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// The deadline of `key`'s timer, if one is armed.
    pub fn deadline(&self, key: &K) -> Option<i64> {
        self.index.get(key).map(|p| p.deadline)
    }

    /// The earliest time a timer can be due (unix ms; never later than the earliest
    /// deadline armed, earlier only after a cancel), `None` when none is armed.
    pub fn next_deadline(&self) -> Option<i64> {
        if self.index.is_empty() {
            return None;
        }
        Some(self.earliest)
    }

    /// Timers examined by [`advance`](Self::advance) since the wheel was made.
    pub fn work(&self) -> u64 {
        self.work
    }

    fn slot_of(&self, tick: i64) -> usize {
        let n = i64::try_from(self.slots.len()).unwrap_or(i64::MAX);
        usize::try_from(tick.rem_euclid(n)).unwrap_or(0)
    }

    /// Arms `key`'s timer for `deadline` (unix ms), replacing one it had. O(1).
    pub fn insert(&mut self, key: K, deadline: i64) {
        self.cancel(&key);
        let tick = deadline.div_euclid(self.tick_ms).max(self.cursor);
        let slot = self.slot_of(tick);
        let Some(entries) = self.slots.get_mut(slot) else {
            return;
        };
        let pos = entries.len();
        entries.push(key);
        if let Some(min) = self.slot_min.get_mut(slot) {
            *min = (*min).min(deadline);
        }
        self.earliest = self.earliest.min(deadline);
        self.index.insert(
            key,
            Place {
                deadline,
                slot,
                pos,
            },
        );
    }

    /// Disarms `key`'s timer; its deadline if it had one. O(1).
    pub fn cancel(&mut self, key: &K) -> Option<i64> {
        let place = self.index.remove(key)?;
        self.unlink(place.slot, place.pos);
        if self.index.is_empty() {
            self.earliest = i64::MAX;
        }
        Some(place.deadline)
    }

    /// Removes the entry at `pos` of `slot`, fixing the position of the one moved in.
    fn unlink(&mut self, slot: usize, pos: usize) {
        let Some(entries) = self.slots.get_mut(slot) else {
            return;
        };
        if pos >= entries.len() {
            return;
        }
        entries.swap_remove(pos);
        if let Some(moved) = entries.get(pos).copied() {
            if let Some(p) = self.index.get_mut(&moved) {
                p.pos = pos;
            }
        }
    }

    /// Moves the wheel to `now_ms`, appending the keys of every timer due at or
    /// before it to `due` (each timer fires once: it is disarmed). Visits the slots
    /// of the ticks since the last advance, at most every slot once.
    pub fn advance(&mut self, now_ms: i64, due: &mut Vec<K>) {
        let target = now_ms.div_euclid(self.tick_ms).max(self.cursor);
        let n = self.slots.len();
        let span = target.saturating_sub(self.cursor).saturating_add(1);
        let visits = usize::try_from(span).unwrap_or(usize::MAX).min(n);
        let first = self.slot_of(self.cursor);
        for i in 0..visits {
            let slot = (first + i) % n;
            if self.slot_min.get(slot).is_none_or(|&m| m > now_ms) {
                continue;
            }
            self.fire_slot(slot, now_ms, due);
        }
        self.cursor = target;
        if self.earliest <= now_ms {
            // Every slot visited now has its exact minimum, above `now_ms`; the others
            // hold only later ticks' timers.
            self.earliest = self.slot_min.iter().copied().min().unwrap_or(i64::MAX);
        }
    }

    /// Fires the due timers of one slot and recomputes its earliest deadline.
    fn fire_slot(&mut self, slot: usize, now_ms: i64, due: &mut Vec<K>) {
        let mut min = i64::MAX;
        let mut pos = 0;
        while let Some(&key) = self.slots.get(slot).and_then(|e| e.get(pos)) {
            self.work += 1;
            let deadline = self.index.get(&key).map_or(i64::MIN, |p| p.deadline);
            if deadline <= now_ms {
                self.index.remove(&key);
                self.unlink(slot, pos);
                due.push(key);
            } else {
                min = min.min(deadline);
                pos += 1;
            }
        }
        if let Some(m) = self.slot_min.get_mut(slot) {
            *m = min;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn fired(w: &mut TimerWheel<u64>, now: i64) -> Vec<u64> {
        let mut due = Vec::new();
        w.advance(now, &mut due);
        due.sort_unstable();
        due
    }

    #[test]
    fn fires_at_exactly_its_millisecond_once() {
        let t0 = 1_800_000_000_000;
        let mut w = TimerWheel::new(4096, 1000, t0);
        w.insert(7, t0 + 5 * MIN);
        assert_eq!(w.deadline(&7), Some(t0 + 5 * MIN));
        assert!(fired(&mut w, t0 + 5 * MIN - 1).is_empty());
        assert_eq!(fired(&mut w, t0 + 5 * MIN), vec![7]);
        assert!(fired(&mut w, t0 + 10 * MIN).is_empty());
        assert!(w.is_empty());
    }

    #[test]
    fn cancel_and_replace() {
        let t0 = 0;
        let mut w = TimerWheel::new(8, 1000, t0);
        for k in 0..20u64 {
            w.insert(k, t0 + 1000 * i64::try_from(k).unwrap());
        }
        assert_eq!(w.cancel(&3), Some(3000));
        assert_eq!(w.cancel(&3), None);
        w.insert(4, 50_000); // replaced: later
        assert_eq!(w.len(), 19);
        let due = fired(&mut w, 10_000);
        assert_eq!(due, vec![0, 1, 2, 5, 6, 7, 8, 9, 10]);
        // A clock jump past several turns of the wheel fires the rest, once.
        let due = fired(&mut w, 1_000_000);
        assert_eq!(due, vec![4, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
        assert!(w.is_empty());
    }

    #[test]
    fn a_deadline_in_the_past_fires_at_the_next_advance() {
        let mut w = TimerWheel::new(16, 1000, 100_000);
        w.insert(1u64, 5);
        assert_eq!(fired(&mut w, 100_000), vec![1]);
    }

    #[test]
    fn later_rounds_stay_until_their_time() {
        let mut w = TimerWheel::new(4, 1000, 0);
        w.insert(1u64, 1500);
        w.insert(2u64, 1500 + 4 * 1000 * 3); // same slot, three rounds later
        assert_eq!(fired(&mut w, 2000), vec![1]);
        assert!(fired(&mut w, 13_499).is_empty());
        assert_eq!(fired(&mut w, 13_500), vec![2]);
    }

    #[test]
    fn next_deadline_is_the_earliest_timer_and_follows_advances() {
        let t0 = 1_800_000_000_000;
        let mut w = TimerWheel::new(16, 1000, t0);
        assert_eq!(w.next_deadline(), None, "nothing armed");
        w.insert(1u64, t0 + 70_500); // a later round of its slot
        w.insert(2u64, t0 + 2_300);
        assert_eq!(w.next_deadline(), Some(t0 + 2_300));
        assert!(fired(&mut w, t0 + 2_299).is_empty());
        assert_eq!(w.next_deadline(), Some(t0 + 2_300));
        assert_eq!(fired(&mut w, t0 + 2_300), vec![2]);
        assert_eq!(w.next_deadline(), Some(t0 + 70_500));
        // A cancelled earliest timer: one early wake at most, then the true one.
        w.insert(3u64, t0 + 5_000);
        w.cancel(&3);
        assert_eq!(w.next_deadline(), Some(t0 + 5_000));
        assert!(fired(&mut w, t0 + 5_000).is_empty());
        assert_eq!(w.next_deadline(), Some(t0 + 70_500));
        // A deadline in the past is due at once.
        w.insert(4u64, t0);
        assert_eq!(w.next_deadline(), Some(t0));
        assert_eq!(fired(&mut w, t0 + 5_001), vec![4]);
        assert_eq!(fired(&mut w, t0 + 70_500), vec![1]);
        assert_eq!(w.next_deadline(), None);
    }

    /// 100,000 armed timers cost nothing while idle: a day of one-second turns in which
    /// none is due examines no timer; an advance that fires examines only its slot.
    #[test]
    fn idle_wheel_of_100k_timers_does_no_work() {
        let t0 = 1_800_000_000_000;
        let mut w = TimerWheel::new(4096, 1000, t0);
        for k in 0..100_000u64 {
            // Spread over five minutes, starting ten minutes ahead.
            let offset = i64::try_from(k % 300_000).unwrap() * 3;
            w.insert(k, t0 + 10 * MIN + offset);
        }
        let mut due = Vec::new();
        for s in 0..600 {
            w.advance(t0 + s * 1000, &mut due);
        }
        assert!(due.is_empty());
        assert_eq!(w.work(), 0, "no timer examined while none is due");
        // The first second that is due examines the timers of that second only.
        w.advance(t0 + 10 * MIN, &mut due);
        assert_eq!(due.len(), 1);
        assert!(w.work() <= 334, "examined {}", w.work());
        // Cancelling them all is O(1) each and leaves nothing.
        for k in 0..100_000u64 {
            w.cancel(&k);
        }
        assert!(w.is_empty());
    }
}
