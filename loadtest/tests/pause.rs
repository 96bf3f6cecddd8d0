//! Coordinated omission: `kefu-load chat` against a `kefud` child process
//! that is stopped (SIGSTOP) for a known time in the middle of the measured
//! window.
//!
//! The customers have a window of one unanswered message each, as a client
//! waiting for its acknowledgements: during the pause each has one message
//! stuck, and the messages that fall due meanwhile wait in the tool. Measured
//! from their due times (corrected) the pause shows in the tail percentiles;
//! measured from when they actually left (uncorrected), only the handful
//! stuck in flight see it, and it vanishes from the percentiles. The only
//! timing assertions are about the deliberate pause.
//!
//! `kefud` is taken from the same target directory as this test (built by
//! `cargo test --workspace --release`, or `cargo build --release -p
//! kefu-daemon --bin kefud`), or from `$KEFU_KEFUD`.

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::Receiver;
use std::time::Duration;

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// How long the daemon is stopped.
const PAUSE: Duration = Duration::from_secs(1);
/// Customers, each with one message in flight at most: at most this many
/// measurements from the actual send can include the pause.
const CUSTOMERS: u32 = 6;

/// The `kefud` next to this test's executable (target/<profile>/kefud).
fn kefud() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("KEFU_KEFUD") {
        return Ok(p.into());
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    // target/<profile>/deps/pause-<hash> → target/<profile>/kefud
    let candidate = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("kefud"))
        .ok_or("no target directory above the test executable")?;
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "{} not found: build it first (cargo build --release -p kefu-daemon --bin kefud, \
             or run cargo test --workspace --release), or set KEFU_KEFUD",
            candidate.display()
        ))
    }
}

/// A kefud child process: stopped processes are continued, and every one
/// killed, on drop.
struct Daemon {
    child: Child,
    tcp: String,
    admin: String,
}

impl Daemon {
    fn start(dir: &Path) -> Result<Daemon, Box<dyn std::error::Error>> {
        let config = dir.join("kefud.toml");
        std::fs::write(
            &config,
            format!(
                "data_dir = {:?}\nlisten = \"127.0.0.1:0\"\nadmin_socket = {:?}\nshards = 2\n\
                 [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n",
                dir.join("data"),
                dir.join("admin.sock")
            ),
        )?;
        let mut child = Command::new(kefud()?)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()?;
        let lines = lines_of(child.stderr.take().ok_or("no stderr")?);
        let mut daemon = Daemon {
            child,
            tcp: String::new(),
            admin: String::new(),
        };
        loop {
            let line = lines.recv_timeout(Duration::from_secs(60))?;
            if let Some(rest) = line.strip_prefix("kefud: ready ") {
                let field = |name: &str| {
                    rest.split(' ')
                        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                        .map(str::to_string)
                        .ok_or(format!("no {name}= in {line:?}"))
                };
                daemon.tcp = field("tcp")?;
                daemon.admin = field("admin")?;
                return Ok(daemon);
            }
        }
    }

