//! CPU time over a run's measured window: the server's (kefud, the relay or
//! nats-server, from `/proc/PID/stat`) and the tool's own (`/proc/self/stat`),
//! read at both ends of the window, so that the server's CPU per message and a
//! saturated generator are seen from the same instants.

use crate::memory;
use std::time::Instant;

/// CPU seconds used within the window; `None` where a reading failed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowCpu {
    /// The server process's user + system time.
    pub server_secs: Option<f64>,
    /// This process's (the generator's) user + system time.
    pub tool_secs: Option<f64>,
}

/// Waits for `from`, reads both clocks, waits for `until` (or `deadline`, if
/// sooner), reads them again. Blocks the calling thread for the window.
pub fn measure(server: Option<u32>, from: Instant, until: Instant, deadline: Instant) -> WindowCpu {
    let me = std::process::id();
    let read = || (server.and_then(memory::cpu_secs), memory::cpu_secs(me));
    // Sampling at two instants, not synchronising: sleeping is the point.
    std::thread::sleep(from.saturating_duration_since(Instant::now()));
    let (s0, t0) = read();
    std::thread::sleep(
        until
            .min(deadline)
            .saturating_duration_since(Instant::now()),
    );
    let (s1, t1) = read();
    let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    WindowCpu {
        server_secs: delta(s0, s1),
        tool_secs: delta(t0, t1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_cpu_over_an_empty_window_is_read() {
        let now = Instant::now();
        let w = measure(Some(std::process::id()), now, now, now);
        assert!(w.server_secs.is_some_and(|s| s >= 0.0));
        assert!(w.tool_secs.is_some_and(|s| s >= 0.0));
        assert_eq!(measure(None, now, now, now).server_secs, None);
    }
}
