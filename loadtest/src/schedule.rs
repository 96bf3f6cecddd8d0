//! The open-loop message schedule of `kefu-load chat`, and how a message names itself.
//!
//! Message `i` (0-based, over the whole run) is due at `t0 + i / rate`: the
//! times are fixed up front, never moved by how fast the daemon answers, so a
//! stall shows as latency (measured from the due time) instead of as fewer
//! messages (coordinated omission). Messages are dealt to driver threads
//! round-robin (`i % drivers`), and within a driver to its customers
//! round-robin, so every customer sends at the same steady rate.
//!
//! Each message's text begins `kefu-load <nonce> <i> ` and is padded with `.`
//! to the run's size: the receiving agent reads `i` back from the text, and
//! with it the due time. The nonce is random per run, so messages of an
//! earlier run are recognised as foreign, and the client message id
//! (`nonce << 32 | i`) is new to the daemon's retry detection in every run.

use std::time::{Duration, Instant};

/// Every message text starts with this.
pub const PREFIX: &str = "kefu-load ";

/// The most messages one run may schedule (the index must fit the client message id).
pub const MAX_MESSAGES: u64 = u32::MAX as u64;

/// A run's message schedule.
#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    /// When message 0 is due.
    pub t0: Instant,
    /// Messages per second, over all customers.
    pub rate: f64,
    /// Messages in the run.
    pub total: u64,
    /// The first message of the measured window (the ones before are the warm-up).
    pub measured_from: u64,
    /// The end of the measured window (exclusive).
    pub measured_until: u64,
    /// This run's random tag.
    pub nonce: u32,
    /// Text length of each message, bytes (at least the header's length).
    pub size: usize,
}

impl Schedule {
    /// The schedule of a run starting at `t0`: `warmup` then `duration` at `rate`.
    pub fn new(
        t0: Instant,
        rate: f64,
        warmup: Duration,
        duration: Duration,
        nonce: u32,
        size: usize,
    ) -> Schedule {
        let count = |d: Duration| (d.as_secs_f64() * rate).floor() as u64;
        let measured_from = count(warmup).min(MAX_MESSAGES);
        let total = count(warmup + duration).min(MAX_MESSAGES);
        Schedule {
            t0,
            rate,
            total,
            measured_from,
            measured_until: total,
            nonce,
            size,
        }
    }

    /// How far after `t0` message `i` is due.
    pub fn offset(&self, i: u64) -> Duration {
        Duration::from_secs_f64(i as f64 / self.rate)
    }

    /// When message `i` is due.
    pub fn at(&self, i: u64) -> Instant {
        self.t0 + self.offset(i)
    }

    /// Whether message `i` counts towards the latency figures.
    pub fn measured(&self, i: u64) -> bool {
        (self.measured_from..self.measured_until).contains(&i)
    }

    /// The measured window: from the first measured message's due time, for
    /// as long as the measured messages take at `rate`.
    pub fn window(&self) -> (Instant, Instant) {
        (self.at(self.measured_from), self.at(self.measured_until))
    }

    /// The client message id of message `i` (the same for the agent's reply,
    /// which the daemon tells apart by its sender).
    pub fn client_msg_id(&self, i: u64) -> u64 {
        (u64::from(self.nonce) << 32) | (i & 0xffff_ffff)
    }

    /// The text of message `i`.
    pub fn text(&self, i: u64) -> String {
        let mut text = format!("{PREFIX}{:08x} {i} ", self.nonce);
        if text.len() < self.size {
            let pad = self.size - text.len();
            text.extend(std::iter::repeat_n('.', pad));
        }
        text
    }

    /// The index of the message whose text this is, if it is one of this run's.
    pub fn index_of(&self, text: &str) -> Option<u64> {
        match parse(text) {
            Some((nonce, i)) if nonce == self.nonce && i < self.total => Some(i),
            _ => None,
        }
    }
}

/// `(nonce, index)` of a text made by [`Schedule::text`] (of any run).
pub fn parse(text: &str) -> Option<(u32, u64)> {
    let rest = text.strip_prefix(PREFIX)?;
    let mut words = rest.splitn(3, ' ');
    let nonce = u32::from_str_radix(words.next()?, 16).ok()?;
    let index = words.next()?.parse().ok()?;
    // The header ends with a space; a text cut before it is not ours.
    words.next()?;
    Some((nonce, index))
}

/// The header length of a message text (without padding), at most.
pub fn max_header_len() -> usize {
    PREFIX.len() + 8 + 1 + 10 + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule(rate: f64, size: usize) -> Schedule {
        Schedule::new(
            Instant::now(),
            rate,
            Duration::from_millis(500),
            Duration::from_secs(2),
            0xdead_beef,
            size,
        )
    }

    #[test]
    fn times_are_fixed_by_the_rate() {
        let s = schedule(200.0, 64);
        assert_eq!(s.total, 500);
        assert_eq!(s.measured_from, 100);
        assert_eq!(s.offset(0), Duration::ZERO);
        assert_eq!(s.offset(1), Duration::from_millis(5));
        assert_eq!(s.offset(200), Duration::from_secs(1));
        assert!(!s.measured(99) && s.measured(100) && s.measured(499) && !s.measured(500));
        let (from, until) = s.window();
        assert_eq!(until - from, Duration::from_secs(2));
        let odd = schedule(3.0, 64);
        assert_eq!((odd.measured_from, odd.total), (1, 7));
    }

    #[test]
    fn texts_name_their_message() {
        let s = schedule(200.0, 64);
        for i in [0, 7, 499] {
            let t = s.text(i);
            assert_eq!(t.len(), 64, "{t}");
            assert_eq!(s.index_of(&t), Some(i));
            assert_eq!(parse(&t), Some((0xdead_beef, i)));
        }
        // Shorter than the header: the header alone.
        let tiny = schedule(200.0, 1);
        assert_eq!(tiny.text(42), "kefu-load deadbeef 42 ");
        assert!(tiny.text(u64::from(u32::MAX)).len() <= max_header_len());
        let cases = [
            "",
            "hello",
            "kefu-load ",
            "kefu-load deadbeef",
            "kefu-load deadbeef 12",
            "kefu-load zzzzzzzz 12 ",
            "kefu-load deadbeef x ",
            "kefu-load deadbeef 500 ", // beyond the schedule
            "kefu-load 00000001 12 ",  // another run
        ];
        for text in cases {
            assert_eq!(s.index_of(text), None, "{text:?}");
        }
        assert_eq!(s.client_msg_id(5), 0xdead_beef_0000_0005);
    }
}
