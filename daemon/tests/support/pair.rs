//! `kefud` processes beside a 3-member etcd, for the cluster tests (issue 18,
//! `daemon/CLUSTER.md`): `failover.rs`, `rejoin.rs`, `replication_lag.rs`,
//! `cluster_move.rs` and the load harness's `loadtest/tests/pair.rs`. Here: the
//! loopback addresses of a test (etcd on 127.0.0.2–4, member `a` on .5, `b` on .6),
//! the CA and certificates, a member's configuration (role, durability, replication
//! addresses, etcd, pair, lease, metrics listener), the process itself (killed when
//! dropped; its log kept; signals; its metrics), polling with a deadline, etcd's view
//! of a pair, a TCP proxy a test cuts and heals (a partition), and `kefuctl` run as a
//! process.
//!
//! Every port is probed free from :0 on its address. It needs only its sibling
//! `etcd.rs`: the load harness's tests include both (`#[path]`), where `kefud` is found
//! by [`kefud`]. `KEFUD_LOG=1` echoes every member's log.

use super::etcd::{free_addr, loopback, EtcdCluster};
use kefu_daemon::cluster::etcd::Etcd;
use kefu_daemon::cluster::{LeaderValue, MemberStatus};
use kefu_wire::{Client, ClientOptions, Request, Response};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The last byte of the etcd members' loopback addresses.
pub const ETCD_IPS: [u8; 3] = [2, 3, 4];
/// Member `a`'s loopback address (127.0.0.5) and member `b`'s (127.0.0.6).
pub const A: u8 = 5;
pub const B: u8 = 6;
/// The pair's name in etcd, unless a test names another.
pub const PAIR: &str = "p1";
/// The lease, seconds, unless a test sets another (short: the tests wait for expiries).
pub const LEASE: u32 = 2;
/// How long any awaited change may take (a leader, a log line, a status).
pub const WITHIN: Duration = Duration::from_secs(90);

/// Three etcd members on 127.0.0.2–4.
pub fn etcd_cluster() -> EtcdCluster {
    EtcdCluster::start_on(ETCD_IPS.map(loopback))
}

/// A member's own addresses on its loopback IP: its client listener and its
/// replication listener.
#[derive(Clone, Copy, Debug)]
pub struct Addrs {
    pub client: SocketAddr,
    pub replication: SocketAddr,
}

impl Addrs {
    /// Two ports probed free on 127.0.0.`last`.
    pub fn on(last: u8) -> Addrs {
        Addrs {
            client: free_addr(loopback(last)),
            replication: free_addr(loopback(last)),
        }
    }
}

/// A temporary home holding the [`pki`] of members `a` (on [`A`]) and `b` (on [`B`]),
/// and their addresses.
pub fn pair_home() -> (tempfile::TempDir, Addrs, Addrs) {
    let home = tempfile::tempdir().expect("tempdir");
    pki(home.path(), &[("a", loopback(A)), ("b", loopback(B))]);
    (home, Addrs::on(A), Addrs::on(B))
}

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
#[derive(Clone, Copy)]
pub struct Spec<'a> {
    pub node: &'a str,
    /// `[cluster] role`: primary, else standby.
    pub primary: bool,
    pub client: SocketAddr,
    /// `[cluster] replication_listen`: where it serves its standby (when it leads).
    pub listen: Option<SocketAddr>,
    /// `[cluster] peer`: where it reaches the other member's replication.
    pub peer: Option<SocketAddr>,
    /// `[cluster.etcd] endpoints`; `None`: no `[cluster.etcd]` (roles fixed).
    pub etcd: Option<&'a [SocketAddr]>,
    /// `[cluster.etcd] pair`.
    pub pair: &'a str,
    /// `[cluster.etcd] lease_seconds`.
    pub lease: u32,
    /// `[cluster.etcd] auto_promote`.
    pub auto_promote: bool,
    /// `[storage] durability`; `None`: the default.
    pub durability: Option<&'a str>,
    /// `metrics_listen` (its port is read back from the readiness line).
    pub metrics: Option<SocketAddr>,
}

impl<'a> Spec<'a> {
    /// A member with `[cluster.etcd]` at `etcd`, pair [`PAIR`], lease [`LEASE`],
    /// auto-promoting, with a metrics listener on the client address's IP. The primary
    /// listens on `replication` in `replicated` durability; the standby dials it (its
    /// durability is unused until promoted).
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
            listen: primary.then_some(replication),
            peer: (!primary).then_some(replication),
            etcd: Some(etcd),
            pair: PAIR,
            lease: LEASE,
            auto_promote: true,
            durability: primary.then_some("replicated"),
            metrics: Some(SocketAddr::new(client.ip(), 0)),
        }
    }
}

