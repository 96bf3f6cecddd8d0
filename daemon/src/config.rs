//! Daemon configuration: the TOML file, the defaults, and the checks.
//!
//! Flags given to `kefud` override the file (see `main.rs`). Everything is
//! validated once, up front, so a bad value is reported at start (or by
//! `--check-config`) rather than discovered under load.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The iteration count below which password hashing counts as weak (OWASP 2023).
pub const MIN_PRODUCTION_PBKDF2_ITERATIONS: u32 = 600_000;

/// When an acknowledgement may be sent relative to the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityMode {
    /// Written to RocksDB's WAL before the ack (survives a process crash).
    Wal,
    /// WAL synced to disk before the ack (survives a power cut).
    Fsync,
    /// Written to the WAL here and applied by the pair's standby before the ack
    /// (survives the loss of this machine; `daemon/CLUSTER.md` §3). Needs `[cluster]`
    /// with `role = "primary"`.
    Replicated,
}

/// The whole configuration, as the daemon uses it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Where RocksDB and the default admin socket live; created if missing.
    pub data_dir: PathBuf,
    /// Plain-TCP client listener (meant for loopback and testing).
    pub listen: Option<SocketAddr>,
    /// TLS client listener.
    pub tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for the TLS listener.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for the TLS listener.
    pub tls_key: Option<PathBuf>,
    /// Local admin socket (mode 0600); `kefuctl` talks to it.
    pub admin_socket: Option<PathBuf>,
    /// Number of shard threads; 0 means one per core.
    pub shards: usize,
    /// Where to write the pid, if anywhere.
    pub pid_file: Option<PathBuf>,
    /// HTTP listener for Prometheus (`GET /metrics`); loopback addresses only.
    pub metrics_listen: Option<SocketAddr>,
    /// Storage settings.
    pub storage: StorageConfig,
    /// Limits on what peers may make us hold.
    pub limits: LimitsConfig,
    /// Heartbeat and idle timeouts.
    pub timeouts: TimeoutsConfig,
    /// Password hashing and sessions.
    pub security: SecurityConfig,
    /// The SMS gateway offline messages are forwarded through (C14).
    pub sms: SmsConfig,
    /// Settings for test appliances only.
    pub test: TestConfig,
    /// `[files]`
    pub files: FilesConfig,
    /// `[mail]`: the SMTP relay of the weekly CSAT mail (S2).
    pub mail: MailConfig,
    /// The web gateway's listener (HTTP/1.1 and WebSocket; `daemon/src/web/`), if any.
    pub web_listen: Option<SocketAddr>,
    /// `[web]`: the web gateway's settings.
    pub web: WebConfig,
    /// `[cluster]`: this appliance's place in a primary/standby pair, if any.
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// `[standby]`: how a standby serves clients before its promotion (`daemon/CLUSTER.md`
    /// §5, `wire/PROTOCOL.md` 40.7).
    pub standby: StandbyConfig,
}

/// `[standby]`: a standby binds its client ports, answers logins with `GoAwayTo` its
/// primary and serves read-only sessions (`cluster/read_only.rs`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct StandbyConfig {
    /// The primary's client address, for a pair without `[cluster.etcd]` (with etcd the
    /// leader key's `client_addr` is used, and this only while etcd names no leader).
    pub primary_client_addr: Option<SocketAddr>,
}

/// `[mail]`: the SMTP relay the weekly CSAT report is mailed through
/// (`daemon/src/csat_mail.rs`; `wire/PROTOCOL.md` section 37.6). `tls` says how the
/// connection is protected (default: none to a loopback relay, required STARTTLS to any
/// other); credentials are sent only if the relay offers AUTH.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct MailConfig {
    /// The relay's host name or address; none: no weekly mail is sent (logged).
    pub smtp_host: Option<String>,
    /// Its port (default 25).
    pub smtp_port: Option<u16>,
    /// The sender address (default `kefu@localhost`).
    pub from: Option<String>,
    /// Connect, read and write timeout, milliseconds (default 10,000).
    pub timeout_ms: Option<u32>,
    /// AUTH user name, if the relay wants one.
    pub username: Option<String>,
    /// AUTH password.
    pub password: Option<String>,
    /// `"none"`, `"starttls"` (required: a relay that does not offer it is refused) or
    /// `"tls"` (TLS from the first byte, default port 465). Default: `"none"` when
    /// `smtp_host` is `localhost` or a loopback address, `"starttls"` otherwise.
    pub tls: Option<MailTls>,
    /// PEM file of the CA certificates the relay's certificate must chain to (a private
    /// relay); without it the system's bundle (`MAIL_CA_BUNDLES`).
    pub ca_file: Option<PathBuf>,
}

