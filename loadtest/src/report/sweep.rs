//! The report of `kefu-load sweep`: per target (kefud in each durability
//! mode, the relay, nats-server) one row per rate, and the capacities.
//!
//! A row: target and achieved rate (deliveries per second in the measured
//! window); due → receiver p50, p99, p99.9 and max; lost, duplicated and
//! other problems (failed, unanswered, unsent, dropped connections); the
//! server's CPU microseconds per delivered message (its utime + stime from
//! `/proc/PID/stat` over the window, divided by the messages delivered in the
//! window) and as cores; the generator's own CPU over the same window as
//! cores, flagged `gen` when its driver threads are near a full core each
//! (the numbers then describe the tool as much as the server) and `box`
//! when the generator and the server together keep nearly every core busy. For kefud
//! also its group commits per second and messages stored per commit while the rate
//! ran (from its metrics listener: with `fsync`, the syncs per second, and how the
//! batches grow with the load).
//!
//! Beside each row, the machine over the same window: its 1-minute load
//! average at the end, the share of CPU time the hypervisor stole, and the
//! cores busy with neither the server nor the generator (other work on the box),
//! so that a step measured while something else had the box is seen as such.
//!
//! With `--repeat N` every rate of every target is measured N times, in
//! interleaved rounds; a row is then the median of its rounds (p50, p99, p99.9,
//! achieved rate, CPU; the largest max; problems summed; the worst load, steal
//! and other work) with the range of p99 over the rounds, and report.json
//! carries every round's own row (`rounds`, parallel to `rows`).
//!
//! A target's capacity at a bound is the highest rate up to which every rate
//! swept kept p99 (the median's, with rounds) below the bound with nothing lost
//! or duplicated.
//!
//! The header states the pinning (`--pin`: which CPUs the generator and the
//! servers were given, or none); report.json also carries, per target and for
//! the generator, the CPUs the kernel reported for their threads at the end.

use crate::baseline::BaselineReport;
use crate::cpu_window::HostWindow;
use crate::pinning::Pinning;
use crate::report::chat::ChatReport;
use serde::Serialize;
use std::fmt;

/// Generator cores per driver thread from which the generator counts as saturated.
const GEN_SATURATED: f64 = 0.85;
/// Share of the machine's cores busy (server + generator) from which the box does.
const BOX_SATURATED: f64 = 0.9;

/// One rate of one target.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Row {
    /// Target messages per second.
    pub rate: f64,
    /// Deliveries per second in the measured window.
    pub achieved: f64,
    /// Due → receiver, microseconds.
    pub p50_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest.
    pub max_us: u64,
    /// Messages scheduled (0: the rate did not run).
    pub planned: u64,
    /// Sent (and acknowledged, for kefud) but never delivered.
    pub lost: u64,
    /// Delivered more than once.
    pub duplicated: u64,
    /// Failed, unanswered or unsent messages and dropped connections.
    pub other_problems: u64,
    /// The server's CPU microseconds per message delivered in the window.
    pub server_cpu_us_per_msg: Option<f64>,
    /// The server's CPU over the window, cores.
    pub server_cores: Option<f64>,
    /// The generator's CPU over the window, cores.
    pub generator_cores: Option<f64>,
    /// The server's involuntary context switches (all its threads) over the
    /// whole step, per message scheduled in it: how often it lost its core
    /// while it could still run.
    pub server_preemptions_per_msg: Option<f64>,
    /// `gen` (generator near saturation), `box` (the machine nearly busy) or empty.
    pub saturation: String,
    /// kefud: group commits (one store batch each) while the rate ran (ramp-up,
    /// warm-up, window and drain), from its metrics.
    pub commits: Option<u64>,
    /// kefud: messages stored per commit over the same time: the batches' growth.
    pub messages_per_commit: Option<f64>,
    /// kefud: commits per second over the same time (with `fsync`, syncs per second).
    pub commits_per_sec: Option<f64>,
    /// Rounds this row summarises (1: a single measurement).
    pub rounds: usize,
    /// The smallest p99 of the rounds, microseconds.
    pub p99_min_us: u64,
    /// The largest p99 of the rounds.
    pub p99_max_us: u64,
    /// The machine's 1-minute load average at the end of the window.
    pub loadavg_1m: Option<f64>,
    /// CPU time stolen by the hypervisor over the window, percent of the machine's.
    pub steal_pct: Option<f64>,
    /// Cores busy over the window with neither the server nor the generator.
    pub other_cores: Option<f64>,
}

