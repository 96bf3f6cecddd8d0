//! What a run measured: hdrhistogram percentiles, failure counts, and the human and JSON reports.
//!
//! Every number in a report says what it is measured from. Latencies are
//! microseconds in the JSON and milliseconds in the text. This module holds
//! the shared pieces and the `logins` report; the `chat` report is [`chat`].

pub mod chat;
pub mod hgrm;
pub mod html;
pub mod sweep;

use crate::driver::{HoldOutcome, Traffic, TurnStats, WaveOutcome};
use crate::memory::TimedSample;
use crate::provision::ProvisionReport;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt;

/// Highest latency a histogram tracks: one hour, in microseconds.
const HISTOGRAM_MAX_US: u64 = 3_600_000_000;

/// A latency histogram: 1 µs to one hour, three significant digits.
pub fn new_histogram() -> Histogram<u64> {
    match Histogram::new_with_bounds(1, HISTOGRAM_MAX_US, 3) {
        Ok(h) => h,
        // The bounds are constants that hdrhistogram accepts.
        Err(e) => unreachable!("histogram bounds: {e}"),
    }
}

/// Counts by reason (a stable key such as `WRONG_PASSWORD` or `connect:AddrNotAvailable`).
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FailureCounts(BTreeMap<String, u64>);

impl FailureCounts {
    /// Counts one more `key`.
    pub fn add(&mut self, key: &str) {
        self.add_n(key, 1);
    }

    /// Counts `n` more `key` (nothing when `n` is 0).
    pub fn add_n(&mut self, key: &str, n: u64) {
        if n > 0 {
            *self.0.entry(key.to_string()).or_default() += n;
        }
    }

    /// Adds every count of `other`.
    pub fn merge(&mut self, other: &FailureCounts) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }

    /// The sum of all counts.
    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for FailureCounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("none");
        }
        let mut first = true;
        for (k, v) in &self.0 {
            if !first {
                f.write_str(", ")?;
            }
            first = false;
            write!(f, "{k} {v}")?;
        }
        Ok(())
    }
}

/// Percentiles of a latency histogram, microseconds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Serialize)]
pub struct LatencySummary {
    /// Number of values.
    pub count: u64,
    /// Smallest value.
    pub min: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// 99.99th percentile.
    pub p9999: u64,
    /// Largest value.
    pub max: u64,
    /// Arithmetic mean.
    pub mean: f64,
}

