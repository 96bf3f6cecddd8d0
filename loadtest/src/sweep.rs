//! `kefu-load sweep FILE`: the message-path benchmark, measured the same way
//! every time (issue 13, point 1).
//!
//! One command runs a rate sweep of a chat scenario (`steady-chat.toml`)
//! through each target:
//! - kefud with `durability = "wal"`, then `"fsync"` (started by the tool on a
//!   fresh data directory in a temporary work directory, removed afterwards);
//! - the built-in relay (`kefu-load relay`, as a child process so that its CPU
//!   is its own) and nats-server (skipped with a note if missing): the same
//!   pattern with pairs = customers, as `run --baselines` does.
//!
//! Every target is started once at the beginning and kept running. The rates
//! run in increasing order; at each rate every target runs once a round, in
//! `--repeat` rounds interleaved (wal, fsync, relay, nats, wal, fsync, ...), so
//! that a minute of noise on the box lands on every target alike instead of on
//! whichever ran then. Before each step the tool waits (boundedly) until the
//! servers are quiet, so one target's background work (kefud's flushes after a
//! step) does not land in the next one's window. kefud keeps one setup and its
//! connections across its steps (a driver thread per kefud, handed one rate at
//! a time); the baselines connect their pairs afresh each step.
//!
//! A target is dropped from the later rates after the first rate whose median
//! p99 misses `--stop-p99` or that lost anything in any round. Per rate the
//! report gives what `report::sweep` describes.
//!
//! With `--pin`, the generator runs on some CPUs and every server on the others
//! (`pinning`); the report states the split and what the kernel reported for
//! every thread of each process.

use crate::baseline::nats::NatsServer;
use crate::baseline::{self, Kind as BaselineKind, PairSpec};
use crate::cli::ChatPlan;
use crate::kefud::Kefud;
use crate::pinning::{self, CpuList, Pinning};
use crate::report::chat::ChatReport;
use crate::report::sweep::{Row, SweepReport, TargetSweep};
use crate::scenario_file::{Args as FileArgs, Overrides, ScenarioFile};
use crate::scenarios;
use anyhow::{bail, Context};
use clap::Args;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

/// How long a started kefud may take to say it is ready.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// The servers count as quiet below this many cores together...
const QUIET_CORES: f64 = 0.1;
/// ...over a slice this long (10 ms clock ticks: 0.1 cores is 2 of them)...
const QUIET_SLICE: Duration = Duration::from_millis(200);
/// ...and a step starts anyway after waiting this long (noted in the report).
const QUIET_WAIT: Duration = Duration::from_secs(5);

/// Flags of `kefu-load sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// The chat scenario file (its population, sizes, ramp-up, warm-up and drain).
    pub scenario: PathBuf,
    /// The kefud binary [default: kefud beside kefu-load]. Given more than once,
    /// each is swept (e.g. a build from before a change and one from after,
    /// side by side in one run) and named by its path in the report.
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
    /// The generator's driver threads, for kefud and the baselines alike
    /// [default: the scenario's].
    #[arg(long)]
    pub threads: Option<usize>,
    /// Rounds per rate: every target runs each rate this many times, the rounds
    /// interleaved; the report gives the medians and the range of p99.
    #[arg(long, default_value_t = 1)]
    pub repeat: usize,
    /// A target is dropped from the later rates after the first rate whose
    /// (median) due → receiver p99 exceeds this many milliseconds or that lost
    /// anything.
    #[arg(long, default_value_t = 10.0)]
    pub stop_p99_ms: f64,
    /// Leave out the relay and nats-server.
    #[arg(long)]
    pub no_baselines: bool,
    /// Leave out kefud: the baselines alone (e.g. to measure the generator).
    #[arg(long, conflicts_with_all = ["no_baselines", "kefud"])]
    pub no_kefud: bool,
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
    /// Run the generator on some CPUs and every server (kefud, relay,
    /// nats-server: all their threads) on the others, so that neither takes
    /// the other's core [default split: the generator on the lower half of the
    /// CPUs, at least one; on 2 cores CPU 0, the servers on CPU 1].
    #[arg(long)]
    pub pin: bool,
    /// With --pin: the servers' CPUs (e.g. `1`, `2-3`, `1,3`) [default: those
    /// the generator leaves].
    #[arg(long, requires = "pin", value_parser = CpuList::parse)]
    pub pin_servers: Option<CpuList>,
    /// With --pin: the generator's CPUs [default: those the servers leave].
    #[arg(long, requires = "pin", value_parser = CpuList::parse)]
    pub pin_generator: Option<CpuList>,
}

