//! `kefu-load run FILE`: a scenario file run against kefud, optionally as a
//! capacity search and side by side with the baselines, reported as text,
//! JSON, HTML and `.hgrm`.
//!
//! Order: the kefud run (one traffic phase, or one per capacity step on the
//! same connections), then each baseline with the same pattern (pairs =
//! customers, same rate or the same capacity steps, sizes and timing), then
//! the reports. The baselines run after kefud, not at the same time, so that
//! each has the machine to itself.

use crate::baseline::nats::NatsServer;
use crate::baseline::relay::Relay;
use crate::baseline::{self, BaselineReport, Kind as BaselineKind, PairSpec};
use crate::capacity::{CapacityReport, Slo, StepResult, Steps};
use crate::cli::{ChatPlan, LoginsPlan, RunArgs};
use crate::report::chat::ChatReport;
use crate::report::{hgrm, html, LatencySummary};
use crate::scenario_file::{Args, Overrides, ScenarioFile};
use crate::scenarios;
use anyhow::{bail, Context};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

/// Everything `run` measured, as written to report.json.
#[derive(Debug, Serialize)]
pub struct RunReport {
    /// The scenario's name.
    pub scenario: String,
    /// Its description.
    pub description: Option<String>,
    /// The file it came from.
    pub file: String,
    /// The command line.
    pub command: String,
    /// This machine.
    pub machine: Machine,
    /// The kefud run (in a capacity search: the highest passing step, or the first).
    pub chat: ChatReport,
    /// The capacity search, with --slo.
    pub capacity: Option<CapacityReport>,
    /// The baselines, with --baselines (at the kefud run's rate).
    pub baselines: Vec<BaselineReport>,
    /// Capacity searches of the baselines, with --slo and --baselines.
    pub baseline_capacity: Vec<(String, CapacityReport)>,
    /// kefud against each baseline.
    pub comparison: Vec<Ratio>,
    /// Things the reader should know.
    pub notes: Vec<String>,
}

/// The machine the run was on.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// CPU model.
    pub cpu: String,
    /// Online cores.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
}

impl Machine {
    fn here() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Machine {
            cpu: cpuinfo
                .lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map_or("unknown".into(), |s| s.trim().to_string()),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map_or("unknown".into(), |s| s.trim().to_string()),
        }
    }
}

/// kefud's rate and p99 against one baseline's.
#[derive(Debug, Clone, Serialize)]
pub struct Ratio {
    /// The baseline.
    pub baseline: String,
    /// kefud's delivered messages per second (in a capacity search: its highest passing rate).
    pub kefud_rate: f64,
    /// The baseline's.
    pub baseline_rate: f64,
    /// kefud's rate / the baseline's.
    pub rate_ratio: f64,
    /// kefud's due → agent p99, microseconds.
    pub kefud_p99_us: u64,
    /// The baseline's due → receiver p99.
    pub baseline_p99_us: u64,
    /// kefud's p99 / the baseline's.
    pub p99_ratio: f64,
}

/// Runs `args`; `Ok(ok)` once a report was produced.
pub fn run(args: RunArgs, fd_limit: u64) -> anyhow::Result<bool> {
    let file = ScenarioFile::load(&args.scenario)?;
    let overrides = Overrides {
        server: args.server,
        admin_socket: args.admin_socket.clone(),
        daemon_pid: args.daemon_pid,
        rate: args.rate,
        duration: args.duration,
    };
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    match file.to_args(&overrides)? {
        Args::Logins(l) => {
            if args.slo.is_some() || args.baselines {
                bail!("--slo and --baselines need a chat scenario (this one is kind = \"logins\")");
            }
            let plan = LoginsPlan::new(*l, fd_limit)?;
            let report = scenarios::logins::run(&plan)?;
            let text = format!(
                "scenario  {} ({})\n{report}",
                file.display_name(),
                args.scenario.display()
            );
            if let Some(dir) = &args.out_dir {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("creating {}", dir.display()))?;
                write(dir, "report.json", &(report.to_json() + "\n"))?;
                write(dir, "report.txt", &text)?;
            }
            crate::print(&text)?;
            Ok(report.ok)
        }
        Args::Chat(c) => {
            let plan = ChatPlan::new(*c, fd_limit)?;
            run_chat(&args, &file, plan, command)
        }
    }
}

