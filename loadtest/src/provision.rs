//! Creating the run's accounts and agents through the admin socket, skipping what exists.
//!
//! Per account: `AdminCreateAccount` (agent 1001 gets the password with it),
//! `AdminListAgents`, `AdminAddAgent` for each missing agent, then
//! `AdminSetAgentPassword` for every agent without a password (every agent
//! with `--reset-passwords`). An existing agent with a password is assumed to
//! have the run's password; if it does not, its login fails with
//! `WRONG_PASSWORD` and the report says so.
//!
//! The daemon hashes passwords slowly on its worker pool, so requests are
//! pipelined ([`crate::admin::AdminPipe`]) over several admin connections,
//! each taking the next unprovisioned account.
//!
//! [`rotate_customer_keys`] gives each account a new customer-signing key
//! (`AdminRotateCustomerKey`), so that the tool can sign its customers'
//! logins as the enterprise's backend would. The keys stay in memory and are
//! never printed.

use crate::admin::{client_name, AdminPipe, Answer};
use crate::driver::code_name;
use crate::population::{Population, FIRST_AGENT};
use crate::report::FailureCounts;
use kefu_wire::{ErrorCode, Plan, Request, Response};
use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// Requests outstanding per admin connection.
const WINDOW: usize = 16;
/// How long provisioned accounts stay in service: a year.
const SERVICE_PERIOD_SECS: i64 = 365 * 24 * 3600;

/// What to provision and how.
#[derive(Debug, Clone)]
pub struct ProvisionSpec {
    /// The daemon's admin socket.
    pub admin_socket: PathBuf,
    /// The accounts and agents.
    pub population: Population,
    /// The password of every agent (and the accounts' super password).
    pub password: String,
    /// Admin connections used in parallel.
    pub connections: usize,
    /// Set the password of agents that already have one.
    pub reset_passwords: bool,
    /// Stop at this instant.
    pub deadline: Instant,
}

/// What provisioning did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ProvisionReport {
    /// Wall time, seconds.
    pub secs: f64,
    /// Admin connections used.
    pub admin_connections: usize,
    /// Accounts created by this run.
    pub accounts_created: u64,
    /// Accounts that existed already.
    pub accounts_existing: u64,
    /// Agents added by this run (agent 1001 of a new account not included).
    pub agents_created: u64,
    /// Agents that existed already.
    pub agents_existing: u64,
    /// `AdminSetAgentPassword` requests that succeeded.
    pub passwords_set: u64,
    /// Requests that failed, by `Request:ERROR_CODE`.
    pub failures: FailureCounts,
}

impl ProvisionReport {
    fn merge(&mut self, o: &ProvisionReport) {
        self.accounts_created += o.accounts_created;
        self.accounts_existing += o.accounts_existing;
        self.agents_created += o.agents_created;
        self.agents_existing += o.agents_existing;
        self.passwords_set += o.passwords_set;
        self.failures.merge(&o.failures);
    }
}

/// Provisions every account of the population; an `Err` when the admin
/// socket cannot be used at all (connect, I/O, deadline).
pub fn provision(spec: &ProvisionSpec) -> anyhow::Result<ProvisionReport> {
    let start = Instant::now();
    let next = AtomicU32::new(0);
    let workers = spec
        .connections
        .clamp(1, spec.population.accounts_len() as usize);
    let results: Vec<anyhow::Result<ProvisionReport>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| s.spawn(|| worker(spec, &next)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a provisioning thread panicked")))
            })
            .collect()
    });
    let mut report = ProvisionReport {
        admin_connections: workers,
        ..ProvisionReport::default()
    };
    for r in results {
        report.merge(&r?);
    }
    report.secs = start.elapsed().as_secs_f64();
    Ok(report)
}

fn worker(spec: &ProvisionSpec, next: &AtomicU32) -> anyhow::Result<ProvisionReport> {
    let mut pipe = AdminPipe::connect(&spec.admin_socket, spec.deadline)?;
    let mut report = ProvisionReport::default();
    loop {
        let k = next.fetch_add(1, Ordering::Relaxed);
        if k >= spec.population.accounts_len() {
            return Ok(report);
        }
        account(spec, &mut pipe, spec.population.account(k), &mut report)?;
    }
}

