//! Command-line syntax of `kefuctl`: clap types and the parsers of their values.
//!
//! Everything here is syntax; the meaning lives in the command modules.
//! Secrets are deliberately absent: they come from the environment or
//! standard input (see `secrets.rs`), never from flags visible in `ps`.

use crate::clock::{DurationArg, TimeArg};
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
    /// Manage an account's roles: named sets of the manual's 16 permissions.
    #[command(subcommand)]
    Role(RoleCommand),
    /// An account's security level: when hardware-token codes are asked for.
    #[command(subcommand)]
    Security(SecurityCommand),
    /// Hardware tokens: import seed files, bind to agents, calibrate, unlock.
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// An account's contacts (CRM): import and export CSV files, count.
    #[command(subcommand)]
    Contacts(ContactsCommand),
    /// Per-shard counters of the running daemon.
    Stats(StatsArgs),
    /// Check a listener end to end as a client would: connect, TLS, handshake, login, pings.
    Diagnose(DiagnoseArgs),
    /// The daemon's clock; on a test appliance, move it forward.
    ///
    /// Moving the clock needs `[test] clock_control = true` in kefud.toml (never
    /// in production); otherwise set and advance are refused and change nothing.
    #[command(subcommand)]
    Clock(ClockCommand),
    /// Certificates for trying the TLS listener.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Online backups of the daemon's database (restore with `kefud --restore`).
    #[command(subcommand)]
    Backup(BackupCommand),
    /// SMS forwarding of offline messages: an account's balance, its dead letters,
    /// and phone replies from the gateway's bridge.
    #[command(subcommand)]
    Sms(SmsCommand),
    /// An account's value-added balance (units; 1 unit = 1 yuan) and points.
    #[command(subcommand)]
    Balance(BalanceCommand),
    /// Broadcasts: the review queue, and the sensitive-word list.
    #[command(subcommand)]
    Broadcast(BroadcastCommand),
    /// Entry-point codes (在线咨询图标) a site embeds: create, edit, list, delete.
    #[command(subcommand)]
    Code(crate::code::CodeCommand),
    /// Export a report (daily work report, survey results or answers) as CSV or Excel.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Customer satisfaction: an account's CSAT report as CSV or Excel.
    #[command(subcommand)]
    Csat(CsatCommand),
    /// A pair's leadership in etcd: `status` (leader, epoch, lease, lag), `promote`.
    Cluster(crate::cluster::ClusterArgs),
    /// Enterprise profiles and chat-window styles: the review queue.
    #[command(subcommand)]
    Profile(crate::profile::ProfileCommand),
}

/// `kefuctl report ...`
#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The daily work report (§7.19): per agent and day, conversations and customers.
    Work(ReportWorkArgs),
    /// A survey's per-option results (§9.9), or with `--answers` each contact's answer.
    Survey(ReportSurveyArgs),
    /// The CSAT report per agent (§10.1.2), or with `--detail` every rating.
    Csat(ReportCsatArgs),
    /// The visit trend (§7.20): visits and unique visitors per day.
    Visits(ReportDaysArgs),
    /// Site analytics (§4.8): consultations, visits, page views per day; referrers; regions.
    Site(ReportDaysArgs),
}

/// `kefuctl report csat`
#[derive(Debug, Args)]
pub struct ReportCsatArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// First day, YYYY-MM-DD (the account's local days); default six days before --to.
    #[arg(long)]
    pub from: Option<Date>,
    /// Last day, included (at most 180 days in all); default today.
    #[arg(long)]
    pub to: Option<Date>,
    /// Every rating instead of the per-agent summary.
    #[arg(long)]
    pub detail: bool,
    /// File format.
    #[arg(long, value_enum, default_value = "xlsx")]
    pub format: ReportFormatArg,
    /// Where to write the file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `kefuctl report visits|site`
