//! What happened in each second of a traffic phase: messages sent, acknowledged
//! and delivered, and the end-to-end latency of the deliveries, for the
//! throughput and latency-over-time plot.
//!
//! Seconds count from the schedule's start (message 0's due time); events are
//! put in the second they happened in, deliveries with their latency from the
//! due time. Each second's histogram keeps two significant digits: enough for
//! a plot, and small enough to keep one per second per thread.

use hdrhistogram::Histogram;
use std::time::Duration;

/// The most seconds a timeline keeps (later events are not plotted).
pub const MAX_SECONDS: usize = 3600;

/// One second of traffic.
#[derive(Debug, Clone)]
pub struct Second {
    /// Messages queued.
    pub sent: u64,
    /// `Sent` answers received.
    pub acked: u64,
    /// First deliveries to agents.
    pub delivered: u64,
    /// Due time → delivery of those deliveries, microseconds.
    pub latency: Histogram<u64>,
}

impl Second {
    fn new() -> Second {
        let latency = match Histogram::new_with_bounds(1, 3_600_000_000, 2) {
            Ok(h) => h,
            // Constant bounds hdrhistogram accepts.
            Err(e) => unreachable!("histogram bounds: {e}"),
        };
        Second {
            sent: 0,
            acked: 0,
            delivered: 0,
            latency,
        }
    }
}

/// Seconds of a traffic phase, from the schedule's start.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    /// Second `k` covers `[k, k + 1)` seconds after the start.
    pub seconds: Vec<Second>,
}

impl Timeline {
    fn at(&mut self, since_start: Duration) -> Option<&mut Second> {
        let k = usize::try_from(since_start.as_secs()).ok()?;
        if k >= MAX_SECONDS {
            return None;
        }
        while self.seconds.len() <= k {
            self.seconds.push(Second::new());
        }
        self.seconds.get_mut(k)
    }

    /// A message queued `since_start` after the start.
    pub fn sent(&mut self, since_start: Duration) {
        if let Some(s) = self.at(since_start) {
            s.sent += 1;
        }
    }

    /// A `Sent` answer received.
    pub fn acked(&mut self, since_start: Duration) {
        if let Some(s) = self.at(since_start) {
            s.acked += 1;
        }
    }

    /// A first delivery, `latency_us` after its due time.
    pub fn delivered(&mut self, since_start: Duration, latency_us: u64) {
        if let Some(s) = self.at(since_start) {
            s.delivered += 1;
            s.latency.saturating_record(latency_us.max(1));
        }
    }

    /// Adds another thread's timeline of the same phase.
    pub fn merge(&mut self, other: &Timeline) {
        for (k, o) in other.seconds.iter().enumerate() {
            if let Some(s) = self.at(Duration::from_secs(k as u64)) {
                s.sent += o.sent;
                s.acked += o.acked;
                s.delivered += o.delivered;
                // Same bounds everywhere: adding cannot fail.
                let _ = s.latency.add(&o.latency);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_land_in_their_second_and_merge() {
        let mut a = Timeline::default();
        a.sent(Duration::from_millis(10));
        a.sent(Duration::from_millis(2500));
        a.delivered(Duration::from_millis(2600), 1500);
        let mut b = Timeline::default();
        b.acked(Duration::from_millis(999));
        b.delivered(Duration::from_secs(4), 10);
        b.sent(Duration::from_secs(MAX_SECONDS as u64));
        a.merge(&b);
        let sent: Vec<u64> = a.seconds.iter().map(|s| s.sent).collect();
        assert_eq!(sent, [1, 0, 1, 0, 0]);
        assert_eq!(a.seconds[0].acked, 1);
        assert_eq!(a.seconds[2].delivered, 1);
        assert_eq!(a.seconds[4].latency.max(), 10);
        assert!(a.seconds[2].latency.max() >= 1500);
    }
}