/// How the connection to the SMTP relay is protected (`[mail] tls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTls {
    /// Plain SMTP (only sensible to a relay on the same host).
    None,
    /// STARTTLS, required: the mail is never sent in clear.
    Starttls,
    /// Implicit TLS (SMTPS).
    Tls,
}

/// Where the system's CA bundle is looked for when `[mail] ca_file` is not set (the
/// Debian/Ubuntu, Fedora/RHEL, openSUSE and Alpine/BSD places).
pub const MAIL_CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
];

/// A configured relay (`MailConfig::relay`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailRelay {
    /// Host.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Sender.
    pub from: String,
    /// Timeout, ms.
    pub timeout_ms: u32,
    /// AUTH user.
    pub username: Option<String>,
    /// AUTH password.
    pub password: Option<String>,
    /// Connection protection (the default resolved).
    pub tls: MailTls,
    /// Private CA file, if any.
    pub ca_file: Option<PathBuf>,
}

impl MailRelay {
    /// The CA certificates the relay must chain to: `ca_file`'s, or the first system
    /// bundle found. An error names the file.
    pub fn roots(&self) -> Result<lettre::transport::smtp::client::Certificate, String> {
        let path = match &self.ca_file {
            Some(p) => p.clone(),
            None => MAIL_CA_BUNDLES
                .iter()
                .map(PathBuf::from)
                .find(|p| p.is_file())
                .ok_or("no system CA bundle found; set [mail] ca_file")?,
        };
        let pem = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if !String::from_utf8_lossy(&pem).contains("-----BEGIN CERTIFICATE-----") {
            return Err(format!("{}: no PEM certificate", path.display()));
        }
        lettre::transport::smtp::client::Certificate::from_pem(&pem)
            .map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// Whether `host` is this machine (the default of `[mail] tls` is then `"none"`).
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|a| a.is_loopback())
}

impl MailConfig {
    /// What `validate` finds wrong in `[mail]`.
    fn problems(&self, problems: &mut Vec<String>) {
        if let Some(from) = &self.from {
            if from.parse::<lettre::message::Mailbox>().is_err() {
                problems.push("[mail] from: not a mail address".into());
            }
        }
        if self
            .timeout_ms
            .is_some_and(|t| !(100..=120_000).contains(&t))
        {
            problems.push("[mail] timeout_ms must be 100..=120000".into());
        }
        if self.ca_file.is_some() && self.tls == Some(MailTls::None) {
            problems.push("[mail] ca_file is set but tls = \"none\"".into());
        }
        if let Some(relay) = self.clone().relay() {
            if relay.tls != MailTls::None {
                if let Err(e) = relay.roots() {
                    problems.push(format!("[mail] CA certificates: {e}"));
                }
            }
        }
    }

    /// The relay, if one is configured.
    pub fn relay(self) -> Option<MailRelay> {
        let host = self.smtp_host?;
        let tls = self.tls.unwrap_or(if is_loopback(&host) {
            MailTls::None
        } else {
            MailTls::Starttls
        });
        Some(MailRelay {
            port: self
                .smtp_port
                .unwrap_or(if tls == MailTls::Tls { 465 } else { 25 }),
            host,
            tls,
            ca_file: self.ca_file,
            from: self.from.unwrap_or_else(|| "kefu@localhost".to_owned()),
            timeout_ms: self.timeout_ms.unwrap_or(10_000),
            username: self.username,
            password: self.password,
        })
    }
}

/// `[web]`: the web gateway (`daemon/src/web/`; PROTOCOL.md, "The web gateway and
/// the JSON encoding").
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Serve `web_listen` over TLS with `tls_cert` and `tls_key` (as the TLS port).
    pub tls: bool,
    /// Origins whose pages may open the WebSocket (`"https://shop.example"`; `"*"`:
    /// any). Empty: only pages the gateway serves itself.
    pub allowed_origins: Vec<String>,
    /// Open web connections per source address; more are answered 429.
    pub max_connections_per_address: u32,
    /// The longest HTTP request head, bytes (431 past it).
    pub max_head_bytes: usize,
    /// The longest WebSocket message, bytes (close 1009 past it).
    pub max_message_bytes: usize,
    /// The address-to-region table of site analytics (`daemon/src/regions.rs`: one
    /// `CIDR region-name` a line), read at start; none: every visit's region is
    /// `未知`. A bad file stops kefud from starting, naming the line.
    pub regions_file: Option<PathBuf>,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            tls: false,
            allowed_origins: Vec::new(),
            max_connections_per_address: 256,
            max_head_bytes: 8 * 1024,
            max_message_bytes: 64 * 1024,
            regions_file: None,
        }
    }
}

