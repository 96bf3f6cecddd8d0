//! What happened to every message of a `kefu-load chat` run, shared by the driver threads.
//!
//! A message is sent by a customer's connection on one thread and delivered
//! to an agent's connection on possibly another, so its fate is recorded in
//! one place: a few flag bits per message ([`Ledger`]), set with atomic `or`s,
//! tallied once the threads have finished ([`Ledger::tally`]). Live totals
//! ([`Progress`]), added once per loop turn, tell every thread when nothing
//! is outstanding any more, so the drain ends as soon as it can.
//!
//! Next to the flags, the ledger keeps when each message actually left the
//! tool ([`Ledger::set_sent`]), so that the receiving thread can also measure
//! from the send (the *uncorrected* latency) besides from the due time.
//!
//! **Invariant**: a flag is only ever set, never cleared; "delivered twice"
//! is detected by setting `DELIVERED` and finding it already set.

use serde::Serialize;
use std::sync::atomic::{AtomicU16, AtomicU32, AtomicU64, Ordering};

/// One flag of a message's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Mark {
    /// The customer's connection queued it.
    Sent = 1,
    /// `Sent { duplicate: false }` came back.
    Acked = 1 << 1,
    /// The send was answered with an error.
    Failed = 1 << 2,
    /// An agent's connection received it.
    Delivered = 1 << 3,
    /// An agent's connection received it again.
    DeliveredTwice = 1 << 4,
    /// `Sent { duplicate: true }` came back although the id was new.
    DuplicateAck = 1 << 5,
    /// The agent queued its reply.
    ReplySent = 1 << 6,
    /// The reply was acknowledged.
    ReplyAcked = 1 << 7,
    /// The reply was answered with an error (or as a duplicate).
    ReplyFailed = 1 << 8,
    /// The customer received the reply.
    ReplyDelivered = 1 << 9,
    /// The customer received the reply again.
    ReplyDeliveredTwice = 1 << 10,
}

/// The fate of every message of a run.
#[derive(Debug)]
pub struct Ledger {
    marks: Vec<AtomicU16>,
    /// Microseconds after the schedule's start when each message was queued,
    /// plus one (0: not sent); 71 minutes at most, beyond any run's deadline.
    sent_us: Vec<AtomicU32>,
}

/// Counts over one direction of traffic (customer messages, or agent replies).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// Scheduled.
    pub planned: u64,
    /// Queued on a connection.
    pub sent: u64,
    /// Acknowledged as stored (`Sent`, not a duplicate).
    pub acked: u64,
    /// Received by the other side (once or more).
    pub delivered: u64,
    /// Acknowledged but never received by the end of the drain.
    pub lost: u64,
    /// Received more than once, or acknowledged as a duplicate of an earlier send.
    pub duplicated: u64,
    /// Answered with an error.
    pub failed: u64,
    /// Sent but neither acknowledged nor refused by the end of the drain.
    pub unanswered: u64,
    /// Scheduled but never sent (its connection was gone, or the run timed out).
    pub not_sent: u64,
    /// Received although its acknowledgement never came.
    pub delivered_unacked: u64,
}

impl Tally {
    /// Whether every planned message went through exactly once.
    pub fn perfect(&self) -> bool {
        self.sent == self.planned
            && self.acked == self.planned
            && self.delivered == self.planned
            && self.lost == 0
            && self.duplicated == 0
            && self.failed == 0
            && self.unanswered == 0
    }
}

impl Ledger {
    /// A ledger for `total` messages, nothing marked.
    pub fn new(total: u64) -> Ledger {
        let n = usize::try_from(total).unwrap_or(usize::MAX);
        Ledger {
            marks: (0..n).map(|_| AtomicU16::new(0)).collect(),
            sent_us: (0..n).map(|_| AtomicU32::new(0)).collect(),
        }
    }

    /// Records that message `i` was queued `us` microseconds after the schedule's start.
    pub fn set_sent(&self, i: u64, us: u64) {
        if let Some(cell) = usize::try_from(i).ok().and_then(|i| self.sent_us.get(i)) {
            let v = u32::try_from(us.saturating_add(1)).unwrap_or(u32::MAX);
            cell.store(v, Ordering::Relaxed);
        }
    }

    /// When message `i` was queued, microseconds after the schedule's start.
    pub fn sent_at(&self, i: u64) -> Option<u64> {
        let cell = usize::try_from(i).ok().and_then(|i| self.sent_us.get(i))?;
        match cell.load(Ordering::Relaxed) {
            0 => None,
            v => Some(u64::from(v) - 1),
        }
    }

    /// Marks message `i`; returns whether the mark was already there.
    /// Indices beyond the ledger are ignored (and reported as already marked).
    pub fn mark(&self, i: u64, mark: Mark) -> bool {
        let Some(cell) = usize::try_from(i).ok().and_then(|i| self.marks.get(i)) else {
            return true;
        };
        let bit = mark as u16;
        cell.fetch_or(bit, Ordering::Relaxed) & bit != 0
    }

