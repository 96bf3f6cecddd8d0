//! Command-line flags, parsed by clap, then checked into a plan a scenario can trust.
//!
//! Two levels, as in ripgrep: [`LoginsArgs`] is what the user typed;
//! [`LoginsPlan`] is what survived validation (loopback only, population large
//! enough, file descriptors and ports sufficient). The `chat` scenario's pair
//! is in [`chat`].

mod chat;
mod run;

pub use chat::{ChatArgs, ChatPlan};
pub use run::{RelayArgs, RunArgs};

use crate::population::Population;
use crate::sources;
use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// File descriptors kept in reserve beyond one per connection (polls, admin
/// sockets, /proc files, stdio).
pub const FD_RESERVE: u64 = 64;

/// kefu-load: capacity planning against a kefud on this machine.
#[derive(Debug, Parser)]
#[command(name = "kefu-load", version, about)]
pub struct Cli {
    /// The scenario to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Scenarios.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log many agents in with their password, reconnect them all with their
    /// session token, hold them idle, and report rates, latencies and memory.
    Logins(LoginsArgs),
    /// Agents with auto-accept caps, customers each with one conversation,
    /// and customer messages at an open-loop rate: throughput, acknowledgement
    /// and end-to-end latency, and every message accounted for (lost,
    /// duplicated, failed).
    Chat(ChatArgs),
    /// Run a scenario file (chat or logins): the report on stdout, and with
    /// --out-dir as JSON, HTML (plots) and .hgrm; --slo searches the highest
    /// rate within a latency objective; --baselines compares with the
    /// built-in relay and nats-server.
    Run(RunArgs),
    /// The message-path benchmark: a rate sweep of a chat scenario through
    /// kefud (started here, wal then fsync), the built-in relay and
    /// nats-server, one after the other; per rate the achieved rate,
    /// p50/p99/p99.9/max, lost and duplicated, the server's CPU µs per
    /// message and the generator's own CPU; per target the capacities at
    /// p99 < 1 ms and < 10 ms.
    Sweep(crate::sweep::SweepArgs),
    /// Run the built-in relay baseline server in the foreground.
    Relay(RelayArgs),
    /// Stalled readers: connections that log in as visitors of an existing account
    /// and never read again (optionally pinging, so pongs pile up), held beside a
    /// chat run; tallies how each one ended.
    Stall(crate::stall::StallArgs),
    /// The file-transfer mix (C13): concurrent online transfers and offline uploads
    /// and fetches, hash-checked, with quick-reply lookups, on an account of its own;
    /// run it beside a chat scenario. Reports rates, the daemon's RSS and the lookups'
    /// latency.
    Files(crate::files_mix::FilesArgs),
    /// Hold many visitors through the web gateway (WebSocket, JSON) and compare chat
    /// latency through it with the binary port at the same rate; report the daemon's
    /// memory per connection.
    Web(crate::web_visitors::WebArgs),
    /// Run kefud (from --kefud) under chat traffic, SIGKILL it at random intervals and
    /// restart it on the same data directory; check from the clients' ledgers that
    /// every acknowledged message is stored and delivered exactly once; report the
    /// restart-to-serving times.
    CrashLoop(crate::scenarios::crash_loop::CrashLoopArgs),
    /// Chat at a running pair of appliances (both client addresses, through the client
    /// library's PairClient), SIGKILL its primary (--primary-pid, or --kill-command),
    /// and report the failover time per customer and overall, that every acknowledged
    /// message is on the surviving member exactly once, and the replication lag
    /// sampled from the members' metrics listeners (--metrics) before the kill.
    Pair(crate::scenarios::pair::PairArgs),
}

/// Flags of `kefu-load logins`.
#[derive(Debug, Args)]
pub struct LoginsArgs {
    /// The daemon's client address, IP:PORT on loopback: an address in 127.0.0.0/8, or ::1.
    #[arg(long, value_parser = parse_loopback_server)]
    pub server: SocketAddr,
    /// The daemon's admin socket: for provisioning, AdminStats (shard count) and session counts.
    #[arg(long)]
    pub admin_socket: Option<PathBuf>,
    /// Number of accounts.
    #[arg(long)]
    pub accounts: u32,
    /// Agents per account, numbered from 1001.
    #[arg(long)]
    pub agents_per_account: u32,
    /// First account number.
    #[arg(long, default_value_t = 900_000_000)]
    pub account_base: u64,
    /// Connections to open (at most accounts x agents-per-account; that by default).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Driver threads, each with its own event loop and share of connections.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Local source addresses, round-robin: a list of loopback addresses and
    /// IPv4 ranges [default: 127.0.0.1-127.0.0.20, or ::1 for an IPv6 server].
    #[arg(long, value_parser = sources::parse_sources)]
    pub sources: Option<std::vec::Vec<IpAddr>>,
    /// Password of every agent.
    #[arg(long, default_value = "load-test-pw")]
    pub password: String,
    /// Create the accounts and agents first (existing ones are kept).
    #[arg(long)]
    pub provision: bool,
    /// With --provision: set the password even of agents that have one.
    #[arg(long)]
    pub reset_passwords: bool,
    /// With --provision: admin connections used in parallel.
    #[arg(long, default_value_t = 4)]
    pub admin_connections: usize,
    /// Password logins in flight at most (the daemon hashes them on a small pool).
    #[arg(long, default_value_t = 256)]
    pub max_inflight: usize,
    /// Start no new password login after this many seconds; agents not reached
    /// are left out of the resume phase (and reported).
    #[arg(long)]
    pub password_phase_limit_secs: Option<f64>,
    /// Resume connections started per second; 0 starts them all at once.
    #[arg(long, default_value_t = 0.0)]
    pub resume_rate: f64,
    /// Seconds to hold every connection idle and logged in.
    #[arg(long, default_value_t = 5.0)]
    pub hold_secs: f64,
    /// The daemon's process id, to read its memory from /proc.
    #[arg(long)]
    pub daemon_pid: Option<u32>,
    /// Cores the daemon uses, to divide rates by [default: shards in AdminStats].
    #[arg(long)]
    pub daemon_cores: Option<u32>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Stop after this many seconds, whatever is unfinished, and report.
    #[arg(long, default_value_t = 120.0)]
    pub timeout_secs: f64,
}

