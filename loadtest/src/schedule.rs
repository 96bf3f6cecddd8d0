//! The open-loop message schedule of `kefu-load chat`, and how a message names itself.
//!
//! Message `i` (0-based, over the whole run) is due at `t0 + i / rate`: the
//! times are fixed up front, never moved by how fast the daemon answers, so a
//! stall shows as latency (measured from the due time) instead of as fewer
//! messages (coordinated omission). Messages are dealt to driver threads
//! round-robin (`i % drivers`), and within a driver to its customers
//! round-robin, so every customer sends at the same steady rate.
//!
//! With a ramp-up of `R` seconds the rate grows linearly from 0 to `rate`
//! over `R` (message `i` is due at `sqrt(2 R i / rate)` while `i < rate R / 2`),
//! then stays at `rate`; the ramp's messages are never measured.
//!
//! Each message's text begins `kefu-load <nonce> <i> ` and is padded with `.`
//! to the run's size: the receiving agent reads `i` back from the text, and
//! with it the due time. The nonce is random per run, so messages of an
//! earlier run are recognised as foreign, and the client message id
//! (`nonce << 32 | i`) is new to the daemon's retry detection in every run.

use std::time::{Duration, Instant};

/// Every message text starts with this.
pub const PREFIX: &str = "kefu-load ";

/// Padding, copied in chunks.
const DOTS: &str = "................................................................";

/// The longest header: the prefix, 8 hex digits, a space, 20 decimal digits, a space.
const HEADER_MAX: usize = 10 + 8 + 1 + 20 + 1;

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
    /// Text length of each message, bytes (at least the header's length): the
    /// smallest of a uniform range up to `size_max`.
    pub size: usize,
    /// The largest text length (equal to `size` for a fixed size).
    pub size_max: usize,
    /// Ramp-up, seconds (0: full rate from the first message).
    pub ramp_secs: f64,
}

impl Schedule {
    /// The schedule of a run starting at `t0`: `warmup` then `duration` at `rate`.
    #[cfg(test)]
    pub fn new(
        t0: Instant,
        rate: f64,
        warmup: Duration,
        duration: Duration,
        nonce: u32,
        size: usize,
    ) -> Schedule {
        Schedule::shaped(
            t0,
            rate,
            Duration::ZERO,
            warmup,
            duration,
            nonce,
            (size, size),
        )
    }

    /// A schedule of `rate` messages a second (message i due at i/rate s) reached after a
    /// linear `ramp` from 0, with text lengths spread uniformly over `sizes` (smallest,
    /// largest).
    pub fn shaped(
        t0: Instant,
        rate: f64,
        ramp: Duration,
        warmup: Duration,
        duration: Duration,
        nonce: u32,
        sizes: (usize, usize),
    ) -> Schedule {
        let ramp_msgs = rate * ramp.as_secs_f64() / 2.0;
        let count = |d: Duration| (ramp_msgs + d.as_secs_f64() * rate).floor() as u64;
        let measured_from = count(warmup).min(MAX_MESSAGES);
        let total = count(warmup + duration).min(MAX_MESSAGES);
        Schedule {
            t0,
            rate,
            total,
            measured_from,
            measured_until: total,
            nonce,
            size: sizes.0,
            size_max: sizes.1.max(sizes.0),
            ramp_secs: ramp.as_secs_f64(),
        }
    }

    /// How far after `t0` message `i` is due.
    pub fn offset(&self, i: u64) -> Duration {
        let i = i as f64;
        let ramp_msgs = self.rate * self.ramp_secs / 2.0;
        let secs = if i < ramp_msgs {
            (2.0 * self.ramp_secs * i / self.rate).sqrt()
        } else {
            self.ramp_secs + (i - ramp_msgs) / self.rate
        };
        Duration::from_secs_f64(secs)
    }

    /// The text length of message `i`: fixed, or drawn from the size range by
    /// a hash of `i` (the same in every run with this nonce).
    pub fn size_of(&self, i: u64) -> usize {
        let span = (self.size_max - self.size) as u64 + 1;
        if span == 1 {
            return self.size;
        }
        // splitmix64: cheap and well spread.
        let mut z = (i ^ u64::from(self.nonce)).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        self.size + (z % span) as usize
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
    #[cfg(test)]
    pub fn text(&self, i: u64) -> String {
        let mut text = String::new();
        self.write_text(i, &mut text);
        text
    }

    /// Replaces `out` with the text of message `i`, keeping its allocation (the
    /// generator's send path allocates nothing per message).
    pub fn write_text(&self, i: u64, out: &mut String) {
        out.clear();
        let (header, len) = self.header(i);
        // The header is ASCII (`header` writes only the prefix, digits and spaces).
        out.push_str(std::str::from_utf8(&header[..len]).unwrap_or_default());
        let mut pad = self.size_of(i).saturating_sub(len);
        while pad > 0 {
            let n = pad.min(DOTS.len());
            out.push_str(&DOTS[..n]);
            pad -= n;
        }
    }

    /// Appends the text of message `i` to `out`: the same bytes as
    /// [`Schedule::write_text`], without formatting machinery or a copy.
    pub fn append_text(&self, i: u64, out: &mut Vec<u8>) {
        let (header, len) = self.header(i);
        out.extend_from_slice(&header[..len]);
        let mut pad = self.size_of(i).saturating_sub(len);
        while pad > 0 {
            let n = pad.min(DOTS.len());
            out.extend_from_slice(&DOTS.as_bytes()[..n]);
            pad -= n;
        }
    }

    /// The length of message `i`'s text.
    pub fn text_len(&self, i: u64) -> usize {
        self.size_of(i).max(self.header(i).1)
    }

    /// `kefu-load <nonce, 8 hex digits> <i> ` on the stack, and its length.
    fn header(&self, i: u64) -> ([u8; HEADER_MAX], usize) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut h = [0u8; HEADER_MAX];
        let mut at = PREFIX.len();
        h[..at].copy_from_slice(PREFIX.as_bytes());
        for k in 0..8 {
            h[at + k] = HEX[((self.nonce >> (28 - 4 * k)) & 0xf) as usize];
        }
        at += 8;
        h[at] = b' ';
        at += 1;
        let mut digits = [0u8; 20];
        let mut n = 0;
        let mut v = i;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        for k in 0..n {
            h[at + k] = digits[n - 1 - k];
        }
        at += n;
        h[at] = b' ';
        (h, at + 1)
    }

