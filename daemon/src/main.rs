//! `kefud`: the appliance daemon. Glue only: flags → config → `server::start`
//! → wait for signals (SIGTERM/SIGINT stop gracefully, SIGHUP reloads).

use anyhow::Context;
use clap::Parser;
use kefu_daemon::clock::{Clock, SystemClock};
use kefu_daemon::config::{Config, DurabilityMode};
use kefu_daemon::{log, server};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// Demo account created by `--demo` (only if it does not exist yet).
const DEMO_ACCOUNT: u64 = 800_000;
/// Agent 1001's password in the demo account. Printed at start; demo only.
const DEMO_PASSWORD: &str = "kefu-demo-1001";
/// The demo account's super password.
const DEMO_SUPER_PASSWORD: &str = "kefu-demo-super";

/// The Kefu customer-service appliance daemon.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// TOML configuration file (see kefud.toml for every key).
    #[arg(long, short = 'c', env = "KEFUD_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory (created if missing).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Plain-TCP listen address, e.g. 127.0.0.1:7070.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// TLS listen address, e.g. 0.0.0.0:7443 (needs --cert and --key).
    #[arg(long)]
    tls_listen: Option<SocketAddr>,
    /// PEM certificate chain for TLS.
    #[arg(long)]
    cert: Option<PathBuf>,
    /// PEM private key for TLS.
    #[arg(long)]
    key: Option<PathBuf>,
    /// Path of the local admin socket.
    #[arg(long)]
    admin_socket: Option<PathBuf>,
    /// Shard threads (0 = one per core).
    #[arg(long)]
    shards: Option<usize>,
    /// When an ack may be sent: wal (default) or fsync.
    #[arg(long, value_parser = parse_durability)]
    durability: Option<DurabilityMode>,
    /// Write the process id here.
    #[arg(long)]
    pid_file: Option<PathBuf>,
    /// Validate the configuration (and TLS files) and exit, like `nginx -t`.
    #[arg(long)]
    check_config: bool,
    /// Try-out mode: data in ./kefu-data, TCP on 127.0.0.1:7070, admin socket
    /// in the data directory, and a demo account 800000 (agent 1001).
    #[arg(long)]
    demo: bool,
    /// Restore a backup from `[storage] backup_dir` into the data directory (its `db`
    /// must not exist or be empty), check that it opens, and exit. kefud must not be
    /// running on that data directory.
    #[arg(long)]
    restore: bool,
    /// With --restore: the backup's number (`kefuctl backup list`); default the newest.
    #[arg(long, requires = "restore")]
    backup_id: Option<u32>,
}

fn parse_durability(s: &str) -> Result<DurabilityMode, String> {
    match s {
        "wal" => Ok(DurabilityMode::Wal),
        "fsync" => Ok(DurabilityMode::Fsync),
        "replicated" => Ok(DurabilityMode::Replicated),
        _ => Err(format!("{s:?}: expected wal, fsync or replicated")),
    }
}

