//! Scenario files: a run described in TOML, checked, and turned into the
//! flags of the `chat` or `logins` driver (`kefu-load run FILE`).
//!
//! # Schema
//!
//! Every table and key is optional unless marked *required*; unknown keys
//! are refused (a typo is an error, not a silent default). Durations are
//! seconds (fractions allowed), rates per second over the whole population.
//!
//! ```toml
//! name = "steady-chat"            # shown in reports
//! description = "..."             # free text
//! kind = "chat"                   # required: "chat" (messages) or "logins" (login storm, idle hold)
//!
//! [target]                        # where kefud is; flags --server/--admin-socket/--daemon-pid override
//! server = "127.0.0.1:7070"       # client address, loopback only (default 127.0.0.1:7070)
//! admin_socket = "kefu-data/admin.sock"  # relative to the working directory (default as shown)
//! daemon_pid = 1234               # read CPU and RSS from /proc/PID ...
//! pid_file = "kefu-data/kefud.pid"  # ... or the pid from kefud's --pid-file
//! provision = true                # create accounts and agents first (default true)
//! password = "load-test-pw"       # every agent's password
//!
//! [population]
//! accounts = 1                    # default 1
//! account_base = 910000000        # first account number
//! agents_per_account = 10         # required
//! customers_per_account = 100     # chat: required; each has one conversation
//! visitors_per_account = 0        # chat: anonymous visitors, each with one conversation
//!
//! [agents]
//! cap = 10                        # auto-accept cap (default: customers / agents, rounded up)
//! replies = false                 # chat: every agent echoes every message back
//! push_ack_ms = 5                 # chat: cumulative push acknowledgements at most this often
//!
//! [behaviour]                     # chat only
//! rate = 2000                     # target messages per second over all customers; or
//! think_secs = 0.05               # a customer's mean time between messages (rate = customers / think_secs)
//! size = 200                      # message text bytes; or a uniform range:
//! # size = { min = 100, max = 300 }
//! window = 4                      # unanswered messages per customer at most (default: none, open loop)
//! transfers_per_sec = 0           # not yet supported (refused if above 0)
//! history_queries_per_sec = 0     # agents' History requests per second, open loop
//! contact_searches_per_sec = 0    # agents' SearchContacts requests per second, open loop
//! broadcasts_per_sec = 0          # Broadcasts per second by each account's agent 1001
//!                                 # (the account's security level is set to low first)
//!
//! [logins]                        # logins only
//! connections = 1000              # default: accounts x agents_per_account
//! max_inflight = 256              # password logins in flight
//! resume_rate = 0                 # token reconnections started per second (0: all at once);
//!                                 # default: connections / run.ramp_up_secs when a ramp is given
//! hold_secs = 30                  # hold every connection idle and logged in
//! password_phase_limit_secs = 60  # start no password login after this
//!
//! [run]
//! ramp_up_secs = 0                # chat: rate grows linearly from 0 over this (not measured)
//! warmup_secs = 1                 # chat: full rate, not measured
//! duration_secs = 10              # chat: measured window
//! drain_secs = 5                  # chat: wait for stragglers after the last message
//! threads = 2                     # driver threads
//! sources = "127.0.0.1-127.0.0.20"  # local addresses, round robin
//! timeout_secs = 120              # the whole run, whatever is unfinished
//! ```
//!
//! History queries, contact searches and broadcasts are issued by the agents
//! during the traffic, each kind open loop at its own rate (see
//! `crate::ops`); the report gives each kind's rate, errors by code and
//! latency percentiles. Transfers are in the schema so that scenario files can
//! name them, but the driver does not generate them yet (a transfer moves a
//! conversation, and with it where the customer's messages arrive, which the
//! message ledger would have to follow), so a file that asks for them is
//! refused rather than run without.

