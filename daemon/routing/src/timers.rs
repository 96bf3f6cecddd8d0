//! Time-driven rules: [`AccountRouting::tick`] fires what is due (transfer
//! fail-back, R10; no-response warning and offer, R20) and
//! [`AccountRouting::next_deadline`] says when to call it next.
//!
//! Timers sit in one ordered set of `(when, conversation, kind)`; every
//! conversation field that schedules one (`transfer.deadline`, `nr_timer`) has
//! exactly its entry there, and whoever changes the field changes the entry, so
//! nothing stale accumulates however many messages go back and forth.

use super::exclusive::Owners;
use super::state::AccountRouting;
use super::Outcome;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TimerKind {
    /// A transfer not taken fails back (R10).
    Transfer,
    /// Warn the serving agent (R20).
    NoResponseWarning,
    /// Offer the customer a new choice (R20).
    NoResponseOffer,
}

impl AccountRouting {
    /// The earliest time something is due; call [`AccountRouting::tick`] then.
    pub fn next_deadline(&self) -> Option<i64> {
        self.timers.first().map(|&(at, _, _)| at)
    }

    /// Fires every timer due at or before `now`, earliest first.
    pub fn tick(&mut self, owners: &dyn Owners, now: i64) -> Outcome<()> {
        let mut fx = Vec::new();
        while let Some(&(at, id, kind)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.remove(&(at, id, kind));
            match kind {
                TimerKind::Transfer => self.fail_back(id, owners, now, &mut fx),
                TimerKind::NoResponseWarning | TimerKind::NoResponseOffer => {
                    if let Some(c) = self.conversations.get_mut(&id) {
                        c.nr_timer = None;
                    }
                    self.nr_fire(id, kind, &mut fx);
                }
            }
        }
        Outcome::new((), fx)
    }

    /// Schedules (or, with `None`, cancels) `id`'s no-response timer.
    pub(super) fn set_nr_timer(&mut self, id: u64, timer: Option<(i64, TimerKind)>) {
        let Some(c) = self.conversations.get_mut(&id) else {
            return;
        };
        if let Some((at, kind)) = c.nr_timer.take() {
            self.timers.remove(&(at, id, kind));
        }
        if let Some((at, kind)) = timer {
            self.timers.insert((at, id, kind));
            c.nr_timer = Some((at, kind));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;

    #[test]
    fn next_deadline_is_the_earliest_timer_and_tick_fires_only_what_is_due() {
        let mut r = routing_with(|s| {
            s.designated = DesignatedMode::Agents;
            s.no_response.enabled = true;
        });
        add_online(&mut r, 1001, 0, 0);
        add_online(&mut r, 1002, 0, 0);
        assert_eq!(r.next_deadline(), None);
        let c1 = open_auto(&mut r, 1, 0);
        accept_ok(&mut r, 1001, c1, 0);
        let _ = r.customer_message(c1, 10 * SEC).unwrap();
        // warning at 10 s + 15 min - 1 min
        assert_eq!(r.next_deadline(), Some(10 * SEC + 14 * MINUTE_MS));
        let c2 = open_auto(&mut r, 2, 0);
        accept_ok(&mut r, 1001, c2, 0);
        let _ = r.transfer(1001, c2, 1002, 5 * SEC).unwrap(); // 1002 has cap 0: waits
        assert_eq!(r.next_deadline(), Some(5 * SEC + 2 * MINUTE_MS));
        // nothing due a millisecond early
        assert!(r.tick(5 * SEC + 2 * MINUTE_MS - 1).effects.is_empty());
        let fx = r.tick(5 * SEC + 2 * MINUTE_MS).effects;
        assert!(matches!(fx[0], Effect::TransferFailedBack { .. }));
        assert_eq!(r.next_deadline(), Some(10 * SEC + 14 * MINUTE_MS));
        r.check_invariants();
        // a late tick fires warning and offer in order
        let fx = r.tick(HOUR).effects;
        assert!(matches!(fx[0], Effect::NoResponseWarning { .. }));
        assert!(matches!(fx[1], Effect::OfferReselection { .. }));
        assert_eq!(r.next_deadline(), None);
        r.check_invariants();
    }

    #[test]
    fn back_and_forth_messages_leave_no_stale_timers() {
        let mut r = routing_with(|s| {
            s.designated = DesignatedMode::Agents;
            s.no_response.enabled = true;
        });
        add_online(&mut r, 1001, 5, 0);
        let c = open_auto(&mut r, 1, 0);
        for i in 0..1000 {
            let _ = r.customer_message(c, i * 2).unwrap();
            let _ = r.agent_message(c, 1001, i * 2 + 1).unwrap();
        }
        assert_eq!(r.timers.len(), 0);
        let _ = r.customer_message(c, 5000).unwrap();
        let _ = r.customer_message(c, 5001).unwrap();
        assert_eq!(r.timers.len(), 1);
        r.check_invariants();
    }
}
