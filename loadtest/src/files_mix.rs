//! `kefu-load files`: the file-transfer mix (C13; PROTOCOL.md section 28) and
//! quick-reply lookups, run beside a chat scenario to see what files cost the daemon
//! (memory) and the other clients (latency).
//!
//! On an account of its own (created fresh over the admin socket) it runs, all at
//! once: `--online` online transfers of `--online-mib` MiB each, agent 1100+i to agent
//! 1200+i (sender and receiver threads with the client library's loops, the receiver
//! granting `--window-kib` of credit and checking the SHA-256 of what came); `--offline`
//! offline files of `--offline-mib` MiB, uploaded by agent 1300+i to agent 1400+i, then
//! fetched once by it and checked; and `--lookups-per-sec` quick-reply lookups
//! (`ListQuickReplies`, then the `#` prefix filtered as an agent's client does) by
//! agent 1500. Meanwhile it samples the daemon's RSS (`--daemon-pid`) every 200 ms.
//! The report: each transfer's rate, the RSS before, during (min/max) and after, and
//! the lookups' latency percentiles.
//!
//! The bytes are generated, never held whole: a 1 GiB transfer costs the tool a chunk.
//! Loopback only; bounded in size (`--online-mib` and `--offline-mib` at most 4096) and
//! count (at most 64 transfers of each kind).

