//! The daemon's CPU and resident memory over a run, sampled from /proc at a
//! fixed interval on a thread of its own.

use crate::memory;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Time between samples.
pub const INTERVAL: Duration = Duration::from_millis(250);

/// One reading.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ProcSample {
    /// Seconds after the run's reference instant (the schedule's start).
    pub at_secs: f64,
    /// CPU cores the daemon kept busy since the previous sample (0 for the first).
    pub cpu_cores: f64,
    /// Resident set size, bytes.
    pub rss_bytes: Option<u64>,
}

/// Samples `pid` at once, then every [`INTERVAL`] until `stop` is set or the
/// process is gone; times are stamped relative to `start` (negative before it).
pub fn sample_until(pid: u32, start: Instant, stop: &AtomicBool) -> Vec<ProcSample> {
    let mut out = Vec::new();
    let mut last: Option<(Instant, f64)> = None;
    loop {
        let now = Instant::now();
        let Some(cpu) = memory::cpu_secs(pid) else {
            break;
        };
        let rss = memory::sample(pid).ok().and_then(|m| m.vm_rss);
        let cores = last.map_or(0.0, |(t, c)| {
            let dt = now.duration_since(t).as_secs_f64();
            if dt > 0.0 {
                (cpu - c) / dt
            } else {
                0.0
            }
        });
        let at = if now >= start {
            now.duration_since(start).as_secs_f64()
        } else {
            -start.duration_since(now).as_secs_f64()
        };
        out.push(ProcSample {
            at_secs: at,
            cpu_cores: cores,
            rss_bytes: rss,
        });
        last = Some((now, cpu));
        if stop.load(Ordering::Relaxed) {
            break;
        }
        // Sampling at an interval, not synchronising: sleeping is the point.
        std::thread::sleep(INTERVAL);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn own_process_is_sampled_until_stopped() {
        let stop = Arc::new(AtomicBool::new(false));
        let s2 = Arc::clone(&stop);
        let h = std::thread::spawn(move || sample_until(std::process::id(), Instant::now(), &s2));
        // Busy work the sampler can see; ends by count, not time.
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = x.wrapping_add(i * i);
        }
        std::hint::black_box(x);
        stop.store(true, Ordering::Relaxed);
        let samples = h.join().unwrap();
        assert!(!samples.is_empty());
        assert!(samples.iter().all(|s| s.rss_bytes.unwrap_or(0) > 0));
    }
}