    /// Records that message `i` was received; `true` if it is the first time.
    pub fn deliver(&self, i: u64) -> bool {
        let again = self.mark(i, Mark::Delivered);
        if again {
            self.mark(i, Mark::DeliveredTwice);
        }
        !again
    }

    /// Records that the reply to message `i` was received; `true` if the first time.
    pub fn deliver_reply(&self, i: u64) -> bool {
        let again = self.mark(i, Mark::ReplyDelivered);
        if again {
            self.mark(i, Mark::ReplyDeliveredTwice);
        }
        !again
    }

    /// Counts the customers' messages and the agents' replies. Call once
    /// every thread that marks has been joined.
    pub fn tally(&self) -> (Tally, Tally) {
        let mut m = Tally {
            planned: self.marks.len() as u64,
            ..Tally::default()
        };
        let mut r = Tally::default();
        let has = |bits: u16, mark: Mark| bits & mark as u16 != 0;
        for cell in &self.marks {
            let b = cell.load(Ordering::Relaxed);
            let n = |mark| u64::from(has(b, mark));
            m.sent += n(Mark::Sent);
            m.acked += n(Mark::Acked);
            m.failed += n(Mark::Failed);
            m.delivered += n(Mark::Delivered);
            m.duplicated += u64::from(has(b, Mark::DeliveredTwice) || has(b, Mark::DuplicateAck));
            m.lost += u64::from(has(b, Mark::Acked) && !has(b, Mark::Delivered));
            m.unanswered += u64::from(
                has(b, Mark::Sent)
                    && !has(b, Mark::Acked)
                    && !has(b, Mark::Failed)
                    && !has(b, Mark::DuplicateAck),
            );
            m.delivered_unacked += u64::from(has(b, Mark::Delivered) && !has(b, Mark::Acked));
            // An agent replies to each message it receives.
            r.planned += n(Mark::Delivered);
            r.sent += n(Mark::ReplySent);
            r.acked += n(Mark::ReplyAcked);
            r.failed += n(Mark::ReplyFailed);
            r.delivered += n(Mark::ReplyDelivered);
            r.duplicated += n(Mark::ReplyDeliveredTwice);
            r.lost += u64::from(has(b, Mark::ReplyAcked) && !has(b, Mark::ReplyDelivered));
            r.unanswered += u64::from(
                has(b, Mark::ReplySent) && !has(b, Mark::ReplyAcked) && !has(b, Mark::ReplyFailed),
            );
            r.delivered_unacked +=
                u64::from(has(b, Mark::ReplyDelivered) && !has(b, Mark::ReplyAcked));
        }
        m.not_sent = m.planned - m.sent;
        r.not_sent = r.planned.saturating_sub(r.sent);
        (m, r)
    }
}

/// Live totals over every thread, to know when nothing is outstanding.
#[derive(Debug, Default)]
pub struct Progress {
    /// Driver threads still sending their share of the schedule.
    sending: AtomicU64,
    /// When the last thread finished sending, nanoseconds after the schedule's start.
    sent_at_ns: AtomicU64,
    totals: [AtomicU64; COUNTERS],
}

/// Counters a thread adds to [`Progress`] once per loop turn.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Messages queued.
    pub sent: u64,
    /// Messages answered (acknowledged or refused).
    pub answered: u64,
    /// Messages acknowledged.
    pub acked: u64,
    /// Messages received for the first time.
    pub delivered: u64,
    /// Replies queued.
    pub replies_sent: u64,
    /// Replies answered.
    pub replies_answered: u64,
    /// Replies acknowledged.
    pub replies_acked: u64,
    /// Replies received for the first time.
    pub replies_delivered: u64,
}

const COUNTERS: usize = 8;

impl Counts {
    fn array(&self) -> [u64; COUNTERS] {
        [
            self.sent,
            self.answered,
            self.acked,
            self.delivered,
            self.replies_sent,
            self.replies_answered,
            self.replies_acked,
            self.replies_delivered,
        ]
    }

    fn from_array(a: [u64; COUNTERS]) -> Counts {
        let [sent, answered, acked, delivered, replies_sent, replies_answered, replies_acked, replies_delivered] =
            a;
        Counts {
            sent,
            answered,
            acked,
            delivered,
            replies_sent,
            replies_answered,
            replies_acked,
            replies_delivered,
        }
    }

    /// Whether nothing was counted.
    pub fn is_zero(&self) -> bool {
        *self == Counts::default()
    }
}

impl Progress {
    /// Progress of a run with `drivers` sending threads.
    pub fn new(drivers: usize) -> Progress {
        let p = Progress::default();
        p.sending.store(drivers as u64, Ordering::Relaxed);
        p
    }

    /// Adds a thread's counts since its last call, and zeroes them.
    pub fn add(&self, counts: &mut Counts) {
        if counts.is_zero() {
            return;
        }
        for (total, n) in self.totals.iter().zip(counts.array()) {
            if n > 0 {
                total.fetch_add(n, Ordering::Relaxed);
            }
        }
        *counts = Counts::default();
    }

