//! The credit window of one online file transfer (C13; `wire/PROTOCOL.md` section 28):
//! pure arithmetic, no I/O, unit-tested here.
//!
//! The receiver grants credit (`FileAnswer`, `FileCredit`); the sender may have sent in
//! all at most `window_end` bytes. A grant is clamped so that the window never reaches
//! more than [`MAX_FILE_WINDOW`] past what was already relayed, nor past the file's
//! size: whatever a receiver asks, the relay holds at most 1 MiB of one transfer in
//! flight towards it. A chunk must start exactly at the bytes relayed so far, carry
//! 1..=[`MAX_FILE_CHUNK`] bytes and end within the window; anything else is refused
//! whole and changes nothing.

use kefu_wire::files::{MAX_FILE_CHUNK, MAX_FILE_WINDOW};

/// Why a chunk was refused (each a different error code).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkRefusal {
    /// Not at the next offset, empty, over 64 KiB, or past the size.
    BadOffset {
        /// The offset the next chunk must have.
        expected: u64,
    },
    /// Past the credit: wait for `FileCredit`.
    NoCredit {
        /// Where the credit ends.
        window_end: u64,
    },
}

/// One transfer's progress and credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CreditWindow {
    size: u64,
    sent: u64,
    window_end: u64,
}

impl CreditWindow {
    /// A transfer of `size` bytes, nothing granted yet.
    pub(crate) fn new(size: u64) -> CreditWindow {
        CreditWindow {
            size,
            sent: 0,
            window_end: 0,
        }
    }

    /// The receiver grants `bytes` more; returns the new end of the window (clamped).
    pub(crate) fn grant(&mut self, bytes: u32) -> u64 {
        let cap = self.sent.saturating_add(MAX_FILE_WINDOW).min(self.size);
        self.window_end = self
            .window_end
            .saturating_add(u64::from(bytes))
            .min(cap)
            .max(self.window_end);
        self.window_end
    }

    /// A chunk of `len` bytes at `offset`: taken (returns whether it was the last), or
    /// refused with nothing changed.
    pub(crate) fn take(&mut self, offset: u64, len: usize) -> Result<bool, ChunkRefusal> {
        let expected = self.sent;
        if offset != expected || len == 0 || len > MAX_FILE_CHUNK {
            return Err(ChunkRefusal::BadOffset { expected });
        }
        let end = offset.saturating_add(len as u64);
        if end > self.size {
            return Err(ChunkRefusal::BadOffset { expected });
        }
        if end > self.window_end {
            return Err(ChunkRefusal::NoCredit {
                window_end: self.window_end,
            });
        }
        self.sent = end;
        Ok(self.sent == self.size)
    }

    /// Bytes relayed so far.
    #[cfg(test)]
    pub(crate) fn sent(&self) -> u64 {
        self.sent
    }

    /// Whether every byte was relayed (a zero-byte file is complete at once).
    pub(crate) fn complete(&self) -> bool {
        self.sent == self.size
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K64: usize = MAX_FILE_CHUNK;

    #[test]
    fn nothing_moves_without_credit() {
        let mut w = CreditWindow::new(1_000);
        assert_eq!(w.take(0, 10), Err(ChunkRefusal::NoCredit { window_end: 0 }));
        assert_eq!(w.grant(0), 0);
        assert_eq!(w.grant(100), 100);
        assert_eq!(w.take(0, 100), Ok(false));
        assert_eq!(
            w.take(100, 1),
            Err(ChunkRefusal::NoCredit { window_end: 100 })
        );
        assert_eq!(w.sent(), 100);
    }

    #[test]
    fn chunks_come_in_order_bounded_and_within_the_size() {
        let mut w = CreditWindow::new(200_000);
        w.grant(u32::MAX);
        let bad = Err(ChunkRefusal::BadOffset { expected: 0 });
        assert_eq!(w.take(1, 10), bad);
        assert_eq!(w.take(0, 0), bad);
        assert_eq!(w.take(0, K64 + 1), bad);
        assert_eq!(w.take(0, K64), Ok(false));
        assert_eq!(
            w.take(0, K64),
            Err(ChunkRefusal::BadOffset {
                expected: K64 as u64
            })
        );
        let mut small = CreditWindow::new(10);
        small.grant(100);
        assert_eq!(
            small.take(0, 11),
            Err(ChunkRefusal::BadOffset { expected: 0 })
        );
        assert_eq!(small.take(0, 10), Ok(true));
        assert!(small.complete());
    }

    #[test]
    fn the_window_is_clamped_to_one_mebibyte_past_what_was_relayed() {
        let mut w = CreditWindow::new(10 << 20);
        assert_eq!(w.grant(u32::MAX), MAX_FILE_WINDOW);
        for i in 0..16 {
            assert_eq!(w.take(i * K64 as u64, K64), Ok(false));
        }
        assert_eq!(
            w.take(MAX_FILE_WINDOW, 1),
            Err(ChunkRefusal::NoCredit {
                window_end: MAX_FILE_WINDOW
            })
        );
        // Credit again: at most 1 MiB past the bytes relayed.
        assert_eq!(w.grant(u32::MAX), 2 * MAX_FILE_WINDOW);
        // A grant never shrinks the window.
        assert_eq!(w.grant(0), 2 * MAX_FILE_WINDOW);
    }

    #[test]
    fn credit_stops_at_the_size_and_a_transfer_completes_on_its_last_byte() {
        let mut w = CreditWindow::new(100_000);
        assert_eq!(w.grant(u32::MAX), 100_000);
        assert_eq!(w.take(0, K64), Ok(false));
        assert_eq!(w.take(K64 as u64, 100_000 - K64), Ok(true));
        assert!(w.complete());
        assert!(CreditWindow::new(0).complete());
    }
}
