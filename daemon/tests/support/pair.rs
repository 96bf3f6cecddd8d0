//! A pair of `kefud` processes for the cluster tests (issue 18, `daemon/CLUSTER.md`):
//! the pair's CA and certificates, each member's configuration, the process itself
//! (killed when dropped; its log kept; signals; its metrics), polling etcd for the
//! leader, and a TCP proxy a test cuts to make a partition.
//!
//! Each member may have a loopback address of its own (`etcd::loopback(5)`,
//! `etcd::loopback(6)`; the etcd members on 127.0.0.2–4): the certificates name the
//! addresses given to [`pki`], and every port is probed free from :0 on its address.
//!
//! It needs only its sibling `etcd.rs`: the load harness's tests include both
//! (`loadtest/tests/pair.rs`, `#[path]`), where `kefud` is found by [`kefud`].

use super::etcd::free_addr;
use kefu_daemon::cluster::etcd::Etcd;
use kefu_daemon::cluster::LeaderValue;
use kefu_wire::{Client, ClientOptions};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The `kefud` binary: this crate's (the daemon's tests), else `$KEFU_KEFUD`, else the
/// one in the target directory above the test executable.
pub fn kefud() -> PathBuf {
    if let Some(p) = option_env!("CARGO_BIN_EXE_kefud") {
        return p.into();
    }
    if let Some(p) = std::env::var_os("KEFU_KEFUD") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test>-<hash> → target/<profile>/kefud
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("kefud"))
        .expect("a target directory above the test executable")
}

/// The pair's CA (`ca.pem`) and, for each `(node, ip)`, `<node>.pem` / `<node>.key`
/// naming `ip` and 127.0.0.1 (the address the peer dials must be named).
pub fn pki(dir: &Path, nodes: &[(&str, IpAddr)]) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (node, ip) in nodes {
        let mut names = vec![ip.to_string()];
        if *ip != IpAddr::V4(Ipv4Addr::LOCALHOST) {
            names.push("127.0.0.1".into());
        }
        let params = rcgen::CertificateParams::new(names).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join(format!("{node}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{node}.key")), key.serialize_pem()).unwrap();
    }
}

/// One member's settings.
pub struct Spec<'a> {
    pub node: &'a str,
    pub primary: bool,
    pub client: SocketAddr,
    /// Primary: where it listens for the standby. Standby: where it dials.
    pub replication: SocketAddr,
    /// `[cluster.etcd] endpoints`; `None`: no `[cluster.etcd]` (roles fixed).
    pub etcd: Option<&'a [SocketAddr]>,
    /// `[cluster.etcd] pair`.
    pub pair: &'a str,
    /// `[cluster.etcd] lease_seconds`.
    pub lease: u32,
    /// `[cluster.etcd] auto_promote`.
    pub auto_promote: bool,
    /// The primary's `[storage] durability` (the standby's is unused until promoted).
    pub durability: &'a str,
    /// `metrics_listen` (its port is read back from the readiness line).
    pub metrics: Option<SocketAddr>,
}

impl<'a> Spec<'a> {
    /// A member with `[cluster.etcd]` at `etcd`, pair `pair`, lease `lease` seconds,
    /// auto-promoting, the primary in `replicated`, with a metrics listener on the
    /// client address's IP.
    pub fn new(
        node: &'a str,
        primary: bool,
        client: SocketAddr,
        replication: SocketAddr,
        etcd: &'a [SocketAddr],
    ) -> Spec<'a> {
        Spec {
            node,
            primary,
            client,
            replication,
            etcd: Some(etcd),
            pair: "p1",
            lease: 2,
            auto_promote: true,
            durability: "replicated",
            metrics: Some(SocketAddr::new(client.ip(), 0)),
        }
    }
}

