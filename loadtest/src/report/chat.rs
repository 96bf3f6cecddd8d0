//! The report of `kefu-load chat`: setup, every message's fate, throughput
//! against the target, and latency percentiles, as text and JSON.
//!
//! Latencies run from each message's *due* time in the open-loop schedule
//! (not from when the tool got round to sending it), so they include any
//! time the message waited because the daemon or the tool was behind.

use super::{FailureCounts, LatencySummary, LoopReport};
use crate::driver::chat::{CloseOutcome, SetupOutcome};
use crate::ledger::Tally;
use crate::provision::ProvisionReport;
use crate::sampler::ProcSample;
use crate::timeline::Timeline;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::fmt;

/// The run's settings, echoed.
#[derive(Debug, Clone, Serialize)]
pub struct ChatConfig {
    /// Daemon client address.
    pub server: String,
    /// First account number.
    pub account_base: u64,
    /// Accounts.
    pub accounts: u32,
    /// Agents per account.
    pub agents_per_account: u32,
    /// Customers per account.
    pub customers_per_account: u32,
    /// Anonymous visitors per account (they send like customers).
    pub visitors_per_account: u32,
    /// Every agent's auto-accept cap.
    pub cap: u16,
    /// Target messages per second, over all customers.
    pub rate: f64,
    /// Message text length, bytes (the smallest, with a size range).
    pub size: usize,
    /// The largest message text length, bytes (equal to `size` when fixed).
    pub size_max: usize,
    /// Linear ramp-up from 0 to the rate before the warm-up, seconds.
    pub ramp_up_secs: f64,
    /// Messages a customer may have unanswered at once (none: open loop).
    pub window: Option<u32>,
    /// Warm-up, seconds.
    pub warmup_secs: f64,
    /// Measured window, seconds.
    pub duration_secs: f64,
    /// Drain, seconds.
    pub drain_secs: f64,
    /// Whether agents echo every message.
    pub agent_replies: bool,
    /// Milliseconds between an agent's (cumulative) push acknowledgements; 0: every read.
    pub push_ack_ms: f64,
    /// Driver threads.
    pub threads: usize,
    /// Source addresses used.
    pub sources: usize,
    /// Global timeout, seconds.
    pub timeout_secs: f64,
    /// Whether provisioning was asked for.
    pub provision: bool,
}

/// One setup phase (agents or customers).
#[derive(Debug, Clone, Serialize)]
pub struct SetupReport {
    /// Connections asked for.
    pub connections: u64,
    /// Connections set up.
    pub ready: u64,
    /// Setups that failed.
    pub failed: u64,
    /// Jobs never started (deadline).
    pub not_started: u64,
    /// Customers whose conversation went to the queue instead of an agent.
    pub queued: u64,
    /// Failures by `Request:ERROR_CODE` or connection failure.
    pub failures: FailureCounts,
    /// Connections set up earlier and lost during the phase.
    pub dropped: FailureCounts,
    /// Wall time of the phase, seconds.
    pub secs: f64,
    /// From `connect` to the end of setup, microseconds.
    pub latency_us: LatencySummary,
    /// Whether the deadline cut the phase short.
    pub timed_out: bool,
}

impl SetupReport {
    /// The report of a phase of `connections` setups that took `secs`.
    pub fn new(connections: u64, o: &SetupOutcome, secs: f64) -> SetupReport {
        SetupReport {
            connections,
            ready: o.ready,
            failed: o.failures.total(),
            not_started: o.not_started,
            queued: o.queued,
            failures: o.failures.clone(),
            dropped: o.dropped.clone(),
            secs,
            latency_us: LatencySummary::of(&o.latency),
            timed_out: o.timed_out,
        }
    }

    fn problems(&self) -> u64 {
        self.failed + self.dropped.total() + self.not_started + self.queued
    }
}

/// Customer keys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeysReport {
    /// Accounts given a new customer-signing key.
    pub rotated: u64,
    /// Failed rotations.
    pub failures: FailureCounts,
}

/// Rates over the measured window.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Throughput {
    /// Messages per second asked for.
    pub target_per_sec: f64,
    /// Length of the measured window, seconds.
    pub window_secs: f64,
    /// Messages queued per second within the window.
    pub sent_per_sec: f64,
    /// `Sent` answers per second within the window.
    pub acked_per_sec: f64,
    /// Messages arriving at agents per second within the window.
    pub delivered_per_sec: f64,
}

