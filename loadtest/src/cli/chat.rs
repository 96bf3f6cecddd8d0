//! Flags of `kefu-load chat` ([`ChatArgs`]) and the checked plan ([`ChatPlan`]).

use super::{parse_loopback_server, secs, FD_RESERVE};
use crate::population::Population;
use crate::schedule::{self, MAX_MESSAGES};
use crate::sources;
use anyhow::{bail, Context};
use clap::Args;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// Longest text message the daemon accepts, characters (ASCII here, so bytes).
pub const MAX_TEXT: usize = 4_000;
/// Longest push-acknowledgement interval: well inside any heartbeat.
const MAX_PUSH_ACK: Duration = Duration::from_secs(1);

/// Flags of `kefu-load chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// The daemon's client address, IP:PORT on loopback: an address in 127.0.0.0/8, or ::1.
    #[arg(long, value_parser = parse_loopback_server)]
    pub server: SocketAddr,
    /// The daemon's admin socket: customer keys are rotated through it (and
    /// accounts provisioned with --provision).
    #[arg(long)]
    pub admin_socket: PathBuf,
    /// Number of accounts.
    #[arg(long)]
    pub accounts: u32,
    /// Agents per account, numbered from 1001; each logs in with its password.
    #[arg(long)]
    pub agents_per_account: u32,
    /// Customers per account, `kefu-load-0`, `kefu-load-1`, ...; each logs in
    /// with a signature and opens one conversation.
    #[arg(long)]
    pub customers_per_account: u32,
    /// Anonymous visitors per account: each logs in with `VisitorLogin` (a
    /// new visitor every run), opens one conversation and sends like a customer.
    #[arg(long, default_value_t = 0)]
    pub visitors_per_account: u32,
    /// First account number.
    #[arg(long, default_value_t = 910_000_000)]
    pub account_base: u64,
    /// Auto-accept cap of every agent [default: customers per account /
    /// agents per account, rounded up, so that every conversation is served].
    #[arg(long)]
    pub cap: Option<u16>,
    /// Customer messages per second over all customers, sent open loop:
    /// message i is due at i/rate seconds, whatever the answers.
    #[arg(long)]
    pub rate: f64,
    /// Text length of each message, bytes (the identifying header is at least
    /// about 22 bytes; shorter sizes send the header alone).
    #[arg(long, default_value_t = 200)]
    pub size: usize,
    /// Largest text length: each message's length is drawn uniformly from
    /// --size..=--size-max [default: --size, a fixed length].
    #[arg(long)]
    pub size_max: Option<usize>,
    /// Seconds over which the rate grows linearly from 0 to --rate, before
    /// the warm-up (not measured).
    #[arg(long, default_value_t = 0.0)]
    pub ramp_up: f64,
    /// Messages a customer may have unanswered at once: a due message waits
    /// in the tool while the window is full (as a client waiting for its
    /// acknowledgements would); latencies are reported both from the due time
    /// and from the actual send [default: no limit, pure open loop].
    #[arg(long)]
    pub window: Option<u32>,
    /// Seconds of traffic before the measured window (counted for losses, not latencies).
    #[arg(long, default_value_t = 1.0)]
    pub warmup: f64,
    /// Seconds of measured traffic.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Seconds to wait after the last scheduled message for answers and
    /// deliveries; an acknowledged message not delivered by then is lost.
    #[arg(long, default_value_t = 5.0)]
    pub drain: f64,
    /// Agents echo every message back to its customer; the report adds the
    /// replies' counts and the round trip from the message's due time.
    #[arg(long)]
    pub agent_replies: bool,
    /// Milliseconds between an agent's push acknowledgements during the
    /// traffic (they are cumulative); 0 acknowledges after every read.
    #[arg(long, default_value_t = 5.0)]
    pub push_ack_ms: f64,
    /// History queries per second over all agents, open loop (a page of 30
    /// of a customer the agent serves).
    #[arg(long, default_value_t = 0.0)]
    pub history_queries_per_sec: f64,
    /// Contact searches per second over all agents, open loop.
    #[arg(long, default_value_t = 0.0)]
    pub contact_searches_per_sec: f64,
    /// Broadcasts submitted for review per second, open loop, by each account's
    /// agent 1001 to a few customers it serves; the account's security level is
    /// set to low and its balance topped up first (broadcasts are skipped, with a
    /// note, if the level is refused).
    #[arg(long, default_value_t = 0.0)]
    pub broadcasts_per_sec: f64,
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
    /// Logins in flight at most per phase (the daemon hashes passwords on a small pool).
    #[arg(long, default_value_t = 256)]
    pub max_inflight: usize,
    /// The daemon's process id, to read its CPU time and memory from /proc.
    #[arg(long)]
    pub daemon_pid: Option<u32>,
    /// Also write the report as JSON to this file.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// Stop after this many seconds, whatever is unfinished, and report.
    #[arg(long, default_value_t = 120.0)]
    pub timeout_secs: f64,
}