    /// One driver has sent its whole share (or given up), `at_ns` after the
    /// schedule's start.
    pub fn done_sending(&self, at_ns: u64) {
        self.sent_at_ns.fetch_max(at_ns, Ordering::Relaxed);
        self.sending.fetch_sub(1, Ordering::AcqRel);
    }

    /// Once every driver has finished sending: when the last one did,
    /// nanoseconds after the schedule's start.
    pub fn all_sent_at(&self) -> Option<u64> {
        (self.sending.load(Ordering::Acquire) == 0).then(|| self.sent_at_ns.load(Ordering::Relaxed))
    }

    /// The totals so far.
    pub fn totals(&self) -> Counts {
        let mut a = [0; COUNTERS];
        for (v, t) in a.iter_mut().zip(&self.totals) {
            *v = t.load(Ordering::Relaxed);
        }
        Counts::from_array(a)
    }

    /// Whether every thread has sent its share and every message (and, with
    /// `replies`, every reply) has been answered, and every acknowledged one
    /// received: nothing is left to wait for.
    pub fn settled(&self, replies: bool) -> bool {
        if self.sending.load(Ordering::Relaxed) > 0 {
            return false;
        }
        let t = self.totals();
        let messages = t.answered >= t.sent && t.delivered >= t.acked;
        let answers = !replies
            || (t.replies_sent >= t.delivered
                && t.replies_answered >= t.replies_sent
                && t.replies_delivered >= t.replies_acked);
        messages && answers
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fates_are_tallied() {
        let l = Ledger::new(8);
        // 0: perfect. 1: lost. 2: failed. 3: unanswered. 4: not sent.
        // 5: delivered twice. 6: duplicate ack. 7: delivered, never acked.
        for i in [0, 1, 2, 3, 5, 6, 7] {
            assert!(!l.mark(i, Mark::Sent));
        }
        for i in [0, 1, 5, 6] {
            l.mark(i, Mark::Acked);
        }
        l.mark(6, Mark::DuplicateAck);
        l.mark(2, Mark::Failed);
        for i in [0, 5, 6, 7] {
            assert!(l.deliver(i));
        }
        assert!(!l.deliver(5));
        assert!(l.mark(99, Mark::Sent), "out of range is ignored");
        assert_eq!(l.sent_at(0), None);
        l.set_sent(0, 0);
        l.set_sent(1, 1234);
        l.set_sent(99, 5);
        assert_eq!(
            (l.sent_at(0), l.sent_at(1), l.sent_at(99)),
            (Some(0), Some(1234), None)
        );
        let (m, r) = l.tally();
        let want = Tally {
            planned: 8,
            sent: 7,
            acked: 4,
            delivered: 4,
            lost: 1,
            duplicated: 2,
            failed: 1,
            unanswered: 2,
            not_sent: 1,
            delivered_unacked: 1,
        };
        assert_eq!(m, want);
        assert!(!m.perfect());
        assert_eq!(r.planned, 4);
        assert_eq!(r.sent, 0);
    }

    #[test]
    fn replies_are_tallied_and_a_clean_run_is_perfect() {
        let l = Ledger::new(3);
        for i in 0..3 {
            l.mark(i, Mark::Sent);
            l.mark(i, Mark::Acked);
            l.deliver(i);
            l.mark(i, Mark::ReplySent);
        }
        l.mark(0, Mark::ReplyAcked);
        l.mark(1, Mark::ReplyAcked);
        l.deliver_reply(0);
        l.deliver_reply(0);
        let (m, r) = l.tally();
        assert!(m.perfect(), "{m:?}");
        assert_eq!(
            (
                r.planned,
                r.sent,
                r.acked,
                r.delivered,
                r.lost,
                r.duplicated,
                r.unanswered
            ),
            (3, 3, 2, 1, 1, 1, 1)
        );
    }

    #[test]
    fn progress_settles_when_nothing_is_outstanding() {
        let p = Progress::new(2);
        let mut c = Counts {
            sent: 3,
            answered: 2,
            acked: 2,
            delivered: 2,
            ..Counts::default()
        };
        p.add(&mut c);
        assert!(c.is_zero());
        p.done_sending(5);
        assert_eq!(p.all_sent_at(), None);
        p.done_sending(3);
        assert_eq!(p.all_sent_at(), Some(5));
        assert!(!p.settled(false), "one unanswered");
        p.add(&mut Counts {
            answered: 1,
            acked: 1,
            ..Counts::default()
        });
        assert!(!p.settled(false), "one acked, not delivered");
        p.add(&mut Counts {
            delivered: 1,
            ..Counts::default()
        });
        assert!(p.settled(false));
        assert!(!p.settled(true), "no replies yet");
        p.add(&mut Counts {
            replies_sent: 3,
            replies_answered: 3,
            replies_acked: 3,
            replies_delivered: 3,
            ..Counts::default()
        });
        assert!(p.settled(true));
        assert_eq!(p.totals().delivered, 3);
    }
}