impl Row {
    /// A kefud traffic phase. `threads`: the cores the generator's driver
    /// threads can use (their number, or fewer CPUs when pinned).
    pub fn of_chat(r: &ChatReport, threads: usize) -> Row {
        let m = &r.messages;
        let l = &r.latency_us.end_to_end;
        Row {
            rounds: 1,
            p99_min_us: l.p99,
            p99_max_us: l.p99,
            rate: r.throughput.target_per_sec,
            achieved: r.throughput.delivered_per_sec,
            p50_us: l.p50,
            p99_us: l.p99,
            p999_us: l.p999,
            max_us: l.max,
            planned: m.planned,
            lost: m.lost,
            duplicated: m.duplicated,
            other_problems: m.failed
                + m.unanswered
                + m.not_sent
                + r.dropped.total()
                + u64::from(r.timed_out),
            ..Row::default()
        }
        .with_cpu(
            r.throughput.window_secs,
            r.daemon.cpu_secs_in_window,
            r.tool_cpu_secs_in_window,
            threads,
        )
        .with_host(r.host_in_window)
    }

    /// A baseline run.
    pub fn of_baseline(r: &BaselineReport, threads: usize) -> Row {
        let l = &r.end_to_end_us;
        Row {
            rounds: 1,
            p99_min_us: l.p99,
            p99_max_us: l.p99,
            rate: r.target_per_sec,
            achieved: r.delivered_per_sec,
            p50_us: l.p50,
            p99_us: l.p99,
            p999_us: l.p999,
            max_us: l.max,
            planned: r.planned,
            lost: r.lost,
            duplicated: r.duplicated,
            other_problems: r.planned.saturating_sub(r.sent) + r.errors.total(),
            ..Row::default()
        }
        .with_cpu(
            r.window_secs,
            r.server_cpu_secs_in_window,
            r.tool_cpu_secs_in_window,
            threads,
        )
        .with_host(r.host_in_window)
    }

    fn with_cpu(
        mut self,
        window_secs: f64,
        server: Option<f64>,
        tool: Option<f64>,
        threads: usize,
    ) -> Row {
        if window_secs <= 0.0 {
            return self;
        }
        let delivered = self.achieved * window_secs;
        self.server_cores = server.map(|s| s / window_secs);
        self.server_cpu_us_per_msg = server
            .filter(|_| delivered >= 1.0)
            .map(|s| s * 1e6 / delivered);
        self.generator_cores = tool.map(|s| s / window_secs);
        let cores = crate::sys::online_cpus() as f64;
        let gen = self.generator_cores.unwrap_or(0.0);
        self.saturation = if gen >= GEN_SATURATED * threads.max(1) as f64 {
            "gen".into()
        } else if gen + self.server_cores.unwrap_or(0.0) >= BOX_SATURATED * cores {
            "box".into()
        } else {
            String::new()
        };
        self
    }

    /// The same, with the machine over the window.
    fn with_host(mut self, host: Option<HostWindow>) -> Row {
        if let Some(h) = host {
            self.loadavg_1m = Some(h.loadavg_1m);
            self.steal_pct = Some(h.steal_pct);
            self.other_cores = Some(
                (h.busy_cores
                    - self.server_cores.unwrap_or(0.0)
                    - self.generator_cores.unwrap_or(0.0))
                .max(0.0),
            );
        }
        self
    }