    fn signal(&self, sig: i32) {
        // SAFETY: a signal to our own child process; no memory is involved.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.signal(libc::SIGCONT);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reader thread turning a pipe into lines.
fn lines_of(pipe: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn us(r: &Value, pointer: &str) -> Result<u64, String> {
    r.pointer(pointer)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("{pointer} missing"))
}

#[test]
fn a_paused_daemon_shows_in_the_corrected_tail_and_hides_from_the_uncorrected() -> TestResult {
    let dir = tempfile::tempdir()?;
    let daemon = Daemon::start(dir.path())?;
    let json = dir.path().join("chat.json");
    let customers = CUSTOMERS.to_string();
    // 2,000 msg/s: 10,000 measured messages over 5 s, of which the pause
    // holds up about 2,000; at most 6 are in flight when it starts.
    let mut load = Command::new(env!("CARGO_BIN_EXE_kefu-load"))
        .args([
            "chat",
            "--server",
            &daemon.tcp,
            "--admin-socket",
            &daemon.admin,
            "--provision",
            "--accounts",
            "1",
            "--agents-per-account",
            "2",
            "--customers-per-account",
            &customers,
            "--rate",
            "2000",
            "--warmup",
            "0.5",
            "--duration",
            "5",
            "--drain",
            "20",
            "--window",
            "1",
            "--threads",
            "2",
            "--sources",
            "127.0.0.1",
            "--timeout-secs",
            "90",
            "--json",
        ])
        .arg(&json)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let stdout = load.stdout.take().ok_or("no stdout")?;
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut BufReader::new(stdout), &mut s);
        s
    });
    let progress = lines_of(load.stderr.take().ok_or("no stderr")?);
    // The tool says when its schedule starts (50 ms later).
    let mut stderr = Vec::new();
    loop {
        match progress.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => {
                let started = line.starts_with("kefu-load: traffic:");
                stderr.push(line);
                if started {
                    break;
                }
            }
            Err(e) => {
                let _ = load.kill();
                let _ = load.wait();
                return Err(format!("no traffic line ({e}): {stderr:?}").into());
            }
        }
    }
    // The experiment: 1.5 s into the schedule (1 s into the measured
    // window), stop the daemon for PAUSE.
    std::thread::sleep(Duration::from_millis(1500));
    daemon.signal(libc::SIGSTOP);
    std::thread::sleep(PAUSE);
    daemon.signal(libc::SIGCONT);
    let status = load.wait()?;
    let text = out.join().map_err(|_| "stdout reader panicked")?;
    stderr.extend(progress.try_iter());
    let explain = format!("status {status:?}\n--- stdout\n{text}\n--- stderr\n{stderr:?}");
    assert!(status.success(), "{explain}");
    let r: Value = serde_json::from_slice(&std::fs::read(&json)?)?;
    // Nothing lost to the pause.
    assert_eq!(r.pointer("/ok"), Some(&Value::from(true)), "{explain}");
    assert_eq!(us(&r, "/messages/delivered")?, 11_000, "{explain}");

    let pause_us = PAUSE.as_micros() as u64;
    // The figures, for whoever runs this with --nocapture.
    for p in [
        "/latency_us/end_to_end",
        "/latency_us/end_to_end_from_send",
        "/latency_us/ack",
        "/latency_us/ack_from_send",
    ] {
        let get = |f: &str| us(&r, &format!("{p}/{f}")).unwrap_or(0) as f64 / 1000.0;
        eprintln!(
            "{p:<34} p50 {:8.3}  p99 {:8.3}  p99.9 {:8.3}  p99.99 {:8.3}  max {:8.3} ms",
            get("p50"),
            get("p99"),
            get("p999"),
            get("p9999"),
            get("max")
        );
    }
    let bound = pause_us * 8 / 10;
    let corrected = "/latency_us/end_to_end";
    let uncorrected = "/latency_us/end_to_end_from_send";
    let samples = us(&r, &format!("{uncorrected}/count"))?;
    assert_eq!(samples, 10_000, "{explain}");
    // Corrected: about a fifth of the measured messages fell due during the
    // pause and waited for it, so the whole tail reflects it.
    for p in ["max", "p9999", "p999"] {
        let v = us(&r, &format!("{corrected}/{p}"))?;
        assert!(v >= bound, "corrected {p} {v} µs < {bound} µs\n{explain}");
    }
    // Uncorrected: only the messages in flight when the daemon stopped (one
    // per customer, 6 of 10,000 samples, under 0.1%) saw the pause; the
    // ones that waited in the tool are measured from when they left.
    let p999 = us(&r, &format!("{uncorrected}/p999"))?;
    assert!(
        p999 < bound,
        "uncorrected p99.9 {p999} µs reached the pause\n{explain}"
    );
    assert!(
        u64::from(CUSTOMERS) * 1000 < samples,
        "fewer than 0.1% in flight"
    );
    // Acknowledgements, likewise.
    let ack = us(&r, "/latency_us/ack/p999")?;
    let ack_uncorrected = us(&r, "/latency_us/ack_from_send/p999")?;
    assert!(ack >= bound && ack_uncorrected < bound, "{explain}");
    Ok(())
}