/// Latency percentiles, microseconds, of the measured messages.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct ChatLatencies {
    /// Due time → `Sent` at the customer (stored and acknowledged).
    pub ack: LatencySummary,
    /// Due time → the message at the agent's connection.
    pub end_to_end: LatencySummary,
    /// Due time → the agent's echo at the customer (with `--agent-replies`).
    pub round_trip: Option<LatencySummary>,
    /// Due time → queued by the tool: the tool's own lag behind its schedule.
    pub send_lag: LatencySummary,
    /// Queued → `Sent`: uncorrected, blind to any wait before the send.
    pub ack_from_send: LatencySummary,
    /// Queued → the message at the agent's connection: uncorrected.
    pub end_to_end_from_send: LatencySummary,
}

/// The full histograms of a traffic phase (for the percentile plot and the
/// `.hgrm` files; not in the JSON).
#[derive(Debug, Clone)]
pub struct ChatHistograms {
    /// Due → `Sent`.
    pub ack: Histogram<u64>,
    /// Due → agent.
    pub end_to_end: Histogram<u64>,
    /// Queued → agent.
    pub end_to_end_from_send: Histogram<u64>,
    /// Agents' operations, due → answer: (kind name, histogram).
    pub operations: Vec<(String, Histogram<u64>)>,
}

/// One kind of agent operation (history, contact search, broadcast) over the
/// traffic: open loop at its own rate, latency from the due time.
#[derive(Debug, Clone, Serialize)]
pub struct OperationReport {
    /// `history`, `contact_search` or `broadcast`.
    pub name: &'static str,
    /// The request: `History`, `SearchContacts`, `Broadcast`.
    pub request: &'static str,
    /// Operations per second asked for, over all agents.
    pub target_per_sec: f64,
    /// Operations scheduled.
    pub planned: u64,
    /// Requests sent.
    pub sent: u64,
    /// Answered successfully.
    pub ok: u64,
    /// Answered with an error (by code in `errors`).
    pub failed: u64,
    /// Sent, never answered (connection lost, drain over).
    pub unanswered: u64,
    /// Never sent (no agent connection, deadline).
    pub not_sent: u64,
    /// Failures by `Request:ERROR_CODE` or reason.
    pub errors: FailureCounts,
    /// Sent per second in the measured window.
    pub sent_per_sec: f64,
    /// Answered successfully per second in the measured window.
    pub ok_per_sec: f64,
    /// Items per successful answer: history messages, contacts found, broadcast recipients.
    pub items_per_answer: f64,
    /// Due time → answer, microseconds (successful measured operations).
    pub latency_us: LatencySummary,
    /// Sent → answer (uncorrected).
    pub latency_from_send_us: LatencySummary,
}

impl OperationReport {
    /// Failed, unanswered and never sent.
    pub fn problems(&self) -> u64 {
        self.failed + self.unanswered + self.not_sent
    }
}

/// One second of the traffic, from the schedule's start.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SecondReport {
    /// Seconds after the first message was due.
    pub second: u64,
    /// Messages queued in this second.
    pub sent: u64,
    /// `Sent` answers in this second.
    pub acked: u64,
    /// Deliveries to agents in this second.
    pub delivered: u64,
    /// Median due → agent latency of those deliveries, microseconds.
    pub end_to_end_p50_us: u64,
    /// 99th percentile of it.
    pub end_to_end_p99_us: u64,
    /// Largest.
    pub end_to_end_max_us: u64,
}

impl SecondReport {
    /// The rows of a timeline.
    pub fn rows(t: &Timeline) -> Vec<SecondReport> {
        t.seconds
            .iter()
            .enumerate()
            .map(|(k, s)| {
                let q = |p: f64| {
                    if s.latency.is_empty() {
                        0
                    } else {
                        s.latency.value_at_quantile(p)
                    }
                };
                SecondReport {
                    second: k as u64,
                    sent: s.sent,
                    acked: s.acked,
                    delivered: s.delivered,
                    end_to_end_p50_us: q(0.5),
                    end_to_end_p99_us: q(0.99),
                    end_to_end_max_us: if s.latency.is_empty() {
                        0
                    } else {
                        s.latency.max()
                    },
                }
            })
            .collect()
    }
}