impl WebConfig {
    /// Adds what is wrong with the settings to `problems`.
    fn check(&self, listening: bool, has_cert: bool, problems: &mut Vec<String>) {
        if listening && self.tls && !has_cert {
            problems.push("[web] tls needs tls_cert and tls_key".into());
        }
        if self.max_connections_per_address == 0
            || !(1024..=65_536).contains(&self.max_head_bytes)
            || !(1024..=1 << 20).contains(&self.max_message_bytes)
        {
            problems.push(
                "[web]: max_connections_per_address >= 1, max_head_bytes 1024..=65536, \
                 max_message_bytes 1024..=1048576"
                    .into(),
            );
        }
    }

    /// The gateway's settings.
    pub fn settings(&self) -> crate::web::WebSettings {
        crate::web::WebSettings {
            tls: self.tls,
            allowed_origins: self.allowed_origins.clone(),
            max_connections_per_address: self.max_connections_per_address,
            max_head_bytes: self.max_head_bytes,
            max_message_bytes: self.max_message_bytes,
        }
    }
}

/// `[files]`: offline files (C13, PROTOCOL.md section 28), kept under
/// `<data_dir>/files`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FilesConfig {
    /// Largest file, online or offline, in bytes (default 1 GiB).
    pub max_file_bytes: u64,
    /// Offline files an account may keep in all, in bytes (default 10 GiB).
    pub account_quota_bytes: u64,
}

impl Default for FilesConfig {
    fn default() -> Self {
        FilesConfig {
            max_file_bytes: 1 << 30,
            account_quota_bytes: 10 << 30,
        }
    }
}

/// `[sms]`: the SMS gateway (`daemon/src/sms_gateway.rs`; `wire/PROTOCOL.md` section 27).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsConfig {
    /// Where each SMS is POSTed as JSON (`http://host:port/path`); none: forwarding
    /// is refused `SMS_NOT_CONFIGURED`.
    pub url: Option<String>,
    /// Attempts before an SMS becomes a dead letter (its units given back).
    pub max_attempts: u32,
    /// Wait after the first failed attempt, seconds; doubled after each further one.
    pub backoff_secs: u32,
    /// Longest wait between attempts, seconds.
    pub max_backoff_secs: u32,
    /// Connect, write and read timeout of one attempt, milliseconds.
    pub timeout_ms: u32,
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            url: None,
            max_attempts: 5,
            backoff_secs: 30,
            max_backoff_secs: 3_600,
            timeout_ms: 5_000,
        }
    }
}

/// `[test]`: never for production.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestConfig {
    /// Let the operator move the daemon's clock forward on the admin socket
    /// (`kefuctl clock`), so that time rules can be tested without waiting.
    /// Off by default; a restart puts the clock back to the real time.
    pub clock_control: bool,
}

/// `[storage]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `wal` (default) or `fsync`.
    pub durability: DurabilityMode,
    /// RocksDB's open-file budget; sockets need the rest of the process limit.
    pub max_open_files: i32,
    /// Block cache size in MiB.
    pub block_cache_mb: usize,
    /// Where `kefuctl backup create` puts online backups and `kefud --restore` reads
    /// them. Default: `<data_dir>/backups` (put it on another disk in production).
    pub backup_dir: Option<PathBuf>,
    /// Seconds to keep write-ahead logs after their data is flushed, so the batches
    /// since a point can be read back (a backup rolled forward, a standby catching up).
    /// Default 0: deleted once flushed.
    pub wal_archive_seconds: u64,
    /// `wal` only: a turn whose batch holds at least this many operations is written
    /// by the shard's committer thread while the loop goes on reading (and so is every
    /// turn behind it until it is written), whatever the load; smaller batches are
    /// written on the loop unless the loop is behind (`wal_commit_off_loop_behind_ops`).
    /// 0: always on the loop (no committer thread; the other key is then unused).
    pub wal_commit_off_loop_ops: usize,
    /// `wal` only: while the loop is behind — input left unread at the end of the turn,
    /// or the turn before wrote a batch this large too — a batch of at least this many
    /// operations goes to the committer too; once the committer is idle and a batch is
    /// smaller, writes are back on the loop (`centre/pipeline.rs`). 0: no such rule
    /// (only `wal_commit_off_loop_ops` sends batches off the loop, session 13's
    /// behaviour).
    pub wal_commit_off_loop_behind_ops: usize,
}