fn account(
    spec: &ProvisionSpec,
    pipe: &mut AdminPipe,
    account: u64,
    report: &mut ProvisionReport,
) -> anyhow::Result<()> {
    let deadline = spec.deadline;
    let create = Request::AdminCreateAccount {
        account,
        name: format!("{} {account}", client_name()),
        plan: Plan::Gold,
        expires_at: unix_now() + SERVICE_PERIOD_SECS,
        password_1001: spec.password.clone(),
        super_password: spec.password.clone(),
    };
    let created = match pipe.call(create, deadline)? {
        Ok(_) => {
            report.accounts_created += 1;
            true
        }
        Err(e) if e.code == ErrorCode::ALREADY_EXISTS => {
            report.accounts_existing += 1;
            false
        }
        Err(e) => {
            report
                .failures
                .add(&failure_key("AdminCreateAccount", &Err(e)));
            return Ok(());
        }
    };

    // Which agents exist, and which have a password.
    let mut has_password: HashMap<u32, bool> = HashMap::new();
    match pipe.call(Request::AdminListAgents { account }, deadline)? {
        Ok(Response::Agents(list)) => {
            has_password.extend(list.iter().map(|a| (a.agent, a.has_password)));
        }
        other => {
            report.failures.add(&failure_key("AdminListAgents", &other));
            return Ok(());
        }
    }
    let wanted = spec.population.agent_numbers();
    report.agents_existing += wanted
        .clone()
        .filter(|a| *a != FIRST_AGENT || !created)
        .filter(|a| has_password.contains_key(a))
        .count() as u64;

    let missing: Vec<u32> = wanted
        .clone()
        .filter(|a| !has_password.contains_key(a))
        .collect();
    let adds: Vec<Request> = missing
        .iter()
        .map(|&agent| Request::AdminAddAgent {
            account,
            agent,
            nickname: format!("load-{agent}"),
            role: None,
        })
        .collect();
    for (&agent, answer) in missing.iter().zip(pipe.call_many(&adds, WINDOW, deadline)?) {
        match answer {
            Ok(_) => {
                report.agents_created += 1;
                has_password.insert(agent, false);
            }
            Err(e) if e.code == ErrorCode::ALREADY_EXISTS => {
                report.agents_existing += 1;
                has_password.insert(agent, false);
            }
            other => report.failures.add(&failure_key("AdminAddAgent", &other)),
        }
    }

    let sets: Vec<Request> = wanted
        .filter(|a| {
            has_password
                .get(a)
                .is_some_and(|&has| !has || spec.reset_passwords)
        })
        .map(|agent| Request::AdminSetAgentPassword {
            account,
            agent,
            new_password: spec.password.clone(),
        })
        .collect();
    for answer in pipe.call_many(&sets, WINDOW, deadline)? {
        match answer {
            Ok(_) => report.passwords_set += 1,
            other => report
                .failures
                .add(&failure_key("AdminSetAgentPassword", &other)),
        }
    }
    Ok(())
}

/// New customer-signing keys of `accounts`, in order, over one admin
/// connection; an account whose rotation failed gets `Err(failure key)`.
/// An `Err` of the whole call when the admin socket cannot be used.
pub fn rotate_customer_keys(
    admin_socket: &Path,
    accounts: &[u64],
    deadline: Instant,
) -> anyhow::Result<Vec<Result<[u8; 32], String>>> {
    let mut pipe = AdminPipe::connect(admin_socket, deadline)?;
    let requests: Vec<Request> = accounts
        .iter()
        .map(|&account| Request::AdminRotateCustomerKey { account })
        .collect();
    Ok(pipe
        .call_many(&requests, WINDOW, deadline)?
        .into_iter()
        .map(|answer| match answer {
            Ok(Response::CustomerKey(key)) => Ok(key),
            other => Err(failure_key("AdminRotateCustomerKey", &other)),
        })
        .collect())
}

/// `Request:ERROR_CODE`, or `Request:unexpected_response` for a wrong kind of success.
fn failure_key(request: &str, answer: &Answer) -> String {
    match answer {
        Err(e) => format!("{request}:{}", code_name(e.code)),
        Ok(_) => format!("{request}:unexpected_response"),
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "account expiry dates for a daemon running on the real clock"
)]
pub(crate) fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}
