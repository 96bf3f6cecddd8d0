//! Command-line syntax of `kefuctl`: clap types and the parsers of their values.
//!
//! Everything here is syntax; the meaning lives in the command modules.
//! Secrets are deliberately absent: they come from the environment or
//! standard input (see `secrets.rs`), never from flags visible in `ps`.

use crate::date::Date;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::str::FromStr;

/// Administration of a Kefu appliance.
#[derive(Debug, Parser)]
#[command(name = "kefuctl", version, about, propagate_version = true)]
pub struct Cli {
    /// The daemon's local admin socket.
    #[arg(
        long,
        global = true,
        env = "KEFU_ADMIN_SOCKET",
        default_value = "/run/kefu/admin.sock",
        value_name = "PATH"
    )]
    pub admin_socket: PathBuf,

    #[command(subcommand)]
    pub command: Command,
}

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Provision and inspect accounts (enterprises).
    #[command(subcommand)]
    Account(AccountCommand),
    /// Provision and inspect agents of an account.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// Per-shard counters of the running daemon.
    Stats(StatsArgs),
    /// Check a listener end to end as a client would: connect, TLS, handshake, login, pings.
    Diagnose(DiagnoseArgs),
}

/// `kefuctl account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Create an account with its super admin, agent 1001.
    ///
    /// Agent 1001's password and the account's super password are read from
    /// KEFU_PASSWORD and KEFU_SUPER_PASSWORD, or else from standard input, one
    /// line each (in that order).
    Create(CreateArgs),
    /// List accounts in number order.
    List(ListArgs),
    /// Show one account and its agents.
    Show(ShowArgs),
}

/// `kefuctl account create`
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub id: u64,
    /// Enterprise name.
    #[arg(long)]
    pub name: String,
    /// Service plan (fixes the contact limit: gold 100,000, silver 25,000).
    #[arg(long, value_enum)]
    pub plan: PlanArg,
    #[command(flatten)]
    pub expiry: ExpiryArgs,
}

/// When the service period ends: a date or a number of days from now.
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
pub struct ExpiryArgs {
    /// End of the service period: the service stops at 00:00 UTC on this date.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub expires: Option<Date>,
    /// End of the service period: this many days from now.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=36_600))]
    pub days: Option<u32>,
}

/// A service plan as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanArg {
    /// 100,000 contacts.
    Gold,
    /// 25,000 contacts.
    Silver,
}

/// `kefuctl account list`
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Start after this account number.
    #[arg(long, value_name = "N")]
    pub after: Option<u64>,
    /// List at most this many accounts (default: all of them, page by page).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub limit: Option<u32>,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Accounts asked for per request (the daemon may cap it); for tests of paging.
    #[arg(long, hide = true, value_name = "N", default_value_t = 500,
          value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: u32,
}

/// `kefuctl account show`
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Account number.
    #[arg(value_name = "ID")]
    pub id: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl agent ...`
#[derive(Debug, Subcommand)]
pub enum AgentCommand {
    /// Add an agent to an account (it has no password until one is set).
    Add(AgentAddArgs),
    /// List an account's agents.
    List(AgentListArgs),
    /// Set an agent's password with operator authority.
    ///
    /// The new password is read from KEFU_PASSWORD, or else from one line of
    /// standard input.
    Passwd(AgentPasswdArgs),
}

/// `kefuctl agent add`
#[derive(Debug, Args)]
pub struct AgentAddArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// New agent number (1001..=9999).
    #[arg(long, value_name = "N")]
    pub agent: u32,
    /// Display name.
    #[arg(long, value_name = "S")]
    pub nickname: String,
    /// Role id (default: the account's default agent role).
    #[arg(long, value_name = "N")]
    pub role: Option<u32>,
}

/// `kefuctl agent list`
#[derive(Debug, Args)]
pub struct AgentListArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl agent passwd`
#[derive(Debug, Args)]
pub struct AgentPasswdArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Agent number.
    #[arg(long, value_name = "N")]
    pub agent: u32,
}

/// `kefuctl stats`
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl diagnose`
///
/// The password is read from KEFU_PASSWORD, or else from one line of standard input.
#[derive(Debug, Args)]
pub struct DiagnoseArgs {
    /// The client listener to check.
    #[arg(long, value_name = "HOST:PORT")]
    pub server: String,
    /// Speak TLS (the certificate is checked against --ca).
    #[arg(long, requires = "ca")]
    pub tls: bool,
    /// PEM file of the CA certificate(s) to trust.
    #[arg(long, value_name = "FILE", requires = "tls")]
    pub ca: Option<PathBuf>,
    /// Name to expect in the server's certificate (default: the host of --server).
    #[arg(long, value_name = "NAME", requires = "tls")]
    pub server_name: Option<String>,
    /// Log in as this agent.
    #[arg(long, value_name = "AGENT@ACCOUNT")]
    pub login: Login,
    /// Number of ping round trips to measure.
    #[arg(long, value_name = "N", default_value_t = 10,
          value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub pings: u32,
    /// Give up on any one step after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// An `agent@account` login name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Login {
    /// Agent number.
    pub agent: u32,
    /// Account number.
    pub account: u64,
}

impl FromStr for Login {
    type Err = String;

    fn from_str(s: &str) -> Result<Login, String> {
        let (agent, account) = s
            .split_once('@')
            .ok_or_else(|| format!("expected AGENT@ACCOUNT, got {s:?}"))?;
        let agent = agent
            .parse()
            .map_err(|_| format!("agent {agent:?} is not a number"))?;
        let account = account
            .parse()
            .map_err(|_| format!("account {account:?} is not a number"))?;
        Ok(Login { agent, account })
    }
}

impl std::fmt::Display for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.agent, self.account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn login_parses() {
        let cases: &[(&str, Option<Login>)] = &[
            (
                "1001@800001",
                Some(Login {
                    agent: 1001,
                    account: 800_001,
                }),
            ),
            ("1001", None),
            ("@800001", None),
            ("1001@", None),
            ("a@1", None),
            ("1@2@3", None),
            ("-1@2", None),
        ];
        for (input, want) in cases {
            assert_eq!(input.parse::<Login>().ok(), *want, "{input}");
        }
    }
}