    /// One row for the rounds of a rate (in the order run): medians of the
    /// figures, the range of p99, the largest max, problems summed, the worst
    /// load, steal and other work, and a saturation flag if any round had one.
    pub fn median_of(rounds: &[Row]) -> Row {
        let Some(first) = rounds.first() else {
            return Row::default();
        };
        let med = |f: &dyn Fn(&Row) -> f64| median(rounds.iter().map(f));
        let med_us = |f: &dyn Fn(&Row) -> u64| med(&|r| f(r) as f64).round() as u64;
        let med_opt = |f: &dyn Fn(&Row) -> Option<f64>| {
            let v: Vec<f64> = rounds.iter().filter_map(f).collect();
            (!v.is_empty()).then(|| median(v.into_iter()))
        };
        let worst = |f: &dyn Fn(&Row) -> Option<f64>| rounds.iter().filter_map(f).reduce(f64::max);
        let sum = |f: &dyn Fn(&Row) -> u64| rounds.iter().map(f).sum::<u64>();
        Row {
            rate: first.rate,
            achieved: med(&|r| r.achieved),
            p50_us: med_us(&|r| r.p50_us),
            p99_us: med_us(&|r| r.p99_us),
            p999_us: med_us(&|r| r.p999_us),
            max_us: rounds.iter().map(|r| r.max_us).max().unwrap_or(0),
            planned: sum(&|r| r.planned),
            lost: sum(&|r| r.lost),
            duplicated: sum(&|r| r.duplicated),
            other_problems: sum(&|r| r.other_problems),
            server_cpu_us_per_msg: med_opt(&|r| r.server_cpu_us_per_msg),
            server_cores: med_opt(&|r| r.server_cores),
            generator_cores: med_opt(&|r| r.generator_cores),
            server_preemptions_per_msg: med_opt(&|r| r.server_preemptions_per_msg),
            saturation: rounds
                .iter()
                .map(|r| r.saturation.as_str())
                .find(|s| !s.is_empty())
                .unwrap_or_default()
                .to_string(),
            commits: rounds.iter().map(|r| r.commits).sum::<Option<u64>>(),
            messages_per_commit: med_opt(&|r| r.messages_per_commit),
            commits_per_sec: med_opt(&|r| r.commits_per_sec),
            rounds: rounds.iter().map(|r| r.rounds).sum(),
            p99_min_us: rounds.iter().map(|r| r.p99_min_us).min().unwrap_or(0),
            p99_max_us: rounds.iter().map(|r| r.p99_max_us).max().unwrap_or(0),
            loadavg_1m: worst(&|r| r.loadavg_1m),
            steal_pct: worst(&|r| r.steal_pct),
            other_cores: worst(&|r| r.other_cores),
        }
    }

    /// The same, with kefud's commits while the rate ran (`secs` long).
    pub fn with_commits(mut self, commits: u64, messages: u64, secs: f64) -> Row {
        self.commits = Some(commits);
        self.messages_per_commit = (commits > 0).then(|| messages as f64 / commits as f64);
        self.commits_per_sec = (secs > 0.0).then(|| commits as f64 / secs);
        self
    }

    /// The same, with the server's `preemptions` over the step.
    pub fn with_preemptions(mut self, preemptions: u64) -> Row {
        self.server_preemptions_per_msg =
            (self.planned > 0).then(|| preemptions as f64 / self.planned as f64);
        self
    }

    /// Lost, duplicated and other problems.
    pub fn problems(&self) -> u64 {
        self.lost + self.duplicated + self.other_problems
    }

    /// Whether the rate ran, lost nothing and kept p99 below `bound_us`.
    pub fn keeps(&self, bound_us: u64) -> bool {
        self.planned > 0 && self.problems() == 0 && self.p99_us < bound_us
    }
}