/// `[limits]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// Largest frame body accepted, bytes.
    pub max_frame_bytes: u32,
    /// Connections beyond this are refused with OVERLOADED.
    pub max_connections: usize,
    /// A peer whose unsent output exceeds this is dropped as a slow consumer.
    pub max_pending_output_bytes: usize,
    /// Unsent output of all connections together, bytes (each shard holds an equal
    /// share): past its share a shard drops the connections holding the most that
    /// have not read for a while, as slow consumers (PROTOCOL.md section 6.3).
    pub max_total_pending_output_bytes: usize,
    /// A peer that leaves more pushes than this unacknowledged is dropped as a
    /// slow consumer (PROTOCOL.md section 6).
    pub max_unacked_pushes: u64,
    /// Requests one shard hands to its accounts in one loop turn; the rest wait in
    /// their connections' buffers (which are then not read) for the next turn, so a
    /// turn's work and its one write batch stay bounded (PROTOCOL.md section 6.2).
    pub max_requests_per_turn: usize,
    /// A shard that has ended every turn with requests left over for this long
    /// (milliseconds) is overloaded: requests past a turn's budget are answered
    /// `OVERLOADED` at once instead of waiting (PROTOCOL.md section 6.2).
    pub overload_after_ms: u32,
}

/// `[timeouts]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TimeoutsConfig {
    /// How often clients are asked to ping, seconds.
    pub heartbeat_secs: u32,
    /// A peer silent for this long is dropped, seconds.
    pub idle_timeout_secs: u32,
    /// A connection that has not sent `Hello` by then is dropped, seconds.
    pub handshake_timeout_secs: u32,
    /// A connection not logged in this long after it opened (or logged out) is
    /// told `GoAway` `IDLE_TIMEOUT`, seconds.
    pub login_timeout_secs: u32,
    /// How long a connection told to go away may take to read its goodbye
    /// before it is dropped anyway, seconds.
    pub closing_grace_secs: u32,
    /// How long a resumable session whose connection went waits detached for a new
    /// one (`ResumeSession`), seconds; 0 disables resuming.
    pub resume_window_secs: u32,
}

/// `[security]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SecurityConfig {
    /// PBKDF2-HMAC-SHA256 iterations for new password hashes.
    pub pbkdf2_iterations: u32,
    /// Permit fewer iterations than OWASP's minimum: for tests only.
    pub allow_weak_password_hashing: bool,
    /// Lifetime of a session token, hours.
    pub session_ttl_hours: u32,
    /// Threads hashing passwords (0 = one per core).
    pub hash_workers: usize,
    /// File holding the hex AES-256 key that seals token seeds at rest; created
    /// (mode 0600) with a random key if missing. Default: `<data_dir>/token.key`.
    pub token_key_file: Option<PathBuf>,
    /// Failed password logins in a row before an agent or address cools down.
    pub login_max_consecutive_failures: u32,
    /// Length of that cool-down, seconds.
    pub login_cool_down_secs: u32,
    /// Failed password logins allowed per agent (and per address) per hour.
    pub login_max_failures_per_hour: u32,
    /// Failed logins in a row from one source address before it cools down
    /// (higher than per agent: an office behind one NAT address shares it).
    pub address_max_consecutive_failures: u32,
    /// Failed logins allowed per source address per hour.
    pub address_max_failures_per_hour: u32,
    /// Token codes accepted this many steps either side of the token's drift.
    pub otp_window_steps: u32,
    /// Failed codes in a row before a token locks.
    pub otp_max_failures: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("/var/lib/kefu"),
            listen: None,
            tls_listen: None,
            tls_cert: None,
            tls_key: None,
            admin_socket: None,
            shards: 0,
            pid_file: None,
            metrics_listen: None,
            storage: StorageConfig::default(),
            limits: LimitsConfig::default(),
            timeouts: TimeoutsConfig::default(),
            security: SecurityConfig::default(),
            sms: SmsConfig::default(),
            test: TestConfig::default(),
            files: FilesConfig::default(),
            mail: MailConfig::default(),
            web_listen: None,
            web: WebConfig::default(),
            cluster: None,
            standby: StandbyConfig::default(),
        }
    }
}