fn run_chat(
    args: &RunArgs,
    file: &ScenarioFile,
    plan: ChatPlan,
    command: String,
) -> anyhow::Result<bool> {
    let mut notes = Vec::new();
    let steps_plan = match args.slo {
        Some(_) => {
            let start = args.rate_start.unwrap_or(plan.rate);
            let s = Steps {
                start,
                step: args.rate_step.unwrap_or(start),
                max: args.rate_max.unwrap_or(20.0 * start),
                step_secs: args.step_secs.unwrap_or(plan.duration.as_secs_f64()),
            };
            s.check().map_err(anyhow::Error::msg)?;
            Some(s)
        }
        None => None,
    };
    let (chat, capacity) = match (args.slo, steps_plan) {
        (Some(slo), Some(steps)) => {
            let mut p = plan.clone();
            p.duration = Duration::try_from_secs_f64(steps.step_secs).context("--step-secs")?;
            // A search runs many phases: give it the time they need.
            let per_step = (p.warmup + p.duration + p.drain + p.ramp_up).as_secs_f64() + 1.0;
            let n = ((steps.max - steps.start) / steps.step).floor() + 1.0;
            p.timeout = p.timeout.max(Duration::from_secs_f64(60.0 + per_step * n));
            let reports = scenarios::chat::run_steps(&p, |done| {
                if done.last().is_some_and(|r| !chat_step(slo, r).passed) {
                    return None;
                }
                let next = steps.rate(done.len())?;
                eprintln!("kefu-load: capacity step {}: {next:.0}/s", done.len() + 1);
                Some(next)
            })?;
            let results: Vec<StepResult> = reports.iter().map(|r| chat_step(slo, r)).collect();
            let cap = CapacityReport::new(slo, steps, results);
            // Show the highest passing step, else the first.
            let best = reports
                .iter()
                .zip(&cap.steps)
                .filter(|(_, s)| s.passed)
                .map(|(r, _)| r)
                .next_back()
                .or(reports.first())
                .cloned()
                .context("the capacity search produced no report")?;
            (best, Some(cap))
        }
        _ => (scenarios::chat::run(&plan)?, None),
    };

    let mut baselines = Vec::new();
    let mut baseline_capacity = Vec::new();
    if args.baselines {
        let kinds = [BaselineKind::Relay, BaselineKind::Nats];
        for kind in kinds {
            let server = match start_baseline(kind, &args.nats_server)? {
                Some(s) => s,
                None => {
                    notes.push(format!(
                        "{} is not installed ({}): that baseline was skipped (apt-get install nats-server)",
                        kind.name(),
                        args.nats_server
                    ));
                    continue;
                }
            };
            let spec = |rate: f64, secs: Option<f64>| PairSpec {
                server: server.addr(),
                kind,
                pairs: plan.customers,
                rate,
                ramp: plan.ramp_up,
                warmup: plan.warmup,
                duration: secs.map_or(plan.duration, Duration::from_secs_f64),
                drain: plan.drain,
                sizes: (plan.size, plan.size_max),
                threads: plan.threads,
                timeout: plan.timeout,
                server_pid: server.pid(),
            };
            // At the rate of the kefud run shown (in a search, its best step).
            let rate = chat.throughput.target_per_sec;
            eprintln!("kefu-load: baseline {} at {rate:.0}/s", kind.name());
            let secs = capacity.as_ref().map(|c| c.steps_plan.step_secs);
            baselines.push(baseline::run(&spec(rate, secs))?);
            if let (Some(slo), Some(steps)) = (args.slo, steps_plan) {
                let mut results: Vec<StepResult> = Vec::new();
                let mut k = 0;
                while let Some(rate) = steps.rate(k) {
                    eprintln!(
                        "kefu-load: baseline {} capacity step {}: {rate:.0}/s",
                        kind.name(),
                        k + 1
                    );
                    let r = baseline::run(&spec(rate, Some(steps.step_secs)))?;
                    let step = baseline_step(slo, rate, &r);
                    let passed = step.passed;
                    results.push(step);
                    k += 1;
                    if !passed {
                        break;
                    }
                }
                baseline_capacity.push((
                    kind.name().to_string(),
                    CapacityReport::new(slo, steps, results),
                ));
            }
        }
    }

    let comparison = ratios(&chat, capacity.as_ref(), &baselines, &baseline_capacity);
    let ok = match &capacity {
        Some(c) => c.max_rate.is_some(),
        None => chat.ok,
    };
    let report = RunReport {
        scenario: file.display_name().to_string(),
        description: file.description.clone(),
        file: args.scenario.display().to_string(),
        command,
        machine: Machine::here(),
        chat,
        capacity,
        baselines,
        baseline_capacity,
        comparison,
        notes,
    };
    let text = text(&report);
    if let Some(dir) = &args.out_dir {
        write_outputs(dir, &report, &text)?;
    }
    crate::print(&text)?;
    Ok(ok)
}