use crate::cli::{ChatArgs, LoginsArgs};
use crate::sources;
use anyhow::{bail, Context};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A parsed scenario file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Its name (default: the file's stem).
    pub name: Option<String>,
    /// Free text.
    pub description: Option<String>,
    /// `chat` or `logins`.
    pub kind: Kind,
    /// Where the daemon is.
    #[serde(default)]
    pub target: Target,
    /// Who takes part.
    pub population: PopulationSpec,
    /// Agents' behaviour.
    #[serde(default)]
    pub agents: AgentsSpec,
    /// Customers' behaviour (chat).
    #[serde(default)]
    pub behaviour: Behaviour,
    /// The login storm (logins).
    #[serde(default)]
    pub logins: LoginsSpec,
    /// Timing.
    #[serde(default)]
    pub run: RunSpec,
}

/// Which driver a scenario uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Customers messaging agents.
    Chat,
    /// Password logins, token reconnections, idle hold.
    Logins,
}

/// `[target]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    /// Client address.
    pub server: String,
    /// Admin socket.
    pub admin_socket: PathBuf,
    /// Daemon pid.
    pub daemon_pid: Option<u32>,
    /// File holding the daemon's pid.
    pub pid_file: Option<PathBuf>,
    /// Provision first.
    pub provision: bool,
    /// Agents' password.
    pub password: String,
}

impl Default for Target {
    fn default() -> Target {
        Target {
            server: "127.0.0.1:7070".into(),
            admin_socket: "kefu-data/admin.sock".into(),
            daemon_pid: None,
            pid_file: None,
            provision: true,
            password: "load-test-pw".into(),
        }
    }
}

/// `[population]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PopulationSpec {
    /// Accounts.
    #[serde(default = "one")]
    pub accounts: u32,
    /// First account number.
    pub account_base: Option<u64>,
    /// Agents per account.
    pub agents_per_account: u32,
    /// Customers per account (chat).
    #[serde(default)]
    pub customers_per_account: u32,
    /// Anonymous visitors per account (chat).
    #[serde(default)]
    pub visitors_per_account: u32,
}

fn one() -> u32 {
    1
}

/// `[agents]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentsSpec {
    /// Auto-accept cap.
    pub cap: Option<u16>,
    /// Echo every message.
    #[serde(default)]
    pub replies: bool,
    /// Push-acknowledgement interval, ms.
    pub push_ack_ms: Option<f64>,
}

/// A message size: fixed, or a uniform range.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Size {
    /// Every message this long.
    Fixed(usize),
    /// Uniform over `min..=max`.
    Range {
        /// Smallest.
        min: usize,
        /// Largest.
        max: usize,
    },
}

/// `[behaviour]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Behaviour {
    /// Messages per second over all customers.
    pub rate: Option<f64>,
    /// A customer's mean time between messages.
    pub think_secs: Option<f64>,
    /// Message size.
    pub size: Option<Size>,
    /// Unanswered messages per customer.
    pub window: Option<u32>,
    /// Not yet supported.
    #[serde(default)]
    pub transfers_per_sec: f64,
    /// Agents' history queries per second.
    #[serde(default)]
    pub history_queries_per_sec: f64,
    /// Agents' contact searches per second.
    #[serde(default)]
    pub contact_searches_per_sec: f64,
    /// Broadcasts per second (by agents 1001).
    #[serde(default)]
    pub broadcasts_per_sec: f64,
}

/// `[logins]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginsSpec {
    /// Connections.
    pub connections: Option<usize>,
    /// Password logins in flight.
    pub max_inflight: Option<usize>,
    /// Resume starts per second.
    pub resume_rate: Option<f64>,
    /// Idle hold.
    pub hold_secs: Option<f64>,
    /// Password phase limit.
    pub password_phase_limit_secs: Option<f64>,
}

/// `[run]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunSpec {
    /// Ramp-up.
    pub ramp_up_secs: Option<f64>,
    /// Warm-up.
    pub warmup_secs: Option<f64>,
    /// Measured window.
    pub duration_secs: Option<f64>,
    /// Drain.
    pub drain_secs: Option<f64>,
    /// Driver threads.
    pub threads: Option<usize>,
    /// Source addresses.
    pub sources: Option<String>,
    /// Whole-run timeout.
    pub timeout_secs: Option<f64>,
}