#[derive(Debug, Args)]
pub struct ReportDaysArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// First day, YYYY-MM-DD (UTC days).
    #[arg(long)]
    pub from: Date,
    /// Last day, YYYY-MM-DD, included (at most 366 days in all).
    #[arg(long)]
    pub to: Date,
    /// File format.
    #[arg(long, value_enum, default_value = "xlsx")]
    pub format: ReportFormatArg,
    /// Where to write the file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// The export file's format.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormatArg {
    /// CSV, UTF-8 with a byte-order mark.
    Csv,
    /// An Excel workbook.
    Xlsx,
}

/// `kefuctl report work`
#[derive(Debug, Args)]
pub struct ReportWorkArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// First day, YYYY-MM-DD (the account's local days).
    #[arg(long)]
    pub from: Date,
    /// Last day, YYYY-MM-DD, included (at most 180 days after `--from`).
    #[arg(long)]
    pub to: Date,
    /// Only this agent.
    #[arg(long)]
    pub agent: Option<u32>,
    /// File format.
    #[arg(long, value_enum, default_value = "xlsx")]
    pub format: ReportFormatArg,
    /// Where to write the file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `kefuctl report survey`
#[derive(Debug, Args)]
pub struct ReportSurveyArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// The survey's number.
    #[arg(long)]
    pub survey: u64,
    /// Each contact's answer instead of the per-option results.
    #[arg(long)]
    pub answers: bool,
    /// File format.
    #[arg(long, value_enum, default_value = "xlsx")]
    pub format: ReportFormatArg,
    /// Where to write the file.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// `kefuctl csat ...`
#[derive(Debug, Subcommand)]
pub enum CsatCommand {
    /// The report of a range of days (at most 180; by default the last 7).
    Report(CsatReportArgs),
}

/// File formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// Comma-separated values (UTF-8 with BOM).
    Csv,
    /// Excel workbook (needs --out).
    Xlsx,
}

/// `kefuctl csat report`
#[derive(Debug, Args)]
pub struct CsatReportArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// First day, YYYY-MM-DD (in the account's UTC offset); default six days before --to.
    #[arg(long)]
    pub from: Option<Date>,
    /// Last day, included; default today.
    #[arg(long)]
    pub to: Option<Date>,
    /// Every rating instead of the per-agent summary.
    #[arg(long)]
    pub detail: bool,
    /// csv or xlsx.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Write to this file instead of stdout.
    #[arg(long)]
    pub out: Option<std::path::PathBuf>,
}

/// `kefuctl sms ...`
#[derive(Debug, Subcommand)]
pub enum SmsCommand {
    /// Add units to an account's SMS balance (one unit per SMS segment).
    Topup(SmsTopUpArgs),
    /// An account's SMS balance: free, held for queued SMS, spent, refunded.
    Balance(SmsAccountArgs),
    /// An account's SMS that failed after their last attempt (units refunded), newest first.
    DeadLetters(SmsAccountArgs),
    /// Thread a phone's reply to an SMS back into the customer's conversation (what
    /// the gateway's bridge runs); the text is read from standard input.
    Reply(SmsReplyArgs),
}

/// `kefuctl sms topup`
#[derive(Debug, Args)]
pub struct SmsTopUpArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// Units to add (1..=1000000).
    #[arg(value_name = "UNITS")]
    pub units: u32,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl sms balance|dead-letters`
#[derive(Debug, Args)]
pub struct SmsAccountArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl sms reply`
#[derive(Debug, Args)]
pub struct SmsReplyArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// The SMS replied to (the `sms` field of the gateway's JSON).
    #[arg(long)]
    pub sms: u64,
    /// The gateway's id of the reply (the same id again is stored once).
    #[arg(long)]
    pub reply_id: u64,
}

/// `kefuctl backup ...`
#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Take a backup now, while the daemon serves, into its `[storage] backup_dir`.
    Create(BackupListArgs),
    /// The backups in the backup directory, oldest first.
    List(BackupListArgs),
    /// Check a backup whole: its files' sizes, then every key read back from a
    /// scratch restore with its checksums verified.
    Verify(BackupVerifyArgs),
}