impl LatencySummary {
    /// Summarises `h` (all zero when empty).
    pub fn of(h: &Histogram<u64>) -> LatencySummary {
        if h.is_empty() {
            return LatencySummary::default();
        }
        LatencySummary {
            count: h.len(),
            min: h.min(),
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            p9999: h.value_at_quantile(0.9999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.count == 0 {
            return f.write_str("no samples");
        }
        let ms = |us: u64| us as f64 / 1000.0;
        write!(
            f,
            "p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  p99.99 {:.2}  max {:.2} ms",
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            ms(self.p999),
            ms(self.p9999),
            ms(self.max)
        )
    }
}

/// The load generator's own loop, for judging whether it kept up.
#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct LoopReport {
    /// Loop turns over all driver threads.
    pub turns: u64,
    /// Turns whose work took over 10 ms.
    pub slow_turns: u64,
    /// The longest turn's work, microseconds.
    pub max_turn_us: u64,
}

impl From<&TurnStats> for LoopReport {
    fn from(t: &TurnStats) -> LoopReport {
        LoopReport {
            turns: t.turns,
            slow_turns: t.slow,
            max_turn_us: t.max_us,
        }
    }
}

/// One login phase (password or resume).
#[derive(Debug, Clone, Serialize)]
pub struct PhaseReport {
    /// Connections the phase was asked to log in.
    pub connections: u64,
    /// Connections started.
    pub attempted: u64,
    /// Connections logged in.
    pub succeeded: u64,
    /// Connections that failed to log in.
    pub failed: u64,
    /// Connections never started (phase limit or deadline).
    pub not_started: u64,
    /// Failed logins by reason.
    pub failures: FailureCounts,
    /// Logged-in connections lost before the phase ended, by reason.
    pub dropped: FailureCounts,
    /// From the phase's start to the last successful login, seconds.
    pub wall_secs: f64,
    /// Whether every connection of the phase logged in.
    pub all_logged_in: bool,
    /// Successful logins per second of `wall_secs`.
    pub logins_per_sec: f64,
    /// `logins_per_sec` divided by the daemon's cores, where known.
    pub logins_per_sec_per_daemon_core: Option<f64>,
    /// From each connection's scheduled start to its `LoggedIn`, microseconds.
    pub latency_us: LatencySummary,
    /// From each connection's `connect` call to its `LoggedIn`, microseconds.
    pub service_us: LatencySummary,
    /// From each connection's scheduled start to its `connect` call,
    /// microseconds: the load generator's own lag (large values mean the
    /// numbers above are partly the client's).
    pub start_lag_us: LatencySummary,
    /// Pushes (presence changes of the account's other agents...) received
    /// and acknowledged during the phase.
    pub pushes: u64,
    /// CPU the load tool used during the phase, seconds (user + system).
    pub tool_cpu_secs: f64,
    /// The tool's event loops.
    #[serde(rename = "loop")]
    pub loop_: LoopReport,
    /// Whether the run's deadline cut the phase short.
    pub timed_out: bool,
}

impl PhaseReport {
    /// Builds the report of a phase of `connections` logins that ran `wave`,
    /// started at `t0`; `cores` divides the rate.
    pub fn new(
        connections: u64,
        wave: &WaveOutcome,
        t0: std::time::Instant,
        cores: Option<u32>,
        traffic: Traffic,
        tool_cpu_secs: f64,
    ) -> PhaseReport {
        let wall_secs = wave
            .last_success
            .map_or(0.0, |t| t.saturating_duration_since(t0).as_secs_f64());
        let logins_per_sec = if wall_secs > 0.0 {
            wave.succeeded as f64 / wall_secs
        } else {
            0.0
        };
        PhaseReport {
            connections,
            attempted: wave.attempted,
            succeeded: wave.succeeded,
            failed: wave.failures.total(),
            not_started: wave.not_started,
            failures: wave.failures.clone(),
            dropped: wave.dropped.clone(),
            wall_secs,
            all_logged_in: connections > 0 && wave.succeeded == connections,
            logins_per_sec,
            logins_per_sec_per_daemon_core: cores
                .filter(|c| *c > 0)
                .map(|c| logins_per_sec / f64::from(c)),
            latency_us: LatencySummary::of(&wave.latency),
            service_us: LatencySummary::of(&wave.service),
            start_lag_us: LatencySummary::of(&wave.start_lag),
            pushes: traffic.pushes,
            tool_cpu_secs,
            loop_: LoopReport::from(&wave.turns),
            timed_out: wave.timed_out,
        }
    }
}

/// The hold phase.
#[derive(Debug, Clone, Serialize)]
pub struct HoldReport {
    /// How long the hold lasted, seconds.
    pub secs: f64,
    /// Connections held at the start.
    pub held_at_start: u64,
    /// Connections still held at the end.
    pub held_at_end: u64,
    /// Connections lost, by reason.
    pub dropped: FailureCounts,
    /// Heartbeat pings the tool sent during the hold (server pings are
    /// answered too, uncounted).
    pub pings_sent: u64,
    /// Pongs received during the hold.
    pub pongs: u64,
    /// Pushes received and acknowledged during the hold.
    pub pushes: u64,
    /// The tool's event loops.
    #[serde(rename = "loop")]
    pub loop_: LoopReport,
}

impl HoldReport {
    /// Builds the report of a hold.
    pub fn new(secs: f64, hold: &HoldOutcome, traffic: Traffic) -> HoldReport {
        HoldReport {
            secs,
            held_at_start: hold.held_at_start,
            held_at_end: hold.held_at_end,
            dropped: hold.dropped.clone(),
            pings_sent: traffic.pings_sent,
            pongs: traffic.pongs,
            pushes: traffic.pushes,
            loop_: LoopReport::from(&hold.turns),
        }
    }
}

/// The daemon's memory over the run.
#[derive(Debug, Clone, Serialize)]
pub struct MemoryReport {
    /// The daemon's process id.
    pub pid: u32,
    /// Before provisioning and before any connection.
    pub baseline: Option<TimedSample>,
    /// After the password phase closed its connections.
    pub after_password: Option<TimedSample>,
    /// When every resumed connection was logged in.
    pub hold_start: Option<TimedSample>,
    /// At the end of the hold, connections still open.
    pub hold_end: Option<TimedSample>,
    /// Once the held connections were closed and the daemon reported them gone.
    pub after_close: Option<TimedSample>,
    /// Connections held at the end of the hold.
    pub connections: u64,
    /// (`hold_end` − `baseline`) VmRSS per held connection, bytes.
    pub rss_per_connection_bytes: Option<f64>,
    /// (`hold_end` − `after_password`) VmRSS per held connection, bytes: closer
    /// to the cost of a connection alone, accounts and sessions being loaded already.
    pub rss_per_connection_since_password_bytes: Option<f64>,
    /// (`hold_end` − `baseline`) heap in use per held connection, bytes.
    pub heap_per_connection_bytes: Option<f64>,
    /// (`hold_end` − `after_password`) heap in use per held connection, bytes: the
    /// exact counterpart of `rss_per_connection_since_password_bytes`.
    pub heap_per_connection_since_password_bytes: Option<f64>,
    /// (`hold_end` − `after_close`) heap per held connection, bytes: what closing
    /// them gave back (tables keep their grown capacity, so this is the lower bound).
    pub heap_freed_per_connection_bytes: Option<f64>,
}

impl MemoryReport {
    /// Computes the per-connection deltas from the samples.
    pub fn finish(&mut self) {
        let per = |from: &Option<TimedSample>, field: fn(&TimedSample) -> Option<u64>| {
            let end = field(self.hold_end.as_ref()?)? as f64;
            let start = field(from.as_ref()?)? as f64;
            (self.connections > 0).then(|| (end - start) / self.connections as f64)
        };
        let rss: fn(&TimedSample) -> Option<u64> = |s| s.sample.vm_rss;
        let heap: fn(&TimedSample) -> Option<u64> = |s| s.heap_in_use;
        self.rss_per_connection_bytes = per(&self.baseline, rss);
        self.rss_per_connection_since_password_bytes = per(&self.after_password, rss);
        self.heap_per_connection_bytes = per(&self.baseline, heap);
        self.heap_per_connection_since_password_bytes = per(&self.after_password, heap);
        self.heap_freed_per_connection_bytes = per(&self.after_close, heap);
    }
}

/// Where the number of daemon cores came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CoresSource {
    /// `--daemon-cores`.
    Flag,
    /// The number of shards in `AdminStats`.
    AdminStats,
    /// Unknown: no flag and no admin socket.
    Unknown,
}

