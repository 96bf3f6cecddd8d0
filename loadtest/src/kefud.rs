//! A kefud child process run by the tool itself (crash-loop, sweep): started
//! from a config file, ready once it prints its readiness line
//! (`kefud: ready tcp=ADDR admin=PATH ...`), killed with SIGKILL.

use crate::pinning::Pinning;
use anyhow::{bail, Context};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running kefud child.
pub struct Kefud {
    child: Child,
    /// Its client address.
    pub tcp: SocketAddr,
    /// Its admin socket.
    pub admin: PathBuf,
    /// Its metrics listener, if the config has one (`metrics_listen`).
    pub metrics: Option<SocketAddr>,
}

/// `explicit`, or the `kefud` beside this `kefu-load`.
pub fn path(explicit: Option<&Path>) -> anyhow::Result<PathBuf> {
    match explicit {
        Some(p) => Ok(p.to_path_buf()),
        None => Ok(std::env::current_exe()?
            .parent()
            .context("kefu-load's directory")?
            .join("kefud")),
    }
}

impl Kefud {
    /// Starts `kefud --config config` and waits up to `ready_timeout` for its
    /// readiness line; its later error lines are copied to our stderr.
    pub fn start(kefud: &Path, config: &Path, ready_timeout: Duration) -> anyhow::Result<Kefud> {
        Kefud::start_on(kefud, config, ready_timeout, None)
    }

    /// The same, on the servers' CPUs of `pinning` if given.
    pub fn start_on(
        kefud: &Path,
        config: &Path,
        ready_timeout: Duration,
        pinning: Option<&Pinning>,
    ) -> anyhow::Result<Kefud> {
        let mut command = Command::new(kefud);
        command
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(p) = pinning {
            p.pin_server(&mut command)?;
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", kefud.display()))?;
        let stderr = child.stderr.take().context("kefud's stderr")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut ready = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !ready {
                    ready = line.starts_with("kefud: ready ");
                    let _ = tx.send(line);
                } else if line.contains("ERROR") || line.contains("error") {
                    eprintln!("{line}");
                }
            }
        });
        let deadline = Instant::now() + ready_timeout;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = rx.recv_timeout(left) else {
                let _ = child.kill();
                let _ = child.wait();
                bail!("kefud did not print its readiness line; it said: {seen:?}");
            };
            if let Some(rest) = line.strip_prefix("kefud: ready ") {
                let field = |name: &str| {
                    rest.split(' ')
                        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                        .map(str::to_string)
                        .with_context(|| format!("readiness line without {name}: {rest}"))
                };
                let tcp = field("tcp")?.parse().context("tcp address")?;
                let admin = PathBuf::from(field("admin")?);
                let metrics = field("metrics").ok().and_then(|m| m.parse().ok());
                return Ok(Kefud {
                    child,
                    tcp,
                    admin,
                    metrics,
                });
            }
            seen.push(line);
        }
    }

    /// Group commits and messages stored so far, summed over the shards, from
    /// its metrics listener (`kefu_commits_total`, `kefu_messages_stored_total`).
    pub fn commits(&self) -> Option<(u64, u64)> {
        let text = scrape(self.metrics?)?;
        let sum = |name: &str| {
            text.lines()
                .filter(|l| l.starts_with(name))
                .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .sum::<f64>() as u64
        };
        Some((
            sum("kefu_commits_total{"),
            sum("kefu_messages_stored_total{"),
        ))
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL, and reap it.
    pub fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }
}

impl Drop for Kefud {
    fn drop(&mut self) {
        // A child never outlives the tool's error paths.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET /metrics` from a loopback metrics listener; the response, or `None`.
pub fn scrape(addr: SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    Some(text)
}