/// Command-line overrides of a scenario file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--server`.
    pub server: Option<SocketAddr>,
    /// `--admin-socket`.
    pub admin_socket: Option<PathBuf>,
    /// `--daemon-pid`.
    pub daemon_pid: Option<u32>,
    /// `--rate`.
    pub rate: Option<f64>,
    /// `--duration`.
    pub duration: Option<f64>,
}

/// The driver flags a scenario file comes to.
#[derive(Debug)]
pub enum Args {
    /// `kefu-load chat`.
    Chat(Box<ChatArgs>),
    /// `kefu-load logins`.
    Logins(Box<LoginsArgs>),
}

impl ScenarioFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> anyhow::Result<ScenarioFile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let mut s = ScenarioFile::parse(&text).with_context(|| format!("in {}", path.display()))?;
        if s.name.is_none() {
            s.name = path.file_stem().map(|n| n.to_string_lossy().into_owned());
        }
        Ok(s)
    }

    /// Parses TOML text.
    pub fn parse(text: &str) -> anyhow::Result<ScenarioFile> {
        Ok(toml::from_str(text)?)
    }

    /// The name to show.
    pub fn display_name(&self) -> &str {
        self.name.as_deref().unwrap_or("scenario")
    }

    /// The driver flags, or why this file cannot be run.
    pub fn to_args(&self, o: &Overrides) -> anyhow::Result<Args> {
        let b = &self.behaviour;
        if b.transfers_per_sec != 0.0 {
            bail!(
                "behaviour.transfers_per_sec = {}: not yet supported by kefu-load (the key is \
                 in the schema for scenarios to come; set it to 0 or remove it)",
                b.transfers_per_sec
            );
        }
        let ops = [
            (
                "behaviour.history_queries_per_sec",
                b.history_queries_per_sec,
            ),
            (
                "behaviour.contact_searches_per_sec",
                b.contact_searches_per_sec,
            ),
            ("behaviour.broadcasts_per_sec", b.broadcasts_per_sec),
        ];
        for (key, value) in ops {
            if !(value >= 0.0 && value.is_finite()) {
                bail!("{key} = {value}: must be 0 or a positive rate");
            }
        }
        if self.kind == Kind::Logins && ops.iter().any(|(_, v)| *v > 0.0) {
            bail!("a logins scenario has no agent operations: remove behaviour.*_per_sec");
        }
        let server = match o.server {
            Some(s) => s,
            None => crate::cli::parse_loopback_server(&self.target.server)
                .map_err(|e| anyhow::anyhow!("target.server: {e}"))?,
        };
        let admin_socket = o
            .admin_socket
            .clone()
            .unwrap_or_else(|| self.target.admin_socket.clone());
        let daemon_pid = match (o.daemon_pid, self.target.daemon_pid, &self.target.pid_file) {
            (Some(p), _, _) | (None, Some(p), _) => Some(p),
            (None, None, Some(file)) => Some(
                std::fs::read_to_string(file)
                    .with_context(|| format!("target.pid_file {}", file.display()))?
                    .trim()
                    .parse()
                    .with_context(|| format!("target.pid_file {}: not a pid", file.display()))?,
            ),
            (None, None, None) => None,
        };
        let sources = self
            .run
            .sources
            .as_deref()
            .map(sources::parse_sources)
            .transpose()
            .map_err(|e| anyhow::anyhow!("run.sources: {e}"))?;
        let p = &self.population;
        let r = &self.run;
        match self.kind {
            Kind::Chat => {
                if p.customers_per_account == 0 && p.visitors_per_account == 0 {
                    bail!(
                        "population: a chat scenario needs customers_per_account or \
                         visitors_per_account"
                    );
                }
                let customers = f64::from(p.accounts)
                    * (f64::from(p.customers_per_account) + f64::from(p.visitors_per_account));
                let rate = match (o.rate, b.rate, b.think_secs) {
                    (Some(r), _, _) => r,
                    (None, Some(_), Some(_)) => {
                        bail!("behaviour: give rate or think_secs, not both")
                    }
                    (None, Some(r), None) => r,
                    (None, None, Some(t)) if t > 0.0 => customers / t,
                    (None, None, Some(t)) => bail!("behaviour.think_secs {t} must be above 0"),
                    (None, None, None) => {
                        bail!("behaviour: a chat scenario needs rate or think_secs")
                    }
                };
                let (size, size_max) = match b.size.unwrap_or(Size::Fixed(200)) {
                    Size::Fixed(n) => (n, None),
                    Size::Range { min, max } => (min, Some(max)),
                };
                Ok(Args::Chat(Box::new(ChatArgs {
                    server,
                    admin_socket,
                    accounts: p.accounts,
                    agents_per_account: p.agents_per_account,
                    customers_per_account: p.customers_per_account,
                    visitors_per_account: p.visitors_per_account,
                    account_base: p.account_base.unwrap_or(910_000_000),
                    cap: self.agents.cap,
                    rate,
                    size,
                    size_max,
                    ramp_up: r.ramp_up_secs.unwrap_or(0.0),
                    window: b.window,
                    warmup: r.warmup_secs.unwrap_or(1.0),
                    duration: o.duration.or(r.duration_secs).unwrap_or(10.0),
                    drain: r.drain_secs.unwrap_or(5.0),
                    agent_replies: self.agents.replies,
                    history_queries_per_sec: b.history_queries_per_sec,
                    contact_searches_per_sec: b.contact_searches_per_sec,
                    broadcasts_per_sec: b.broadcasts_per_sec,
                    push_ack_ms: self.agents.push_ack_ms.unwrap_or(5.0),
                    threads: r.threads.unwrap_or(2),
                    sources,
                    password: self.target.password.clone(),
                    provision: self.target.provision,
                    reset_passwords: false,
                    admin_connections: 4,
                    max_inflight: self.logins.max_inflight.unwrap_or(256),
                    daemon_pid,
                    json: None,
                    timeout_secs: r.timeout_secs.unwrap_or(120.0),
                })))
            }
            Kind::Logins => {
                if p.customers_per_account > 0
                    || p.visitors_per_account > 0
                    || b.rate.is_some()
                    || b.think_secs.is_some()
                {
                    bail!(
                        "a logins scenario has no customers, visitors or messages: remove \
                         population.customers_per_account, visitors_per_account and [behaviour]"
                    );
                }
                let l = &self.logins;
                let connections = l
                    .connections
                    .unwrap_or(p.accounts as usize * p.agents_per_account as usize);
                let resume_rate = match (l.resume_rate, r.ramp_up_secs) {
                    (Some(rate), _) => rate,
                    (None, Some(ramp)) if ramp > 0.0 => connections as f64 / ramp,
                    _ => 0.0,
                };
                Ok(Args::Logins(Box::new(LoginsArgs {
                    server,
                    admin_socket: Some(admin_socket),
                    accounts: p.accounts,
                    agents_per_account: p.agents_per_account,
                    account_base: p.account_base.unwrap_or(900_000_000),
                    connections: Some(connections),
                    threads: r.threads.unwrap_or(2),
                    sources,
                    password: self.target.password.clone(),
                    provision: self.target.provision,
                    reset_passwords: false,
                    admin_connections: 4,
                    max_inflight: l.max_inflight.unwrap_or(256),
                    password_phase_limit_secs: l.password_phase_limit_secs,
                    resume_rate,
                    hold_secs: o.duration.or(l.hold_secs).unwrap_or(5.0),
                    daemon_pid,
                    daemon_cores: None,
                    json: None,
                    timeout_secs: r.timeout_secs.unwrap_or(120.0),
                })))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHAT: &str = r#"
        kind = "chat"
        [population]
        agents_per_account = 4
        customers_per_account = 40
        [behaviour]
        think_secs = 0.5
        size = { min = 100, max = 300 }
        window = 2
        [run]
        ramp_up_secs = 2
        duration_secs = 3
    "#;

    #[test]
    fn a_chat_file_becomes_chat_flags() {
        let s = ScenarioFile::parse(CHAT).unwrap();
        let Args::Chat(a) = s.to_args(&Overrides::default()).unwrap() else {
            panic!("not chat");
        };
        assert_eq!(a.rate, 80.0, "40 customers, one message per 0.5 s each");
        assert_eq!((a.size, a.size_max), (100, Some(300)));
        assert_eq!((a.window, a.ramp_up, a.duration), (Some(2), 2.0, 3.0));
        assert_eq!(a.server.to_string(), "127.0.0.1:7070");
        assert!(a.provision);
        assert_eq!(
            (a.history_queries_per_sec, a.contact_searches_per_sec),
            (0.0, 0.0)
        );
        let ops = ScenarioFile::parse(&CHAT.replace(
            "window = 2",
            "window = 2\nhistory_queries_per_sec = 20\ncontact_searches_per_sec = 5.5",
        ))
        .unwrap();
        let Args::Chat(a) = ops.to_args(&Overrides::default()).unwrap() else {
            panic!("not chat");
        };
        assert_eq!(
            (
                a.history_queries_per_sec,
                a.contact_searches_per_sec,
                a.broadcasts_per_sec
            ),
            (20.0, 5.5, 0.0)
        );
        let o = Overrides {
            rate: Some(5.0),
            server: Some("127.0.0.1:9".parse().unwrap()),
            ..Overrides::default()
        };
        let Args::Chat(a) = s.to_args(&o).unwrap() else {
            panic!("not chat");
        };
        assert_eq!((a.rate, a.server.port()), (5.0, 9));
    }

    #[test]
    fn bad_and_unsupported_files_are_refused() {
        let cases = [
            ("kind = \"chat\"\n[population]\nagents_per_account = 1\nbogus = 1", "unknown field"),
            ("kind = \"mail\"\n[population]\nagents_per_account = 1", "unknown variant"),
            (
                "kind = \"chat\"\n[population]\nagents_per_account = 1\ncustomers_per_account = 1",
                "needs rate or think_secs",
            ),
            (
                "kind = \"chat\"\n[population]\nagents_per_account = 1\ncustomers_per_account = 1\n[behaviour]\nrate = 1\ntransfers_per_sec = 2",
                "transfers_per_sec = 2: not yet supported",
            ),
            (
                "kind = \"chat\"\n[population]\nagents_per_account = 1\ncustomers_per_account = 1\n[behaviour]\nrate = 1\nhistory_queries_per_sec = -1",
                "must be 0 or a positive rate",
            ),
            (
                "kind = \"logins\"\n[population]\nagents_per_account = 1\n[behaviour]\ncontact_searches_per_sec = 1",
                "no agent operations",
            ),
            (
                "kind = \"logins\"\n[population]\nagents_per_account = 1\nvisitors_per_account = 3",
                "no customers, visitors",
            ),
            (
                "kind = \"chat\"\n[target]\nserver = \"10.0.0.1:7070\"\n[population]\nagents_per_account = 1\ncustomers_per_account = 1\n[behaviour]\nrate = 1",
                "not a loopback address",
            ),
            (
                "kind = \"logins\"\n[population]\nagents_per_account = 1\ncustomers_per_account = 1",
                "no customers",
            ),
        ];
        for (text, why) in cases {
            let err = ScenarioFile::parse(text)
                .and_then(|s| s.to_args(&Overrides::default()).map(|_| ()))
                .unwrap_err();
            assert!(format!("{err:#}").contains(why), "{text}: {err:#}");
        }
    }

    #[test]
    fn a_logins_ramp_becomes_a_resume_rate() {
        let s = ScenarioFile::parse(
            "kind = \"logins\"\n[population]\naccounts = 2\nagents_per_account = 50\n[run]\nramp_up_secs = 4",
        )
        .unwrap();
        let Args::Logins(a) = s.to_args(&Overrides::default()).unwrap() else {
            panic!("not logins");
        };
        assert_eq!((a.connections, a.resume_rate), (Some(100), 25.0));
    }

    #[test]
    fn the_shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "toml") {
                let s = ScenarioFile::load(&path).unwrap();
                s.to_args(&Overrides {
                    daemon_pid: Some(1),
                    ..Overrides::default()
                })
                .unwrap_or_else(|e| panic!("{}: {e:#}", path.display()));
                n += 1;
            }
        }
        assert!(n >= 5, "{n} scenarios in {}", dir.display());
    }
}