/// What the daemon said about itself.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonReport {
    /// Cores the rates are divided by.
    pub cores: Option<u32>,
    /// Where `cores` came from.
    pub cores_source: CoresSource,
    /// Shards reported by `AdminStats` at the start.
    pub shards: Option<usize>,
    /// Frames the daemon had received before the run, per `AdminStats`.
    pub frames_before_run: Option<u64>,
    /// Open connections over all shards during the hold, per `AdminStats`.
    pub connections_during_hold: Option<u64>,
    /// Logged-in sessions over all shards during the hold, per `AdminStats`.
    pub sessions_during_hold: Option<u64>,
}

/// The run's settings, echoed.
#[derive(Debug, Clone, Serialize)]
pub struct RunConfig {
    /// Daemon client address.
    pub server: String,
    /// First account number.
    pub account_base: u64,
    /// Accounts.
    pub accounts: u32,
    /// Agents per account.
    pub agents_per_account: u32,
    /// Connections.
    pub connections: u64,
    /// Driver threads.
    pub threads: usize,
    /// Source addresses used.
    pub sources: usize,
    /// First and last source address.
    pub source_range: String,
    /// Password logins in flight at most.
    pub max_inflight: usize,
    /// Resume connections started per second; 0 for all at once.
    pub resume_rate: f64,
    /// Hold duration, seconds.
    pub hold_secs: f64,
    /// Password phase start limit, seconds.
    pub password_phase_limit_secs: Option<f64>,
    /// Global timeout, seconds.
    pub timeout_secs: f64,
    /// Whether provisioning was asked for.
    pub provision: bool,
}

