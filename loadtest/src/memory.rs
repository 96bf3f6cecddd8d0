//! Reading the daemon's resident memory from `/proc/PID/status` and
//! `/proc/PID/smaps_rollup`, its CPU time from `/proc/PID/stat`, and its heap in
//! use from its metrics (`kefu_heap_in_use_bytes`, glibc's `mallinfo2`: exact to the
//! byte, where the resident size moves by pages and keeps what the allocator holds).

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
    /// The daemon's heap in use (`kefu_heap_in_use_bytes`), bytes, when its metrics
    /// were read with the sample.
    pub heap_in_use: Option<u64>,
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
        heap_in_use: None,
    })
}

/// The daemon's heap in use from its metrics exposition; `None` if the family is
/// missing (an older daemon) or reads 0 (an allocator other than glibc's).
pub fn heap_in_use(metrics: &str) -> Option<u64> {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix("kefu_heap_in_use_bytes "))
        .and_then(|v| v.trim().parse().ok())
        .filter(|&bytes| bytes > 0)
}

/// CPU time (user + system, all threads) process `pid` has used, seconds;
/// `None` if it cannot be read.
pub fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = stat_cpu_ticks(&stat)?;
    Some(ticks as f64 / crate::sys::clock_ticks_per_sec() as f64)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/PID/stat` line. The
/// command name (field 2) may hold spaces and parentheses, so fields are
/// counted after its last `)`.
fn stat_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    utime.checked_add(stime)
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
    fn the_heap_is_read_from_the_metrics() {
        let text = "# TYPE kefu_process_resident_memory_bytes gauge\n\
                    kefu_process_resident_memory_bytes 9000000\n\
                    # TYPE kefu_heap_in_use_bytes gauge\n\
                    kefu_heap_in_use_bytes 1234567\n";
        assert_eq!(heap_in_use(text), Some(1_234_567));
        assert_eq!(heap_in_use("kefu_heap_in_use_bytes 0\n"), None);
        assert_eq!(heap_in_use("kefu_uptime_seconds 3\n"), None);
        assert_eq!(heap_in_use("kefu_heap_in_use_bytes x\n"), None);
    }

    #[test]
    fn own_process_can_be_sampled() {
        let s = sample(std::process::id()).unwrap();
        assert!(s.vm_rss.unwrap_or(0) > 0);
        assert!(cpu_secs(std::process::id()).is_some());
    }

    #[test]
    fn cpu_ticks_are_read_after_the_command_name() {
        let stat = "4242 (kefu d) (x)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 31 0 0 20 0 4 0";
        assert_eq!(stat_cpu_ticks(stat), Some(281));
        assert_eq!(stat_cpu_ticks("4242 (kefud) S 1"), None);
        assert_eq!(stat_cpu_ticks("garbage"), None);
    }
}