/// Writes `<home>/<node>/kefud.toml` for `spec`; its path.
pub fn config(home: &Path, spec: &Spec) -> PathBuf {
    let dir = home.join(spec.node);
    std::fs::create_dir_all(&dir).unwrap();
    let (role, replication, durability) = if spec.primary {
        (
            "primary",
            format!("replication_listen = \"{}\"", spec.replication),
            format!("durability = \"{}\"\n", spec.durability),
        )
    } else {
        (
            "standby",
            format!("peer = \"{}\"", spec.replication),
            String::new(),
        )
    };
    let metrics = spec
        .metrics
        .map_or(String::new(), |a| format!("metrics_listen = \"{a}\"\n"));
    let etcd = match spec.etcd {
        Some(endpoints) => {
            let endpoints: Vec<String> = endpoints.iter().map(|a| format!("\"{a}\"")).collect();
            format!(
                "[cluster.etcd]\nendpoints = [{endpoints}]\npair = \"{pair}\"\n\
                 node = \"{node}\"\nlease_seconds = {lease}\nclient_addr = \"{client}\"\n\
                 auto_promote = {auto}\n",
                endpoints = endpoints.join(", "),
                pair = spec.pair,
                node = spec.node,
                lease = spec.lease,
                client = spec.client,
                auto = spec.auto_promote,
            )
        }
        None => String::new(),
    };
    let text = format!(
        "data_dir = {data:?}\nlisten = \"{client}\"\nadmin_socket = {sock:?}\nshards = 2\n\
         {metrics}\
         [storage]\n{durability}wal_archive_seconds = 86400\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n\
         token_key_file = {token:?}\n\
         [cluster]\nrole = \"{role}\"\n{replication}\ncertificate = {cert:?}\nkey = {key:?}\n\
         ca = {ca:?}\n{etcd}",
        data = dir.join("data"),
        client = spec.client,
        sock = dir.join("admin.sock"),
        cert = home.join(format!("{}.pem", spec.node)),
        key = home.join(format!("{}.key", spec.node)),
        ca = home.join("ca.pem"),
        // The pair shares its sealing key (installed by the operator on both, like the
        // TLS material): the secrets in the replicated database are sealed with it.
        token = home.join("token.key"),
    );
    let path = dir.join("kefud.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A `kefud` process of the pair, killed when dropped.
pub struct Member {
    pub child: Child,
    pub client: SocketAddr,
    pub admin: PathBuf,
    /// The metrics listener, from the readiness line.
    pub metrics: Option<SocketAddr>,
    pub log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Member {
    fn drop(&mut self) {
        // SIGKILL ends a stopped (SIGSTOP) process too.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Member {
    /// Starts `kefud` for `spec` under `home` (which holds the [`pki`] files) and waits
    /// for its readiness line (at most a minute). `FAILOVER_LOG=1` echoes its log.
    // The child is reaped by `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start(home: &Path, spec: &Spec) -> Member {
        let path = config(home, spec);
        let mut child = Command::new(kefud())
            .arg("--config")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kefud");
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = Arc::clone(&log);
        let node = spec.node.to_string();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("kefud: ready ") {
                    let _ = tx.send(rest.to_string());
                }
                if std::env::var_os("FAILOVER_LOG").is_some() {
                    eprintln!("[{node}] {line}");
                }
                lines.lock().unwrap().push(line);
            }
        });
        let ready = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("kefud printed its readiness line");
        let metrics = ready
            .split(' ')
            .find_map(|kv| kv.strip_prefix("metrics="))
            .and_then(|a| a.parse().ok());
        Member {
            child,
            client: spec.client,
            admin: home.join(spec.node).join("admin.sock"),
            metrics,
            log,
        }
    }

    /// A client of its admin socket.
    pub fn admin(&self) -> Client {
        let opts = ClientOptions {
            timeout: Duration::from_secs(30),
            ..ClientOptions::default()
        };
        Client::connect_unix(&self.admin, opts).expect("admin connect")
    }

    /// Whether a line of its log contains `what`.
    pub fn logged(&self, what: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(what))
    }

    /// SIGKILLs it and reaps it.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Sends `sig` (SIGSTOP, SIGCONT, …) unless it was reaped already.
    pub fn signal(&mut self, sig: i32) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        // SAFETY: a signal to our own child process, which is not reaped (its pid is
        // still ours).
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its metrics (`GET /metrics`), or `None` if it does not answer.
    pub fn scrape(&self) -> Option<String> {
        scrape(self.metrics?)
    }

    /// The value of the unlabelled series `name` in its metrics.
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric(&self.scrape()?, name)
    }
}

/// `GET /metrics` from `addr`: the body, or `None`.
pub fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\n\r\n").ok()?;
    let mut text = String::new();
    s.read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_string())
}

/// The value of the unlabelled series `name` in a Prometheus text.
pub fn metric(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
}

/// Polls etcd until pair `pair`'s leader key names `node` (at most a minute); its value.
pub fn leader_is(etcd: &Etcd, pair: &str, node: &str) -> LeaderValue {
    let key = format!("/kefu/pairs/{pair}/leader");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(v)) = etcd.get(key.as_bytes()) {
            let leader: LeaderValue = serde_json::from_slice(&v).expect("leader value");
            if leader.node == node {
                return leader;
            }
        }
        assert!(Instant::now() < deadline, "{node} never became leader");
        std::thread::yield_now();
    }
}

/// Polls `probe` until it returns `Some`, at most `within`; panics naming `what`.
pub fn poll<T>(within: Duration, what: &str, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = probe() {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A TCP proxy the test can cut: forwards to `target` until [`Proxy::cut`], after which
/// it closes every connection it carries and every new one at once. It listens on the
/// target's IP (a port probed free from :0).
pub struct Proxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind(free_addr(target.ip())).unwrap();
        let addr = listener.local_addr().unwrap();
        let cut = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (c, o) = (Arc::clone(&cut), Arc::clone(&open));
        std::thread::spawn(move || {
            for inbound in listener.incoming() {
                let Ok(inbound) = inbound else { continue };
                if c.load(Ordering::SeqCst) {
                    let _ = inbound.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(outbound) = TcpStream::connect(target) else {
                    continue;
                };
                {
                    let mut list = o.lock().unwrap();
                    list.push(inbound.try_clone().unwrap());
                    list.push(outbound.try_clone().unwrap());
                }
                for (mut from, mut to) in [
                    (inbound.try_clone().unwrap(), outbound.try_clone().unwrap()),
                    (outbound, inbound),
                ] {
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16 * 1024];
                        loop {
                            match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => {
                                    if to.write_all(&buf[..n]).is_err() {
                                        break;
                                    }
                                }
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { addr, cut, open }
    }

    /// Cuts every connection it carries, and every later one.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}