enum Server {
    Relay(Relay),
    Nats(NatsServer),
}

impl Server {
    fn addr(&self) -> std::net::SocketAddr {
        match self {
            Server::Relay(r) => r.addr(),
            Server::Nats(n) => n.addr(),
        }
    }

    fn pid(&self) -> Option<u32> {
        match self {
            Server::Relay(_) => None,
            Server::Nats(n) => Some(n.pid()),
        }
    }
}

fn start_baseline(kind: BaselineKind, nats: &str) -> anyhow::Result<Option<Server>> {
    Ok(match kind {
        BaselineKind::Relay => Some(Server::Relay(
            Relay::start(([127, 0, 0, 1], 0).into()).context("starting the relay")?,
        )),
        BaselineKind::Nats => NatsServer::start(nats, None)?.map(Server::Nats),
    })
}

/// A chat step's verdict.
fn chat_step(slo: Slo, r: &ChatReport) -> StepResult {
    let m = &r.messages;
    let problems = m.lost + m.duplicated + m.failed + m.unanswered + m.not_sent + r.dropped.total();
    let latency_us = slo.value(&r.latency_us.end_to_end);
    StepResult {
        rate: r.throughput.target_per_sec,
        delivered_per_sec: r.throughput.delivered_per_sec,
        latency_us,
        problems,
        passed: problems == 0 && !r.timed_out && m.planned > 0 && latency_us <= slo.max_us,
    }
}