/// The median of some figures (the mean of the middle two for an even count);
/// 0 for none.
fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One target's sweep.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetSweep {
    /// `kefud (wal, 1 shard)`, `relay`, `nats-server`.
    pub name: String,
    /// The rates run, in order (with rounds, each the median of its rounds).
    pub rows: Vec<Row>,
    /// Every round's own row, per rate (parallel to `rows`), in the order run.
    pub rounds: Vec<Vec<Row>>,
    /// Highest rate up to which p99 < 1 ms with nothing lost.
    pub capacity_p99_1ms: Option<f64>,
    /// Highest rate up to which p99 < 10 ms with nothing lost.
    pub capacity_p99_10ms: Option<f64>,
    /// Notes of the run.
    pub notes: Vec<String>,
    /// The CPUs the kernel let the server's threads run on, at the end
    /// (`pinning::observed`: distinct lists joined by ` | `).
    pub cpus: Option<String>,
}

impl TargetSweep {
    /// The same, named.
    pub fn named(mut self, name: String) -> TargetSweep {
        self.name = name;
        self
    }

    /// The highest rate of the prefix of rows that keep `bound_us`.
    pub fn capacity(&self, bound_us: u64) -> Option<f64> {
        self.rows
            .iter()
            .take_while(|r| r.keeps(bound_us))
            .map(|r| r.rate)
            .last()
    }
}

/// The whole sweep, as written to report.json.
#[derive(Debug, Clone, Serialize)]
pub struct SweepReport {
    /// The scenario.
    pub scenario: String,
    /// The command line.
    pub command: String,
    /// CPU model, cores and kernel.
    pub machine: String,
    /// `/proc/loadavg` when the sweep started.
    pub loadavg_before: String,
    /// And when it ended.
    pub loadavg_after: String,
    /// Where each target's sweep stopped (p99 bound, ms).
    pub stop_p99_ms: f64,
    /// Rounds per rate (each target once a round, the rounds interleaved).
    pub repeat: usize,
    /// `--pin`: the generator's CPUs and the servers'; `null`: unpinned.
    pub pinning: Option<Pinning>,
    /// The CPUs the kernel let the generator's threads run on, at the end.
    pub generator_cpus: Option<String>,
    /// Each target, in the order run.
    pub targets: Vec<TargetSweep>,
    /// Things the reader should know.
    pub notes: Vec<String>,
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map_or("unknown CPU".into(), |s| s.trim().to_string());
    let cores = crate::sys::online_cpus();
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cpu} ({cores} cores), Linux {}", kernel.trim())
}

