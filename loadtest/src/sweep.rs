//! `kefu-load sweep FILE`: the message-path benchmark, measured the same way
//! every time (issue 13, point 1).
//!
//! One command runs a rate sweep of a chat scenario (`steady-chat.toml`)
//! through each target in turn, each with the machine to itself:
//! - kefud with `durability = "wal"`, then `"fsync"` (started by the tool on a
//!   fresh data directory in a temporary work directory, removed afterwards);
//! - the built-in relay (`kefu-load relay`, as a child process so that its CPU
//!   is its own) and nats-server (skipped with a note if missing): the same
//!   pattern with pairs = customers, as `run --baselines` does.
//!
//! Each target runs the rates in order (kefud: one setup, one traffic phase
//! per rate on the same connections) and stops at the first rate that misses
//! `--stop-p99` or loses anything. Per rate the report gives what
//! `report::sweep` describes: achieved rate, latency percentiles, lost and
//! duplicated, the server's CPU per delivered message and the generator's own
//! CPU over the same window; per target, the capacities at p99 < 1 ms and
//! < 10 ms.

use crate::baseline::nats::NatsServer;
use crate::baseline::{self, Kind as BaselineKind, PairSpec};
use crate::cli::ChatPlan;
use crate::kefud::Kefud;
use crate::report::sweep::{Row, SweepReport, TargetSweep};
use crate::scenario_file::{Args as FileArgs, Overrides, ScenarioFile};
use crate::scenarios;
use anyhow::{bail, Context};
use clap::Args;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long a started kefud may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Flags of `kefu-load sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The chat scenario file (its population, sizes, ramp-up, warm-up and drain).
    pub scenario: PathBuf,
    /// The kefud binary [default: kefud beside kefu-load]. Given more than once,
    /// each is swept in turn (e.g. a build from before a change and one from
    /// after, side by side in one run) and named by its path in the report.
    #[arg(long)]
    pub kefud: Vec<PathBuf>,
    /// The rates, messages per second, in increasing order.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "5000,10000,20000,50000,100000,200000,300000,400000"
    )]
    pub rates: Vec<f64>,
    /// The kefud durability modes to sweep, in order (wal, fsync).
    #[arg(long, value_delimiter = ',', default_value = "wal,fsync",
          value_parser = ["wal", "fsync"])]
    pub durability: Vec<String>,
    /// kefud's shard threads (1: one core, as the relay).
    #[arg(long, default_value_t = 1)]
    pub shards: u32,
    /// Measured seconds per rate.
    #[arg(long, default_value_t = 3.0)]
    pub step_secs: f64,
    /// A target's sweep stops after the first rate whose due → receiver p99
    /// exceeds this many milliseconds or that lost anything.
    #[arg(long, default_value_t = 10.0)]
    pub stop_p99_ms: f64,
    /// Leave out the relay and nats-server.
    #[arg(long)]
    pub no_baselines: bool,
    /// The nats-server program (a path, or a name on PATH or in /usr/sbin).
    #[arg(long, default_value = "nats-server")]
    pub nats_server: String,
    /// Where kefud's config and data directories go (created, and removed at
    /// the end) [default: a new directory under the system's temp dir].
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Also write report.txt and report.json into this directory.
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
}

/// Runs the sweep; `Ok(ok)` once a report was produced (`ok`: every target
/// ran at least one rate with nothing lost or duplicated).
pub fn run(args: &SweepArgs, fd_limit: u64) -> anyhow::Result<bool> {
    check(args)?;
    let file = ScenarioFile::load(&args.scenario)?;
    let binaries = match args.kefud.as_slice() {
        [] => vec![crate::kefud::path(None)?],
        given => given.to_vec(),
    };
    let work = WorkDir::new(args.work_dir.clone())?;
    let mut report = SweepReport::new(
        file.display_name(),
        std::env::args().collect::<Vec<_>>().join(" "),
        args.stop_p99_ms,
    );
    for kefud in &binaries {
        for durability in &args.durability {
            let name = match binaries.len() {
                1 => format!("kefud ({durability}, {} shard)", args.shards),
                _ => format!(
                    "kefud {} ({durability}, {} shard)",
                    kefud.display(),
                    args.shards
                ),
            };
            eprintln!("kefu-load: sweep {name}");
            let dir = work.path.join(durability);
            let target = sweep_kefud(args, &file, kefud, &dir, durability, fd_limit)
                .with_context(|| format!("sweeping {name}"))?;
            report.targets.push(target.named(name));
            // Free the disk before the next target.
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    if !args.no_baselines {
        let plan = chat_plan(&file, args, None, fd_limit)?;
        for kind in [BaselineKind::Relay, BaselineKind::Nats] {
            eprintln!("kefu-load: sweep {}", kind.name());
            match sweep_baseline(args, &plan, kind)? {
                Some(t) => report.targets.push(t),
                None => report.notes.push(format!(
                    "{} is not installed ({}): that baseline was skipped (apt-get install nats-server)",
                    kind.name(),
                    args.nats_server
                )),
            }
        }
    }
    report.finish();
    let text = report.to_string();
    if let Some(dir) = &args.out_dir {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = serde_json::to_string_pretty(&report)? + "\n";
        for (name, body) in [("report.txt", &text), ("report.json", &json)] {
            let path = dir.join(name);
            std::fs::write(&path, body).with_context(|| format!("writing {}", path.display()))?;
        }
    }
    crate::print(&text)?;
    Ok(report.ok())
}

fn check(args: &SweepArgs) -> anyhow::Result<()> {
    if args.rates.is_empty() || args.rates.iter().any(|r| !(*r > 0.0 && r.is_finite())) {
        bail!("--rates must list positive rates");
    }
    if args.rates.windows(2).any(|w| w[0] >= w[1]) {
        bail!("--rates must increase");
    }
    if !(args.step_secs > 0.0 && args.step_secs.is_finite()) {
        bail!("--step-secs must be above 0");
    }
    if !(args.stop_p99_ms > 0.0 && args.stop_p99_ms.is_finite()) {
        bail!("--stop-p99-ms must be above 0");
    }
    if args.shards == 0 || args.shards > 256 {
        bail!("--shards must be 1..=256");
    }
    Ok(())
}

/// The scenario's chat plan aimed at `daemon` (client address, admin socket,
/// pid), at the first rate, with `--step-secs` measured.
fn chat_plan(
    file: &ScenarioFile,
    args: &SweepArgs,
    daemon: Option<&Kefud>,
    fd_limit: u64,
) -> anyhow::Result<ChatPlan> {
    let overrides = Overrides {
        server: daemon.map(|d| d.tcp),
        admin_socket: daemon.map(|d| d.admin.clone()),
        daemon_pid: daemon.map(Kefud::pid),
        rate: args.rates.first().copied(),
        duration: Some(args.step_secs),
    };
    match file.to_args(&overrides)? {
        FileArgs::Chat(c) => {
            let mut plan = ChatPlan::new(*c, fd_limit)?;
            let per_step =
                (plan.warmup + plan.duration + plan.drain + plan.ramp_up).as_secs_f64() + 1.0;
            plan.timeout = plan.timeout.max(Duration::from_secs_f64(
                60.0 + per_step * args.rates.len() as f64,
            ));
            Ok(plan)
        }
        FileArgs::Logins(_) => bail!("sweep needs a chat scenario (this one is kind = \"logins\")"),
    }
}

/// One kefud on a fresh data directory in `dir`, swept over the rates.
fn sweep_kefud(
    args: &SweepArgs,
    file: &ScenarioFile,
    kefud: &Path,
    dir: &Path,
    durability: &str,
    fd_limit: u64,
) -> anyhow::Result<TargetSweep> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = dir.join("kefud.toml");
    let text = format!(
        "data_dir = {data:?}\nlisten = \"127.0.0.1:0\"\nadmin_socket = {sock:?}\nshards = {shards}\n\
         metrics_listen = \"127.0.0.1:0\"\n\
         [storage]\ndurability = {durability:?}\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n",
        data = dir.join("data"),
        sock = dir.join("admin.sock"),
        shards = args.shards,
    );
    std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
    let daemon = Kefud::start(kefud, &config, READY_TIMEOUT)?;
    let plan = chat_plan(file, args, Some(&daemon), fd_limit)?;
    let stop_us = (args.stop_p99_ms * 1000.0) as u64;
    let mut k = 0;
    // Commits and messages stored at the end of setup and of each rate.
    let mut counts = Vec::new();
    let reports = scenarios::chat::run_steps(&plan, |done| {
        counts.push((std::time::Instant::now(), daemon.commits()));
        if done
            .last()
            .is_some_and(|r| !Row::of_chat(r, plan.threads).keeps(stop_us))
        {
            return None;
        }
        let rate = *args.rates.get(k)?;
        k += 1;
        eprintln!("kefu-load: kefud ({durability}) at {rate:.0}/s");
        Some(rate)
    });
    daemon.kill();
    let reports = reports?;
    let t = TargetSweep {
        rows: reports
            .iter()
            .filter(|r| r.messages.planned > 0)
            .zip(counts.windows(2))
            .map(|(r, c)| {
                let row = Row::of_chat(r, plan.threads);
                match (c[0], c[1]) {
                    ((t0, Some(a)), (t1, Some(b))) => row.with_commits(
                        b.0.saturating_sub(a.0),
                        b.1.saturating_sub(a.1),
                        t1.duration_since(t0).as_secs_f64(),
                    ),
                    _ => row,
                }
            })
            .collect(),
        notes: reports.last().map(|r| r.notes.clone()).unwrap_or_default(),
        ..TargetSweep::default()
    };
    Ok(t)
}

/// The relay or nats-server, swept over the rates; `None` if nats-server is
/// not installed.
fn sweep_baseline(
    args: &SweepArgs,
    plan: &ChatPlan,
    kind: BaselineKind,
) -> anyhow::Result<Option<TargetSweep>> {
    let (addr, pid, _server): (SocketAddr, u32, Box<dyn std::any::Any>) = match kind {
        BaselineKind::Relay => {
            let r = RelayChild::start()?;
            (r.addr, r.child.id(), Box::new(r))
        }
        BaselineKind::Nats => match NatsServer::start(&args.nats_server)? {
            Some(n) => (n.addr(), n.pid(), Box::new(n)),
            None => return Ok(None),
        },
    };
    let stop_us = (args.stop_p99_ms * 1000.0) as u64;
    let mut t = TargetSweep {
        name: kind.name().to_string(),
        ..TargetSweep::default()
    };
    for &rate in &args.rates {
        eprintln!("kefu-load: {} at {rate:.0}/s", kind.name());
        let spec = PairSpec {
            server: addr,
            kind,
            pairs: plan.customers,
            rate,
            ramp: plan.ramp_up,
            warmup: plan.warmup,
            duration: plan.duration,
            drain: plan.drain,
            sizes: (plan.size, plan.size_max),
            threads: plan.threads,
            timeout: plan.timeout,
            server_pid: Some(pid),
        };
        let row = Row::of_baseline(&baseline::run(&spec)?, plan.threads);
        let keeps = row.keeps(stop_us);
        t.rows.push(row);
        if !keeps {
            break;
        }
    }
    Ok(Some(t))
}

/// `kefu-load relay` as a child process, killed on drop.
struct RelayChild {
    child: Child,
    addr: SocketAddr,
}

impl RelayChild {
    fn start() -> anyhow::Result<RelayChild> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["relay", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting kefu-load relay")?;
        let stderr = child.stderr.take().context("the relay's stderr")?;
        let mut reader = BufReader::new(stderr);
        let mut line = String::new();
        reader
            .read_line(&mut line)
            .context("reading the relay's address")?;
        // Keep draining, so the relay never writes to a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let addr = line
            .trim()
            .strip_prefix("kefu-load relay: listening on ")
            .and_then(|a| a.parse().ok());
        match addr {
            Some(addr) => Ok(RelayChild { child, addr }),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("the relay said {line:?} instead of its address")
            }
        }
    }
}

impl Drop for RelayChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The work directory, removed on drop.
struct WorkDir {
    path: PathBuf,
}

impl WorkDir {
    fn new(given: Option<PathBuf>) -> anyhow::Result<WorkDir> {
        let path = given.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("kefu-sweep-{}", std::process::id()))
        });
        if path.exists() {
            bail!(
                "{} exists: the sweep needs a new work directory",
                path.display()
            );
        }
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(WorkDir { path })
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