/// A validated `logins` run.
#[derive(Debug, Clone)]
pub struct LoginsPlan {
    /// Daemon client address (loopback).
    pub server: SocketAddr,
    /// Admin socket, if given.
    pub admin_socket: Option<PathBuf>,
    /// Accounts and agents.
    pub population: Population,
    /// First account number (echoed in reports).
    pub account_base: u64,
    /// Connections (≤ population).
    pub connections: usize,
    /// Driver threads (≥ 1, ≤ connections).
    pub threads: usize,
    /// Source addresses, same family as the server, loopback.
    pub sources: Vec<IpAddr>,
    /// Agents' password.
    pub password: String,
    /// Provision first.
    pub provision: bool,
    /// Reset existing passwords when provisioning.
    pub reset_passwords: bool,
    /// Admin connections for provisioning.
    pub admin_connections: usize,
    /// Password logins in flight.
    pub max_inflight: usize,
    /// Password phase start limit.
    pub password_phase_limit: Option<Duration>,
    /// Resume starts per second (0: all at once).
    pub resume_rate: f64,
    /// Hold duration.
    pub hold: Duration,
    /// Daemon pid for memory readings.
    pub daemon_pid: Option<u32>,
    /// Daemon cores, if given.
    pub daemon_cores: Option<u32>,
    /// JSON report path.
    pub json: Option<PathBuf>,
    /// Global timeout.
    pub timeout: Duration,
    /// Notes for the report (warnings found while planning).
    pub notes: Vec<String>,
}

/// Accepts only an `IP:PORT` on loopback: 127.0.0.0/8 or `[::1]`.
pub fn parse_loopback_server(text: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = text.parse().map_err(|_| {
        format!("{text:?} is not IP:PORT (e.g. 127.0.0.1:7070 or [::1]:7070; host names are not accepted)")
    })?;
    if !addr.ip().is_loopback() {
        return Err(format!(
            "{} is not a loopback address: kefu-load only targets a daemon on this machine \
             (127.0.0.0/8 or [::1])",
            addr.ip()
        ));
    }
    if addr.port() == 0 {
        return Err("the server port must not be 0".into());
    }
    Ok(addr)
}

fn secs(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{flag} {value} is not a duration"))
}

impl LoginsPlan {
    /// Checks the flags against each other and against this machine's limits.
    /// `fd_limit` is the (raised) soft `RLIMIT_NOFILE`.
    pub fn new(args: LoginsArgs, fd_limit: u64) -> anyhow::Result<LoginsPlan> {
        let population = Population::new(args.account_base, args.accounts, args.agents_per_account)
            .map_err(anyhow::Error::msg)?;
        let connections = args.connections.unwrap_or(population.len());
        if connections == 0 {
            bail!("--connections must be at least 1");
        }
        if connections > population.len() {
            bail!(
                "--connections {connections} exceeds the population of {} agents \
                 ({} accounts x {} agents): a second login of an agent replaces the first",
                population.len(),
                args.accounts,
                args.agents_per_account
            );
        }
        let needed = connections as u64 + FD_RESERVE;
        if needed > fd_limit {
            bail!(
                "{connections} connections need {needed} file descriptors but RLIMIT_NOFILE \
                 allows {fd_limit} (raise the hard limit: ulimit -Hn, LimitNOFILE=)"
            );
        }
        if args.threads == 0 {
            bail!("--threads must be at least 1");
        }
        if args.max_inflight == 0 {
            bail!("--max-inflight must be at least 1");
        }
        if !(args.resume_rate >= 0.0 && args.resume_rate.is_finite()) {
            bail!("--resume-rate must be a non-negative number");
        }
        if args.provision && args.admin_socket.is_none() {
            bail!("--provision needs --admin-socket");
        }
        if args.daemon_cores == Some(0) {
            bail!("--daemon-cores must be at least 1");
        }
        if let Some(pid) = args.daemon_pid {
            crate::memory::sample(pid)
                .with_context(|| format!("--daemon-pid {pid}: cannot read /proc/{pid}/status"))?;
        }

        let sources = match args.sources {
            Some(s) => s,
            None if args.server.is_ipv4() => {
                sources::parse_sources(sources::DEFAULT_V4).map_err(anyhow::Error::msg)?
            }
            None => vec![IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)],
        };
        if let Some(bad) = sources
            .iter()
            .find(|s| s.is_ipv4() != args.server.is_ipv4())
        {
            bail!(
                "source address {bad} is not of the same family as --server {}",
                args.server
            );
        }
        let mut notes = Vec::new();
        let ports = u64::from(sources::ephemeral_ports_per_source());
        let capacity = ports * sources.len() as u64;
        if connections as u64 > capacity {
            bail!(
                "{connections} connections need more ephemeral ports than {} source addresses \
                 offer ({ports} each): add --sources",
                sources.len()
            );
        }
        // The password phase's closed connections sit in TIME_WAIT while the
        // resume phase reconnects from the same addresses.
        if 2 * connections as u64 > capacity && !sources::time_wait_reuse() {
            notes.push(format!(
                "password and resume phases need {} ports but {} source addresses offer {capacity} \
                 and net.ipv4.tcp_tw_reuse is off: resume connects may fail with AddrNotAvailable",
                2 * connections,
                sources.len()
            ));
        }