/// Writes `<home>/<node>/kefud.toml` for `spec`; its path.
pub fn config(home: &Path, spec: &Spec) -> PathBuf {
    let dir = home.join(spec.node);
    std::fs::create_dir_all(&dir).unwrap();
    let line = |key: &str, value: Option<String>| {
        value.map_or(String::new(), |v| format!("{key} = {v}\n"))
    };
    let quoted = |a: Option<SocketAddr>| a.map(|a| format!("\"{a}\""));
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
         [cluster]\nrole = \"{role}\"\n{listen}{peer}certificate = {cert:?}\nkey = {key:?}\n\
         ca = {ca:?}\n{etcd}",
        data = dir.join("data"),
        client = spec.client,
        sock = dir.join("admin.sock"),
        metrics = line("metrics_listen", quoted(spec.metrics)),
        durability = line("durability", spec.durability.map(|d| format!("\"{d}\""))),
        role = if spec.primary { "primary" } else { "standby" },
        listen = line("replication_listen", quoted(spec.listen)),
        peer = line("peer", quoted(spec.peer)),
        cert = home.join(format!("{}.pem", spec.node)),
        key = home.join(format!("{}.key", spec.node)),
        ca = home.join("ca.pem"),
        // Every member of a pair, and every appliance an account may move to, shares the
        // sealing key (installed by the operator, like the TLS material): the secrets in
        // the replicated database and the moved account's travel sealed with it.
        token = home.join("token.key"),
    );
    let path = dir.join("kefud.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A `kefud` process, killed when dropped. A member that re-executes itself (a rejoin)
/// keeps its process id and its standard error.
pub struct Member {
    pub child: Child,
    pub client: SocketAddr,
    pub admin: PathBuf,
    /// Its data directory.
    pub data: PathBuf,
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
    /// for its readiness line (at most a minute; a standby prints it too).
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
                if let Some(rest) = line.strip_prefix("kefud: ready") {
                    let _ = tx.send(rest.to_string());
                }
                if std::env::var_os("KEFUD_LOG").is_some() {
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
        let dir = home.join(spec.node);
        Member {
            child,
            client: spec.client,
            admin: dir.join("admin.sock"),
            data: dir.join("data"),
            metrics,
            log,
        }
    }

    /// A client of its admin socket (bound only while it serves).
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

    /// Waits until a line of its log contains `what` (at most [`WITHIN`]).
    pub fn await_log(&self, what: &str) {
        poll(WITHIN, &format!("the log says {what:?}"), || {
            self.logged(what).then_some(())
        });
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

    /// Its metrics from its metrics listener (`GET /metrics`), or `None` if it has none
    /// or it does not answer.
    pub fn scrape(&self) -> Option<String> {
        scrape(self.metrics?)
    }

    /// The value of the unlabelled series `name` in its metrics.
    pub fn metric(&self, name: &str) -> Option<f64> {
        metric(&self.scrape()?, name)
    }

    /// Its metrics as the admin socket gives them (`kefuctl stats --prometheus`).
    pub fn admin_metrics(&self) -> String {
        match self.admin().request(&Request::AdminMetrics) {
            Ok(Response::Metrics { text }) => text,
            other => panic!("metrics: {other:?}"),
        }
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

/// Pair `pair`'s leader key, if set.
pub fn leader(etcd: &Etcd, pair: &str) -> Option<LeaderValue> {
    let v = etcd
        .get(format!("/kefu/pairs/{pair}/leader").as_bytes())
        .ok()??;
    Some(serde_json::from_slice(&v).expect("leader value"))
}

/// Polls etcd until pair `pair`'s leader key names `node` (at most [`WITHIN`]); its
/// value.
pub fn leader_is(etcd: &Etcd, pair: &str, node: &str) -> LeaderValue {
    poll(WITHIN, &format!("{node} leads {pair}"), || {
        leader(etcd, pair).filter(|l| l.node == node)
    })
}

/// The status member `node` of pair `pair` publishes in etcd.
pub fn member_status(etcd: &Etcd, pair: &str, node: &str) -> Option<MemberStatus> {
    let v = etcd
        .get(format!("/kefu/pairs/{pair}/members/{node}").as_bytes())
        .ok()??;
    serde_json::from_slice(&v).ok()
}

/// `kefuctl` as a process (the binary built beside `kefud`: `cargo build --release
/// -p kefu-tools`, which `cargo test --workspace` does before any test runs); its output.
pub fn kefuctl(args: &[&str]) -> Output {
    let path = kefud().with_file_name("kefuctl");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --release -p kefu-tools)",
        path.display()
    );
    Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kefuctl runs")
}

/// `kefuctl cluster --etcd ... --pair <pair> ARGS...`, which must succeed; its output.
pub fn kefuctl_cluster(etcd: &[SocketAddr], pair: &str, args: &[&str]) -> String {
    let endpoints: Vec<String> = etcd.iter().map(ToString::to_string).collect();
    let endpoints = endpoints.join(",");
    let mut all = vec!["cluster", "--etcd", &endpoints, "--pair", pair];
    all.extend_from_slice(args);
    let out = kefuctl(&all);
    assert!(
        out.status.success(),
        "kefuctl {all:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A TCP proxy the test can cut and heal: forwards to `target`; cut, it closes every
/// connection it carries and every new one at once; healed, it forwards again. It
/// listens on the target's IP.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind((target.ip(), 0)).unwrap();
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
                    let _ = inbound.shutdown(Shutdown::Both);
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

    /// The partition: every carried connection closed, new ones refused.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// The partition heals: new connections are carried again.
    pub fn heal(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }
}