use crate::admin::AdminPipe;
use crate::cli::parse_loopback_server;
use anyhow::{anyhow, bail, Context};
use clap::Args;
use kefu_wire::file_client;
use kefu_wire::files::{FileMeta, FilePeer, MAX_FILE_CHUNK};
use kefu_wire::{Client, ClientOptions, Plan, QuickReply, Request, Response};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Agents' password on the tool's account (a loopback test daemon's).
const PASSWORD: &str = "kefu-load-files";
/// How long a client waits for one answer or push.
const WAIT: Duration = Duration::from_secs(60);

/// Flags of `kefu-load files`.
#[derive(Debug, Args)]
pub struct FilesArgs {
    /// The daemon's client address, IP:PORT on loopback.
    #[arg(long, value_parser = parse_loopback_server)]
    pub server: SocketAddr,
    /// The daemon's admin socket (the account is created there).
    #[arg(long)]
    pub admin_socket: PathBuf,
    /// A new account number for the tool.
    #[arg(long, default_value_t = 990_001)]
    pub account: u64,
    /// Concurrent online transfers.
    #[arg(long, default_value_t = 1)]
    pub online: usize,
    /// Size of each online transfer, MiB.
    #[arg(long, default_value_t = 64)]
    pub online_mib: u64,
    /// Concurrent offline files (upload, then fetch).
    #[arg(long, default_value_t = 0)]
    pub offline: usize,
    /// Size of each offline file, MiB.
    #[arg(long, default_value_t = 16)]
    pub offline_mib: u64,
    /// Credit the receivers grant, KiB (at most 1024 counts).
    #[arg(long, default_value_t = 1024)]
    pub window_kib: u32,
    /// Quick-reply lookups per second while the transfers run.
    #[arg(long, default_value_t = 0.0)]
    pub lookups_per_sec: f64,
    /// The daemon's pid, to sample its RSS.
    #[arg(long)]
    pub daemon_pid: Option<u32>,
}

/// Byte `i` of generated file `seed`.
fn byte(seed: u64, i: u64) -> u8 {
    (i.wrapping_mul(2_654_435_761).wrapping_add(seed) >> 7) as u8
}

fn fill(seed: u64, offset: u64, buf: &mut [u8]) {
    for (k, b) in buf.iter_mut().enumerate() {
        *b = byte(seed, offset + k as u64);
    }
}

/// The SHA-256 of generated file `seed` of `size` bytes, computed chunk by chunk.
fn digest(seed: u64, size: u64) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buf = vec![0u8; MAX_FILE_CHUNK];
    let mut at = 0;
    while at < size {
        let n = (size - at).min(MAX_FILE_CHUNK as u64) as usize;
        fill(seed, at, &mut buf[..n]);
        ctx.update(&buf[..n]);
        at += n as u64;
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

fn agent(args: &FilesArgs, number: u32) -> anyhow::Result<Client> {
    let options = ClientOptions {
        client_name: format!("kefu-load-files-{number}"),
        timeout: WAIT,
        ..ClientOptions::default()
    };
    let mut c = Client::connect(args.server, options).context("connect")?;
    c.login(args.account, number, PASSWORD)
        .with_context(|| format!("agent {number} logs in"))?;
    Ok(c)
}

/// The agents: online transfer `i` goes from 1100+i to 1200+i, offline file `i` from
/// 1300+i to 1400+i, and 1500 looks up quick replies (one login per agent, so no
/// session replaces another).
fn agents(args: &FilesArgs) -> Vec<u32> {
    let mut all = Vec::new();
    for i in 0..args.online as u32 {
        all.extend([1100 + i, 1200 + i]);
    }
    for i in 0..args.offline as u32 {
        all.extend([1300 + i, 1400 + i]);
    }
    all.push(LOOKER);
    all
}

/// The agent that looks up quick replies.
const LOOKER: u32 = 1500;

/// Creates the account and its agents ([`agents`]).
fn prepare(args: &FilesArgs) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut pipe = AdminPipe::connect(&args.admin_socket, deadline)?;
    let create = Request::AdminCreateAccount {
        account: args.account,
        name: format!("kefu-load files {}", args.account),
        plan: Plan::Gold,
        expires_at: crate::provision::unix_now() + 30 * 86_400,
        password_1001: PASSWORD.into(),
        super_password: PASSWORD.into(),
    };
    if let Err(e) = pipe.call(create, deadline)? {
        bail!("AdminCreateAccount: {} {}", e.code, e.message);
    }
    for number in agents(args) {
        let add = Request::AdminAddAgent {
            account: args.account,
            agent: number,
            nickname: format!("files {number}"),
            role: None,
        };
        if let Err(e) = pipe.call(add, deadline)? {
            bail!("AdminAddAgent: {} {}", e.code, e.message);
        }
        let password = Request::AdminSetAgentPassword {
            account: args.account,
            agent: number,
            new_password: PASSWORD.into(),
        };
        if let Err(e) = pipe.call(password, deadline)? {
            bail!("AdminSetAgentPassword: {} {}", e.code, e.message);
        }
    }
    Ok(())
}

/// Online transfer `i`, agent 1100+i to 1200+i: bytes per second.
fn online(args: &FilesArgs, i: u32, seed: u64) -> anyhow::Result<f64> {
    let size = args.online_mib << 20;
    let to = 1200 + i;
    let mut sender = agent(args, 1100 + i)?;
    let mut receiver = agent(args, to)?;
    let meta = FileMeta {
        name: format!("online-{seed}.bin"),
        size,
        sha256: [0; 32],
        image: false,
    };
    let began = Instant::now();
    let transfer = file_client::offer(&mut sender, FilePeer::Agent(to), meta)
        .map_err(|e| anyhow!("offer: {e:?}"))?;
    let window = args.window_kib.saturating_mul(1024);
    let recv = std::thread::spawn(move || {
        let (t, offered) = file_client::next_offer(&mut receiver, WAIT, |_| {})
            .map_err(|e| anyhow!("offer: {e:?}"))?;
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        file_client::receive(
            &mut receiver,
            t,
            offered.size,
            window,
            WAIT,
            |_, b| ctx.update(b),
            |_| {},
        )
        .map_err(|e| anyhow!("receive: {e:?}"))?;
        let mut got = [0u8; 32];
        got.copy_from_slice(ctx.finish().as_ref());
        Ok::<_, anyhow::Error>(got)
    });
    file_client::send(
        &mut sender,
        transfer,
        size,
        WAIT,
        |o, buf| fill(seed, o, buf),
        |_| {},
    )
    .map_err(|e| anyhow!("send: {e:?}"))?;
    let got = recv.join().map_err(|_| anyhow!("receiver panicked"))??;
    let secs = began.elapsed().as_secs_f64();
    if got != digest(seed, size) {
        bail!("online transfer {seed}: the receiver's SHA-256 differs");
    }
    Ok(size as f64 / secs)
}

/// Offline file `i`, 1300+i to 1400+i, then fetched by 1400+i: (upload, fetch) bytes
/// per second.
fn offline(args: &FilesArgs, i: u32, seed: u64) -> anyhow::Result<(f64, f64)> {
    let to = 1400 + i;
    let size = args.offline_mib << 20;
    let meta = FileMeta {
        name: format!("offline-{seed}.bin"),
        size,
        sha256: digest(seed, size),
        image: false,
    };
    let mut sender = agent(args, 1300 + i)?;
    let began = Instant::now();
    let (upload, mut offset) = file_client::begin_upload(&mut sender, FilePeer::Agent(to), meta)
        .map_err(|e| anyhow!("upload: {e:?}"))?;
    let mut buf = vec![0u8; MAX_FILE_CHUNK];
    while offset < size {
        let n = (size - offset).min(MAX_FILE_CHUNK as u64) as usize;
        fill(seed, offset, &mut buf[..n]);
        offset = file_client::upload_chunk(&mut sender, upload, offset, &buf[..n])
            .map_err(|e| anyhow!("chunk: {e:?}"))?;
    }
    file_client::finish_upload(&mut sender, upload).map_err(|e| anyhow!("finish: {e:?}"))?;
    let up = size as f64 / began.elapsed().as_secs_f64();
    let mut receiver = agent(args, to)?;
    let listed = file_client::list(&mut receiver).map_err(|e| anyhow!("list: {e:?}"))?;
    let file = listed
        .iter()
        .find(|f| f.meta.name == format!("offline-{seed}.bin"))
        .ok_or_else(|| anyhow!("offline file {seed} not listed"))?;
    let began = Instant::now();
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    file_client::fetch(&mut receiver, file.token, |_, b| ctx.update(b))
        .map_err(|e| anyhow!("fetch: {e:?}"))?;
    let down = size as f64 / began.elapsed().as_secs_f64();
    if ctx.finish().as_ref() != digest(seed, size).as_slice() {
        bail!("offline file {seed}: the fetched SHA-256 differs");
    }
    Ok((up, down))
}

/// Quick-reply lookups at `rate` until `stop`: each `ListQuickReplies`, then the
/// replies whose shortcut starts with a `#` prefix; latencies in microseconds.
fn lookups(args: &FilesArgs, number: u32, stop: &AtomicBool) -> anyhow::Result<Vec<u64>> {
    let mut c = agent(args, number)?;
    let replies: Vec<QuickReply> = (0..100)
        .map(|i| QuickReply {
            shortcut: format!("#q{i:02}"),
            text: format!("快捷回复 {i}: 您好，请问有什么可以帮您？"),
        })
        .collect();
    c.request(&Request::SetQuickReplies {
        shared: false,
        replies,
    })?;
    let mut latencies = Vec::new();
    if args.lookups_per_sec <= 0.0 {
        return Ok(latencies);
    }
    let gap = Duration::from_secs_f64(1.0 / args.lookups_per_sec);
    let mut next = Instant::now();
    let mut i = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            // Open-loop pacing of the lookups themselves (not synchronisation).
            std::thread::park_timeout(next - now);
            continue;
        }
        next += gap;
        let began = Instant::now();
        let prefix = format!("#q{}", i % 10);
        let found = match c.request(&Request::ListQuickReplies)? {
            Response::QuickReplies { personal, shared } => personal
                .iter()
                .chain(shared.iter())
                .filter(|r| r.shortcut.starts_with(&prefix))
                .count(),
            other => bail!("ListQuickReplies: {other:?}"),
        };
        if found == 0 {
            bail!("no quick reply starts with {prefix}");
        }
        latencies.push(began.elapsed().as_micros() as u64);
        i += 1;
    }
    Ok(latencies)
}

fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let s = crate::memory::sample(pid?).ok()?;
    Some(s.vm_rss? as f64 / (1 << 20) as f64)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Runs it; the report on stdout.
pub fn run(args: &FilesArgs) -> anyhow::Result<bool> {
    if args.online > 64 || args.offline > 64 || args.online_mib > 4096 || args.offline_mib > 4096 {
        bail!("at most 64 transfers of each kind, of at most 4096 MiB");
    }
    if !(0.0..=10_000.0).contains(&args.lookups_per_sec) {
        bail!("--lookups-per-sec must be 0..=10000");
    }
    prepare(args)?;
    let before = rss_mib(args.daemon_pid);
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (stop, pid) = (Arc::clone(&stop), args.daemon_pid);
        std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                samples.extend(rss_mib(pid));
                std::thread::park_timeout(Duration::from_millis(200));
            }
            samples
        })
    };
    let began = Instant::now();
    let results = std::thread::scope(|s| {
        let look = s.spawn(|| lookups(args, LOOKER, &stop));
        let mut online_runs = Vec::new();
        for i in 0..args.online {
            online_runs.push(s.spawn(move || online(args, i as u32, i as u64)));
        }
        let mut offline_runs = Vec::new();
        for i in 0..args.offline {
            let seed = 1_000 + i as u64;
            offline_runs.push(s.spawn(move || offline(args, i as u32, seed)));
        }
        let online: Vec<_> = online_runs.into_iter().map(|h| h.join()).collect();
        let offline: Vec<_> = offline_runs.into_iter().map(|h| h.join()).collect();
        stop.store(true, Ordering::Relaxed);
        (online, offline, look.join())
    });
    let elapsed = began.elapsed().as_secs_f64();
    let samples = sampler.join().unwrap_or_default();
    let after = rss_mib(args.daemon_pid);
    let (online, offline, look) = results;
    let mut ok = true;
    let mut out = format!("files mix: {elapsed:.1} s\n");
    for (i, r) in online.into_iter().enumerate() {
        match r {
            Ok(Ok(rate)) => {
                out += &format!(
                    "  online {i}: {} MiB relayed, hash checked, {:.1} MiB/s\n",
                    args.online_mib,
                    rate / (1 << 20) as f64
                )
            }
            Ok(Err(e)) => {
                ok = false;
                out += &format!("  online {i}: FAILED {e:#}\n");
            }
            Err(_) => {
                ok = false;
                out += &format!("  online {i}: panicked\n");
            }
        }
    }
    for (i, r) in offline.into_iter().enumerate() {
        match r {
            Ok(Ok((up, down))) => {
                out += &format!(
                    "  offline {i}: {} MiB uploaded at {:.1} MiB/s, fetched at {:.1} MiB/s, hash checked\n",
                    args.offline_mib,
                    up / (1 << 20) as f64,
                    down / (1 << 20) as f64
                )
            }
            Ok(Err(e)) => {
                ok = false;
                out += &format!("  offline {i}: FAILED {e:#}\n");
            }
            Err(_) => {
                ok = false;
                out += &format!("  offline {i}: panicked\n");
            }
        }
    }
    match look {
        Ok(Ok(mut l)) => {
            l.sort_unstable();
            out += &format!(
                "  quick-reply lookups: {} (p50 {} us, p99 {} us, max {} us)\n",
                l.len(),
                percentile(&l, 0.5),
                percentile(&l, 0.99),
                l.last().copied().unwrap_or(0)
            );
        }
        Ok(Err(e)) => {
            ok = false;
            out += &format!("  quick-reply lookups: FAILED {e:#}\n");
        }
        Err(_) => ok = false,
    }
    if args.daemon_pid.is_some() {
        let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
        let max = samples.iter().copied().fold(0.0, f64::max);
        out += &format!(
            "  daemon RSS: before {:.1} MiB, during {min:.1}..{max:.1} MiB ({} samples), after {:.1} MiB\n",
            before.unwrap_or(0.0),
            samples.len(),
            after.unwrap_or(0.0)
        );
    }
    crate::print(&out)?;
    Ok(ok)
}
