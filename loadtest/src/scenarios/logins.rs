//! The `logins` scenario: provision, password logins, token reconnection storm, idle hold.
//!
//! Phases, in order, each bounded by the run's deadline:
//! 1. *provision* (with `--provision`) through the admin socket;
//! 2. *password*: every connection logs in with `Login`, at most
//!    `--max-inflight` at a time, and closes once it has its token;
//! 3. *resume*: every agent with a token reconnects with `Resume`, all at once
//!    (or at `--resume-rate`), and stays connected;
//! 4. *hold*: the connections stay idle and logged in for `--hold-secs`.
//!
//! The daemon's memory (resident size, and the heap in use from its metrics through
//! the admin socket) is read before anything happens, after the password phase, at
//! both ends of the hold, and once the held connections are closed. A phase cut short by the deadline
//! ends the run; the report says what was done.

use crate::admin;
use crate::cli::LoginsPlan;
use crate::driver::{
    AfterLogin, Credential, Driver, HoldOutcome, LoginJob, Traffic, Wave, WaveOutcome,
};
use crate::memory::{self, TimedSample};
use crate::provision::{self, ProvisionSpec};
use crate::report::{
    CoresSource, DaemonReport, HoldReport, LoginsReport, MemoryReport, PhaseReport, RunConfig,
};
use crate::sources::source_for;
use crate::sys::cpu_time;
use anyhow::Context;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long one `AdminStats` query may take.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(10);
/// Frames a daemon may have handled and still count as fresh for memory
/// readings (a few `kefuctl` or `AdminStats` calls).
const USED_DAEMON_FRAMES: u64 = 100;

/// Runs the scenario; an `Err` only for setup failures (no report possible).
pub fn run(plan: &LoginsPlan) -> anyhow::Result<LoginsReport> {
    let run_start = Instant::now();
    let cpu_start = cpu_time();
    let deadline = run_start + plan.timeout;
    // The resident size from /proc, and the exact heap from the daemon's metrics
    // through the admin socket (what a scrape of `kefu_heap_in_use_bytes` reads).
    let sample = || {
        let mut s = memory::sample_at(plan.daemon_pid, run_start)?;
        s.heap_in_use = plan
            .admin_socket
            .as_deref()
            .and_then(|path| admin::metrics(path, ADMIN_TIMEOUT).ok())
            .and_then(|text| memory::heap_in_use(&text));
        Some(s)
    };
    let mut memory = plan.daemon_pid.map(|pid| MemoryReport {
        pid,
        baseline: sample(),
        after_password: None,
        hold_start: None,
        hold_end: None,
        after_close: None,
        connections: 0,
        rss_per_connection_bytes: None,
        rss_per_connection_since_password_bytes: None,
        heap_per_connection_bytes: None,
        heap_per_connection_since_password_bytes: None,
        heap_freed_per_connection_bytes: None,
    });
    let mut report = new_report(plan);

    // How many cores the daemon runs on, to divide the rates by.
    if let Some(path) = &plan.admin_socket {
        match admin::stats(path, ADMIN_TIMEOUT) {
            Ok(shards) => {
                report.daemon.shards = Some(shards.len());
                report.daemon.frames_before_run = Some(shards.iter().map(|s| s.frames_in).sum());
            }
            Err(e) if plan.provision => return Err(e),
            Err(e) => report.notes.push(format!("AdminStats failed: {e:#}")),
        }
    }
    report.daemon.cores = plan
        .daemon_cores
        .or_else(|| report.daemon.shards.and_then(|s| u32::try_from(s).ok()));
    report.daemon.cores_source = match (plan.daemon_cores, report.daemon.shards) {
        (Some(_), _) => CoresSource::Flag,
        (None, Some(_)) => CoresSource::AdminStats,
        (None, None) => CoresSource::Unknown,
    };

    if let (Some(_), Some(frames)) = (plan.daemon_pid, report.daemon.frames_before_run) {
        if frames > USED_DAEMON_FRAMES {
            report.notes.push(format!(
                "the daemon had handled {frames} frames before this run; its allocator reuses \
                 memory freed by that work, so the RSS per connection understates the cost \
                 (start kefud afresh for that figure)"
            ));
        }
    }

    let result = phases(plan, deadline, &mut report, &mut memory, &sample);
    if let Some(m) = &mut memory {
        m.finish();
    }
    report.memory = memory;
    report.run_secs = run_start.elapsed().as_secs_f64();
    report.tool_cpu_secs = (cpu_time().saturating_sub(cpu_start)).as_secs_f64();
    result?;
    report.finish();
    Ok(report)
}