/// `kefuctl backup create|list`
#[derive(Debug, Args)]
pub struct BackupListArgs {
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl backup verify`
#[derive(Debug, Args)]
pub struct BackupVerifyArgs {
    /// The backup's number (from `kefuctl backup list`).
    pub id: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl tls ...`
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a trial CA (ca.pem, for clients) and a server certificate signed by it
    /// (cert.pem and key.pem, for kefud). A server may not use a CA certificate as its
    /// own, which is what `openssl req -x509` makes.
    SelfSigned(TlsSelfSignedArgs),
}

/// `kefuctl tls self-signed`
#[derive(Debug, Args)]
pub struct TlsSelfSignedArgs {
    /// Directory to write ca.pem, cert.pem and key.pem into (created if missing).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Names clients use to reach the server: DNS names or IP addresses (repeat).
    #[arg(long, value_name = "NAME", default_values_t = ["localhost".to_string()])]
    pub name: Vec<String>,
    /// Replace files that exist.
    #[arg(long)]
    pub force: bool,
}

/// `kefuctl clock ...`
#[derive(Debug, Subcommand)]
pub enum ClockCommand {
    /// Show the time the daemon's rules see now, and whether it is a test clock.
    Show(ClockShowArgs),
    /// Move the test clock forward to a time (never back).
    Set(ClockSetArgs),
    /// Move the test clock forward by a duration.
    Advance(ClockAdvanceArgs),
}

/// `kefuctl clock show`
#[derive(Debug, Args)]
pub struct ClockShowArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl clock set`
#[derive(Debug, Args)]
pub struct ClockSetArgs {
    /// The new time: RFC 3339 (2027-01-31T08:00:00Z, 2027-01-31T16:00:00+08:00),
    /// a date (midnight UTC), or unix milliseconds.
    #[arg(value_name = "TIME")]
    pub time: TimeArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl clock advance`
#[derive(Debug, Args)]
pub struct ClockAdvanceArgs {
    /// How far: numbers with units w, d, h, m, s, ms (31d, 2h30m, 90s).
    #[arg(value_name = "DURATION")]
    pub by: DurationArg,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
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
    /// Make a new customer-signing key for the account and print it (hex).
    ///
    /// The enterprise's backend signs its customers' logins with this key
    /// (HMAC-SHA256, see wire/PROTOCOL.md section 12). The previous key stops
    /// working at once, and so do visitor tokens.
    CustomerKey(CustomerKeyArgs),
    /// Delete an account and everything of it (feature E6): agents, roles, sessions,
    /// settings, conversations, history, contacts, quick replies, the hardware tokens
    /// bound to its agents. Its agents and customers are disconnected. Cannot be undone.
    ///
    /// Needs --confirm with the account's number repeated.
    Delete(DeleteAccountArgs),
}

/// `kefuctl account delete`
#[derive(Debug, Args)]
pub struct DeleteAccountArgs {
    /// Account number.
    #[arg(value_name = "ID")]
    pub id: u64,
    /// The account's number again: nothing is deleted unless it matches ID.
    #[arg(long, value_name = "ID")]
    pub confirm: Option<u64>,
}

/// `kefuctl account customer-key`
#[derive(Debug, Args)]
pub struct CustomerKeyArgs {
    /// Account number.
    #[arg(value_name = "ID")]
    pub id: u64,
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
    /// Show an agent's profile, or change it with --set.
    ///
    /// With --set, the fields given replace the current ones and the others
    /// are kept; an empty --group or --phone clears it.
    Profile(AgentProfileArgs),
    /// Clear an agent's failed-login throttling, so that it may log in at once.
    Unlock(AgentUnlockArgs),
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

/// `kefuctl agent profile`
#[derive(Debug, Args)]
pub struct AgentProfileArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Agent number.
    #[arg(long, value_name = "N")]
    pub agent: u32,
    /// Change the profile (give at least one field); prints the new profile.
    #[arg(long, requires = "ProfileFields")]
    pub set: bool,
    #[command(flatten)]
    pub fields: ProfileFields,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "set")]
    pub json: bool,
}