/// A validated `chat` run.
#[derive(Debug, Clone)]
pub struct ChatPlan {
    /// Daemon client address (loopback).
    pub server: SocketAddr,
    /// Admin socket.
    pub admin_socket: PathBuf,
    /// Accounts and agents.
    pub population: Population,
    /// First account number (echoed in reports).
    pub account_base: u64,
    /// Customers per account.
    pub customers_per_account: u32,
    /// Visitors per account.
    pub visitors_per_account: u32,
    /// Agent connections (accounts x agents).
    pub agents: usize,
    /// Customer-side connections: accounts x (customers + visitors); the
    /// signed customers come first.
    pub customers: usize,
    /// Every agent's auto-accept cap.
    pub cap: u16,
    /// Messages per second.
    pub rate: f64,
    /// Message text length, bytes (smallest).
    pub size: usize,
    /// Largest message text length (equal to `size` when fixed).
    pub size_max: usize,
    /// Linear ramp-up before the warm-up.
    pub ramp_up: Duration,
    /// Unanswered messages per customer at most.
    pub window: Option<u32>,
    /// Warm-up.
    pub warmup: Duration,
    /// Measured window.
    pub duration: Duration,
    /// Drain after the last message.
    pub drain: Duration,
    /// Whether agents echo.
    pub agent_replies: bool,
    /// Agents' operations per second (history, contact search, broadcast), those above 0.
    pub ops: Vec<(crate::ops::OpKind, f64)>,
    /// Push acknowledgement interval (zero: every read).
    pub push_ack_every: Duration,
    /// Driver threads (≥ 1, ≤ customers).
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
    /// Logins in flight.
    pub max_inflight: usize,
    /// Daemon pid for CPU and memory readings.
    pub daemon_pid: Option<u32>,
    /// JSON report path.
    pub json: Option<PathBuf>,
    /// Global timeout.
    pub timeout: Duration,
    /// Notes for the report (warnings found while planning).
    pub notes: Vec<String>,
}