/// The daemon's side of the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ChatDaemonReport {
    /// Shards reported by `AdminStats`.
    pub shards: Option<usize>,
    /// Process id, with `--daemon-pid`.
    pub pid: Option<u32>,
    /// CPU seconds the daemon used during the measured window.
    pub cpu_secs_in_window: Option<f64>,
    /// That divided by the window: cores kept busy on average.
    pub cores_busy_in_window: Option<f64>,
    /// Resident memory before the run, bytes.
    pub rss_before: Option<u64>,
    /// Resident memory after the traffic, bytes.
    pub rss_after: Option<u64>,
    /// CPU and resident memory sampled from /proc during the traffic.
    pub samples: Vec<ProcSample>,
}

/// Closing the conversations at the end.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CloseReport {
    /// Conversations closed.
    pub closed: u64,
    /// Failures by `CloseConversation:ERROR_CODE` or connection failure.
    pub failures: FailureCounts,
    /// Messages that arrived after the drain (already counted as lost).
    pub late_messages: u64,
}

impl From<&CloseOutcome> for CloseReport {
    fn from(o: &CloseOutcome) -> CloseReport {
        CloseReport {
            closed: o.closed,
            failures: o.failures.clone(),
            late_messages: o.late_messages,
        }
    }
}

/// The report of `kefu-load chat`.
#[derive(Debug, Clone, Serialize)]
pub struct ChatReport {
    /// `kefu-load`.
    pub tool: &'static str,
    /// The tool's version.
    pub version: &'static str,
    /// `chat`.
    pub scenario: &'static str,
    /// Every message sent, acknowledged and delivered exactly once; no
    /// failure anywhere; no timeout.
    pub ok: bool,
    /// Whether `--timeout-secs` cut the run short.
    pub timed_out: bool,
    /// Everything that went wrong, summed (setups, messages, closes).
    pub failures_total: u64,
    /// Settings.
    pub config: ChatConfig,
    /// The daemon.
    pub daemon: ChatDaemonReport,
    /// Provisioning, if asked for.
    pub provision: Option<ProvisionReport>,
    /// Customer keys.
    pub customer_keys: KeysReport,
    /// Agents' setup.
    pub agents: Option<SetupReport>,
    /// Customers' setup.
    pub customers: Option<SetupReport>,
    /// Customer messages.
    pub messages: Tally,
    /// Agents' echoes, with `--agent-replies`.
    pub replies: Option<Tally>,
    /// Refused sends and replies, and messages not sent, by reason.
    pub errors: FailureCounts,
    /// Connections lost during the traffic, by reason.
    pub dropped: FailureCounts,
    /// Rates in the measured window.
    pub throughput: Throughput,
    /// Latencies of the measured messages.
    pub latency_us: ChatLatencies,
    /// Agents' operations (history queries, contact searches, broadcasts), if any.
    pub operations: Vec<OperationReport>,
    /// Per-second counts and latencies of the traffic.
    pub timeline: Vec<SecondReport>,
    /// The full histograms (not serialised).
    #[serde(skip)]
    pub histograms: Option<ChatHistograms>,
    /// Message pushes that were not this run's.
    pub foreign_messages: u64,
    /// Other pushes received during the traffic.
    pub other_pushes: u64,
    /// Closing the conversations.
    pub close: Option<CloseReport>,
    /// From the first due message to the end of the drain, seconds.
    pub traffic_secs: f64,
    /// The tool's event loops during the traffic.
    #[serde(rename = "loop")]
    pub loop_: LoopReport,
    /// CPU the tool used during the traffic, seconds.
    pub tool_cpu_secs: f64,
    /// CPU the tool used during the measured window, seconds (from
    /// `/proc/self/stat`, read at the same instants as the daemon's).
    pub tool_cpu_secs_in_window: Option<f64>,
    /// The whole machine over the measured window (busy cores, steal, load).
    pub host_in_window: Option<crate::cpu_window::HostWindow>,
    /// Whole run, seconds.
    pub run_secs: f64,
    /// Things the reader should know.
    pub notes: Vec<String>,
}

impl ChatReport {
    /// A report of `config` with nothing measured yet.
    pub fn new(config: ChatConfig, notes: Vec<String>) -> ChatReport {
        ChatReport {
            tool: "kefu-load",
            version: env!("CARGO_PKG_VERSION"),
            scenario: "chat",
            ok: false,
            timed_out: false,
            failures_total: 0,
            config,
            daemon: ChatDaemonReport::default(),
            provision: None,
            customer_keys: KeysReport::default(),
            agents: None,
            customers: None,
            messages: Tally::default(),
            replies: None,
            errors: FailureCounts::default(),
            dropped: FailureCounts::default(),
            throughput: Throughput::default(),
            latency_us: ChatLatencies::default(),
            operations: Vec::new(),
            timeline: Vec::new(),
            histograms: None,
            foreign_messages: 0,
            other_pushes: 0,
            close: None,
            traffic_secs: 0.0,
            loop_: LoopReport::default(),
            tool_cpu_secs: 0.0,
            tool_cpu_secs_in_window: None,
            host_in_window: None,
            run_secs: 0.0,
            notes,
        }
    }

