//! When the centre next needs a turn by time alone, so that the shard's loop sleeps
//! until then and no longer (`Shard::run`). Without it an idle loop woke once a second
//! and a 10 s no-response rule fired at up to 10.9 s.
//!
//! The sources, every rule [`Centre::commit`]'s ticks fire by the clock:
//! - routing timers (no-response warning and offer, transfer time-out) and navigation
//!   menu time-outs: the walks over the loaded accounts (`deadline_walk.rs`), due at
//!   the earliest deadline the last walk saw, or 10 ms after it if a turn did
//!   something since ([`Centre::timers_may_have_armed`]);
//! - detached resumable sessions at the end of their window, and at once those that
//!   overflowed their bound (`resume.rs`);
//! - the next SMS attempt (`sms.rs`), the next weekly CSAT mail (`csat.rs`);
//! - idle-customer timers and automatic web invitations (their timing wheels);
//! - an approved broadcast waiting for its `send_at` (`broadcasts.rs`).
//!
//! Left on the loop's once-a-second turn: the 30-day expiry reminder (checked once a
//! second, in whole seconds), the conversation figures of the metrics (refreshed once
//! a second). Work that continues over turns (a broadcast's slices, an import) turns
//! the loop at once (`Centre::fanning_out`).
//!
//! Times are the centre clock's (unix ms, which an operator may move forward,
//! PROTOCOL.md section 19); the loop reads that clock when it goes to sleep and asks
//! [`Centre::sleep_for`] how long.

use super::deadline_walk::REWALK_MS;
use super::Centre;
use kefu_wire::valueadded::BroadcastState;
use std::time::Duration;

impl Centre {
    /// The earliest turn time (centre clock, unix ms) at which a tick has something to
    /// do by time alone; `None` when nothing is armed (or on a standby, whose shards
    /// run no tick).
    pub fn next_deadline(&self) -> Option<i64> {
        if self.on_standby() {
            return None;
        }
        [
            self.routing_walk.next_deadline(),
            self.menu_walk.next_deadline(),
            self.detached.first().map(|&(until_ms, _)| until_ms),
            (!self.overflowed.is_empty()).then_some(i64::MIN),
            self.sms.next_due(),
            self.csat.next_deadline(),
            self.idle_wheel.next_deadline(),
            self.web.next_deadline(),
            self.scheduled_broadcast(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// How long the loop may sleep for the centre, the clock showing `now_ms`; `None`
    /// when the centre needs no turn by time.
    pub fn sleep_for(&self, now_ms: i64) -> Option<Duration> {
        sleep_for(self.next_deadline(), self.now_ms, now_ms)
    }

    /// Something this turn may have armed a routing or menu timer the walks have not
    /// seen: they look again at most `REWALK_MS` after their last walk.
    pub(super) fn timers_may_have_armed(&mut self) {
        self.routing_walk.may_have_armed();
        self.menu_walk.may_have_armed();
    }

    /// The earliest `send_at` of an approved broadcast of an account in memory.
    fn scheduled_broadcast(&self) -> Option<i64> {
        (self.broadcasts_due.iter())
            .filter_map(|(account, id)| {
                let book = self.actors.get(account)?.broadcasts.as_ref()?;
                let (record, status) = book.items.get(id)?;
                (status.state == BroadcastState::PendingSend)
                    .then(|| record.draft.send_at.unwrap_or(i64::MIN))
            })
            .min()
    }
}

/// The sleep until `due` (centre ms) for a loop whose turn ran its ticks at `turn_ms`,
/// the clock now showing `now_ms`.
/// - Nothing due: `None` (the loop's own timers and its once-a-second turn decide).
/// - The clock went back since the turn read it: at once (the walks look again).
/// - Due at or before the turn's time, so still there after its ticks ran: armed
///   after them, or one a tick could not clear; looked at `REWALK_MS` after the turn,
///   never in a busy loop.
pub(crate) fn sleep_for(due: Option<i64>, turn_ms: i64, now_ms: i64) -> Option<Duration> {
    let due = due?;
    if now_ms < turn_ms {
        return Some(Duration::ZERO);
    }
    let due = if due <= turn_ms {
        turn_ms.saturating_add(REWALK_MS)
    } else {
        due
    };
    let ms = u64::try_from(due.saturating_sub(now_ms)).unwrap_or(0);
    Some(Duration::from_millis(ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_800_000_000_000;

    #[test]
    fn sleeps_until_the_deadline_and_not_at_all_without_one() {
        assert_eq!(sleep_for(None, T, T), None, "nothing armed");
        assert_eq!(
            sleep_for(Some(T + 10_000), T, T + 3),
            Some(Duration::from_millis(9_997))
        );
        // Passed while the loop was busy: at once.
        assert_eq!(sleep_for(Some(T + 5), T, T + 9), Some(Duration::ZERO));
        // Already due when the turn's ticks ran: soon, not in a busy loop.
        assert_eq!(
            sleep_for(Some(T - 60_000), T, T + 1),
            Some(Duration::from_millis(u64::try_from(REWALK_MS - 1).unwrap()))
        );
        assert_eq!(
            sleep_for(Some(i64::MIN), T, T),
            Some(Duration::from_millis(u64::try_from(REWALK_MS).unwrap()))
        );
        // The clock set back since the turn: at once, whatever is armed.
        assert_eq!(
            sleep_for(Some(T + 10_000), T, T - 3_600_000),
            Some(Duration::ZERO)
        );
        assert_eq!(sleep_for(None, T, T - 1), None);
        // The far future does not overflow.
        assert_eq!(
            sleep_for(Some(i64::MAX), T, T),
            Some(Duration::from_millis(u64::try_from(i64::MAX - T).unwrap()))
        );
    }
}
