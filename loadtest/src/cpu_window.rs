//! CPU time over a run's measured window: the server's (kefud, the relay or
//! nats-server, from `/proc/PID/stat`) and the tool's own (`/proc/self/stat`),
//! read at both ends of the window, so that the server's CPU per message and a
//! saturated generator are seen from the same instants; and the host's own
//! figures over the same window (`/proc/stat`, `/proc/loadavg`), so that a step
//! measured while something else had the box is seen as such.

use crate::memory;
use serde::Serialize;
use std::time::Instant;

/// CPU seconds used within the window; `None` where a reading failed.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowCpu {
    /// The server process's user + system time.
    pub server_secs: Option<f64>,
    /// This process's (the generator's) user + system time.
    pub tool_secs: Option<f64>,
    /// The whole machine over the window.
    pub host: Option<HostWindow>,
}

/// The machine over a window: every process's work, the hypervisor's steal and
/// the run queue at the end.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct HostWindow {
    /// Cores busy (all processes, kernel included), on average over the window.
    pub busy_cores: f64,
    /// Share of the machine's CPU time the hypervisor gave to others, percent.
    pub steal_pct: f64,
    /// `/proc/loadavg`'s 1-minute figure at the end of the window.
    pub loadavg_1m: f64,
}

/// `/proc/stat`'s `cpu` line: (busy, steal, total) ticks over all cores.
fn host_ticks() -> Option<(u64, u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_host_ticks(stat.lines().next()?)
}

/// (busy, steal, total) of a `cpu  user nice system idle iowait irq softirq steal ...`
/// line; guest time is already inside user and nice.
fn parse_host_ticks(line: &str) -> Option<(u64, u64, u64)> {
    let mut words = line.split_whitespace();
    if words.next()? != "cpu" {
        return None;
    }
    let v: Vec<u64> = words
        .take(8)
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    let [user, nice, system, idle, iowait, irq, softirq, steal] = v[..] else {
        return None;
    };
    let busy = user + nice + system + irq + softirq;
    Some((busy, steal, busy + idle + iowait + steal))
}

fn loadavg_1m() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

impl HostWindow {
    /// The window between two `host_ticks` readings `secs` apart.
    fn between(a: (u64, u64, u64), b: (u64, u64, u64), secs: f64) -> Option<HostWindow> {
        let total = b.2.checked_sub(a.2)?;
        if total == 0 || secs <= 0.0 {
            return None;
        }
        let ticks = crate::sys::clock_ticks_per_sec() as f64;
        Some(HostWindow {
            busy_cores: b.0.saturating_sub(a.0) as f64 / ticks / secs,
            steal_pct: 100.0 * b.1.saturating_sub(a.1) as f64 / total as f64,
            loadavg_1m: loadavg_1m()?,
        })
    }
}

/// Waits for `from`, reads both clocks, waits for `until` (or `deadline`, if
/// sooner), reads them again. Blocks the calling thread for the window.
pub fn measure(server: Option<u32>, from: Instant, until: Instant, deadline: Instant) -> WindowCpu {
    let me = std::process::id();
    let read = || {
        (
            server.and_then(memory::cpu_secs),
            memory::cpu_secs(me),
            host_ticks(),
            Instant::now(),
        )
    };
    // Sampling at two instants, not synchronising: sleeping is the point.
    std::thread::sleep(from.saturating_duration_since(Instant::now()));
    let (s0, t0, h0, at0) = read();
    std::thread::sleep(
        until
            .min(deadline)
            .saturating_duration_since(Instant::now()),
    );
    let (s1, t1, h1, at1) = read();
    let delta = |a: Option<f64>, b: Option<f64>| Some(b? - a?);
    WindowCpu {
        server_secs: delta(s0, s1),
        tool_secs: delta(t0, t1),
        host: h0
            .zip(h1)
            .and_then(|(a, b)| HostWindow::between(a, b, (at1 - at0).as_secs_f64())),
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

    #[test]
    fn the_host_line_splits_into_busy_steal_and_total() {
        let line = "cpu  100 5 20 1000 7 1 2 30 9 0";
        assert_eq!(parse_host_ticks(line), Some((128, 30, 1165)));
        assert_eq!(parse_host_ticks("cpu0 1 2 3 4 5 6 7 8"), None);
        assert_eq!(parse_host_ticks("cpu  1 2 3"), None);
        let w = HostWindow::between((0, 0, 0), (0, 10, 100), 1.0);
        assert!(w.is_none_or(|w| w.steal_pct == 10.0 && w.busy_cores == 0.0));
    }
}