/// The phases proper; they stop early (without error) on a timeout.
fn phases(
    plan: &LoginsPlan,
    deadline: Instant,
    report: &mut LoginsReport,
    memory: &mut Option<MemoryReport>,
    sample: &dyn Fn() -> Option<TimedSample>,
) -> anyhow::Result<()> {
    if plan.provision {
        let spec = ProvisionSpec {
            admin_socket: plan
                .admin_socket
                .clone()
                .context("--provision needs --admin-socket")?,
            population: plan.population,
            password: plan.password.clone(),
            connections: plan.admin_connections,
            reset_passwords: plan.reset_passwords,
            deadline,
        };
        report.provision = Some(provision::provision(&spec).context("provisioning")?);
    }

    let mut drivers = (0..plan.threads)
        .map(|_| Driver::new(plan.server, admin::client_name()))
        .collect::<std::io::Result<Vec<Driver>>>()
        .context("creating event loops")?;

    // Phase "password".
    let password: Arc<str> = Arc::from(plan.password.as_str());
    let t0 = Instant::now();
    let jobs =
        (0..plan.connections).map(|i| job(plan, i, Credential::Password(password.clone()), t0));
    let waves = split(jobs, plan.threads)
        .into_iter()
        .enumerate()
        .map(|(d, jobs)| Wave {
            jobs,
            max_inflight: share(plan.max_inflight, plan.threads, d).max(1),
            after: AfterLogin::Close,
            stop_starting_at: plan.password_phase_limit.map(|l| t0 + l),
            deadline,
        })
        .collect();
    let (cpu0, traffic0) = (cpu_time(), Traffic::total(&drivers));
    let outcome = run_waves(&mut drivers, waves)?;
    let cores = report.daemon.cores;
    report.password = Some(PhaseReport::new(
        plan.connections as u64,
        &outcome,
        t0,
        cores,
        Traffic::total(&drivers).since(traffic0),
        cpu_time().saturating_sub(cpu0).as_secs_f64(),
    ));
    if outcome.timed_out {
        report.timed_out = true;
        report
            .notes
            .push("the run timed out in the password phase".into());
        return Ok(());
    }
    if outcome.not_started > 0 {
        report.notes.push(format!(
            "--password-phase-limit-secs stopped the password phase: {} agents were not logged in \
             and are left out of the resume phase",
            outcome.not_started
        ));
    }
    let mut tokens: Vec<Option<[u8; 16]>> = vec![None; plan.connections];
    for (id, token) in outcome.tokens {
        if let Some(slot) = tokens.get_mut(id) {
            *slot = Some(token);
        }
    }
    if let Some(m) = memory.as_mut() {
        m.after_password = sample();
    }

    // Phase "resume": everyone with a token, as fast as possible.
    let resumable: Vec<(usize, [u8; 16])> = tokens
        .iter()
        .enumerate()
        .filter_map(|(i, t)| t.map(|t| (i, t)))
        .collect();
    if resumable.is_empty() {
        report
            .notes
            .push("no agent logged in with its password: nothing to resume".into());
        return Ok(());
    }
    let t0 = Instant::now();
    let interval =
        (plan.resume_rate > 0.0).then(|| Duration::from_secs_f64(1.0 / plan.resume_rate));
    let jobs = resumable.iter().enumerate().map(|(k, &(i, token))| {
        let at = interval.map_or(t0, |iv| t0 + iv.mul_f64(k as f64));
        job(plan, i, Credential::Token(token), at)
    });
    let waves = split(jobs, plan.threads)
        .into_iter()
        .map(|jobs| Wave {
            jobs,
            max_inflight: usize::MAX,
            after: AfterLogin::Keep,
            stop_starting_at: None,
            deadline,
        })
        .collect();
    let (cpu0, traffic0) = (cpu_time(), Traffic::total(&drivers));
    let outcome = run_waves(&mut drivers, waves)?;
    report.resume = Some(PhaseReport::new(
        resumable.len() as u64,
        &outcome,
        t0,
        cores,
        Traffic::total(&drivers).since(traffic0),
        cpu_time().saturating_sub(cpu0).as_secs_f64(),
    ));
    if outcome.timed_out {
        report.timed_out = true;
        report
            .notes
            .push("the run timed out in the resume phase".into());
        drivers.iter_mut().for_each(|d| {
            d.close_all();
        });
        return Ok(());
    }

    // Phase "hold".
    if let Some(m) = memory.as_mut() {
        m.hold_start = sample();
    }
    let hold_start = Instant::now();
    let until = (hold_start + plan.hold).min(deadline);
    if until < hold_start + plan.hold {
        report.timed_out = true;
        report
            .notes
            .push("the run's deadline cut the hold short".into());
    }
    let traffic0 = Traffic::total(&drivers);
    let hold = run_holds(&mut drivers, until)?;
    let hold_secs = hold_start.elapsed().as_secs_f64();
    // Still connected: what does the daemon weigh, and what does it see?
    if let Some(m) = memory.as_mut() {
        m.hold_end = sample();
        m.connections = hold.held_at_end;
    }
    if let Some(path) = &plan.admin_socket {
        match admin::stats(path, ADMIN_TIMEOUT) {
            Ok(shards) => {
                report.daemon.connections_during_hold =
                    Some(shards.iter().map(|s| s.connections).sum());
                report.daemon.sessions_during_hold = Some(shards.iter().map(|s| s.sessions).sum());
            }
            Err(e) => report
                .notes
                .push(format!("AdminStats during hold failed: {e:#}")),
        }
    }
    let traffic = Traffic::total(&drivers).since(traffic0);
    report.hold = Some(HoldReport::new(hold_secs, &hold, traffic));
    for d in &mut drivers {
        d.close_all();
    }
    // What closing gave back, once the daemon has seen every connection go.
    if let (Some(m), Some(path)) = (memory.as_mut(), &plan.admin_socket) {
        if all_gone(path, Instant::now() + CLOSE_WAIT) {
            m.after_close = sample();
        } else {
            report.notes.push(format!(
                "the daemon still had sessions or connections {} s after the close: no \
                 memory reading after the close",
                CLOSE_WAIT.as_secs()
            ));
        }
    }
    Ok(())
}