/// Runs the sweep; `Ok(ok)` once a report was produced (`ok`: every target
/// ran at least one rate with nothing lost or duplicated).
pub fn run(args: &SweepArgs, fd_limit: u64) -> anyhow::Result<bool> {
    check(args)?;
    let pin = if args.pin {
        let (generator, servers) = (args.pin_generator.as_ref(), args.pin_servers.as_ref());
        Some(Pinning::choose(generator, servers)?)
    } else {
        None
    };
    if let Some(p) = &pin {
        // Before any other thread starts: every generator thread inherits it.
        p.pin_generator()?;
    }
    let file = ScenarioFile::load(&args.scenario)?;
    let binaries = match args.kefud.as_slice() {
        _ if args.no_kefud => Vec::new(),
        [] => vec![crate::kefud::path(None)?],
        given => given.to_vec(),
    };
    let work = WorkDir::new(args.work_dir.clone())?;
    let mut report = SweepReport::new(
        file.display_name(),
        std::env::args().collect::<Vec<_>>().join(" "),
        args.stop_p99_ms,
        args.repeat,
        pin.clone(),
    );
    // Every server first, each kept running until the end.
    let mut daemons = Vec::new();
    for (b, kefud) in binaries.iter().enumerate() {
        for durability in &args.durability {
            let name = match binaries.len() {
                1 => format!("kefud ({durability}, {} shard)", args.shards),
                _ => format!(
                    "kefud {} ({durability}, {} shard)",
                    kefud.display(),
                    args.shards
                ),
            };
            eprintln!("kefu-load: starting {name}");
            let dir = work.path.join(format!("{b}-{durability}"));
            let daemon = start_kefud(args, kefud, &dir, durability, pin.as_ref())
                .with_context(|| format!("starting {name}"))?;
            daemons.push((name, daemon));
        }
    }
    // (kind, address, pid); the handles below keep the servers alive.
    let mut baselines = Vec::new();
    let mut relay = None;
    let mut nats = None;
    if !args.no_baselines {
        let r = RelayChild::start(pin.as_ref())?;
        baselines.push((BaselineKind::Relay, r.addr, r.child.id()));
        relay = Some(r);
        match NatsServer::start(&args.nats_server, pin.as_ref())? {
            Some(n) => {
                baselines.push((BaselineKind::Nats, n.addr(), n.pid()));
                nats = Some(n);
            }
            None => report.notes.push(format!(
                "{} is not installed ({}): that baseline was skipped (apt-get install nats-server)",
                BaselineKind::Nats.name(),
                args.nats_server
            )),
        }
    }
    let targets = interleave(
        args,
        &file,
        fd_limit,
        &daemons,
        &baselines,
        pin.as_ref(),
        &mut report.notes,
    );
    report.generator_cpus = pinning::observed(std::process::id());
    drop((relay, nats, daemons));
    report.targets = targets?;
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
    if args.repeat == 0 || args.repeat > 100 {
        bail!("--repeat must be 1..=100");
    }
    Ok(())
}

/// The scenario's chat plan aimed at `daemon` (client address, admin socket,
/// pid), at the first rate, with `--step-secs` measured, and time for every
/// step of every target.
fn chat_plan(
    file: &ScenarioFile,
    args: &SweepArgs,
    daemon: Option<&Kefud>,
    fd_limit: u64,
    targets: usize,
) -> anyhow::Result<ChatPlan> {
    let overrides = Overrides {
        server: daemon.map(|d| d.tcp),
        admin_socket: daemon.map(|d| d.admin.clone()),
        daemon_pid: daemon.map(Kefud::pid),
        rate: args.rates.first().copied(),
        duration: Some(args.step_secs),
    };
    match file.to_args(&overrides)? {
        FileArgs::Chat(mut c) => {
            if let Some(threads) = args.threads {
                c.threads = threads;
            }
            let mut plan = ChatPlan::new(*c, fd_limit)?;
            let per_step = (plan.warmup + plan.duration + plan.drain + plan.ramp_up + QUIET_WAIT)
                .as_secs_f64()
                + 1.0;
            let steps = args.rates.len() * args.repeat * targets.max(1);
            plan.timeout = plan
                .timeout
                .max(Duration::from_secs_f64(60.0 + per_step * steps as f64));
            Ok(plan)
        }
        FileArgs::Logins(_) => bail!("sweep needs a chat scenario (this one is kind = \"logins\")"),
    }
}