/// The profile fields `agent profile --set` may change.
#[derive(Debug, Args)]
#[group(multiple = true, requires = "set")]
pub struct ProfileFields {
    /// Display name (1 to 64 characters).
    #[arg(long, value_name = "S")]
    pub nickname: Option<String>,
    /// Agent group name (at most 64 characters; empty: no group).
    #[arg(long, value_name = "S")]
    pub group: Option<String>,
    /// What customers see: the nickname or the agent number.
    #[arg(long, value_enum, value_name = "MODE")]
    pub display: Option<DisplayArg>,
    /// Phone number: digits, spaces, + and - (at most 32; empty: no phone).
    #[arg(long, value_name = "S")]
    pub phone: Option<String>,
}

/// How customers see an agent, as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DisplayArg {
    /// Show the nickname.
    Nickname,
    /// Show the agent number.
    Number,
}

/// `kefuctl agent unlock`
#[derive(Debug, Args)]
pub struct AgentUnlockArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Agent number.
    #[arg(long, value_name = "N")]
    pub agent: u32,
}

/// `kefuctl role ...`
///
/// Permissions are written as their numbers in the manual's list, 1 to 16,
/// separated by commas ("4,5,8"), or as "all" or "none".
#[derive(Debug, Subcommand)]
pub enum RoleCommand {
    /// List an account's roles, their permissions and how many agents hold each.
    List(RoleListArgs),
    /// Create a role; prints its new id alone on a line.
    Create(RoleCreateArgs),
    /// Rename a role or replace its permissions (holders get them at their next request).
    Update(RoleUpdateArgs),
    /// Delete a custom role that no agent holds.
    Delete(RoleDeleteArgs),
    /// Give an agent a role (it applies at the agent's next request).
    Assign(RoleAssignArgs),
}