/// How long the daemon may take to see the held connections close.
const CLOSE_WAIT: Duration = Duration::from_secs(10);

/// Polls `AdminStats` until no session and no connection but the asking one is
/// left, or `deadline`; whether they all went.
fn all_gone(path: &std::path::Path, deadline: Instant) -> bool {
    loop {
        if let Ok(shards) = admin::stats(path, ADMIN_TIMEOUT) {
            let connections: u64 = shards.iter().map(|s| s.connections).sum();
            let sessions: u64 = shards.iter().map(|s| s.sessions).sum();
            if connections <= 1 && sessions == 0 {
                return true;
            }
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The login job of connection `i`.
fn job(plan: &LoginsPlan, i: usize, credential: Credential, not_before: Instant) -> LoginJob {
    let who = plan.population.agent_for_connection(i);
    LoginJob {
        id: i,
        account: who.account,
        agent: who.agent,
        source: source_for(&plan.sources, i),
        credential,
        not_before,
    }
}

/// Deals jobs to `n` drivers round-robin, keeping each driver's share in order.
fn split(jobs: impl Iterator<Item = LoginJob>, n: usize) -> Vec<Vec<LoginJob>> {
    let mut out: Vec<Vec<LoginJob>> = (0..n.max(1)).map(|_| Vec::new()).collect();
    let len = out.len();
    for (k, j) in jobs.enumerate() {
        out[k % len].push(j);
    }
    out
}

/// Driver `d`'s share of `total` over `n` drivers (the first ones get the remainder).
fn share(total: usize, n: usize, d: usize) -> usize {
    let n = n.max(1);
    total / n + usize::from(d < total % n)
}

/// Runs one wave per driver, each on its own thread, and merges the outcomes.
fn run_waves(drivers: &mut [Driver], waves: Vec<Wave>) -> anyhow::Result<WaveOutcome> {
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (k, (driver, wave)) in drivers.iter_mut().zip(waves).enumerate() {
            let h = std::thread::Builder::new()
                .name(format!("kefu-load-{k}"))
                .spawn_scoped(s, move || driver.login_wave(wave))
                .context("spawning a driver thread")?;
            handles.push(h);
        }
        let mut total = WaveOutcome::empty();
        for h in handles {
            match h.join() {
                Ok(o) => total.merge(o),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(total)
    })
}

/// Holds every driver's connections until `until`, each on its own thread.
fn run_holds(drivers: &mut [Driver], until: Instant) -> anyhow::Result<HoldOutcome> {
    std::thread::scope(|s| {
        let mut handles = Vec::new();
        for (k, driver) in drivers.iter_mut().enumerate() {
            let h = std::thread::Builder::new()
                .name(format!("kefu-load-{k}"))
                .spawn_scoped(s, move || driver.hold(until))
                .context("spawning a driver thread")?;
            handles.push(h);
        }
        let mut total = HoldOutcome::default();
        for h in handles {
            match h.join() {
                Ok(o) => total.merge(o),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        Ok(total)
    })
}

fn new_report(plan: &LoginsPlan) -> LoginsReport {
    let range = match (plan.sources.first(), plan.sources.last()) {
        (Some(a), Some(b)) if a != b => format!("{a}..{b}"),
        (Some(a), _) => a.to_string(),
        _ => String::new(),
    };
    LoginsReport {
        tool: "kefu-load",
        version: env!("CARGO_PKG_VERSION"),
        scenario: "logins",
        ok: false,
        timed_out: false,
        failures_total: 0,
        config: RunConfig {
            server: plan.server.to_string(),
            account_base: plan.account_base,
            accounts: plan.population.accounts_len(),
            agents_per_account: plan.population.agents_per_account(),
            connections: plan.connections as u64,
            threads: plan.threads,
            sources: plan.sources.len(),
            source_range: range,
            max_inflight: plan.max_inflight,
            resume_rate: plan.resume_rate,
            hold_secs: plan.hold.as_secs_f64(),
            password_phase_limit_secs: plan.password_phase_limit.map(|d| d.as_secs_f64()),
            timeout_secs: plan.timeout.as_secs_f64(),
            provision: plan.provision,
        },
        daemon: DaemonReport {
            cores: None,
            cores_source: CoresSource::Unknown,
            shards: None,
            frames_before_run: None,
            connections_during_hold: None,
            sessions_during_hold: None,
        },
        provision: None,
        password: None,
        resume: None,
        hold: None,
        memory: None,
        run_secs: 0.0,
        tool_cpu_secs: 0.0,
        notes: plan.notes.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_add_up() {
        for (total, n) in [(256, 2), (255, 2), (1, 4), (10, 3), (0, 2)] {
            let sum: usize = (0..n).map(|d| share(total, n, d)).sum();
            assert_eq!(sum, total, "{total} over {n}");
        }
        assert_eq!(share(10, 3, 0), 4);
        assert_eq!(share(10, 3, 2), 3);
    }
}
