//! Reading the daemon's resident memory from `/proc/PID/status` and `/proc/PID/smaps_rollup`.

use serde::Serialize;
use std::time::Instant;

/// One reading of a process's memory, in bytes; `None` where the kernel did not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemSample {
    /// `VmRSS` from `/proc/PID/status`: resident set size.
    pub vm_rss: Option<u64>,
    /// `RssAnon` from `/proc/PID/status`: resident anonymous memory (heap, stacks).
    pub rss_anon: Option<u64>,
    /// `Pss` from `/proc/PID/smaps_rollup`: proportional set size.
    pub pss: Option<u64>,
    /// `Anonymous` from `/proc/PID/smaps_rollup`.
    pub anonymous: Option<u64>,
}

/// When a sample was taken and what it says.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TimedSample {
    /// Seconds since the run started.
    pub at_secs: f64,
    /// The reading.
    #[serde(flatten)]
    pub sample: MemSample,
}

/// Reads the memory of process `pid`; an error if it does not exist or cannot be read.
pub fn sample(pid: u32) -> std::io::Result<MemSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    // smaps_rollup needs Linux 4.14 and ptrace access; it is optional.
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    Ok(MemSample {
        vm_rss: field_kib(&status, "VmRSS:"),
        rss_anon: field_kib(&status, "RssAnon:"),
        pss: field_kib(&rollup, "Pss:"),
        anonymous: field_kib(&rollup, "Anonymous:"),
    })
}

/// Samples `pid` (if any), stamping the time since `start`; `None` when there is no pid
/// or the process has gone.
pub fn sample_at(pid: Option<u32>, start: Instant) -> Option<TimedSample> {
    let sample = sample(pid?).ok()?;
    Some(TimedSample {
        at_secs: start.elapsed().as_secs_f64(),
        sample,
    })
}

/// The value of a `Name:   1234 kB` line, in bytes.
fn field_kib(text: &str, name: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with(name))?;
    let mut words = line[name.len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        None => Some(value),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_in_bytes() {
        let status = "Name:\tkefud\nVmRSS:\t  2048 kB\nRssAnon:\t  1000 kB\n";
        assert_eq!(field_kib(status, "VmRSS:"), Some(2048 * 1024));
        assert_eq!(field_kib(status, "RssAnon:"), Some(1000 * 1024));
        assert_eq!(field_kib(status, "Pss:"), None);
        let rollup =
            "00400000-7fff [rollup]\nRss:  10 kB\nPss:  7 kB\nPss_Anon: 3 kB\nAnonymous: 5 kB\n";
        assert_eq!(field_kib(rollup, "Pss:"), Some(7 * 1024));
        assert_eq!(field_kib(rollup, "Anonymous:"), Some(5 * 1024));
    }

    #[test]
    fn own_process_can_be_sampled() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.vm_rss.unwrap_or(0) > 0);
    }
}