        Ok(LoginsPlan {
            server: args.server,
            admin_socket: args.admin_socket,
            population,
            account_base: args.account_base,
            connections,
            threads: args.threads.min(connections),
            sources,
            password: args.password,
            provision: args.provision,
            reset_passwords: args.reset_passwords,
            admin_connections: args.admin_connections.max(1),
            max_inflight: args.max_inflight,
            password_phase_limit: args
                .password_phase_limit_secs
                .map(|s| secs(s, "--password-phase-limit-secs"))
                .transpose()?,
            resume_rate: args.resume_rate,
            hold: secs(args.hold_secs, "--hold-secs")?,
            daemon_pid: args.daemon_pid,
            daemon_cores: args.daemon_cores,
            json: args.json,
            timeout: secs(args.timeout_secs, "--timeout-secs")?,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_servers_are_accepted() {
        let good = [
            "127.0.0.1:7070",
            "127.1.2.3:1",
            "[::1]:7070",
            "127.255.255.254:65535",
        ];
        for text in good {
            assert_eq!(parse_loopback_server(text).unwrap(), text.parse().unwrap());
        }
        let bad = [
            ("10.0.0.1:7070", "not a loopback address"),
            ("0.0.0.0:7070", "not a loopback address"),
            ("192.168.1.5:7070", "not a loopback address"),
            ("[::]:7070", "not a loopback address"),
            ("[::ffff:127.0.0.1]:7070", "not a loopback address"),
            ("[fe80::1]:7070", "not a loopback address"),
            ("localhost:7070", "not IP:PORT"),
            ("127.0.0.1", "not IP:PORT"),
            ("127.0.0.1:0", "must not be 0"),
        ];
        for (text, why) in bad {
            let err = parse_loopback_server(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
    }

    fn args(extra: &[&str]) -> Result<LoginsArgs, clap::Error> {
        let mut argv = vec![
            "kefu-load",
            "logins",
            "--server",
            "127.0.0.1:7070",
            "--accounts",
            "4",
            "--agents-per-account",
            "25",
        ];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).map(|c| match c.command {
            Command::Logins(a) => a,
            _ => unreachable!("parsed as logins"),
        })
    }

    #[test]
    fn plans_are_checked() {
        let plan = LoginsPlan::new(args(&[]).unwrap(), 1 << 16).unwrap();
        assert_eq!(plan.connections, 100);
        assert_eq!(plan.sources.len(), 20);
        assert_eq!(plan.threads, 2);

        let cases: &[(&[&str], u64, &str)] = &[
            (&["--connections", "101"], 1 << 16, "exceeds the population"),
            (&["--connections", "100"], 150, "file descriptors"),
            (&["--provision"], 1 << 16, "needs --admin-socket"),
            (&["--threads", "0"], 1 << 16, "--threads"),
            (&["--sources", "::1"], 1 << 16, "same family"),
            (&["--hold-secs=-1"], 1 << 16, "--hold-secs"),
        ];
        for (extra, fds, why) in cases {
            let err = LoginsPlan::new(args(extra).unwrap(), *fds).unwrap_err();
            assert!(format!("{err:#}").contains(why), "{extra:?}: {err:#}");
        }
        let argv = [
            "kefu-load",
            "logins",
            "--server",
            "10.1.1.1:7070",
            "--accounts",
            "1",
        ];
        let err =
            Cli::try_parse_from(argv.into_iter().chain(["--agents-per-account", "1"])).unwrap_err();
        assert!(err.to_string().contains("not a loopback address"), "{err}");
        let err = args(&["--sources", "10.0.0.1-10.0.0.5"]).unwrap_err();
        assert!(err.to_string().contains("127.0.0.0/8"), "{err}");
    }
}