    /// Sums the failures and decides `ok`.
    pub fn finish(&mut self) {
        let tally = |t: &Tally| t.lost + t.duplicated + t.failed + t.unanswered + t.not_sent;
        let setup = |s: &Option<SetupReport>| s.as_ref().map_or(0, SetupReport::problems);
        self.failures_total = self.provision.as_ref().map_or(0, |p| p.failures.total())
            + self.customer_keys.failures.total()
            + setup(&self.agents)
            + setup(&self.customers)
            + tally(&self.messages)
            + self.replies.as_ref().map_or(0, tally)
            + self.dropped.total()
            + self
                .operations
                .iter()
                .map(OperationReport::problems)
                .sum::<u64>()
            + self.close.as_ref().map_or(0, |c| c.failures.total());
        let complete = self.agents.is_some() && self.customers.is_some() && self.close.is_some();
        self.ok = complete
            && !self.timed_out
            && self.failures_total == 0
            && self.messages.planned > 0
            && self.messages.perfect()
            && self.replies.as_ref().is_none_or(Tally::perfect);
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

fn mib(bytes: Option<u64>) -> String {
    bytes.map_or("?".into(), |b| {
        format!("{:.1}", b as f64 / (1024.0 * 1024.0))
    })
}

fn setup_text(f: &mut fmt::Formatter<'_>, name: &str, s: &SetupReport) -> fmt::Result {
    writeln!(
        f,
        "{name:<10}{}/{} set up in {:.2} s, {} failed, {} not started{}; connect to set up: {}",
        s.ready,
        s.connections,
        s.secs,
        s.failed,
        s.not_started,
        if s.queued > 0 {
            format!(", {} conversations QUEUED", s.queued)
        } else {
            String::new()
        },
        s.latency_us
    )?;
    if !s.failures.is_empty() {
        writeln!(f, "{:<10}failures: {}", "", s.failures)?;
    }
    if !s.dropped.is_empty() {
        writeln!(f, "{:<10}dropped: {}", "", s.dropped)?;
    }
    Ok(())
}

fn tally_text(f: &mut fmt::Formatter<'_>, name: &str, t: &Tally) -> fmt::Result {
    writeln!(
        f,
        "{name:<10}{} planned: {} sent, {} acked, {} delivered; {} lost, {} duplicated, {} failed, {} unanswered, {} not sent",
        t.planned,
        t.sent,
        t.acked,
        t.delivered,
        t.lost,
        t.duplicated,
        t.failed,
        t.unanswered,
        t.not_sent
    )
}

impl fmt::Display for ChatReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.config;
        writeln!(
            f,
            "kefu-load chat: {} accounts x ({} agents, cap {}; {} customers{}) from {} at {} \
             ({} threads, {} source addresses)",
            c.accounts,
            c.agents_per_account,
            c.cap,
            c.customers_per_account,
            if c.visitors_per_account > 0 {
                format!(", {} visitors", c.visitors_per_account)
            } else {
                String::new()
            },
            c.account_base,
            c.server,
            c.threads,
            c.sources
        )?;
        writeln!(
            f,
            "{:<10}{:.0} msg/s of {}{} bytes, {}: {}{:.1} s warm-up, {:.1} s measured, {:.1} s drain{}",
            "plan",
            c.rate,
            c.size,
            if c.size_max > c.size {
                format!("..{}", c.size_max)
            } else {
                String::new()
            },
            match c.window {
                Some(w) => format!("at most {w} unanswered per customer"),
                None => "open loop".to_string(),
            },
            if c.ramp_up_secs > 0.0 {
                format!("{:.1} s ramp-up, ", c.ramp_up_secs)
            } else {
                String::new()
            },
            c.warmup_secs,
            c.duration_secs,
            c.drain_secs,
            if c.agent_replies {
                "; agents echo every message"
            } else {
                ""
            }
        )?;
        writeln!(
            f,
            "{:<10}agents acknowledge pushes {}",
            "",
            if c.push_ack_ms > 0.0 {
                format!("every {} ms (cumulatively)", c.push_ack_ms)
            } else {
                "after every read".to_string()
            }
        )?;
        let d = &self.daemon;
        writeln!(
            f,
            "{:<10}{} shards{}",
            "daemon",
            d.shards.map_or("?".into(), |s| s.to_string()),
            match (d.pid, d.cpu_secs_in_window, d.cores_busy_in_window) {
                (Some(pid), Some(cpu), Some(cores)) =>
                    format!("; pid {pid} used {cpu:.2} s CPU in the window ({cores:.2} cores busy)"),
                (Some(pid), _, _) => format!("; pid {pid}"),
                _ => String::new(),
            }
        )?;
        if let Some(p) = &self.provision {
            writeln!(
                f,
                "{:<10}{:.2} s: accounts {} created, {} existing; agents {} added, {} existing; {} passwords set{}",
                "provision",
                p.secs,
                p.accounts_created,
                p.accounts_existing,
                p.agents_created,
                p.agents_existing,
                p.passwords_set,
                if p.failures.is_empty() { String::new() } else { format!("; failures: {}", p.failures) }
            )?;
        }
        writeln!(
            f,
            "{:<10}{} customer keys rotated{}",
            "keys",
            self.customer_keys.rotated,
            if self.customer_keys.failures.is_empty() {
                String::new()
            } else {
                format!("; failures: {}", self.customer_keys.failures)
            }
        )?;
        if let Some(s) = &self.agents {
            setup_text(f, "agents", s)?;
        }
        if let Some(s) = &self.customers {
            setup_text(f, "customers", s)?;
        }
        tally_text(f, "messages", &self.messages)?;
        if let Some(r) = &self.replies {
            tally_text(f, "replies", r)?;
        }
        if !self.errors.is_empty() {
            writeln!(f, "{:<10}{}", "errors", self.errors)?;
        }
        if !self.dropped.is_empty() {
            writeln!(f, "{:<10}{}", "dropped", self.dropped)?;
        }
        let t = &self.throughput;
        writeln!(
            f,
            "{:<10}target {:.0}/s; in the {:.2} s window: sent {:.0}/s, acked {:.0}/s, delivered {:.0}/s",
            "rate",
            t.target_per_sec,
            t.window_secs,
            t.sent_per_sec,
            t.acked_per_sec,
            t.delivered_per_sec
        )?;
        let l = &self.latency_us;
        writeln!(f, "{:<10}due → Sent      {}", "latency", l.ack)?;
        writeln!(f, "{:<10}due → agent     {}", "", l.end_to_end)?;
        if let Some(rt) = &l.round_trip {
            writeln!(f, "{:<10}due → echo back {}", "", rt)?;
        }
        writeln!(f, "{:<10}tool send lag   {}", "", l.send_lag)?;
        writeln!(f, "{:<10}uncorrected, from the actual send:", "")?;
        writeln!(f, "{:<10}sent → Sent     {}", "", l.ack_from_send)?;
        writeln!(f, "{:<10}sent → agent    {}", "", l.end_to_end_from_send)?;
        for o in &self.operations {
            writeln!(
                f,
                "{:<10}{} ({}): target {:.1}/s; in the window sent {:.1}/s, ok {:.1}/s; {} planned: \
                 {} sent, {} ok, {} failed, {} unanswered, {} not sent; {:.1} items per answer",
                "operation",
                o.name,
                o.request,
                o.target_per_sec,
                o.sent_per_sec,
                o.ok_per_sec,
                o.planned,
                o.sent,
                o.ok,
                o.failed,
                o.unanswered,
                o.not_sent,
                o.items_per_answer
            )?;
            writeln!(f, "{:<10}due → answer    {}", "", o.latency_us)?;
            writeln!(f, "{:<10}sent → answer   {}", "", o.latency_from_send_us)?;
            if !o.errors.is_empty() {
                writeln!(f, "{:<10}errors: {}", "", o.errors)?;
            }
        }
        if let (Some(first), Some(last)) = (d.samples.first(), d.samples.last()) {
            let peak = d
                .samples
                .iter()
                .map(|s| s.cpu_cores)
                .fold(0.0_f64, f64::max);
            let rss = d.samples.iter().filter_map(|s| s.rss_bytes).max();
            writeln!(
                f,
                "{:<10}{} samples over {:.1} s: cpu up to {:.2} cores; rss {} → {} MiB (peak {} MiB)",
                "daemon",
                d.samples.len(),
                last.at_secs - first.at_secs,
                peak,
                mib(first.rss_bytes),
                mib(last.rss_bytes),
                mib(rss)
            )?;
        }
        if self.foreign_messages > 0 {
            writeln!(
                f,
                "{:<10}{} message pushes were not this run's",
                "", self.foreign_messages
            )?;
        }
        if let Some(c) = &self.close {
            writeln!(
                f,
                "{:<10}{} conversations closed{}{}",
                "close",
                c.closed,
                if c.failures.is_empty() {
                    String::new()
                } else {
                    format!("; failures: {}", c.failures)
                },
                if c.late_messages > 0 {
                    format!("; {} messages arrived after the drain", c.late_messages)
                } else {
                    String::new()
                }
            )?;
        }
        writeln!(
            f,
            "{:<10}cpu {:.2} s over {:.2} s of traffic; {} loop turns, {} over 10 ms, longest {:.1} ms",
            "tool",
            self.tool_cpu_secs,
            self.traffic_secs,
            self.loop_.turns,
            self.loop_.slow_turns,
            self.loop_.max_turn_us as f64 / 1000.0
        )?;
        for note in &self.notes {
            writeln!(f, "{:<10}{note}", "note")?;
        }
        writeln!(
            f,
            "{:<10}{} in {:.2} s{}",
            "result",
            if self.ok { "OK" } else { "FAILED" },
            self.run_secs,
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

    fn config() -> ChatConfig {
        ChatConfig {
            server: "127.0.0.1:7070".into(),
            account_base: 1,
            accounts: 1,
            agents_per_account: 1,
            customers_per_account: 1,
            visitors_per_account: 0,
            cap: 1,
            rate: 10.0,
            size: 64,
            size_max: 64,
            ramp_up_secs: 0.0,
            window: None,
            warmup_secs: 0.0,
            duration_secs: 1.0,
            drain_secs: 1.0,
            agent_replies: false,
            push_ack_ms: 5.0,
            threads: 1,
            sources: 1,
            timeout_secs: 10.0,
            provision: false,
        }
    }

    fn setup(n: u64) -> SetupReport {
        SetupReport::new(
            n,
            &SetupOutcome {
                ready: n,
                ..SetupOutcome::empty()
            },
            0.1,
        )
    }

    #[test]
    fn only_a_perfect_complete_run_is_ok() {
        let perfect = Tally {
            planned: 10,
            sent: 10,
            acked: 10,
            delivered: 10,
            ..Tally::default()
        };
        let mut r = ChatReport::new(config(), Vec::new());
        r.agents = Some(setup(1));
        r.customers = Some(setup(1));
        r.messages = perfect;
        r.close = Some(CloseReport::default());
        r.finish();
        assert!(r.ok, "{r}");
        assert!(r.to_string().contains("result    OK"));

        type Spoil = Box<dyn Fn(&mut ChatReport)>;
        let cases: Vec<(&str, Spoil)> = vec![
            (
                "lost",
                Box::new(|r| {
                    r.messages.delivered = 9;
                    r.messages.lost = 1;
                }),
            ),
            ("duplicated", Box::new(|r| r.messages.duplicated = 1)),
            (
                "not sent",
                Box::new(|r| {
                    r.messages.sent = 9;
                    r.messages.not_sent = 1;
                }),
            ),
            ("timed out", Box::new(|r| r.timed_out = true)),
            (
                "agent failed",
                Box::new(|r| {
                    r.agents = Some(SetupReport {
                        failed: 1,
                        ..setup(1)
                    })
                }),
            ),
            (
                "queued",
                Box::new(|r| {
                    r.customers = Some(SetupReport {
                        queued: 1,
                        ..setup(1)
                    })
                }),
            ),
            (
                "dropped",
                Box::new(|r| r.dropped.add("agent:closed_by_server")),
            ),
            (
                "reply lost",
                Box::new(move |r| {
                    r.replies = Some(Tally {
                        lost: 1,
                        delivered: 9,
                        ..perfect
                    })
                }),
            ),
            ("no close", Box::new(|r| r.close = None)),
        ];
        for (why, spoil) in cases {
            let mut r = ChatReport::new(config(), Vec::new());
            r.agents = Some(setup(1));
            r.customers = Some(setup(1));
            r.messages = perfect;
            r.close = Some(CloseReport::default());
            spoil(&mut r);
            r.finish();
            assert!(!r.ok, "{why}");
            assert!(r.to_string().contains("result    FAILED"), "{why}");
        }
    }
}
