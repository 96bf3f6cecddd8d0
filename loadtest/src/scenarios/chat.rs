//! The `chat` scenario: agents serving customers who each send messages at an
//! open-loop rate; every message accounted for, latencies from due times.
//!
//! Phases, in order, each bounded by the run's deadline:
//! 1. *provision* (with `--provision`) through the admin socket, then a new
//!    customer-signing key per account (`AdminRotateCustomerKey`): the tool
//!    signs its customers' logins as the enterprise's backend would;
//! 2. *agents*: every agent logs in with its password and sets its
//!    auto-accept cap (the plan made sure the caps cover every customer);
//! 3. *customers*: every customer logs in with a signature and opens a
//!    conversation, which the routing engine gives to the least busy agent;
//! 4. *traffic*: the [`Schedule`], shared by every driver thread, from a
//!    common start; each driver sends its share and records what arrives,
//!    until nothing is outstanding or the drain ends;
//! 5. *close*: every customer closes its conversation, so that the next run
//!    starts from empty agents.
//!
//! The ledger is tallied after the traffic threads are joined.

use crate::admin;
use crate::cli::ChatPlan;
use crate::cpu_window::{self, WindowCpu};
use crate::driver::chat::{
    ChatDriver, ChatJob, CloseOutcome, Role, SetupOutcome, TrafficOutcome, TrafficSpec,
};
use crate::ledger::{Ledger, Progress};
use crate::memory;
use crate::ops::{OpKind, OpSpec, BROADCASTER};
use crate::population::customer_for_connection;
use crate::provision::{self, ProvisionSpec};
use crate::report::chat::{
    ChatConfig, ChatHistograms, ChatLatencies, ChatReport, CloseReport, OperationReport,
    SecondReport, SetupReport, Throughput,
};
use crate::report::{FailureCounts, LatencySummary, LoopReport};
use crate::sampler::{self, ProcSample};
use crate::schedule::Schedule;
use crate::signing::sign_customer;
use crate::sources::source_for;
use crate::sys::cpu_time;
use anyhow::{bail, Context};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Units each account is topped up with before a run with broadcasts (one unit a
/// recipient; far below the balance limit of 1,000,000,000 over many runs).
const BROADCAST_TOP_UP: u64 = 1_000_000;

/// How long one `AdminStats` query may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// The least time given to closing the conversations.
const MIN_CLOSE_WAIT: Duration = Duration::from_secs(5);
/// How long the customers' signatures stay valid.
const SIGNATURE_TTL_SECS: i64 = 24 * 3600;
/// Time between the end of setup and the first due message, so every driver
/// thread is in its loop when the schedule starts.
const LEAD: Duration = Duration::from_millis(50);

/// Runs the scenario; an `Err` only for setup failures (no report possible).
pub fn run(plan: &ChatPlan) -> anyhow::Result<ChatReport> {
    let mut first = true;
    let mut steps = run_steps(plan, |_| std::mem::take(&mut first).then_some(plan.rate))?;
    steps
        .pop()
        .ok_or_else(|| anyhow::anyhow!("the run produced no report"))
}

/// Sets everything up once, then runs one traffic phase per rate that
/// `next_rate` gives (it sees the reports of the phases so far; `None` ends
/// the run), then closes. One report per traffic phase (at least one: the
/// setup's alone if it failed); every report carries the shared setup and close.
pub fn run_steps(
    plan: &ChatPlan,
    mut next_rate: impl FnMut(&[ChatReport]) -> Option<f64>,
) -> anyhow::Result<Vec<ChatReport>> {
    let run_start = Instant::now();
    let deadline = run_start + plan.timeout;
    let mut base = ChatReport::new(config(plan), plan.notes.clone());

    let shards = admin::stats(&plan.admin_socket, ADMIN_TIMEOUT).context("AdminStats")?;
    base.daemon.shards = Some(shards.len());
    base.daemon.pid = plan.daemon_pid;
    base.daemon.rss_before = plan
        .daemon_pid
        .and_then(|pid| memory::sample(pid).ok()?.vm_rss);

    if plan.provision {
        let spec = ProvisionSpec {
            admin_socket: plan.admin_socket.clone(),
            population: plan.population,
            password: plan.password.clone(),
            connections: plan.admin_connections,
            reset_passwords: plan.reset_passwords,
            deadline,
        };
        base.provision = Some(provision::provision(&spec).context("provisioning")?);
    }
    let accounts: Vec<u64> = (0..plan.population.accounts_len())
        .map(|k| plan.population.account(k))
        .collect();
    let mut keys = Vec::with_capacity(accounts.len());
    for (account, key) in accounts.iter().zip(
        provision::rotate_customer_keys(&plan.admin_socket, &accounts, deadline)
            .context("rotating customer keys")?,
    ) {
        match key {
            Ok(key) => {
                base.customer_keys.rotated += 1;
                keys.push(key);
            }
            Err(why) => {
                let hint = if why.ends_with("UNKNOWN_ACCOUNT") {
                    " (create the accounts with --provision)"
                } else {
                    ""
                };
                bail!("account {account} has no customer key: {why}{hint}");
            }
        }
    }

    let mut drivers = (0..plan.threads)
        .map(|_| ChatDriver::new(plan.server, admin::client_name()))
        .collect::<std::io::Result<Vec<ChatDriver>>>()
        .context("creating event loops")?;
    let mut steps = Vec::new();
    let result = phases(
        plan,
        &keys,
        deadline,
        &mut drivers,
        base,
        &mut steps,
        &mut next_rate,
    );
    for d in &mut drivers {
        d.close_all();
    }
    result?;
    for r in &mut steps {
        r.run_secs = run_start.elapsed().as_secs_f64();
        r.finish();
    }
    Ok(steps)
}

/// Setup, the traffic phases and close; they stop early (without error) on a timeout.
fn phases(
    plan: &ChatPlan,
    keys: &[[u8; 32]],
    deadline: Instant,
    drivers: &mut [ChatDriver],
    mut base: ChatReport,
    steps: &mut Vec<ChatReport>,
    next_rate: &mut dyn FnMut(&[ChatReport]) -> Option<f64>,
) -> anyhow::Result<()> {
    if !setup(plan, keys, deadline, drivers, &mut base)? {
        steps.push(base);
        return Ok(());
    }
    while let Some(rate) = next_rate(steps) {
        let mut step_plan = plan.clone();
        step_plan.rate = rate;
        let mut report = base.clone();
        report.config = config(&step_plan);
        traffic(&step_plan, deadline, drivers, &mut report)?;
        let timed_out = report.timed_out;
        steps.push(report);
        if timed_out {
            break;
        }
    }
    if steps.is_empty() {
        steps.push(base);
    }
    // Close: behind a backlog the answers take as long as the backlog, so
    // the wait is bounded like a drain (the conversations then stay open).
    let close_deadline = deadline.min(Instant::now() + plan.drain.max(MIN_CLOSE_WAIT));
    let closed = CloseReport::from(&run_closes(drivers, close_deadline)?);
    for r in steps.iter_mut() {
        r.close = Some(closed.clone());
    }
    Ok(())
}

/// Agents, then customers; `false` if the deadline cut either short.
fn setup(
    plan: &ChatPlan,
    keys: &[[u8; 32]],
    deadline: Instant,
    drivers: &mut [ChatDriver],
    report: &mut ChatReport,
) -> anyhow::Result<bool> {
    // Agents.
    let password: Arc<str> = Arc::from(plan.password.as_str());
    let jobs = (0..plan.agents).map(|i| {
        let who = plan.population.agent_for_connection(i);
        ChatJob {
            account: who.account,
            role: Role::Agent {
                agent: who.agent,
                password: Arc::clone(&password),
                cap: plan.cap,
            },
            source: source_for(&plan.sources, i),
        }
    });
    let t = Instant::now();
    let agents = run_setups(
        drivers,
        split(jobs, plan.threads),
        plan.max_inflight,
        deadline,
    )?;
    report.agents = Some(SetupReport::new(
        plan.agents as u64,
        &agents,
        t.elapsed().as_secs_f64(),
    ));
    if agents.timed_out {
        report.timed_out = true;
        report
            .notes
            .push("the run timed out logging agents in".into());
        return Ok(false);
    }

    // Customers, then visitors.
    let expires_at = unix_now() + SIGNATURE_TTL_SECS;
    let accounts = plan.population.accounts_len() as usize;
    let signed = accounts * plan.customers_per_account as usize;
    let jobs = (0..plan.customers).map(|i| {
        if i >= signed {
            return ChatJob {
                account: plan.population.account(((i - signed) % accounts) as u32),
                role: Role::Visitor,
                source: source_for(&plan.sources, plan.agents + i),
            };
        }
        let who = customer_for_connection(&plan.population, i);
        let key = keys.get(i % accounts).copied().unwrap_or([0; 32]);
        ChatJob {
            account: who.account,
            role: Role::Customer {
                signature: sign_customer(&key, who.account, &who.id, expires_at),
                customer: who.id,
                expires_at,
            },
            source: source_for(&plan.sources, plan.agents + i),
        }
    });
    let t = Instant::now();
    let customers = run_setups(
        drivers,
        split(jobs, plan.threads),
        plan.max_inflight,
        deadline,
    )?;
    report.customers = Some(SetupReport::new(
        plan.customers as u64,
        &customers,
        t.elapsed().as_secs_f64(),
    ));
    if customers.timed_out {
        report.timed_out = true;
        report
            .notes
            .push("the run timed out logging customers in".into());
        return Ok(false);
    }
    if customers.queued > 0 {
        report.notes.push(format!(
            "{} conversations waited in the queue instead of going to an agent (conversations \
             left open by an earlier run count against the caps): their messages are not \
             delivered",
            customers.queued
        ));
    }
    if plan.ops.iter().any(|(k, _)| *k == OpKind::Broadcast) {
        // A broadcast is submitted for review and reserves its units: each account is
        // topped up first (through the admin socket; the operator's request).
        let requests: Vec<kefu_wire::Request> = (0..plan.population.accounts_len())
            .map(|k| kefu_wire::Request::AdminBalanceTopUp {
                account: plan.population.account(k),
                units: BROADCAST_TOP_UP,
            })
            .collect();
        let answers = admin::AdminPipe::connect(&plan.admin_socket, deadline)
            .and_then(|mut pipe| pipe.call_many(&requests, 64, deadline))
            .context("topping up balances for the broadcasts")?;
        let refused = answers.iter().filter(|a| a.is_err()).count();
        if refused > 0 {
            report.notes.push(format!(
                "AdminBalanceTopUp refused for {refused} accounts: their broadcasts may be \
                 refused INSUFFICIENT_BALANCE"
            ));
        }
        // A broadcast needs a token code at security level medium (the default):
        // agent 1001 (the super administrator) lowers its account's level first.
        let request = kefu_wire::Request::SetSecurityLevel {
            level: kefu_wire::SecurityLevel::Low,
        };
        let (ok, failures) = on_threads(
            drivers.iter_mut(),
            Called::default(),
            |d: &mut ChatDriver| {
                let (ok, failures) = d.call_agents(BROADCASTER, &request, deadline);
                Called { ok, failures }
            },
        )
        .map(|c| (c.ok, c.failures))?;
        if ok == 0 {
            report.notes.push(format!(
                "broadcasts skipped: no agent {BROADCASTER} could set its account's security \
                 level to low (a broadcast at level medium or high needs a hardware-token code){}",
                if failures.is_empty() {
                    String::new()
                } else {
                    format!("; SetSecurityLevel failed: {failures}")
                }
            ));
        } else if !failures.is_empty() {
            report.notes.push(format!(
                "SetSecurityLevel failed on some accounts ({failures}): only {ok} accounts \
                 broadcast"
            ));
        }
    }
    Ok(true)
}

/// What [`ChatDriver::call_agents`] came to over the drivers.
#[derive(Debug, Default)]
struct Called {
    ok: u64,
    failures: FailureCounts,
}

impl Merge for Called {
    fn merge_from(&mut self, other: Self) {
        self.ok += other.ok;
        self.failures.merge(&other.failures);
    }
}

/// Each operation kind's schedule (same start, ramp, warm-up and window as
/// the messages'), shared by the drivers; broadcasts only by the drivers
/// holding an agent 1001 that may broadcast. One list of specs per driver.
fn op_specs(plan: &ChatPlan, schedule: &Schedule, drivers: &[ChatDriver]) -> Vec<Vec<OpSpec>> {
    let n = drivers.len();
    let mut specs: Vec<Vec<OpSpec>> = vec![Vec::new(); n];
    for &(kind, rate) in &plan.ops {
        let sched = Schedule::shaped(
            schedule.t0,
            rate,
            plan.ramp_up,
            plan.warmup,
            plan.duration,
            schedule.nonce,
            (1, 1),
        );
        let sharing: Vec<usize> = (0..n)
            .filter(|&d| kind != OpKind::Broadcast || drivers[d].has_broadcasters())
            .collect();
        for (p, &d) in sharing.iter().enumerate() {
            specs[d].push(OpSpec {
                kind,
                schedule: sched,
                first: p as u64,
                step: sharing.len() as u64,
            });
        }
    }
    specs
}

/// One traffic phase at `plan.rate`, into `report`.
fn traffic(
    plan: &ChatPlan,
    deadline: Instant,
    drivers: &mut [ChatDriver],
    report: &mut ChatReport,
) -> anyhow::Result<()> {
    let schedule = Schedule::shaped(
        Instant::now() + LEAD,
        plan.rate,
        plan.ramp_up,
        plan.warmup,
        plan.duration,
        nonce()?,
        (plan.size, plan.size_max),
    );
    // A progress line, so that a watcher (the pause test) knows the traffic began.
    eprintln!(
        "kefu-load: traffic: {} messages at {:.0}/s over {:.1} s",
        schedule.total,
        plan.rate,
        schedule.offset(schedule.total).as_secs_f64()
    );
    let ledger = Arc::new(Ledger::new(schedule.total));
    let progress = Arc::new(Progress::new(drivers.len()));
    let ops = op_specs(plan, &schedule, drivers);
    let cpu0 = cpu_time();
    let (traffic, daemon_cpu, samples) = run_traffic(
        drivers,
        plan,
        schedule,
        ops.clone(),
        &ledger,
        &progress,
        deadline,
    )?;
    report.traffic_secs = schedule.t0.elapsed().as_secs_f64();
    report.tool_cpu_secs = cpu_time().saturating_sub(cpu0).as_secs_f64();
    report.daemon.rss_after = plan
        .daemon_pid
        .and_then(|pid| memory::sample(pid).ok()?.vm_rss);
    report.daemon.samples = samples;
    let (messages, replies) = ledger.tally();
    report.messages = messages;
    report.replies = plan.agent_replies.then_some(replies);
    let (from, until) = schedule.window();
    let window_secs = (until - from).as_secs_f64();
    let per_sec = |n: u64| {
        if window_secs > 0.0 {
            n as f64 / window_secs
        } else {
            0.0
        }
    };
    report.throughput = Throughput {
        target_per_sec: plan.rate,
        window_secs,
        sent_per_sec: per_sec(traffic.sent_in_window),
        acked_per_sec: per_sec(traffic.acked_in_window),
        delivered_per_sec: per_sec(traffic.delivered_in_window),
    };
    report.latency_us = ChatLatencies {
        ack: LatencySummary::of(&traffic.ack),
        end_to_end: LatencySummary::of(&traffic.end_to_end),
        round_trip: plan
            .agent_replies
            .then(|| LatencySummary::of(&traffic.round_trip)),
        send_lag: LatencySummary::of(&traffic.send_lag),
        ack_from_send: LatencySummary::of(&traffic.ack_from_send),
        end_to_end_from_send: LatencySummary::of(&traffic.end_to_end_from_send),
    };
    report.timeline = SecondReport::rows(&traffic.timeline);
    report.tool_cpu_secs_in_window = daemon_cpu.tool_secs;
    report.host_in_window = daemon_cpu.host;
    if let Some(cpu) = daemon_cpu.server_secs {
        report.daemon.cpu_secs_in_window = Some(cpu);
        report.daemon.cores_busy_in_window = (window_secs > 0.0).then(|| cpu / window_secs);
    }
    report.errors = traffic.errors.clone();
    report.dropped = traffic.dropped.clone();
    report.foreign_messages = traffic.foreign_messages;
    report.other_pushes = traffic.other_pushes;
    report.loop_ = LoopReport::from(&traffic.turns);
    if traffic.turns.slow > 0 {
        report.notes.push(format!(
            "{} of the tool's loop turns took over 10 ms: the tool, not only the daemon, was \
             behind (see the send lag)",
            traffic.turns.slow
        ));
    }
    if traffic.timed_out {
        report.timed_out = true;
        report
            .notes
            .push("the run timed out during the traffic".into());
    }
    // Operations: every kind asked for, in the plan's order (a kind no driver
    // ran, broadcasts skipped, is left out: the notes say why).
    let mut op_histograms = Vec::new();
    for &(kind, rate) in &plan.ops {
        let Some(spec) = ops.iter().flatten().find(|s| s.kind == kind) else {
            continue;
        };
        let Some(o) = traffic.ops.iter().find(|o| o.kind == kind) else {
            continue;
        };
        report.operations.push(OperationReport {
            name: kind.name(),
            request: kind.request_name(),
            target_per_sec: rate,
            planned: spec.schedule.total,
            sent: o.sent,
            ok: o.ok,
            failed: o.failed,
            unanswered: o.unanswered,
            not_sent: o.not_sent,
            errors: o.errors.clone(),
            sent_per_sec: per_sec(o.sent_in_window),
            ok_per_sec: per_sec(o.ok_in_window),
            items_per_answer: if o.ok > 0 {
                o.items as f64 / o.ok as f64
            } else {
                0.0
            },
            latency_us: LatencySummary::of(&o.latency),
            latency_from_send_us: LatencySummary::of(&o.from_send),
        });
        op_histograms.push((kind.name().to_string(), o.latency.clone()));
    }
    report.histograms = Some(ChatHistograms {
        ack: traffic.ack,
        end_to_end: traffic.end_to_end,
        end_to_end_from_send: traffic.end_to_end_from_send,
        operations: op_histograms,
    });
    Ok(())
}

fn config(plan: &ChatPlan) -> ChatConfig {
    ChatConfig {
        server: plan.server.to_string(),
        account_base: plan.account_base,
        accounts: plan.population.accounts_len(),
        agents_per_account: plan.population.agents_per_account(),
        customers_per_account: plan.customers_per_account,
        visitors_per_account: plan.visitors_per_account,
        cap: plan.cap,
        rate: plan.rate,
        size: plan.size,
        size_max: plan.size_max,
        ramp_up_secs: plan.ramp_up.as_secs_f64(),
        window: plan.window,
        warmup_secs: plan.warmup.as_secs_f64(),
        duration_secs: plan.duration.as_secs_f64(),
        drain_secs: plan.drain.as_secs_f64(),
        agent_replies: plan.agent_replies,
        push_ack_ms: plan.push_ack_every.as_secs_f64() * 1000.0,
        threads: plan.threads,
        sources: plan.sources.len(),
        timeout_secs: plan.timeout.as_secs_f64(),
        provision: plan.provision,
    }
}

/// A random tag for this run's messages and client message ids.
fn nonce() -> anyhow::Result<u32> {
    let mut bytes = [0u8; 4];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
        .map_err(|_| anyhow::anyhow!("no randomness for the run's nonce"))?;
    Ok(u32::from_be_bytes(bytes))
}

#[allow(
    clippy::disallowed_methods,
    reason = "signature expiry for a daemon running on the real clock"
)]
fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Deals jobs to `n` drivers round-robin, keeping each driver's share in order.
fn split(jobs: impl Iterator<Item = ChatJob>, n: usize) -> Vec<Vec<ChatJob>> {
    let mut out: Vec<Vec<ChatJob>> = (0..n.max(1)).map(|_| Vec::new()).collect();
    let len = out.len();
    for (k, j) in jobs.enumerate() {
        out[k % len].push(j);
    }
    out
}