/// `[storage] wal_commit_off_loop_behind_ops` by default. Measured with every batch on
/// the loop (steady chat, 1 shard, `benches/results/commit-pipeline-2026-12-07.txt`): at
/// 5,000 msg/s 99.8 % of the batches hold fewer than 64 operations (mean 4.7, 22 µs a
/// write); at 20,000 msg/s about 80 % of the operations written are in batches of 64 or
/// more (mean 5.5 µs an operation, up to 4,096 operations a batch). The hand-off costs
/// two thread wake-ups, about 50 µs at the median (the `fsync` trace in the same file),
/// about what 10 operations cost on the loop. Session 13 sent every batch of 64 off
/// the loop; at 5,000 and 10,000 msg/s the few that came after a preemption put the
/// loop into the pipelined mode and raised p99 (0.36 → 0.87 ms, 1.63 → 2.89 ms,
/// `benches/results/sweep-2026-12-07-session13-wal-threshold.txt`), hence "only while
/// the loop is behind".
pub const DEFAULT_WAL_COMMIT_OFF_LOOP_BEHIND_OPS: usize = 64;

/// `[storage] wal_commit_off_loop_ops` by default: a batch this large goes off the loop
/// even when the loop keeps up, so that no single turn (a login storm, a burst after a
/// long preemption) stops the loop for a write of several milliseconds (1,024 operations
/// at 5.5 µs each).
pub const DEFAULT_WAL_COMMIT_OFF_LOOP_OPS: usize = 1024;

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            durability: DurabilityMode::Wal,
            max_open_files: 512,
            block_cache_mb: 256,
            backup_dir: None,
            wal_archive_seconds: 0,
            wal_commit_off_loop_ops: DEFAULT_WAL_COMMIT_OFF_LOOP_OPS,
            wal_commit_off_loop_behind_ops: DEFAULT_WAL_COMMIT_OFF_LOOP_BEHIND_OPS,
        }
    }
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_frame_bytes: kefu_wire::DEFAULT_MAX_FRAME,
            max_connections: 100_000,
            max_pending_output_bytes: 4 << 20,
            max_total_pending_output_bytes: 512 << 20,
            max_unacked_pushes: kefu_wire::server::DEFAULT_MAX_UNACKED_PUSHES,
            max_requests_per_turn: 2048,
            overload_after_ms: 500,
        }
    }
}

impl Default for TimeoutsConfig {
    fn default() -> Self {
        TimeoutsConfig {
            heartbeat_secs: 30,
            idle_timeout_secs: 90,
            handshake_timeout_secs: 10,
            login_timeout_secs: 30,
            closing_grace_secs: 5,
            resume_window_secs: 60,
        }
    }
}

impl Default for SecurityConfig {
    fn default() -> Self {
        SecurityConfig {
            pbkdf2_iterations: MIN_PRODUCTION_PBKDF2_ITERATIONS,
            allow_weak_password_hashing: false,
            session_ttl_hours: 24 * 30,
            hash_workers: 0,
            token_key_file: None,
            login_max_consecutive_failures: 10,
            login_cool_down_secs: 300,
            login_max_failures_per_hour: 100,
            address_max_consecutive_failures: 100,
            address_max_failures_per_hour: 1_000,
            otp_window_steps: 1,
            otp_max_failures: 10,
        }
    }
}