impl Cli {
    /// The file (or defaults), then the flags on top.
    fn config(&self) -> anyhow::Result<Config> {
        let mut c = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if self.demo {
            c.data_dir = PathBuf::from("kefu-data");
            c.listen = Some(SocketAddr::from(([127, 0, 0, 1], 7070)));
            c.admin_socket = None;
        }
        if let Some(v) = &self.data_dir {
            c.data_dir = v.clone();
        }
        if self.demo && c.admin_socket.is_none() {
            c.admin_socket = Some(c.data_dir.join("admin.sock"));
        }
        macro_rules! set {
            ($($flag:ident => $field:ident),*) => {
                $(if let Some(v) = &self.$flag { c.$field = Some(v.clone()); })*
            };
        }
        set!(listen => listen, tls_listen => tls_listen, cert => tls_cert, key => tls_key,
             admin_socket => admin_socket, pid_file => pid_file);
        if let Some(n) = self.shards {
            c.shards = n;
        }
        if let Some(d) = self.durability {
            c.storage.durability = d;
        }
        Ok(c)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefud: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: &Cli) -> anyhow::Result<()> {
    let config = cli.config()?;
    config.validate()?;
    if cli.check_config {
        if let (Some(cert), Some(key)) = (&config.tls_cert, &config.tls_key) {
            kefu_daemon::tls::server_config(cert, key)?;
        }
        eprintln!("kefud: configuration ok");
        return Ok(());
    }
    if cli.restore {
        return restore(&config, cli.backup_id);
    }
    // Signals are taken synchronously by this thread (sigwait); block them
    // before any other thread exists so none of them is interrupted instead.
    let signals = block_signals();
    let mut config = config;
    if let Some(cluster) = config.cluster.as_mut() {
        // A member that finds another node leading re-executes itself to rejoin as its
        // standby (`cluster/rejoin.rs`); only the real daemon may replace its process.
        cluster.restart_to_rejoin = true;
    }
    let handle = server::start(config.clone()).context("starting")?;
    if cli.demo {
        ensure_demo_account(&handle)?;
    }
    eprintln!(
        "kefud: ready tcp={} tls={} admin={} shards={} pid={} metrics={} web={}",
        handle.tcp_addr().map_or("-".into(), |a| a.to_string()),
        handle.tls_addr().map_or("-".into(), |a| a.to_string()),
        handle
            .admin_socket()
            .map_or("-".into(), |p| p.display().to_string()),
        handle.shards(),
        std::process::id(),
        handle.metrics_addr().map_or("-".into(), |a| a.to_string()),
        handle.web_addr().map_or("-".into(), |a| a.to_string()),
    );
    // systemd's Type=notify: readiness, once every listener is bound.
    if let Err(e) = kefu_daemon::notify::ready() {
        log::warn(0, format_args!("sd_notify READY=1 failed: {e}"));
    }
    loop {
        match wait_signal(&signals) {
            libc::SIGHUP => reload(cli, &config, &handle),
            sig => {
                log::info(0, format_args!("signal {sig}: shutting down"));
                let _ = kefu_daemon::notify::stopping();
                handle.shutdown();
                log::info(0, format_args!("stopped"));
                return Ok(());
            }
        }
    }
}

/// SIGHUP: re-read the file; apply what can change at run time, say what cannot.
fn reload(cli: &Cli, running: &Config, handle: &server::ServerHandle) {
    let fresh = match cli
        .config()
        .and_then(|c| c.validate().map(|()| c).map_err(Into::into))
    {
        Ok(c) => c,
        Err(e) => {
            log::error(
                0,
                format_args!("reload refused, keeping the running configuration: {e:#}"),
            );
            return;
        }
    };
    let tls = match (&fresh.tls_cert, &fresh.tls_key, running.tls_listen) {
        (Some(cert), Some(key), Some(_)) => match kefu_daemon::tls::server_config(cert, key) {
            Ok(t) => Some(t),
            Err(e) => {
                log::error(0, format_args!("reload refused: {e}"));
                return;
            }
        },
        _ => None,
    };
    let restart_only = [
        ("data_dir", fresh.data_dir != running.data_dir),
        ("listen", fresh.listen != running.listen),
        ("tls_listen", fresh.tls_listen != running.tls_listen),
        ("admin_socket", fresh.admin_socket != running.admin_socket),
        ("shards", fresh.shards != running.shards),
        (
            "storage",
            format!("{:?}", fresh.storage) != format!("{:?}", running.storage),
        ),
    ];
    for (name, changed) in restart_only {
        if changed {
            log::warn(
                0,
                format_args!("{name} changed: takes effect at the next restart"),
            );
        }
    }
    handle.reload(fresh.runtime(), tls);
    log::info(
        0,
        format_args!("reloaded: limits, timeouts, password hashing, TLS certificate"),
    );
}

/// `--restore`: backup `id` (or the newest) into `<data_dir>/db`, then a test open.
fn restore(config: &Config, id: Option<u32>) -> anyhow::Result<()> {
    use kefu_daemon::store::{open_rocks, restore_backup, RocksOptions};
    let backups = config.backup_path();
    let db = config.data_dir.join("db");
    let restored = restore_backup(&backups, id, &db)
        .with_context(|| format!("restoring from {}", backups.display()))?;
    drop(open_rocks(&db, &RocksOptions::default()).context("opening the restored database")?);
    eprintln!(
        "kefud: restored backup {} (taken at unix time {}, {} files, {} bytes) from {} into {}",
        restored.id,
        restored.created_at,
        restored.files,
        restored.size_bytes,
        backups.display(),
        db.display()
    );
    let key = config.token_key_path();
    if !key.exists() {
        eprintln!(
            "kefud: the token key is not part of a backup and {} does not exist: copy the \
             backed-up appliance's token key there before starting kefud, or the sealed \
             secrets (token seeds, customer keys) will not open",
            key.display()
        );
    }
    Ok(())
}

/// Creates the demo account through the daemon's own admin socket.
fn ensure_demo_account(handle: &server::ServerHandle) -> anyhow::Result<()> {
    let path = handle
        .admin_socket()
        .context("demo mode needs the admin socket")?;
    let mut admin = kefu_wire::Client::connect_unix(&path, kefu_wire::ClientOptions::default())?;
    let year = 365 * 24 * 3600;
    let now = SystemClock.now_ms() / 1000;
    let created = admin.request(&kefu_wire::Request::AdminCreateAccount {
        account: DEMO_ACCOUNT,
        name: "Demo enterprise".into(),
        plan: kefu_wire::Plan::Gold,
        expires_at: now + year,
        password_1001: DEMO_PASSWORD.into(),
        super_password: DEMO_SUPER_PASSWORD.into(),
    });
    match created {
        Ok(_) => log::info(0, format_args!("demo account {DEMO_ACCOUNT} created")),
        Err(e) if e.code() == Some(kefu_wire::ErrorCode::ALREADY_EXISTS) => {}
        Err(e) => return Err(e.into()),
    }
    eprintln!(
        "kefud: demo account: log in as 1001@{DEMO_ACCOUNT} with password {DEMO_PASSWORD} \
         (super password {DEMO_SUPER_PASSWORD}); change them before real use"
    );
    Ok(())
}

fn block_signals() -> libc::sigset_t {
    // SAFETY: plain libc calls on a stack-allocated, initialised sigset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}

fn wait_signal(set: &libc::sigset_t) -> i32 {
    let mut sig = 0;
    // SAFETY: `set` is initialised; sigwait writes the signal number into `sig`.
    unsafe {
        libc::sigwait(set, &mut sig);
    }
    sig
}
