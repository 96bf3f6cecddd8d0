//! Flags of `kefu-load run` ([`RunArgs`]) and `kefu-load relay` ([`RelayArgs`]).

use super::parse_loopback_server;
use crate::capacity::Slo;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Flags of `kefu-load run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario file (TOML; schema in loadtest/scenarios/README.md).
    pub scenario: PathBuf,
    /// The daemon's client address, overriding the file's target.server.
    #[arg(long, value_parser = parse_loopback_server)]
    pub server: Option<SocketAddr>,
    /// The daemon's admin socket, overriding the file's target.admin_socket.
    #[arg(long)]
    pub admin_socket: Option<PathBuf>,
    /// The daemon's process id (CPU and memory from /proc), overriding the file.
    #[arg(long)]
    pub daemon_pid: Option<u32>,
    /// Target rate, overriding the file's behaviour.rate / think_secs.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Measured seconds (chat) or hold seconds (logins), overriding the file.
    #[arg(long)]
    pub duration: Option<f64>,
    /// Write report.txt, report.json, report.html and the .hgrm percentile
    /// distributions into this directory (created if missing).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Capacity search: raise the rate step by step and report the highest
    /// that kept this objective on the due → agent latency with nothing lost,
    /// e.g. p99=10ms.
    #[arg(long)]
    pub slo: Option<Slo>,
    /// With --slo: the first rate [default: the scenario's rate].
    #[arg(long)]
    pub rate_start: Option<f64>,
    /// With --slo: added at each step [default: the first rate].
    #[arg(long)]
    pub rate_step: Option<f64>,
    /// With --slo: the highest rate tried [default: 20 x the first rate].
    #[arg(long)]
    pub rate_max: Option<f64>,
    /// With --slo: measured seconds per step [default: the scenario's duration].
    #[arg(long)]
    pub step_secs: Option<f64>,
    /// Also run the same pattern (pairs = customers, same rate, sizes and
    /// timing) through the built-in relay and nats-server, and state kefud's
    /// rate and p99 as ratios against both.
    #[arg(long)]
    pub baselines: bool,
    /// The nats-server program for --baselines (a path, or a name looked up
    /// on PATH and in /usr/sbin); missing: that baseline is skipped.
    #[arg(long, default_value = "nats-server")]
    pub nats_server: String,
}

/// Flags of `kefu-load relay`.
#[derive(Debug, Args)]
pub struct RelayArgs {
    /// Where to listen (loopback; port 0: any free port, printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
}