impl SweepReport {
    /// An empty report, stamped with the machine and its load now.
    pub fn new(
        scenario: &str,
        command: String,
        stop_p99_ms: f64,
        repeat: usize,
        pinning: Option<Pinning>,
    ) -> SweepReport {
        SweepReport {
            scenario: scenario.to_string(),
            command,
            machine: machine(),
            loadavg_before: loadavg(),
            loadavg_after: String::new(),
            stop_p99_ms,
            repeat,
            pinning,
            generator_cpus: None,
            targets: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Capacities, the load at the end, and notes on saturated rows.
    pub fn finish(&mut self) {
        self.loadavg_after = loadavg();
        for t in &mut self.targets {
            t.capacity_p99_1ms = t.capacity(1_000);
            t.capacity_p99_10ms = t.capacity(10_000);
        }
        if self
            .targets
            .iter()
            .flat_map(|t| &t.rows)
            .any(|r| !r.saturation.is_empty())
        {
            self.notes.push(
                "rows flagged gen: the generator's driver threads were near a full core each; \
                 box: generator and server together kept nearly every core busy — those rows \
                 measure the box, not only the server"
                    .into(),
            );
        }
    }

    /// Every target ran a rate and nothing was lost or duplicated anywhere.
    pub fn ok(&self) -> bool {
        !self.targets.is_empty()
            && self.targets.iter().all(|t| {
                t.rows.first().is_some_and(|r| r.planned > 0)
                    && t.rows.iter().all(|r| r.lost == 0 && r.duplicated == 0)
            })
    }

    /// The relay's CPU per message at `rate`, if it ran that rate.
    fn relay_cpu_at(&self, rate: f64) -> Option<f64> {
        self.targets
            .iter()
            .find(|t| t.name == "relay")?
            .rows
            .iter()
            .find(|r| (r.rate - rate).abs() < 0.5)?
            .server_cpu_us_per_msg
    }
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or("-".into(), |v| format!("{v:.digits$}"))
}

impl fmt::Display for SweepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<10}{}", "sweep", self.scenario)?;
        writeln!(f, "{:<10}{}", "command", self.command)?;
        writeln!(f, "{:<10}{}", "machine", self.machine)?;
        writeln!(
            f,
            "{:<10}{} at the start, {} at the end (1, 5, 15 min)",
            "load avg", self.loadavg_before, self.loadavg_after
        )?;
        match &self.pinning {
            Some(p) => writeln!(
                f,
                "{:<10}generator on CPU {}, servers (every thread) on CPU {}",
                "pinning", p.generator, p.servers
            )?,
            None => writeln!(
                f,
                "{:<10}none: the generator and the servers share every CPU",
                "pinning"
            )?,
        }
        writeln!(
            f,
            "latency: due → receiver, ms; cpu: the server's µs per delivered message (×relay: \
             against the relay at that rate) and cores; gen: the generator's cores; kefud's \
             group commits per second and messages per commit while the rate ran; prm: the \
             server's involuntary context switches (every thread) per message over the step; \
             load: the \
             box's 1-minute load average, steal: % of its CPU time stolen, others: cores busy \
             with neither server nor generator, over the window"
        )?;
        let rounds = self.repeat > 1;
        if rounds {
            writeln!(
                f,
                "rounds: {} per rate, interleaved (at each rate every target once a round); \
                 figures are the rounds' medians, p99 range the smallest and largest p99, \
                 max the largest, lost/dup/other summed, load/steal/others the worst round",
                self.repeat
            )?;
        }
        for t in &self.targets {
            match (&self.pinning, &t.cpus) {
                (Some(_), Some(cpus)) => writeln!(f, "\n{} (its threads on CPU {cpus})", t.name)?,
                _ => writeln!(f, "\n{}", t.name)?,
            }
            write!(
                f,
                "{:>9} {:>9} {:>7} {:>7} ",
                "rate", "achieved", "p50", "p99"
            )?;
            if rounds {
                write!(f, "{:>15} ", "p99 range")?;
            }
            writeln!(
                f,
                "{:>7} {:>8} {:>5} {:>4} {:>5} {:>7} {:>6} {:>5} {:>5} {:>9} {:>7} {:>5} {:>5} {:>5} {:>6}",
                "p99.9",
                "max",
                "lost",
                "dup",
                "other",
                "cpu µs",
                "×relay",
                "cores",
                "gen",
                "commits/s",
                "msg/cmt",
                "prm",
                "load",
                "steal",
                "others"
            )?;
            for r in &t.rows {
                let ratio = match (r.server_cpu_us_per_msg, self.relay_cpu_at(r.rate)) {
                    (Some(a), Some(b)) if b > 0.0 && t.name != "relay" => format!("{:.1}", a / b),
                    _ => "-".into(),
                };
                write!(
                    f,
                    "{:>9.0} {:>9.0} {:>7.3} {:>7.3} ",
                    r.rate,
                    r.achieved,
                    ms(r.p50_us),
                    ms(r.p99_us)
                )?;
                if rounds {
                    let range = format!("{:.3}–{:.3}", ms(r.p99_min_us), ms(r.p99_max_us));
                    write!(f, "{range:>15} ")?;
                }
                writeln!(
                    f,
                    "{:>7.3} {:>8.3} {:>5} {:>4} {:>5} {:>7} {:>6} {:>5} {:>5} {:>9} {:>7} {:>5} {:>5} {:>5} {:>6}{}",
                    ms(r.p999_us),
                    ms(r.max_us),
                    r.lost,
                    r.duplicated,
                    r.other_problems,
                    opt(r.server_cpu_us_per_msg, 2),
                    ratio,
                    opt(r.server_cores, 2),
                    opt(r.generator_cores, 2),
                    opt(r.commits_per_sec, 0),
                    opt(r.messages_per_commit, 1),
                    opt(r.server_preemptions_per_msg, 2),
                    opt(r.loadavg_1m, 2),
                    opt(r.steal_pct, 1),
                    opt(r.other_cores, 2),
                    if r.saturation.is_empty() {
                        String::new()
                    } else {
                        format!(" {}", r.saturation)
                    }
                )?;
            }
            let cap =
                |c: Option<f64>| c.map_or("none of the rates".into(), |r| format!("{r:.0}/s"));
            writeln!(
                f,
                "capacity  p99 < 1 ms: {}; p99 < 10 ms: {}",
                cap(t.capacity_p99_1ms),
                cap(t.capacity_p99_10ms)
            )?;
            for n in &t.notes {
                writeln!(f, "note      {n}")?;
            }
        }
        for n in &self.notes {
            writeln!(f, "note      {n}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(rate: f64, p99_us: u64, lost: u64) -> Row {
        Row {
            rate,
            achieved: rate,
            p99_us,
            p99_min_us: p99_us,
            p99_max_us: p99_us,
            rounds: 1,
            planned: 100,
            lost,
            ..Row::default()
        }
    }

    #[test]
    fn capacity_is_the_highest_rate_of_the_passing_prefix() {
        let t = TargetSweep {
            name: "x".into(),
            rows: vec![
                row(1.0, 500, 0),
                row(2.0, 900, 0),
                row(3.0, 5_000, 0),
                row(4.0, 800, 0),
            ],
            ..TargetSweep::default()
        };
        assert_eq!(t.capacity(1_000), Some(2.0));
        assert_eq!(t.capacity(10_000), Some(4.0));
        let lossy = TargetSweep {
            rows: vec![row(1.0, 100, 1)],
            ..t
        };
        assert_eq!(lossy.capacity(10_000), None);
    }

    #[test]
    fn rounds_summarise_as_medians_with_the_range_of_p99() {
        let mut a = row(10.0, 900, 0).with_cpu(1.0, Some(0.3), Some(0.1), 2);
        let b = row(10.0, 5_000, 0).with_cpu(1.0, Some(0.1), Some(0.1), 2);
        let mut c = row(10.0, 1_000, 1).with_cpu(1.0, Some(0.2), Some(1.9), 2);
        a.loadavg_1m = Some(1.5);
        c.loadavg_1m = Some(4.0);
        let m = Row::median_of(&[a.clone(), b.clone(), c]);
        assert_eq!((m.p99_us, m.p99_min_us, m.p99_max_us), (1_000, 900, 5_000));
        // 0.2 s over 10 messages.
        assert_eq!(m.server_cpu_us_per_msg, Some(20_000.0));
        assert_eq!((m.planned, m.lost, m.rounds), (300, 1, 3));
        assert_eq!(m.loadavg_1m, Some(4.0));
        assert_eq!(m.saturation, "gen");
        // An even count: the mean of the middle two.
        let two = Row::median_of(&[a, b]);
        assert_eq!(two.p99_us, 2_950);
        assert!(!two.keeps(1_000) && two.keeps(10_000));
    }

    #[test]
    fn cpu_per_message_is_over_the_deliveries_in_the_window() {
        let r = row(1000.0, 1, 0).with_cpu(2.0, Some(0.5), Some(0.1), 2);
        // 0.5 s over 2,000 messages: 250 µs each; 0.25 cores.
        assert_eq!(r.server_cpu_us_per_msg, Some(250.0));
        assert_eq!(r.server_cores, Some(0.25));
        assert_eq!(r.generator_cores, Some(0.05));
        assert!(r.saturation.is_empty());
        let busy = row(1000.0, 1, 0).with_cpu(1.0, Some(0.1), Some(1.9), 2);
        assert_eq!(busy.saturation, "gen");
    }
}