/// A baseline step's verdict.
fn baseline_step(slo: Slo, rate: f64, r: &BaselineReport) -> StepResult {
    let problems = r.lost + r.duplicated + (r.planned - r.sent.min(r.planned)) + r.errors.total();
    let latency_us = slo.value(&r.end_to_end_us);
    StepResult {
        rate,
        delivered_per_sec: r.delivered_per_sec,
        latency_us,
        problems,
        passed: problems == 0 && r.planned > 0 && latency_us <= slo.max_us,
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

fn ratios(
    chat: &ChatReport,
    capacity: Option<&CapacityReport>,
    baselines: &[BaselineReport],
    baseline_capacity: &[(String, CapacityReport)],
) -> Vec<Ratio> {
    baselines
        .iter()
        .map(|b| {
            // In a capacity search, compare the highest rates within the objective.
            let cap_of = |name: &str| {
                baseline_capacity
                    .iter()
                    .find(|(n, _)| n == name)
                    .and_then(|(_, c)| c.max_rate)
            };
            let (kefud_rate, baseline_rate) = match capacity {
                Some(c) => (c.max_rate.unwrap_or(0.0), cap_of(b.name).unwrap_or(0.0)),
                None => (chat.throughput.delivered_per_sec, b.delivered_per_sec),
            };
            let kefud_p99_us = chat.latency_us.end_to_end.p99;
            Ratio {
                baseline: b.name.to_string(),
                kefud_rate,
                baseline_rate,
                rate_ratio: ratio(kefud_rate, baseline_rate),
                kefud_p99_us,
                baseline_p99_us: b.end_to_end_us.p99,
                p99_ratio: ratio(kefud_p99_us as f64, b.end_to_end_us.p99 as f64),
            }
        })
        .collect()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// The human summary.
fn text(r: &RunReport) -> String {
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<10}{} ({}){}",
        "scenario",
        r.scenario,
        r.file,
        r.description
            .as_ref()
            .map_or(String::new(), |d| format!(": {d}"))
    );
    let _ = writeln!(
        t,
        "{:<10}{} ({} cores), Linux {}",
        "machine", r.machine.cpu, r.machine.cores, r.machine.kernel
    );
    t.push_str(&r.chat.to_string());
    if let Some(c) = &r.capacity {
        let _ = writeln!(
            t,
            "capacity search on kefud (due → agent {}, nothing lost):",
            c.slo
        );
        t.push_str(&c.to_string());
    }
    if !r.baselines.is_empty() {
        let c = &r.chat.config;
        let _ =
            writeln!(
            t,
            "baselines: the same pattern ({} pairs, {}{} bytes, {:.0}/s target), due → receiver:",
            r.baselines[0].pairs,
            c.size,
            if c.size_max > c.size { format!("..{}", c.size_max) } else { String::new() },
            r.chat.throughput.target_per_sec
        );
        let l = &r.chat.latency_us.end_to_end;
        let _ = writeln!(
            t,
            "{:<10}{:<12} delivered {:>9.0}/s  p50 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3} ms  lost {}",
            "",
            "kefud",
            r.chat.throughput.delivered_per_sec,
            ms(l.p50),
            ms(l.p99),
            ms(l.p999),
            ms(l.max),
            r.chat.messages.lost
        );
        for b in &r.baselines {
            let l = &b.end_to_end_us;
            let _ = writeln!(
                t,
                "{:<10}{:<12} delivered {:>9.0}/s  p50 {:>8.3}  p99 {:>8.3}  p99.9 {:>8.3}  max {:>8.3} ms  lost {}{}{}",
                "",
                b.name,
                b.delivered_per_sec,
                ms(l.p50),
                ms(l.p99),
                ms(l.p999),
                ms(l.max),
                b.lost,
                b.server_cpu_secs.map_or(String::new(), |c| format!("  server cpu {c:.2} s")),
                if b.errors.is_empty() { String::new() } else { format!("  errors: {}", b.errors) }
            );
        }
        for (name, c) in &r.baseline_capacity {
            let _ = writeln!(t, "capacity search on {name}:");
            t.push_str(&c.to_string());
        }
        for q in &r.comparison {
            let _ = writeln!(
                t,
                "{:<10}kefud / {:<12} rate {:.0}/{:.0} = ×{:.3}   p99 {:.3}/{:.3} ms = ×{:.2}",
                "ratio",
                q.baseline,
                q.kefud_rate,
                q.baseline_rate,
                q.rate_ratio,
                ms(q.kefud_p99_us),
                ms(q.baseline_p99_us),
                q.p99_ratio
            );
        }
    }
    for n in &r.notes {
        let _ = writeln!(t, "{:<10}{n}", "note");
    }
    t
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// report.txt, report.json, report.html and the .hgrm files.
fn write_outputs(dir: &Path, r: &RunReport, text: &str) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write(dir, "report.txt", text)?;
    let json = serde_json::to_string_pretty(r).context("serialising the report")?;
    write(dir, "report.json", &(json + "\n"))?;
    let h = r.chat.histograms.as_ref();
    if let Some(h) = h {
        write(dir, "end_to_end.hgrm", &hgrm::distribution(&h.end_to_end))?;
        write(dir, "ack.hgrm", &hgrm::distribution(&h.ack))?;
        write(
            dir,
            "end_to_end_uncorrected.hgrm",
            &hgrm::distribution(&h.end_to_end_from_send),
        )?;
        for (name, oh) in &h.operations {
            write(dir, &format!("{name}.hgrm"), &hgrm::distribution(oh))?;
        }
    }
    for b in &r.baselines {
        if let Some(bh) = &b.histogram {
            write(dir, &format!("{}.hgrm", b.name), &hgrm::distribution(bh))?;
        }
    }
    let l = &r.chat.latency_us;
    let mut latencies: Vec<(String, LatencySummary)> = vec![
        ("kefud due → Sent (ack)".into(), l.ack),
        ("kefud due → agent (end to end)".into(), l.end_to_end),
        (
            "kefud sent → agent (uncorrected)".into(),
            l.end_to_end_from_send,
        ),
        ("kefud sent → Sent (uncorrected)".into(), l.ack_from_send),
        ("tool send lag".into(), l.send_lag),
    ];
    if let Some(rt) = l.round_trip {
        latencies.push(("kefud due → echo back".into(), rt));
    }
    for o in &r.chat.operations {
        latencies.push((
            format!("{} ({}) due → answer", o.name, o.request),
            o.latency_us,
        ));
        latencies.push((
            format!("{} ({}) sent → answer (uncorrected)", o.name, o.request),
            o.latency_from_send_us,
        ));
    }
    let op_percentiles: Vec<(String, &hdrhistogram::Histogram<u64>)> = h
        .map(|h| {
            h.operations
                .iter()
                .map(|(name, oh)| (format!("{name} due → answer"), oh))
                .collect()
        })
        .unwrap_or_default();
    let mut percentiles = Vec::new();
    if let Some(h) = h {
        percentiles.push(("kefud due → agent".to_string(), &h.end_to_end));
        percentiles.push(("kefud due → Sent".to_string(), &h.ack));
        percentiles.push((
            "kefud sent → agent (uncorrected)".to_string(),
            &h.end_to_end_from_send,
        ));
    }
    for b in &r.baselines {
        latencies.push((format!("{} due → receiver", b.name), b.end_to_end_us));
        if let Some(bh) = &b.histogram {
            percentiles.push((format!("{} due → receiver", b.name), bh));
        }
    }
    let t = &r.chat.throughput;
    let m = &r.chat.messages;
    let mut tables = vec![(
        "Throughput and losses".to_string(),
        vec!["".into(), "value".into()],
        vec![
            vec!["target rate".into(), format!("{:.0}/s", t.target_per_sec)],
            vec![
                "sent in the window".into(),
                format!("{:.0}/s", t.sent_per_sec),
            ],
            vec![
                "acknowledged in the window".into(),
                format!("{:.0}/s", t.acked_per_sec),
            ],
            vec![
                "delivered in the window".into(),
                format!("{:.0}/s", t.delivered_per_sec),
            ],
            vec![
                "planned / sent / acked / delivered".into(),
                format!("{} / {} / {} / {}", m.planned, m.sent, m.acked, m.delivered),
            ],
            vec![
                "lost / duplicated / failed / unanswered / not sent".into(),
                format!(
                    "{} / {} / {} / {} / {}",
                    m.lost, m.duplicated, m.failed, m.unanswered, m.not_sent
                ),
            ],
            vec!["errors".into(), r.chat.errors.to_string()],
        ],
    )];
    if !r.chat.operations.is_empty() {
        tables.push((
            "Agent operations (open loop, in the measured window)".to_string(),
            [
                "operation",
                "target",
                "sent",
                "ok",
                "planned / sent / ok",
                "failed / unanswered / not sent",
                "items per answer",
                "errors",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            r.chat
                .operations
                .iter()
                .map(|o| {
                    vec![
                        format!("{} ({})", o.name, o.request),
                        format!("{:.1}/s", o.target_per_sec),
                        format!("{:.1}/s", o.sent_per_sec),
                        format!("{:.1}/s", o.ok_per_sec),
                        format!("{} / {} / {}", o.planned, o.sent, o.ok),
                        format!("{} / {} / {}", o.failed, o.unanswered, o.not_sent),
                        format!("{:.1}", o.items_per_answer),
                        o.errors.to_string(),
                    ]
                })
                .collect(),
        ));
    }
    if let Some(c) = &r.capacity {
        tables.push(capacity_table(
            &format!("Capacity search on kefud ({})", c.slo),
            c,
        ));
    }
    for (name, c) in &r.baseline_capacity {
        tables.push(capacity_table(
            &format!("Capacity search on {name} ({})", c.slo),
            c,
        ));
    }
    if !r.comparison.is_empty() {
        tables.push((
            "kefud against the baselines (same pattern)".into(),
            [
                "baseline",
                "kefud rate",
                "baseline rate",
                "rate ratio",
                "kefud p99",
                "baseline p99",
                "p99 ratio",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            r.comparison
                .iter()
                .map(|q| {
                    vec![
                        q.baseline.clone(),
                        format!("{:.0}/s", q.kefud_rate),
                        format!("{:.0}/s", q.baseline_rate),
                        format!("×{:.3}", q.rate_ratio),
                        format!("{:.3} ms", ms(q.kefud_p99_us)),
                        format!("{:.3} ms", ms(q.baseline_p99_us)),
                        format!("×{:.2}", q.p99_ratio),
                    ]
                })
                .collect(),
        ));
    }
    let c = &r.chat.config;
    let page = html::Page {
        title: format!("kefu-load: {}", r.scenario),
        intro: vec![
            format!(
                "{} accounts × ({} agents, cap {}; {} customers), {:.0} msg/s of {}{} bytes; {:.1} s ramp-up, {:.1} s warm-up, {:.1} s measured",
                c.accounts,
                c.agents_per_account,
                c.cap,
                c.customers_per_account,
                c.rate,
                c.size,
                if c.size_max > c.size { format!("..{}", c.size_max) } else { String::new() },
                c.ramp_up_secs,
                c.warmup_secs,
                c.duration_secs
            ),
            format!("machine: {} ({} cores), Linux {}", r.machine.cpu, r.machine.cores, r.machine.kernel),
            format!("command: {}", r.command),
            format!("result: {}", if r.chat.ok { "OK" } else { "FAILED (see below)" }),
        ],
        latencies,
        percentiles,
        op_percentiles,
        timeline: &r.chat.timeline,
        target_rate: Some(t.target_per_sec),
        samples: &r.chat.daemon.samples,
        tables,
        text: text.to_string(),
    };
    write(dir, "report.html", &html::render(&page))
}

fn capacity_table(caption: &str, c: &CapacityReport) -> (String, Vec<String>, Vec<Vec<String>>) {
    (
        caption.to_string(),
        ["target rate", "delivered", "latency", "problems", "verdict"]
            .iter()
            .map(|s| s.to_string())
            .collect(),
        c.steps
            .iter()
            .map(|s| {
                vec![
                    format!("{:.0}/s", s.rate),
                    format!("{:.0}/s", s.delivered_per_sec),
                    format!("{:.3} ms", ms(s.latency_us)),
                    s.problems.to_string(),
                    if s.passed {
                        "pass".into()
                    } else {
                        "FAIL".into()
                    },
                ]
            })
            .collect(),
    )
}