/// `kefuctl role list`
#[derive(Debug, Args)]
pub struct RoleListArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl role create`
#[derive(Debug, Args)]
pub struct RoleCreateArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Role name (1 to 32 characters, unique in the account).
    #[arg(long, value_name = "S")]
    pub name: String,
    /// Permission numbers 1 to 16, comma-separated ("4,5,8"), or "all" or "none".
    #[arg(long, value_name = "LIST")]
    pub permissions: Permissions,
}

/// `kefuctl role update`
#[derive(Debug, Args)]
pub struct RoleUpdateArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Role id.
    #[arg(long, value_name = "R")]
    pub role: u32,
    #[command(flatten)]
    pub change: RoleChange,
}

/// What `role update` changes: at least one of the two; the other is kept.
#[derive(Debug, Args)]
#[group(required = true, multiple = true)]
pub struct RoleChange {
    /// New role name.
    #[arg(long, value_name = "S")]
    pub name: Option<String>,
    /// New permissions, replacing the old ones: "4,5,8", "all" or "none".
    #[arg(long, value_name = "LIST")]
    pub permissions: Option<Permissions>,
}

/// `kefuctl role delete`
#[derive(Debug, Args)]
pub struct RoleDeleteArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Role id.
    #[arg(long, value_name = "R")]
    pub role: u32,
}

/// `kefuctl role assign`
#[derive(Debug, Args)]
pub struct RoleAssignArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Agent number (not 1001, whose role never changes).
    #[arg(long, value_name = "N")]
    pub agent: u32,
    /// Role id.
    #[arg(long, value_name = "R")]
    pub role: u32,
}

/// A set of the manual's 16 permissions as written on the command line:
/// `4,5,8`, `all` or `none`. Bit *i* is permission *i*+1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions(pub u16);

impl Permissions {
    /// The permission numbers in the set, ascending (1 to 16).
    pub fn numbers(self) -> Vec<u32> {
        (1..=16).filter(|n| self.0 & (1 << (n - 1)) != 0).collect()
    }
}

impl FromStr for Permissions {
    type Err = String;

    fn from_str(s: &str) -> Result<Permissions, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("all") {
            return Ok(Permissions(u16::MAX));
        }
        if s.eq_ignore_ascii_case("none") {
            return Ok(Permissions(0));
        }
        let mut bits = 0u16;
        for item in s.split(',') {
            let item = item.trim();
            let n: u32 = item.parse().map_err(|_| {
                format!(
                    "expected permission numbers 1 to 16 separated by commas, \"all\" or \"none\"; \
                     {item:?} is not a number"
                )
            })?;
            if !(1..=16).contains(&n) {
                return Err(format!(
                    "there is no permission {n}: permissions are numbered 1 to 16"
                ));
            }
            bits |= 1 << (n - 1);
        }
        Ok(Permissions(bits))
    }
}

impl std::fmt::Display for Permissions {
    /// `4,5,8`, or `none`: what [`FromStr`] reads back.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let numbers = self.numbers();
        if numbers.is_empty() {
            return f.write_str("none");
        }
        let text: Vec<String> = numbers.iter().map(u32::to_string).collect();
        f.write_str(&text.join(","))
    }
}

/// `kefuctl security ...`
#[derive(Debug, Subcommand)]
pub enum SecurityCommand {
    /// Show an account's security level, or change it with --set.
    ///
    /// low: token codes are never asked for; medium (the default): codes
    /// protect value-added operations; high: every agent's login needs a code
    /// too. high is refused until agent 1001 has a token bound (see
    /// `kefuctl tokens bind`); bind tokens to the other agents first, or they
    /// cannot log in.
    Level(SecurityLevelArgs),
}

/// `kefuctl security level`
#[derive(Debug, Args)]
pub struct SecurityLevelArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Set the level instead of showing it.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub set: Option<LevelArg>,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "set")]
    pub json: bool,
}

/// A security level as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LevelArg {
    /// Token codes are never asked for.
    Low,
    /// Codes protect value-added operations (the default).
    Medium,
    /// Codes protect logins too, for every agent.
    High,
}

/// `kefuctl tokens ...`
///
/// Token codes (the 6 digits a token shows) are read from KEFU_OTP (and
/// KEFU_OTP_NEXT), or else from standard input, one line each.
#[derive(Debug, Subcommand)]
pub enum TokensCommand {
    /// Import token seeds from a vendor file (PSKC XML or CSV); all or nothing.
    ///
    /// For encrypted PSKC files, the pre-shared key (hex) is read from
    /// KEFU_PSKC_KEY, or the password of a PBKDF2-derived key from
    /// KEFU_PSKC_PASSWORD; neither is asked for, both are optional. The file
    /// travels in one request, so it may be at most 1 MiB (the daemon's frame
    /// limit): split larger files. Prints how many tokens were imported, then
    /// their serials, one per line.
    Import(TokensImportArgs),
    /// Bind a token to an agent, proving it is at hand with the code it shows now.
    ///
    /// The code is read from KEFU_OTP, or else from one line of standard input.
    Bind(TokensBindArgs),
    /// Unbind an agent's token (the token keeps its seed and may be bound again).
    Unbind(TokensUnbindArgs),
    /// Re-synchronise a token's clock with two consecutive codes.
    ///
    /// The code shown now and the one shown next are read from KEFU_OTP and
    /// KEFU_OTP_NEXT, or else from standard input, one line each (in that
    /// order). The token must be unbound or bound to an agent of the account.
    Calibrate(TokensCalibrateArgs),
    /// Unlock a token locked after too many wrong codes (clears its failure count).
    Unlock(TokensUnlockArgs),
}

/// `kefuctl tokens import`
#[derive(Debug, Args)]
pub struct TokensImportArgs {
    /// The seed file (at most 1 MiB).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// File format (default: from the extension: .xml, .pskc or .pskcxml is
    /// PSKC, .csv is CSV).
    #[arg(long, value_enum)]
    pub format: Option<TokenFormatArg>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A seed file format as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TokenFormatArg {
    /// RFC 6030 PSKC XML.
    Pskc,
    /// Lines `serial,secret`, the secret in hex or base32.
    Csv,
}

/// `kefuctl tokens bind`
#[derive(Debug, Args)]
pub struct TokensBindArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Agent number (it must have no token yet).
    #[arg(long, value_name = "N")]
    pub agent: u32,
    /// Serial number of an imported, unbound token.
    #[arg(long, value_name = "S")]
    pub serial: String,
}

/// `kefuctl tokens unbind`
#[derive(Debug, Args)]
pub struct TokensUnbindArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Agent number.
    #[arg(long, value_name = "N")]
    pub agent: u32,
}

/// `kefuctl tokens calibrate`
#[derive(Debug, Args)]
pub struct TokensCalibrateArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Token serial number.
    #[arg(long, value_name = "S")]
    pub serial: String,
}

/// `kefuctl tokens unlock`
#[derive(Debug, Args)]
pub struct TokensUnlockArgs {
    /// Token serial number.
    #[arg(value_name = "SERIAL")]
    pub serial: String,
}

/// `kefuctl contacts ...`
///
/// Runs on the account with operator authority, as its agent 1001. The CSV
/// format (columns id, visitor, state, owner, real_name, remark, nickname,
/// phone, email, groups, tags, field:NAME, or their Chinese names) is
/// documented at the top of daemon/src/crm/import.rs.
#[derive(Debug, Subcommand)]
pub enum ContactsCommand {
    /// Import contacts from a CSV file, streamed in chunks; prints the result report.
    ///
    /// The first line names the columns: id or visitor (32 hex digits), and
    /// any of state, owner, real_name, remark, nickname, phone, email, groups,
    /// tags (names separated by ";") and field:NAME, or their Chinese names
    /// (daemon/src/crm/import.rs has the table). The file is sent in chunks of
    /// 256 KiB, so its size has no limit.
    ///
    /// Rows naming existing contacts are skipped; invalid rows are listed with
    /// their line numbers and never stop the others. Without an owner column
    /// the contacts have no owner. An operator's import is bound by the plan's
    /// contact limit but not by the agents' daily import rule (§5.5: free up
    /// to 10,000 imported rows, then 1,000 a day). Run one import per account
    /// at a time. Exits 0 when the file was taken, even if some rows were
    /// invalid or refused; 1 when the whole file was refused (a bad header)
    /// or the import broke off.
    Import(ContactsImportArgs),
    /// Export every contact as CSV that `contacts import` reads back identically.
    Export(ContactsExportArgs),
    /// Print how many contacts the account holds (in every state, or in one).
    Count(ContactsCountArgs),
}

/// `kefuctl contacts import`
#[derive(Debug, Args)]
pub struct ContactsImportArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// The CSV file (UTF-8; "-" reads standard input).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Print the report as JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Bytes per chunk (at most 256 KiB); for tests of chunking.
    #[arg(long, hide = true, value_name = "BYTES", default_value_t = 256 * 1024,
          value_parser = clap::value_parser!(u32).range(1..=256 * 1024))]
    pub chunk_size: u32,
}

/// `kefuctl contacts export`
#[derive(Debug, Args)]
pub struct ContactsExportArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Write to this file instead of standard output (replaced only once the
    /// export is complete).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Most contacts asked for per request (at most 5,000); for tests of paging.
    #[arg(long, hide = true, value_name = "N", default_value_t = 5_000,
          value_parser = clap::value_parser!(u32).range(1..=5_000))]
    pub page_size: u32,
}

/// `kefuctl contacts count`
#[derive(Debug, Args)]
pub struct ContactsCountArgs {
    /// Account number.
    #[arg(long, value_name = "N")]
    pub account: u64,
    /// Count only contacts in this state.
    #[arg(long, value_enum, value_name = "STATE")]
    pub state: Option<ContactStateArg>,
}

/// A contact state as written on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ContactStateArg {
    /// Friends (好友).
    Friend,
    /// Strangers (陌生人).
    Stranger,
    /// The blacklist (黑名单).
    Blacklisted,
    /// Friend requests waiting for the customer (待验证).
    Pending,
}

/// `kefuctl stats`
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print JSON instead of a table.
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Print every metric as Prometheus text, as `metrics_listen` serves it.
    #[arg(long)]
    pub prometheus: bool,
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
    /// Skip the storage check. Otherwise diagnose asks the daemon, over the admin
    /// socket (--admin-socket), to make a synced write and report its latency and the
    /// free space; where that socket cannot be opened the step says so and is skipped.
    #[arg(long)]
    pub no_storage: bool,
    /// Warn when the clocks differ by more than this many milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2_000)]
    pub max_skew_ms: u64,
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

    #[test]
    fn permissions_parse_and_print_back() {
        let cases: &[(&str, Option<u16>)] = &[
            ("4,5,8", Some(0x0098)),
            ("8,4,5,4", Some(0x0098)),
            (" 1 , 2 ,11 ", Some(0x0403)),
            ("16", Some(0x8000)),
            ("all", Some(0xffff)),
            ("ALL", Some(0xffff)),
            ("none", Some(0)),
            ("", None),
            ("0", None),
            ("17", None),
            ("1,,2", None),
            ("1;2", None),
            ("-1", None),
            ("x", None),
            ("99999999999", None),
        ];
        for (input, want) in cases {
            let got = input.parse::<Permissions>().ok().map(|p| p.0);
            assert_eq!(got, *want, "{input:?}");
        }
        assert_eq!(Permissions(0x0098).to_string(), "4,5,8");
        assert_eq!(Permissions(0).to_string(), "none");
        for bits in [0u16, 1, 0x0098, 0x0fff, 0xffff, 0x8001] {
            let text = Permissions(bits).to_string();
            assert_eq!(text.parse::<Permissions>(), Ok(Permissions(bits)), "{text}");
        }
        assert!("17".parse::<Permissions>().unwrap_err().contains("1 to 16"));
    }
}

/// `kefuctl broadcast ...`
#[derive(Debug, Subcommand)]
pub enum BroadcastCommand {
    /// The review queue: list, approve, reject.
    #[command(subcommand)]
    Review(ReviewCommand),
    /// Replace the sensitive-word list with the words of FILE (one a line; `-` for stdin).
    Words {
        /// The word file.
        file: PathBuf,
    },
}

/// `kefuctl broadcast review ...`
#[derive(Debug, Subcommand)]
pub enum ReviewCommand {
    /// The broadcasts pending review, oldest submission first: of every account (each
    /// row names its account), or of one with `--account`.
    List {
        /// Only this account.
        #[arg(long)]
        account: Option<u64>,
    },
    /// Approve a broadcast: it is sent at its time, or at once.
    Approve {
        /// The account.
        #[arg(long)]
        account: u64,
        /// The broadcast.
        #[arg(long)]
        id: u64,
    },
    /// Reject a broadcast (its units are refunded).
    Reject {
        /// The account.
        #[arg(long)]
        account: u64,
        /// The broadcast.
        #[arg(long)]
        id: u64,
        /// Why (1..=200 characters).
        #[arg(long)]
        reason: String,
    },
}

/// `kefuctl balance ...`
#[derive(Debug, Subcommand)]
pub enum BalanceCommand {
    /// Add units to an account's balance (recorded in its ledger).
    Topup(BalanceTopupArgs),
    /// Show an account's balance and points.
    Show(BalanceShowArgs),
}

/// `kefuctl balance topup`
#[derive(Debug, Args)]
pub struct BalanceTopupArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// Units to add (1..=100000000).
    #[arg(long)]
    pub units: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `kefuctl balance show`
#[derive(Debug, Args)]
pub struct BalanceShowArgs {
    /// The account.
    #[arg(long)]
    pub account: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