/// Runs one setup per driver, each on its own thread, and merges the outcomes.
fn run_setups(
    drivers: &mut [ChatDriver],
    jobs: Vec<Vec<ChatJob>>,
    max_inflight: usize,
    deadline: Instant,
) -> anyhow::Result<SetupOutcome> {
    let n = drivers.len().max(1);
    let per_driver = max_inflight.div_ceil(n).max(1);
    on_threads(
        drivers.iter_mut().zip(jobs),
        SetupOutcome::empty(),
        |(d, jobs)| d.setup(jobs, per_driver, deadline),
    )
}

/// Runs the traffic on every driver, samples the daemon's CPU time at both
/// ends of the measured window on one more thread, and its CPU and memory
/// over the whole traffic on another.
fn run_traffic(
    drivers: &mut [ChatDriver],
    plan: &ChatPlan,
    schedule: Schedule,
    ops: Vec<Vec<OpSpec>>,
    ledger: &Arc<Ledger>,
    progress: &Arc<Progress>,
    deadline: Instant,
) -> anyhow::Result<(TrafficOutcome, WindowCpu, Vec<ProcSample>)> {
    let n = drivers.len();
    let (from, until) = schedule.window();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        let pid = plan.daemon_pid;
        let stop = &stop;
        let sampler = std::thread::Builder::new()
            .name("kefu-load-proc".into())
            .spawn_scoped(s, move || {
                pid.map(|pid| sampler::sample_until(pid, schedule.t0, stop))
                    .unwrap_or_default()
            })
            .context("spawning the /proc sampler")?;
        let monitor = std::thread::Builder::new()
            .name("kefu-load-cpu".into())
            .spawn_scoped(s, move || cpu_window::measure(pid, from, until, deadline))
            .context("spawning the CPU sampler")?;
        let specs: Vec<TrafficSpec> = ops
            .into_iter()
            .enumerate()
            .map(|(driver, ops)| TrafficSpec {
                schedule,
                driver,
                drivers: n,
                replies: plan.agent_replies,
                drain: plan.drain,
                deadline,
                push_ack_every: plan.push_ack_every,
                ledger: Arc::clone(ledger),
                progress: Arc::clone(progress),
                window: plan.window,
                ops,
            })
            .collect();
        let mut handles = Vec::new();
        for (k, (driver, spec)) in drivers.iter_mut().zip(specs).enumerate() {
            let h = std::thread::Builder::new()
                .name(format!("kefu-load-{k}"))
                .spawn_scoped(s, move || driver.traffic(spec))
                .context("spawning a driver thread")?;
            handles.push(h);
        }
        let mut total = TrafficOutcome::empty();
        for h in handles {
            match h.join() {
                Ok(o) => total.merge(o),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        let cpu = match monitor.join() {
            Ok(cpu) => cpu,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        stop.store(true, Ordering::Relaxed);
        let samples = match sampler.join() {
            Ok(samples) => samples,
            Err(panic) => std::panic::resume_unwind(panic),
        };
        Ok((total, cpu, samples))
    })
}

/// Closes the conversations on every driver.
fn run_closes(drivers: &mut [ChatDriver], deadline: Instant) -> anyhow::Result<CloseOutcome> {
    on_threads(drivers.iter_mut(), CloseOutcome::default(), |d| {
        d.close_conversations(deadline)
    })
}

/// Runs `work` on each item on its own thread and merges the results into `total`.
fn on_threads<I, T, W>(items: I, mut total: T, work: W) -> anyhow::Result<T>
where
    I: Iterator,
    I::Item: Send,
    T: Merge + Send,
    W: Fn(I::Item) -> T + Sync,
{
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (k, item) in items.enumerate() {
            let work = &work;
            let h = std::thread::Builder::new()
                .name(format!("kefu-load-{k}"))
                .spawn_scoped(s, move || work(item))
                .context("spawning a driver thread")?;
            handles.push(h);
        }
        for h in handles {
            match h.join() {
                Ok(o) => total.merge_from(o),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(total)
    })
}

/// Outcomes that add up over drivers.
trait Merge {
    fn merge_from(&mut self, other: Self);
}

impl Merge for SetupOutcome {
    fn merge_from(&mut self, other: Self) {
        self.merge(other);
    }
}

impl Merge for CloseOutcome {
    fn merge_from(&mut self, other: Self) {
        self.merge(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_dealt_round_robin() {
        let job = |account| ChatJob {
            account,
            role: Role::Customer {
                customer: String::new(),
                expires_at: 0,
                signature: [0; 32],
            },
            source: std::net::IpAddr::from([127, 0, 0, 1]),
        };
        let shares = split((0..5).map(job), 2);
        let accounts: Vec<Vec<u64>> = shares
            .iter()
            .map(|s| s.iter().map(|j| j.account).collect())
            .collect();
        assert_eq!(accounts, [vec![0, 2, 4], vec![1, 3]]);
    }
}