    /// The index of the message whose text this is, if it is one of this run's.
    pub fn index_of(&self, text: &str) -> Option<u64> {
        self.index_of_bytes(text.as_bytes())
    }

    /// As [`Schedule::index_of`], on the raw bytes (no UTF-8 check, no copy): only
    /// the ASCII header is looked at.
    pub fn index_of_bytes(&self, text: &[u8]) -> Option<u64> {
        match parse_bytes(text) {
            Some((nonce, i)) if nonce == self.nonce && i < self.total => Some(i),
            _ => None,
        }
    }
}

/// `(nonce, index)` of a text made by [`Schedule::text`] (of any run).
#[cfg(test)]
pub fn parse(text: &str) -> Option<(u32, u64)> {
    parse_bytes(text.as_bytes())
}

/// As [`parse`], on bytes: `PREFIX`, 1–8 hex digits, a space, 1–20 decimal
/// digits, a space.
pub fn parse_bytes(text: &[u8]) -> Option<(u32, u64)> {
    let rest = text.strip_prefix(PREFIX.as_bytes())?;
    let (nonce, rest) = word(rest)?;
    let (index, _) = word(rest)?;
    if nonce.len() > 8 || index.len() > 20 {
        return None;
    }
    let nonce = nonce.iter().try_fold(0u32, |n, &b| {
        let d = char::from(b).to_digit(16)?;
        Some((n << 4) | d)
    })?;
    let index = index.iter().try_fold(0u64, |n, &b| {
        let d = char::from(b).to_digit(10)?;
        n.checked_mul(10)?.checked_add(u64::from(d))
    })?;
    Some((nonce, index))
}

/// The non-empty bytes before the next space, and what follows that space (the
/// header ends with a space; a text cut before it is not ours).
fn word(text: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = text.iter().position(|&b| b == b' ')?;
    let (w, rest) = text.split_at(end);
    (!w.is_empty()).then_some((w, rest.get(1..)?))
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

    #[test]
    fn texts_are_the_same_bytes_however_written() {
        let s = Schedule::shaped(
            Instant::now(),
            100.0,
            Duration::ZERO,
            Duration::ZERO,
            Duration::from_secs(100),
            0x0a0b_0c0d,
            (1, 300),
        );
        let mut bytes = Vec::new();
        for i in [0, 9, 10, 12_345, 9_999, u64::from(u32::MAX), u64::MAX] {
            let formatted = format!("{PREFIX}{:08x} {i} ", s.nonce);
            let text = s.text(i);
            assert!(text.starts_with(&formatted), "{text}");
            assert!(text[formatted.len()..].bytes().all(|b| b == b'.'), "{text}");
            assert_eq!(text.len(), s.size_of(i).max(formatted.len()));
            assert_eq!(s.text_len(i), text.len());
            bytes.clear();
            s.append_text(i, &mut bytes);
            assert_eq!(bytes, text.as_bytes());
        }
    }

    #[test]
    fn a_ramp_grows_linearly_to_the_rate() {
        let s = Schedule::shaped(
            Instant::now(),
            100.0,
            Duration::from_secs(2),
            Duration::ZERO,
            Duration::from_secs(1),
            1,
            (64, 64),
        );
        // 100 messages in the ramp (half of 2 s at 100/s), then 100 measured.
        assert_eq!((s.measured_from, s.total), (100, 200));
        assert_eq!(s.offset(0), Duration::ZERO);
        // Quarter of the ramp's messages by half its time.
        assert!((s.offset(25).as_secs_f64() - 1.0).abs() < 1e-9);
        assert!((s.offset(100).as_secs_f64() - 2.0).abs() < 1e-9);
        assert!((s.offset(150).as_secs_f64() - 2.5).abs() < 1e-9);
        let (from, until) = s.window();
        assert!(((until - from).as_secs_f64() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn sizes_spread_over_the_range() {
        let s = Schedule::shaped(
            Instant::now(),
            100.0,
            Duration::ZERO,
            Duration::ZERO,
            Duration::from_secs(100),
            7,
            (100, 300),
        );
        let sizes: Vec<usize> = (0..10_000).map(|i| s.text(i).len()).collect();
        assert!(sizes.iter().all(|n| (100..=300).contains(n)));
        let mean = sizes.iter().sum::<usize>() as f64 / sizes.len() as f64;
        assert!((mean - 200.0).abs() < 5.0, "{mean}");
        assert_eq!(s.text(42).len(), s.size_of(42));
    }
}