impl ChatPlan {
    /// Checks the flags against each other and against this machine's limits.
    /// `fd_limit` is the (raised) soft `RLIMIT_NOFILE`.
    pub fn new(args: ChatArgs, fd_limit: u64) -> anyhow::Result<ChatPlan> {
        let population = Population::new(args.account_base, args.accounts, args.agents_per_account)
            .map_err(anyhow::Error::msg)?;
        // Visitors take conversations like customers.
        let per_account = args
            .customers_per_account
            .saturating_add(args.visitors_per_account);
        if per_account == 0 {
            bail!("--customers-per-account (or --visitors-per-account) must be at least 1");
        }
        let agents = population.len();
        let customers = args.accounts as usize * per_account as usize;
        let needed_cap = per_account.div_ceil(args.agents_per_account);
        let cap = match args.cap {
            Some(0) => {
                bail!("--cap must be at least 1: with cap 0 (off) no conversation is served")
            }
            Some(cap) => cap,
            None => u16::try_from(needed_cap).map_err(|_| {
                anyhow::anyhow!(
                    "{} customers over {} agents need a cap of {needed_cap}, above the \
                     protocol's 65535: add agents",
                    per_account,
                    args.agents_per_account
                )
            })?,
        };
        if u32::from(cap) * args.agents_per_account < per_account {
            bail!(
                "--cap {cap} x {} agents serve fewer than the {} customers of an account: \
                 the rest would wait in the queue and their messages count as lost",
                args.agents_per_account,
                per_account
            );
        }
        if !(args.rate > 0.0 && args.rate.is_finite()) {
            bail!("--rate must be a positive number of messages per second");
        }
        if args.size == 0 || args.size > MAX_TEXT {
            bail!("--size must be 1..={MAX_TEXT} bytes (the daemon's text limit)");
        }
        let size_max = args.size_max.unwrap_or(args.size);
        if size_max < args.size || size_max > MAX_TEXT {
            bail!("--size-max must be --size..={MAX_TEXT} bytes");
        }
        if args.window == Some(0) {
            bail!("--window must be at least 1 (or left out for no limit)");
        }
        let ramp_up = secs(args.ramp_up, "--ramp-up")?;
        let warmup = secs(args.warmup, "--warmup")?;
        let duration = secs(args.duration, "--duration")?;
        if duration.is_zero() {
            bail!("--duration must be more than 0 seconds");
        }
        let drain = secs(args.drain, "--drain")?;
        let push_ack_every = secs(args.push_ack_ms / 1000.0, "--push-ack-ms")?.min(MAX_PUSH_ACK);
        let total = ((warmup + duration).as_secs_f64() * args.rate
            + ramp_up.as_secs_f64() * args.rate / 2.0)
            .floor();
        if total < 1.0 {
            bail!("--rate x (--warmup + --duration) schedules no message at all");
        }
        if total > MAX_MESSAGES as f64 {
            bail!("--rate x (--warmup + --duration) schedules more than {MAX_MESSAGES} messages");
        }
        let connections = agents + customers;
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
        use crate::ops::OpKind;
        let mut ops = Vec::new();
        for (kind, flag, rate) in [
            (
                OpKind::History,
                "--history-queries-per-sec",
                args.history_queries_per_sec,
            ),
            (
                OpKind::ContactSearch,
                "--contact-searches-per-sec",
                args.contact_searches_per_sec,
            ),
            (
                OpKind::Broadcast,
                "--broadcasts-per-sec",
                args.broadcasts_per_sec,
            ),
        ] {
            if !(rate >= 0.0 && rate.is_finite()) {
                bail!("{flag} must be 0 or a positive number per second");
            }
            let total = (warmup + duration).as_secs_f64() * rate;
            if total > MAX_MESSAGES as f64 {
                bail!("{flag} x (--warmup + --duration) schedules more than {MAX_MESSAGES}");
            }
            if rate > 0.0 {
                ops.push((kind, rate));
            }
        }
        if args.max_inflight == 0 {
            bail!("--max-inflight must be at least 1");
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
        let ports = u64::from(sources::ephemeral_ports_per_source());
        if connections as u64 > ports * sources.len() as u64 {
            bail!(
                "{connections} connections need more ephemeral ports than {} source addresses \
                 offer ({ports} each): add --sources",
                sources.len()
            );
        }
        let mut notes = Vec::new();
        if args.size < schedule::max_header_len() {
            notes.push(format!(
                "--size {} is shorter than a message's identifying header: texts are the \
                 header alone (up to {} bytes)",
                args.size,
                schedule::max_header_len()
            ));
        }
        Ok(ChatPlan {
            server: args.server,
            admin_socket: args.admin_socket,
            population,
            account_base: args.account_base,
            customers_per_account: args.customers_per_account,
            visitors_per_account: args.visitors_per_account,
            agents,
            customers,
            cap,
            rate: args.rate,
            size: args.size,
            size_max,
            ramp_up,
            window: args.window,
            warmup,
            duration,
            drain,
            agent_replies: args.agent_replies,
            ops,
            push_ack_every,
            threads: args.threads.min(customers),
            sources,
            password: args.password,
            provision: args.provision,
            reset_passwords: args.reset_passwords,
            admin_connections: args.admin_connections.max(1),
            max_inflight: args.max_inflight,
            daemon_pid: args.daemon_pid,
            json: args.json,
            timeout: secs(args.timeout_secs, "--timeout-secs")?,
            notes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Cli, Command};
    use super::*;
    use clap::Parser;

    fn args(extra: &[&str]) -> ChatArgs {
        let mut argv = vec![
            "kefu-load",
            "chat",
            "--server",
            "127.0.0.1:7070",
            "--admin-socket",
            "/tmp/kefu-admin.sock",
            "--accounts",
            "2",
            "--agents-per-account",
            "2",
            "--customers-per-account",
            "10",
        ];
        if !extra.contains(&"--rate") {
            argv.extend_from_slice(&["--rate", "200"]);
        }
        argv.extend_from_slice(extra);
        match Cli::try_parse_from(argv).unwrap().command {
            Command::Chat(a) => a,
            _ => unreachable!("parsed as chat"),
        }
    }

    #[test]
    fn plans_are_checked() {
        let plan = ChatPlan::new(args(&[]), 1 << 16).unwrap();
        assert_eq!((plan.agents, plan.customers, plan.cap), (4, 20, 5));
        let plan = ChatPlan::new(args(&["--visitors-per-account", "4"]), 1 << 16).unwrap();
        assert_eq!(
            (plan.customers, plan.cap),
            (28, 7),
            "visitors need slots too"
        );
        assert_eq!(plan.threads, 2);
        assert!(plan.notes.is_empty());
        let plan = ChatPlan::new(args(&["--size", "3", "--threads", "64"]), 1 << 16).unwrap();
        assert_eq!(plan.threads, 20, "no more threads than customers");
        assert_eq!(plan.notes.len(), 1);

        let cases: &[(&[&str], u64, &str)] = &[
            (&["--cap", "4"], 1 << 16, "fewer than the 10 customers"),
            (&["--cap", "0"], 1 << 16, "at least 1"),
            (&["--rate", "0"], 1 << 16, "--rate"),
            (&["--rate", "NaN"], 1 << 16, "--rate"),
            (&["--size", "4001"], 1 << 16, "--size"),
            (&["--size", "0"], 1 << 16, "--size"),
            (
                &["--size", "100", "--size-max", "50"],
                1 << 16,
                "--size-max",
            ),
            (&["--window", "0"], 1 << 16, "--window"),
            (&["--ramp-up=-1"], 1 << 16, "--ramp-up"),
            (&["--duration", "0"], 1 << 16, "--duration"),
            (&["--warmup=-1"], 1 << 16, "--warmup"),
            (&["--push-ack-ms=-1"], 1 << 16, "--push-ack-ms"),
            (
                &["--rate", "0.1", "--warmup", "0", "--duration", "1"],
                1 << 16,
                "no message",
            ),
            (&["--rate", "1e12"], 1 << 16, "more than"),
            (&["--threads", "0"], 1 << 16, "--threads"),
            (&[], 80, "file descriptors"),
            (&["--sources", "::1"], 1 << 16, "same family"),
        ];
        for (extra, fds, why) in cases {
            let err = ChatPlan::new(args(extra), *fds).unwrap_err();
            assert!(format!("{err:#}").contains(why), "{extra:?}: {err:#}");
        }
        let mut many = args(&[]);
        many.customers_per_account = 200_000;
        many.agents_per_account = 1;
        let err = ChatPlan::new(many, 1 << 20).unwrap_err();
        assert!(format!("{err:#}").contains("65535"), "{err:#}");
    }
}
