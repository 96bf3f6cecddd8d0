//! How much work one loop turn takes on, and what a shard that cannot keep up
//! says (PROTOCOL.md section 6.2).
//!
//! A turn hands at most `max_requests_per_turn` requests to the centre. A
//! connection with requests left when the budget runs out is served first next
//! turn and is not read meanwhile, so what waits stays in its protocol buffer and
//! the kernel's (backpressure: a peer that keeps writing is slowed by TCP). This
//! bounds a turn's work, its one write batch and the time before its answers.
//!
//! A shard that has ended every turn with requests left over for `overload_after`
//! is **overloaded**: it still serves a full budget each turn, and answers every
//! request past it `OVERLOADED` at once (nothing changed; the client retries
//! later) instead of letting it wait for a turn that would come too late. A
//! refusal costs a decode and a small answer, far less than serving, so the
//! backlog drains and the latency of what is served stays bounded; the first turn
//! that finishes everything ends the overload. The operator's admin socket is
//! never refused.
//!
//! Time comes from the loop's turn (`now`); the state is plain data, tested here.

use std::time::{Duration, Instant};

/// What to do with the next request a connection has buffered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admit {
    /// Hand it to the centre.
    Serve,
    /// Leave it (and the rest of the connection's input) for the next turn.
    Defer,
    /// Answer `OVERLOADED`.
    Refuse,
}

/// A change of the shard's overload state, for the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Change {
    /// The shard started refusing.
    Began,
    /// The shard caught up; this many requests were refused meanwhile.
    Ended { refused: u64 },
}

/// The per-turn request budget and the overload state of one shard.
#[derive(Debug)]
pub(super) struct TurnBudget {
    max_requests: usize,
    overload_after: Duration,
    /// Requests this turn may still serve.
    left: usize,
    /// Since when every turn has ended with requests left over.
    backlogged_since: Option<Instant>,
    /// Whether this turn refuses past its budget.
    refusing: bool,
    /// Requests refused since the overload began.
    refused: u64,
}

impl TurnBudget {
    /// A budget of `max_requests` a turn; overloaded after `overload_after` of backlog.
    pub(super) fn new(max_requests: usize, overload_after: Duration) -> TurnBudget {
        TurnBudget {
            max_requests: max_requests.max(1),
            overload_after,
            left: max_requests.max(1),
            backlogged_since: None,
            refusing: false,
            refused: 0,
        }
    }

    /// New limits (SIGHUP); the state carries on.
    pub(super) fn set_limits(&mut self, max_requests: usize, overload_after: Duration) {
        self.max_requests = max_requests.max(1);
        self.overload_after = overload_after;
    }

    /// A turn begins at `now`: a full budget, and refusing if the backlog is old enough.
    pub(super) fn begin_turn(&mut self, now: Instant) -> Option<Change> {
        self.left = self.max_requests;
        let was = self.refusing;
        self.refusing = self
            .backlogged_since
            .is_some_and(|since| now.saturating_duration_since(since) >= self.overload_after);
        (self.refusing && !was).then_some(Change::Began)
    }

    /// The turn that began last ends at `now`, with requests left over or not.
    pub(super) fn end_turn(&mut self, now: Instant, backlog: bool) -> Option<Change> {
        if backlog {
            self.backlogged_since.get_or_insert(now);
            return None;
        }
        self.backlogged_since = None;
        let was = std::mem::replace(&mut self.refusing, false);
        let refused = std::mem::take(&mut self.refused);
        (was || refused > 0).then_some(Change::Ended { refused })
    }

    /// Whether a connection's buffered input may be looked at this turn (a
    /// request found there is either served or refused).
    pub(super) fn may_poll(&self) -> bool {
        self.left > 0 || self.refusing
    }

    /// Decides about one request (the operator's are always served).
    pub(super) fn admit(&mut self, operator: bool) -> Admit {
        if operator {
            return Admit::Serve;
        }
        if self.left > 0 {
            self.left -= 1;
            Admit::Serve
        } else if self.refusing {
            self.refused += 1;
            Admit::Refuse
        } else {
            Admit::Defer
        }
    }

    /// Whether this turn refuses past its budget.
    #[cfg(test)]
    fn is_refusing(&self) -> bool {
        self.refusing
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn past_the_budget_requests_wait_then_are_refused_once_the_backlog_is_old() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut b = TurnBudget::new(2, ms(100));
        assert_eq!(b.begin_turn(t0), None);
        assert_eq!(b.admit(false), Admit::Serve);
        assert_eq!(b.admit(false), Admit::Serve);
        assert_eq!(b.admit(false), Admit::Defer);
        assert_eq!(b.admit(true), Admit::Serve, "the operator is served");
        assert!(!b.may_poll());
        assert_eq!(b.end_turn(t0, true), None);
        // Backlogged, not yet for long.
        assert_eq!(b.begin_turn(t0 + ms(50)), None);
        assert_eq!(b.end_turn(t0 + ms(50), true), None);
        // Old enough: a full budget served, the rest refused.
        assert_eq!(b.begin_turn(t0 + ms(100)), Some(Change::Began));
        assert_eq!(b.admit(false), Admit::Serve);
        assert_eq!(b.admit(false), Admit::Serve);
        assert!(b.may_poll());
        assert_eq!(b.admit(false), Admit::Refuse);
        assert_eq!(b.admit(false), Admit::Refuse);
        assert_eq!(b.end_turn(t0 + ms(100), true), None);
        assert_eq!(b.begin_turn(t0 + ms(110)), None, "still refusing");
        assert!(b.is_refusing());
        // A turn that finishes everything ends it.
        assert_eq!(
            b.end_turn(t0 + ms(110), false),
            Some(Change::Ended { refused: 2 })
        );
        assert_eq!(b.begin_turn(t0 + ms(120)), None);
        assert!(!b.is_refusing());
        assert_eq!(b.admit(false), Admit::Serve);
        assert_eq!(b.admit(false), Admit::Serve);
        assert_eq!(b.admit(false), Admit::Defer);
    }
}
