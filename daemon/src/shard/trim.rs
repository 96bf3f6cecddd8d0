//! When a shard hands freed memory back to the kernel (`malloc_trim`).
//!
//! glibc keeps freed chunks in its arenas: after a burst (a reconnect storm's
//! connections and output buffers) the resident size stays high for good unless the
//! heap is trimmed. Trimming walks the arena's free lists and `madvise`s their pages,
//! on the loop, for a time that grows with the heap: done every ten seconds whatever
//! happened, it was a periodic stall of a busy shard. So a shard trims only after a
//! burst has ended: when its connections or its unsent output have fallen far below
//! their peak since the last trim. Steady chat never trims.

/// Connections gone since the peak that make a trim worth its time.
const CONNECTIONS_DROP: u64 = 1_000;
/// Unsent output bytes gone since the peak that make a trim worth its time.
const OUTPUT_DROP: u64 = 64 << 20;

/// The shard's peaks since its last trim.
#[derive(Debug, Default)]
pub struct TrimPolicy {
    peak_connections: u64,
    peak_output: u64,
}

impl TrimPolicy {
    /// Notes the shard's figures now (once a second); returns whether a burst has
    /// ended since the last trim, so that trimming now gives memory back. The peaks
    /// start again from the present figures when it does.
    pub fn burst_ended(&mut self, connections: u64, pending_output: u64) -> bool {
        self.peak_connections = self.peak_connections.max(connections);
        self.peak_output = self.peak_output.max(pending_output);
        let ended = self.peak_connections - connections >= CONNECTIONS_DROP
            || self.peak_output - pending_output >= OUTPUT_DROP;
        if ended {
            self.peak_connections = connections;
            self.peak_output = pending_output;
        }
        ended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steady_figures_never_trim() {
        let mut p = TrimPolicy::default();
        for second in 0..10_000u64 {
            // A busy steady shard: connections and output wobble, never drop far.
            let connections = 20_000 + second % 500;
            let output = (second % 7) << 20;
            assert!(!p.burst_ended(connections, output), "second {second}");
        }
    }

    #[test]
    fn a_storm_that_leaves_trims_once() {
        let mut p = TrimPolicy::default();
        assert!(!p.burst_ended(100, 0));
        assert!(!p.burst_ended(10_100, 0), "growing is not a reason");
        assert!(!p.burst_ended(9_200, 0), "900 gone: not yet");
        assert!(p.burst_ended(9_000, 0), "1,100 gone since the peak");
        assert!(!p.burst_ended(8_500, 0), "the peak starts again at 9,000");
        assert!(p.burst_ended(100, 0));
        assert!(!p.burst_ended(100, 0));
    }

    #[test]
    fn output_drained_after_a_slow_reader_trims() {
        let mut p = TrimPolicy::default();
        assert!(!p.burst_ended(10, 200 << 20));
        assert!(!p.burst_ended(10, 150 << 20));
        assert!(p.burst_ended(10, 100 << 20), "100 MiB gone since the peak");
        assert!(!p.burst_ended(10, 50 << 20), "50 MiB since the last trim");
        assert!(p.burst_ended(10, 30 << 20), "70 MiB since the last trim");
        assert!(!p.burst_ended(10, 30 << 20));
    }
}