/// A kefud on a fresh data directory in `dir`. Its peers may sit idle while the
/// other targets run, so the idle timeout is long.
fn start_kefud(
    args: &SweepArgs,
    kefud: &Path,
    dir: &Path,
    durability: &str,
    pin: Option<&Pinning>,
) -> anyhow::Result<Kefud> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let config = dir.join("kefud.toml");
    let text = format!(
        "data_dir = {data:?}\nlisten = \"127.0.0.1:0\"\nadmin_socket = {sock:?}\nshards = {shards}\n\
         metrics_listen = \"127.0.0.1:0\"\n\
         [storage]\ndurability = {durability:?}\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n\
         [timeouts]\nidle_timeout_secs = 86400\n",
        data = dir.join("data"),
        sock = dir.join("admin.sock"),
        shards = args.shards,
    );
    std::fs::write(&config, text).with_context(|| format!("writing {}", config.display()))?;
    Kefud::start_on(kefud, &config, READY_TIMEOUT, pin)
}

/// How a target runs one step.
enum Runner {
    /// A kefud driven by its own thread, handed one rate at a time.
    Kefud {
        rates: Sender<Option<f64>>,
        steps: Receiver<KefudStep>,
    },
    /// The relay or nats-server.
    Baseline {
        kind: BaselineKind,
        addr: SocketAddr,
    },
}

/// What a kefud's driver thread says.
enum KefudStep {
    /// Set up, waiting for its first rate.
    Ready,
    /// A step ran: its row and the tool's notes on it.
    Done(Box<Row>, Vec<String>),
    /// The run failed.
    Failed(String),
}

/// A target under sweep.
struct Target {
    sweep: TargetSweep,
    /// The server's pid (for its quiet).
    pid: u32,
    runner: Runner,
    /// Still running rates.
    active: bool,
    /// Its runs ended (a kefud's driver thread closed).
    finished: bool,
}