/// A configuration that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parser's explanation (with line and column).
        message: String,
    },
    /// A value is out of range or settings contradict each other.
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Reads and parses a TOML file (unknown keys are errors, so typos show).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    /// A configuration for tests: a temporary data directory, loopback on an
    /// ephemeral port, an admin socket inside the data directory, two shards
    /// and cheap password hashing.
    pub fn for_tests(data_dir: &Path) -> Config {
        Config {
            data_dir: data_dir.to_path_buf(),
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            admin_socket: Some(data_dir.join("admin.sock")),
            shards: 2,
            security: SecurityConfig {
                pbkdf2_iterations: 1_000,
                allow_weak_password_hashing: true,
                hash_workers: 2,
                ..SecurityConfig::default()
            },
            ..Config::default()
        }
    }

    /// Whether this appliance starts as the standby of a pair (`[cluster]`).
    pub fn is_standby(&self) -> bool {
        self.cluster
            .as_ref()
            .is_some_and(|c| c.role == crate::cluster::Role::Standby)
    }

    /// `[cluster]`'s problems, and `replicated` durability without a pair to replicate to.
    fn cluster_problems(&self, problems: &mut Vec<String>) {
        if let Some(cluster) = &self.cluster {
            cluster.problems(problems);
        }
        // A standby replicates once promoted, to a listener of its own.
        let replicates = self.cluster.as_ref().is_some_and(|c| {
            c.role == crate::cluster::Role::Primary || c.replication_listen.is_some()
        });
        if self.storage.durability == DurabilityMode::Replicated && !replicates {
            problems.push(
                "[storage] durability = \"replicated\" needs [cluster] role = \"primary\" \
                 (or a standby's replication_listen, served once it is promoted)"
                    .into(),
            );
        }
    }

    /// Checks ranges and consistency; returns the problems, all at once.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut problems = Vec::new();
        if let Some(url) = &self.sms.url {
            if let Err(e) = crate::sms_gateway::HttpTarget::parse(url) {
                problems.push(format!("[sms] url: {e}"));
            }
        }
        if !(1..=20).contains(&self.sms.max_attempts) {
            problems.push("[sms] max_attempts must be 1..=20".into());
        }
        if self.sms.backoff_secs == 0 || self.sms.max_backoff_secs < self.sms.backoff_secs {
            problems
                .push("[sms] backoff_secs must be at least 1 and at most max_backoff_secs".into());
        }
        if !(100..=60_000).contains(&self.sms.timeout_ms) {
            problems.push("[sms] timeout_ms must be 100..=60000".into());
        }
        self.mail.problems(&mut problems);
        self.cluster_problems(&mut problems);
        if !self.is_standby()
            && self.listen.is_none()
            && self.tls_listen.is_none()
            && self.admin_socket.is_none()
        {
            problems.push("nothing to listen on: set listen, tls_listen or admin_socket".into());
        }
        let has_cert = self.tls_cert.is_some() && self.tls_key.is_some();
        self.web
            .check(self.web_listen.is_some(), has_cert, &mut problems);
        if self.tls_listen.is_some() && (self.tls_cert.is_none() || self.tls_key.is_none()) {
            problems.push("tls_listen needs tls_cert and tls_key".into());
        }
        if self.metrics_listen.is_some_and(|a| !a.ip().is_loopback()) {
            problems.push(
                "metrics_listen must be a loopback address (127.0.0.1 or ::1): the \
                 metrics are not authenticated"
                    .into(),
            );
        }
        if self.shards > 256 {
            problems.push(format!("shards = {} (at most 256)", self.shards));
        }
        let l = &self.limits;
        if !(1024..=kefu_wire::MAX_FRAME_CEILING).contains(&l.max_frame_bytes) {
            problems.push(format!(
                "limits.max_frame_bytes = {} (1024..={})",
                l.max_frame_bytes,
                kefu_wire::MAX_FRAME_CEILING
            ));
        }
        if l.max_pending_output_bytes < l.max_frame_bytes as usize * 2 {
            problems.push(
                "limits.max_pending_output_bytes must be at least twice max_frame_bytes".into(),
            );
        }
        if l.max_total_pending_output_bytes < l.max_pending_output_bytes {
            problems.push(
                "limits.max_total_pending_output_bytes must be at least \
                 max_pending_output_bytes"
                    .into(),
            );
        }
        if l.max_connections == 0 {
            problems.push("limits.max_connections must be positive".into());
        }
        if l.max_unacked_pushes == 0 {
            problems.push("limits.max_unacked_pushes must be positive".into());
        }
        if l.max_requests_per_turn == 0 {
            problems.push("limits.max_requests_per_turn must be positive".into());
        }
        let t = &self.timeouts;
        if t.heartbeat_secs == 0 || t.idle_timeout_secs <= t.heartbeat_secs {
            problems.push("timeouts: idle_timeout_secs must exceed heartbeat_secs > 0".into());
        }
        if t.handshake_timeout_secs == 0 {
            problems.push("timeouts.handshake_timeout_secs must be positive".into());
        }
        if t.login_timeout_secs == 0 {
            problems.push("timeouts.login_timeout_secs must be positive".into());
        }
        if t.closing_grace_secs == 0 {
            problems.push("timeouts.closing_grace_secs must be positive".into());
        }
        let s = &self.security;
        if s.pbkdf2_iterations < MIN_PRODUCTION_PBKDF2_ITERATIONS && !s.allow_weak_password_hashing
        {
            problems.push(format!(
                "security.pbkdf2_iterations = {} is below OWASP's {}; raise it (allow_weak_password_hashing exists for tests only)",
                s.pbkdf2_iterations, MIN_PRODUCTION_PBKDF2_ITERATIONS
            ));
        }
        if s.pbkdf2_iterations == 0 {
            problems.push("security.pbkdf2_iterations must be positive".into());
        }
        if [
            s.login_max_consecutive_failures,
            s.login_max_failures_per_hour,
            s.address_max_consecutive_failures,
            s.address_max_failures_per_hour,
        ]
        .contains(&0)
        {
            problems.push("security: login failure limits must be positive".into());
        }
        if s.otp_max_failures == 0 || s.otp_window_steps > 10 {
            problems.push(
                "security: otp_max_failures must be positive and otp_window_steps at most 10"
                    .into(),
            );
        }
        if s.session_ttl_hours == 0 {
            problems.push("security.session_ttl_hours must be positive".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(problems.join("; ")))
        }
    }

    /// Where the token sealing key lives.
    pub fn token_key_path(&self) -> PathBuf {
        self.security
            .token_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("token.key"))
    }

    /// Where backups go (`[storage] backup_dir`, default `<data_dir>/backups`).
    pub fn backup_path(&self) -> PathBuf {
        self.storage
            .backup_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("backups"))
    }

    /// The number of shard threads to run.
    pub fn shard_count(&self) -> usize {
        match self.shards {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The number of password-hashing threads to run.
    pub fn hash_worker_count(&self) -> usize {
        match self.security.hash_workers {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
    }

    /// The settings a running daemon can take over on SIGHUP.
    pub fn runtime(&self) -> RuntimeSettings {
        RuntimeSettings {
            max_frame: self.limits.max_frame_bytes,
            max_connections: self.limits.max_connections,
            max_pending_output: self.limits.max_pending_output_bytes,
            max_total_pending_output: self.limits.max_total_pending_output_bytes,
            max_unacked_pushes: self.limits.max_unacked_pushes,
            max_requests_per_turn: self.limits.max_requests_per_turn,
            wal_commit_off_loop_ops: self.storage.wal_commit_off_loop_ops,
            wal_commit_off_loop_behind_ops: self.storage.wal_commit_off_loop_behind_ops,
            overload_after: Duration::from_millis(self.limits.overload_after_ms.into()),
            heartbeat: Duration::from_secs(self.timeouts.heartbeat_secs.into()),
            idle_timeout: Duration::from_secs(self.timeouts.idle_timeout_secs.into()),
            handshake_timeout: Duration::from_secs(self.timeouts.handshake_timeout_secs.into()),
            login_timeout: Duration::from_secs(self.timeouts.login_timeout_secs.into()),
            closing_grace: Duration::from_secs(self.timeouts.closing_grace_secs.into()),
            resume_window_secs: self.timeouts.resume_window_secs,
            pbkdf2_iterations: self.security.pbkdf2_iterations,
            session_ttl_secs: i64::from(self.security.session_ttl_hours) * 3600,
            throttle: crate::throttle::ThrottleLimits {
                max_consecutive: self.security.login_max_consecutive_failures,
                cool_down_secs: i64::from(self.security.login_cool_down_secs),
                max_per_hour: self.security.login_max_failures_per_hour,
            },
            address_throttle: crate::throttle::ThrottleLimits {
                max_consecutive: self.security.address_max_consecutive_failures,
                cool_down_secs: i64::from(self.security.login_cool_down_secs),
                max_per_hour: self.security.address_max_failures_per_hour,
            },
            sms: self.sms.clone(),
            mail: self.mail.clone(),
            token_policy: crate::otp::token::TokenPolicy {
                verify_window: self.security.otp_window_steps,
                max_failures: std::num::NonZeroU32::new(self.security.otp_max_failures)
                    .unwrap_or(std::num::NonZeroU32::MIN),
                ..crate::otp::token::TokenPolicy::default()
            },
        }
    }
}

/// What SIGHUP can change without a restart (the rest needs one).
#[derive(Debug, Clone, PartialEq)]
pub struct RuntimeSettings {
    /// Largest frame body accepted.
    pub max_frame: u32,
    /// Connection cap for the whole daemon (each shard takes its share).
    pub max_connections: usize,
    /// Slow-consumer threshold.
    pub max_pending_output: usize,
    /// The daemon-wide budget for unsent output (each shard takes an equal share).
    pub max_total_pending_output: usize,
    /// Pushes a connection may leave unacknowledged.
    pub max_unacked_pushes: u64,
    /// Requests a shard serves per loop turn.
    pub max_requests_per_turn: usize,
    /// `[storage] wal_commit_off_loop_ops`: in `wal` mode, batches of at least this
    /// many operations are written off the loop (0: never, whatever the load). Read
    /// once, when a shard starts (a storage setting: a reload says it needs a restart).
    pub wal_commit_off_loop_ops: usize,
    /// `[storage] wal_commit_off_loop_behind_ops`: in `wal` mode, while the loop is
    /// behind, batches of at least this many operations are written off the loop too
    /// (0: no such rule). Read once, when a shard starts.
    pub wal_commit_off_loop_behind_ops: usize,
    /// How long a shard may stay backlogged before it refuses `OVERLOADED`.
    pub overload_after: Duration,
    /// Client heartbeat interval announced in `Welcome`.
    pub heartbeat: Duration,
    /// Idle timeout.
    pub idle_timeout: Duration,
    /// Handshake timeout.
    pub handshake_timeout: Duration,
    /// Time a connection gets to log in.
    pub login_timeout: Duration,
    /// Time a closing connection gets to take its goodbye.
    pub closing_grace: Duration,
    /// How long a detached resumable session waits, seconds (0: resuming is off).
    pub resume_window_secs: u32,
    /// Iterations for new password hashes.
    pub pbkdf2_iterations: u32,
    /// Session token lifetime.
    pub session_ttl_secs: i64,
    /// Failed-login throttling per agent.
    pub throttle: crate::throttle::ThrottleLimits,
    /// Failed-login throttling per source address.
    pub address_throttle: crate::throttle::ThrottleLimits,
    /// Token code windows and lockout.
    pub token_policy: crate::otp::token::TokenPolicy,
    /// The SMS gateway and its retry schedule (a new URL applies to the next attempt).
    pub sms: SmsConfig,
    /// The SMTP relay of the weekly CSAT mail (applies to the next mail).
    pub mail: MailConfig,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_default_config_parses_and_validates() {
        let text = include_str!("../kefud.toml");
        let config = Config::from_toml(text).expect("parses");
        config.validate().expect("valid");
    }

    #[test]
    fn push_window_and_closing_grace_defaults_match_the_shipped_file() {
        let shipped = Config::from_toml(include_str!("../kefud.toml")).expect("parses");
        let defaults = Config::default();
        assert_eq!(
            shipped.limits.max_unacked_pushes,
            kefu_wire::server::DEFAULT_MAX_UNACKED_PUSHES
        );
        assert_eq!(
            defaults.limits.max_unacked_pushes,
            shipped.limits.max_unacked_pushes
        );
        assert_eq!(
            defaults.timeouts.closing_grace_secs,
            shipped.timeouts.closing_grace_secs
        );
        let runtime = shipped.runtime();
        assert_eq!(runtime.closing_grace, Duration::from_secs(5));
        let mut zero = Config::for_tests(Path::new("/tmp/x"));
        zero.limits.max_unacked_pushes = 0;
        zero.timeouts.closing_grace_secs = 0;
        let e = zero.validate().unwrap_err().to_string();
        assert!(
            e.contains("max_unacked_pushes") && e.contains("closing_grace_secs"),
            "{e}"
        );
    }

    #[test]
    fn the_wal_off_loop_keys_reach_the_shards_and_an_old_file_keeps_its_meaning() {
        let both = Config::from_toml(
            "[storage]\nwal_commit_off_loop_ops = 64\nwal_commit_off_loop_behind_ops = 0",
        )
        .expect("parses")
        .runtime();
        assert_eq!(
            (
                both.wal_commit_off_loop_ops,
                both.wal_commit_off_loop_behind_ops
            ),
            (64, 0)
        );
        // A file of session 13 names only the first key: it still means "from this
        // size, always", and the rule for a loop behind comes with its default.
        let old = Config::from_toml("[storage]\nwal_commit_off_loop_ops = 256")
            .expect("parses")
            .runtime();
        assert_eq!(
            (
                old.wal_commit_off_loop_ops,
                old.wal_commit_off_loop_behind_ops
            ),
            (256, DEFAULT_WAL_COMMIT_OFF_LOOP_BEHIND_OPS)
        );
    }

    #[test]
    fn weak_hashing_refused_without_the_test_flag() {
        let mut c = Config::for_tests(Path::new("/tmp/x"));
        c.security.allow_weak_password_hashing = false;
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("pbkdf2_iterations"), "{e}");
    }

    #[test]
    fn clock_control_is_off_unless_asked_for() {
        let shipped = Config::from_toml(include_str!("../kefud.toml")).expect("parses");
        assert!(!shipped.test.clock_control);
        assert!(!Config::default().test.clock_control);
        let on = Config::from_toml("[test]\nclock_control = true").expect("parses");
        assert!(on.test.clock_control);
        assert!(Config::from_toml("[test]\nclock = true").is_err());
    }

    #[test]
    fn unknown_keys_and_bad_values_are_reported() {
        assert!(Config::from_toml("lisen = \"127.0.0.1:1\"").is_err());
        assert!(Config::from_toml("[storage]\ndurability = \"sometimes\"").is_err());
        let c = Config::from_toml("tls_listen = \"0.0.0.0:7443\"").unwrap();
        assert!(c.validate().unwrap_err().to_string().contains("tls_cert"));
    }
}