/// The report of `kefu-load logins`.
#[derive(Debug, Clone, Serialize)]
pub struct LoginsReport {
    /// `kefu-load`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// `logins`.
    pub scenario: &'static str,
    /// No failure, nothing dropped, no timeout.
    pub ok: bool,
    /// Whether `--timeout-secs` cut the run short.
    pub timed_out: bool,
    /// Failed logins, lost connections and failed provisioning requests.
    pub failures_total: u64,
    /// Settings.
    pub config: RunConfig,
    /// The daemon.
    pub daemon: DaemonReport,
    /// Provisioning, if asked for.
    pub provision: Option<ProvisionReport>,
    /// The password phase, if it ran.
    pub password: Option<PhaseReport>,
    /// The resume phase, if it ran.
    pub resume: Option<PhaseReport>,
    /// The hold, if it ran.
    pub hold: Option<HoldReport>,
    /// Daemon memory, with `--daemon-pid`.
    pub memory: Option<MemoryReport>,
    /// Whole run, seconds.
    pub run_secs: f64,
    /// CPU the tool used over the run, seconds.
    pub tool_cpu_secs: f64,
    /// Things the reader should know (limits hit, assumptions made).
    pub notes: Vec<String>,
}

impl LoginsReport {
    /// Sums the failures and decides `ok`.
    pub fn finish(&mut self) {
        let phase = |p: &Option<PhaseReport>| {
            p.as_ref()
                .map_or(0, |p| p.failures.total() + p.dropped.total())
        };
        self.failures_total = phase(&self.password)
            + phase(&self.resume)
            + self.hold.as_ref().map_or(0, |h| h.dropped.total())
            + self.provision.as_ref().map_or(0, |p| p.failures.total());
        self.ok = self.failures_total == 0 && !self.timed_out;
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn phase_text(f: &mut fmt::Formatter<'_>, name: &str, p: &PhaseReport) -> fmt::Result {
    writeln!(
        f,
        "{name:<10}{}/{} logged in, {} failed, {} not started; last login at {:.3} s: {:.1} logins/s{}",
        p.succeeded,
        p.connections,
        p.failed,
        p.not_started,
        p.wall_secs,
        p.logins_per_sec,
        p.logins_per_sec_per_daemon_core
            .map(|r| format!(", {r:.1}/s per daemon core"))
            .unwrap_or_default()
    )?;
    writeln!(
        f,
        "{:<10}latency (from scheduled start) {}",
        "", p.latency_us
    )?;
    writeln!(
        f,
        "{:<10}service (from connect)         {}",
        "", p.service_us
    )?;
    writeln!(
        f,
        "{:<10}tool start lag                 {}",
        "", p.start_lag_us
    )?;
    writeln!(
        f,
        "{:<10}{} pushes received; tool cpu {:.2} s, {} loop turns, {} over 10 ms, longest {:.1} ms",
        "",
        p.pushes,
        p.tool_cpu_secs,
        p.loop_.turns,
        p.loop_.slow_turns,
        p.loop_.max_turn_us as f64 / 1000.0
    )?;
    if !p.failures.is_empty() {
        writeln!(f, "{:<10}failures: {}", "", p.failures)?;
    }
    if !p.dropped.is_empty() {
        writeln!(f, "{:<10}dropped after login: {}", "", p.dropped)?;
    }
    Ok(())
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| {
        format!("{:.1} MiB", b as f64 / (1 << 20) as f64)
    })
}

impl fmt::Display for LoginsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "kefu-load logins: {} connections to {} ({} accounts x {} agents from {}), {} threads, {} source addresses ({})",
            c.connections,
            c.server,
            c.accounts,
            c.agents_per_account,
            c.account_base,
            c.threads,
            c.sources,
            c.source_range
        )?;
        let d = &self.daemon;
        writeln!(
            f,
            "{:<10}{} cores ({}), {} shards",
            "daemon",
            d.cores.map_or("?".into(), |c| c.to_string()),
            match d.cores_source {
                CoresSource::Flag => "--daemon-cores",
                CoresSource::AdminStats => "shards in AdminStats",
                CoresSource::Unknown => "unknown: give --daemon-cores or --admin-socket",
            },
            d.shards.map_or("?".into(), |s| s.to_string())
        )?;
        if let Some(p) = &self.provision {
            writeln!(
                f,
                "{:<10}{:.2} s over {} admin connections: accounts {} created, {} existing; agents {} added, {} existing; {} passwords set{}",
                "provision",
                p.secs,
                p.admin_connections,
                p.accounts_created,
                p.accounts_existing,
                p.agents_created,
                p.agents_existing,
                p.passwords_set,
                if p.failures.is_empty() { String::new() } else { format!("; failures: {}", p.failures) }
            )?;
        }
        if let Some(p) = &self.password {
            phase_text(f, "password", p)?;
        }
        if let Some(p) = &self.resume {
            phase_text(f, "resume", p)?;
            if p.all_logged_in {
                writeln!(
                    f,
                    "{:<10}all {} connections logged in {:.3} s after the phase began",
                    "", p.connections, p.wall_secs
                )?;
            }
        }
        if let Some(h) = &self.hold {
            writeln!(
                f,
                "{:<10}{:.1} s: {} held at start, {} at end; {} pings sent, {} pongs, {} pushes{}",
                "hold",
                h.secs,
                h.held_at_start,
                h.held_at_end,
                h.pings_sent,
                h.pongs,
                h.pushes,
                if h.dropped.is_empty() {
                    String::new()
                } else {
                    format!("; dropped: {}", h.dropped)
                }
            )?;
        }
        if let (Some(conns), Some(sessions)) = (d.connections_during_hold, d.sessions_during_hold) {
            writeln!(
                f,
                "{:<10}during hold the daemon reports {conns} connections, {sessions} sessions",
                ""
            )?;
        }
        if let Some(m) = &self.memory {
            let rss = |s: &Option<TimedSample>| mib(s.and_then(|s| s.sample.vm_rss));
            writeln!(
                f,
                "{:<10}kefud pid {} VmRSS: baseline {}, after password phase {}, hold start {}, hold end {}",
                "memory",
                m.pid,
                rss(&m.baseline),
                rss(&m.after_password),
                rss(&m.hold_start),
                rss(&m.hold_end)
            )?;
            if let Some(per) = m.rss_per_connection_bytes {
                writeln!(
                    f,
                    "{:<10}{per:.0} bytes per connection over baseline ({} connections){}",
                    "",
                    m.connections,
                    m.rss_per_connection_since_password_bytes
                        .map(|p| format!(", {p:.0} bytes since the password phase"))
                        .unwrap_or_default()
                )?;
            }
            if m.hold_end.is_some_and(|s| s.heap_in_use.is_some()) {
                let heap = |s: &Option<TimedSample>| {
                    s.and_then(|s| s.heap_in_use)
                        .map_or("?".into(), |b| format!("{b} B"))
                };
                writeln!(
                    f,
                    "{:<10}heap in use (mallinfo2): baseline {}, after password phase {}, hold start {}, hold end {}, after close {}",
                    "",
                    heap(&m.baseline),
                    heap(&m.after_password),
                    heap(&m.hold_start),
                    heap(&m.hold_end),
                    heap(&m.after_close)
                )?;
                let bytes = |b: Option<f64>| b.map_or("?".into(), |b| format!("{b:.0}"));
                writeln!(
                    f,
                    "{:<10}heap {} bytes per connection over baseline, {} since the password phase, {} freed per connection at close",
                    "",
                    bytes(m.heap_per_connection_bytes),
                    bytes(m.heap_per_connection_since_password_bytes),
                    bytes(m.heap_freed_per_connection_bytes)
                )?;
            }
        }
        for note in &self.notes {
            writeln!(f, "{:<10}{note}", "note")?;
        }
        writeln!(
            f,
            "{:<10}{} in {:.2} s (tool cpu {:.2} s){}",
            "result",
            if self.ok { "OK" } else { "FAILED" },
            self.run_secs,
            self.tool_cpu_secs,
            if self.ok {
                String::new()
            } else {
                format!(
                    ": {} failures{}",
                    self.failures_total,
                    if self.timed_out { ", timed out" } else { "" }
                )
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_in_microseconds() {
        let mut h = new_histogram();
        for v in 1..=1000u64 {
            h.record(v * 1000).unwrap();
        }
        let s = LatencySummary::of(&h);
        assert_eq!(s.count, 1000);
        // Three significant digits: within 0.1%.
        assert!((499_000..=501_000).contains(&s.p50), "{s:?}");
        assert!((989_000..=991_000).contains(&s.p99), "{s:?}");
        assert!(s.max >= 1_000_000 && s.max <= 1_001_000, "{s:?}");
        assert_eq!(LatencySummary::of(&new_histogram()).count, 0);
    }

    #[test]
    fn failure_counts_merge_and_print() {
        let mut a = FailureCounts::default();
        a.add("timeout");
        a.add("WRONG_PASSWORD");
        let mut b = FailureCounts::default();
        b.add("timeout");
        a.merge(&b);
        assert_eq!(a.total(), 3);
        assert_eq!(a.to_string(), "WRONG_PASSWORD 1, timeout 2");
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"WRONG_PASSWORD":1,"timeout":2}"#
        );
        assert_eq!(FailureCounts::default().to_string(), "none");
    }
}