/// Sweeps every target: at each rate, `--repeat` rounds of one step per target.
fn interleave(
    args: &SweepArgs,
    file: &ScenarioFile,
    fd_limit: u64,
    daemons: &[(String, Kefud)],
    baselines: &[(BaselineKind, SocketAddr, u32)],
    pin: Option<&Pinning>,
    notes: &mut Vec<String>,
) -> anyhow::Result<Vec<TargetSweep>> {
    let count = daemons.len() + baselines.len();
    // The generator's threads can use at most this many cores (its saturation flag).
    let gen_cores = pin.map_or(usize::MAX, |p| p.generator.len());
    let mut plans = Vec::new();
    for (_, daemon) in daemons {
        plans.push(chat_plan(file, args, Some(daemon), fd_limit, count)?);
    }
    let base_plan = chat_plan(file, args, None, fd_limit, count)?;
    std::thread::scope(|s| {
        let mut targets = Vec::new();
        for ((name, daemon), plan) in daemons.iter().zip(&plans) {
            let (rates_tx, rates_rx) = mpsc::channel();
            let (steps_tx, steps_rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("kefu-load-sweep".into())
                .spawn_scoped(s, move || {
                    drive_kefud(plan, gen_cores, daemon, &rates_rx, &steps_tx)
                })
                .context("spawning a kefud driver thread")?;
            eprintln!("kefu-load: setting up {name}");
            match steps_rx.recv() {
                Ok(KefudStep::Ready) => {}
                Ok(KefudStep::Failed(e)) => bail!("setting up {name}: {e}"),
                _ => bail!("setting up {name}: the run ended before its first rate"),
            }
            targets.push(Target {
                sweep: TargetSweep::default().named(name.clone()),
                pid: daemon.pid(),
                runner: Runner::Kefud {
                    rates: rates_tx,
                    steps: steps_rx,
                },
                active: true,
                finished: false,
            });
        }
        for &(kind, addr, pid) in baselines {
            targets.push(Target {
                sweep: TargetSweep::default().named(kind.name().to_string()),
                pid,
                runner: Runner::Baseline { kind, addr },
                active: true,
                finished: false,
            });
        }
        let pids: Vec<u32> = targets.iter().map(|t| t.pid).collect();
        let stop_us = (args.stop_p99_ms * 1000.0) as u64;
        let mut unsettled = 0;
        for &rate in &args.rates {
            if !targets.iter().any(|t| t.active) {
                break;
            }
            for t in targets.iter_mut().filter(|t| t.active) {
                t.sweep.rounds.push(Vec::new());
            }
            for round in 1..=args.repeat {
                for t in targets.iter_mut().filter(|t| t.active) {
                    if !quiet(&pids) {
                        unsettled += 1;
                    }
                    eprintln!(
                        "kefu-load: {} at {rate:.0}/s, round {round} of {}",
                        t.sweep.name, args.repeat
                    );
                    match step(t, rate, &base_plan, gen_cores, args)? {
                        Ok((row, step_notes)) => {
                            let at = format!("at {rate:.0}/s, round {round}: ");
                            t.sweep
                                .notes
                                .extend(step_notes.into_iter().map(|n| format!("{at}{n}")));
                            if let Some(r) = t.sweep.rounds.last_mut() {
                                r.push(row);
                            }
                        }
                        Err(why) => {
                            t.sweep
                                .notes
                                .push(format!("at {rate:.0}/s, round {round}: {why}"));
                            t.active = false;
                        }
                    }
                }
            }
            for t in &mut targets {
                // Only the targets that ran this rate have a new list of rounds.
                if t.sweep.rounds.len() == t.sweep.rows.len() {
                    continue;
                }
                match t.sweep.rounds.last().filter(|r| !r.is_empty()) {
                    Some(rounds) => {
                        let row = Row::median_of(rounds);
                        if !row.keeps(stop_us) {
                            t.active = false;
                        }
                        t.sweep.rows.push(row);
                    }
                    None => {
                        t.sweep.rounds.pop();
                    }
                }
                if !t.active {
                    // A dropped kefud closes its conversations now, not in a later step's window.
                    finish(t);
                }
            }
        }
        for t in &mut targets {
            finish(t);
            t.sweep.cpus = pinning::observed(t.pid);
        }
        if unsettled > 0 {
            notes.push(format!(
                "{unsettled} steps started with the servers still busy after {:.0} s of waiting \
                 for them to be quiet (under {QUIET_CORES} cores)",
                QUIET_WAIT.as_secs_f64()
            ));
        }
        Ok(targets.into_iter().map(|t| t.sweep).collect())
    })
}

/// One step of `t` at `rate`: its row and notes, or why the target is out.
fn step(
    t: &mut Target,
    rate: f64,
    base_plan: &ChatPlan,
    gen_cores: usize,
    args: &SweepArgs,
) -> anyhow::Result<Result<(Row, Vec<String>), String>> {
    let before = pinning::preemptions(t.pid);
    let preempted = |row: Row| match (before, pinning::preemptions(t.pid)) {
        (Some(a), Some(b)) => row.with_preemptions(b.saturating_sub(a)),
        _ => row,
    };
    match &t.runner {
        Runner::Kefud { rates, steps } => {
            if rates.send(Some(rate)).is_err() {
                return Ok(Err("its run had ended".into()));
            }
            Ok(match steps.recv() {
                Ok(KefudStep::Done(row, notes)) => Ok((preempted(*row), notes)),
                Ok(KefudStep::Failed(e)) => Err(e),
                Ok(KefudStep::Ready) | Err(_) => Err("its run ended".into()),
            })
        }
        &Runner::Baseline { kind, addr } => {
            let spec = PairSpec {
                server: addr,
                kind,
                pairs: base_plan.customers,
                rate,
                ramp: base_plan.ramp_up,
                warmup: base_plan.warmup,
                duration: base_plan.duration,
                drain: base_plan.drain,
                sizes: (base_plan.size, base_plan.size_max),
                threads: base_plan.threads,
                timeout: base_plan.timeout.min(Duration::from_secs_f64(
                    60.0 + args.step_secs + base_plan.drain.as_secs_f64() * 2.0,
                )),
                server_pid: Some(t.pid),
            };
            let row = Row::of_baseline(&baseline::run(&spec)?, base_plan.threads.min(gen_cores));
            Ok(Ok((preempted(row), Vec::new())))
        }
    }
}

/// Ends a target's runs (once): a kefud's driver closes its conversations (waited for).
fn finish(t: &mut Target) {
    t.active = false;
    if std::mem::replace(&mut t.finished, true) {
        return;
    }
    if let Runner::Kefud { rates, steps } = &t.runner {
        let _ = rates.send(None);
        while steps.recv().is_ok() {}
    }
}

/// A kefud's driver thread: one setup, then a traffic phase per rate handed
/// over `rates` (until `None`), each step's row sent back on `steps`.
fn drive_kefud(
    plan: &ChatPlan,
    gen_cores: usize,
    daemon: &Kefud,
    rates: &Receiver<Option<f64>>,
    steps: &Sender<KefudStep>,
) {
    let mut told = 0;
    // When the step began, and kefud's commits and messages stored then.
    let mut began = None;
    let row = |r: &ChatReport, began: Option<(Instant, Option<(u64, u64)>)>| {
        let row = Row::of_chat(r, plan.threads.min(gen_cores));
        match (began, daemon.commits()) {
            (Some((t0, Some(a))), Some(b)) => row.with_commits(
                b.0.saturating_sub(a.0),
                b.1.saturating_sub(a.1),
                t0.elapsed().as_secs_f64(),
            ),
            _ => row,
        }
    };
    let result = scenarios::chat::run_steps(plan, |done| {
        let said = match done.last() {
            Some(r) => {
                told += 1;
                KefudStep::Done(Box::new(row(r, began.take())), r.notes.clone())
            }
            None => KefudStep::Ready,
        };
        steps.send(said).ok()?;
        let rate = rates.recv().ok().flatten()?;
        began = Some((Instant::now(), daemon.commits()));
        Some(rate)
    });
    match result {
        // A step that timed out ends the run without asking for another rate.
        Ok(reports) => {
            for r in reports.iter().skip(told).filter(|r| r.messages.planned > 0) {
                let _ = steps.send(KefudStep::Done(Box::new(row(r, None)), r.notes.clone()));
            }
        }
        Err(e) => {
            let _ = steps.send(KefudStep::Failed(format!("{e:#}")));
        }
    }
}

/// Waits until the servers together use under [`QUIET_CORES`] over a
/// [`QUIET_SLICE`], at most [`QUIET_WAIT`]; `false` if they never were.
fn quiet(pids: &[u32]) -> bool {
    let give_up = Instant::now() + QUIET_WAIT;
    let cpu = || -> f64 {
        pids.iter()
            .filter_map(|&p| crate::memory::cpu_secs(p))
            .sum()
    };
    loop {
        let (a, t0) = (cpu(), Instant::now());
        // Sampling over a slice, not synchronising: sleeping is the point.
        std::thread::sleep(QUIET_SLICE);
        let cores = (cpu() - a) / t0.elapsed().as_secs_f64();
        if cores < QUIET_CORES {
            return true;
        }
        if Instant::now() >= give_up {
            return false;
        }
    }
}

/// `kefu-load relay` as a child process, killed on drop.
struct RelayChild {
    child: Child,
    addr: SocketAddr,
}

impl RelayChild {
    fn start(pin: Option<&Pinning>) -> anyhow::Result<RelayChild> {
        let mut command = Command::new(std::env::current_exe()?);
        command
            .args(["relay", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(p) = pin {
            p.pin_server(&mut command)?;
        }
        let mut child = command.spawn().context("starting kefu-load relay")?;
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
