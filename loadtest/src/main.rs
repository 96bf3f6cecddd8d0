//! `kefu-load`: the capacity planner's load harness for a kefud on this machine.
//!
//! Glue only: parse flags, raise the file-descriptor limit, check the plan,
//! run the scenario, print the report. Exit status: 0 when every connection
//! did what it should (and, for `chat`, every message was delivered exactly
//! once), 1 when any failed, a message was lost or duplicated, or the run
//! timed out (the report says which and why), 2 when the run could not be set up.
//!
//! Code map:
//! - `cli`: flags, and the validated plan (loopback only, limits checked).
//! - `scenarios`: one module per scenario: `logins`, `chat`, `crash_loop` (which
//!   runs kefud itself, to kill and restart it), `pair` (a pair of appliances whose
//!   primary it kills).
//! - `scenario_file`: scenario files (TOML; the schema) and their flags;
//!   `runner`: `kefu-load run`, with `capacity` (the rate search) and
//!   `baseline` (the same pattern through a built-in relay and nats-server);
//!   `sweep`: `kefu-load sweep`, the message-path benchmark (a rate sweep of
//!   kefud in each durability mode, the relay and nats-server, one after the
//!   other), with `cpu_window` (server and generator CPU over the measured
//!   window), `kefud` (a kefud child process, shared with `crash_loop`) and
//!   `pinning` (`--pin`: the generator and the servers on different CPUs).
//! - `driver`: the mio event loop over many sans-IO `ClientConnection`s
//!   (`driver::chat` for agents, customers and a message schedule).
//! - `schedule`: the open-loop message schedule and how a message names itself.
//! - `ledger`: every message's fate, shared by the driver threads.
//! - `files_mix`: `kefu-load files`, the file-transfer mix (online relays, offline
//!   uploads and fetches) and quick-reply lookups, beside a chat run.
//! - `ops`: agents' operations besides chat (history, contact search,
//!   broadcast): what each asks and what it came to.
//! - `signing`: customer signatures, as an enterprise's backend makes them.
//! - `population`: which accounts, agents and customers, and who each connection is.
//! - `sources`: 127.0.0.x source addresses and the port budget.
//! - `provision`, `admin`: creating accounts and agents over the admin socket.
//! - `memory`: the daemon's resident memory and CPU time from /proc;
//!   `sampler`: both over a run.
//! - `timeline`: per-second counts and latencies.
//! - `report`: percentiles, failure counts, the text and JSON reports, the
//!   HTML report with plots (`report::html`) and `.hgrm` files (`report::hgrm`).
//! - `sys`: the few libc calls (the only `unsafe`).
//!
//! **Boundary**: the tool talks to the daemon only through `kefu-wire`, and
//! only over loopback.

mod admin;
mod baseline;
mod capacity;
mod cli;
mod cpu_window;
mod driver;
mod files_mix;
mod kefud;
mod ledger;
mod memory;
mod ops;
mod pinning;
mod population;
mod provision;
mod report;
mod runner;
mod sampler;
mod scenario_file;
mod scenarios;
mod schedule;
mod signing;
mod sources;
mod stall;
mod stall_broadcast;
mod sweep;
mod sys;
mod timeline;
mod web_visitors;

use anyhow::Context;
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match run(cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("kefu-load: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Runs the chosen scenario; `Ok(ok)` once a report was produced.
fn run(cli: cli::Cli) -> anyhow::Result<bool> {
    let fd_limit = sys::raise_nofile_limit().context("raising RLIMIT_NOFILE")?;
    match cli.command {
        cli::Command::Logins(args) => {
            let plan = cli::LoginsPlan::new(args, fd_limit)?;
            let report = scenarios::logins::run(&plan)?;
            if let Some(path) = &plan.json {
                std::fs::write(path, report.to_json() + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            print(&report.to_string())?;
            Ok(report.ok)
        }
        cli::Command::Chat(args) => {
            let plan = cli::ChatPlan::new(args, fd_limit)?;
            let report = scenarios::chat::run(&plan)?;
            if let Some(path) = &plan.json {
                std::fs::write(path, report.to_json() + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            print(&report.to_string())?;
            Ok(report.ok)
        }
        cli::Command::Run(args) => runner::run(args, fd_limit),
        cli::Command::Sweep(args) => sweep::run(&args, fd_limit),
        cli::Command::Stall(args) => stall::run(&args, fd_limit),
        cli::Command::Files(args) => files_mix::run(&args),
        cli::Command::Web(args) => web_visitors::run(&args).map(|()| true),
        cli::Command::CrashLoop(args) => {
            let report = scenarios::crash_loop::run(&args)?;
            publish(&report, args.json.as_deref())?;
            Ok(report.ok)
        }
        cli::Command::Pair(args) => {
            let report = scenarios::pair::run(&args)?;
            publish(&report, args.json.as_deref())?;
            Ok(report.ok)
        }
        cli::Command::Relay(args) => {
            let relay = baseline::relay::Relay::start(args.listen).context("starting the relay")?;
            eprintln!("kefu-load relay: listening on {}", relay.addr());
            relay.wait().context("relay")?;
            Ok(true)
        }
    }
}

/// Prints to stdout; a closed pipe (`| head`) is not an error.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Prints a report, and writes it as JSON to `json` when asked.
fn publish(
    report: &(impl serde::Serialize + std::fmt::Display),
    json: Option<&std::path::Path>,
) -> anyhow::Result<()> {
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
    }
    print(&(report.to_string() + "\n"))
}
