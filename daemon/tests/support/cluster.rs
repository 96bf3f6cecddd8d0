//! `kefud` processes of pairs with `[cluster.etcd]`, for the tests across appliances
//! (`cluster_move.rs`): a CA and node certificates naming the node's loopback address,
//! a member's configuration, the process (killed when dropped) with its log, and
//! `kefuctl` run as a process. (`failover.rs` has its own copy of the first three,
//! from before this module; it can move here.)

use kefu_daemon::cluster::etcd::Etcd;
use kefu_daemon::cluster::LeaderValue;
use kefu_wire::Client;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A free address on `ip` (a port the kernel just handed out there).
pub fn free_addr(ip: [u8; 4]) -> SocketAddr {
    TcpListener::bind(SocketAddr::from((ip, 0)))
        .and_then(|l| l.local_addr())
        .expect("a free port")
}

/// Writes `ca.pem` and, per node, `<node>.pem` / `<node>.key` naming its address.
pub fn pki(dir: &Path, nodes: &[(&str, IpAddr)]) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for (node, ip) in nodes {
        let params = rcgen::CertificateParams::new(vec![ip.to_string()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join(format!("{node}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{node}.key")), key.serialize_pem()).unwrap();
    }
}

/// One primary's settings (a pair running alone: no standby).
pub struct Spec<'a> {
    /// Node name (and the file names of its certificate).
    pub node: &'a str,
    /// `[cluster.etcd] pair`.
    pub pair: &'a str,
    /// The client listener.
    pub client: SocketAddr,
    /// `[cluster] replication_listen`.
    pub replication: SocketAddr,
    /// The etcd members.
    pub etcd: &'a [SocketAddr],
    /// `[storage] durability`.
    pub durability: &'a str,
}

/// A `kefud` process, killed when dropped.
pub struct Kefud {
    child: Child,
    /// Its client address.
    pub client: SocketAddr,
    /// Its admin socket.
    pub admin: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Kefud {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn config(home: &Path, spec: &Spec) -> PathBuf {
    let dir = home.join(spec.node);
    std::fs::create_dir_all(&dir).unwrap();
    let endpoints: Vec<String> = spec.etcd.iter().map(|a| format!("\"{a}\"")).collect();
    let text = format!(
        "data_dir = {data:?}\nlisten = \"{client}\"\nadmin_socket = {sock:?}\nshards = 2\n\
         [storage]\ndurability = \"{durability}\"\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n\
         token_key_file = {token:?}\n\
         [cluster]\nrole = \"primary\"\nreplication_listen = \"{replication}\"\n\
         certificate = {cert:?}\nkey = {key:?}\nca = {ca:?}\n\
         [cluster.etcd]\nendpoints = [{endpoints}]\npair = \"{pair}\"\nnode = \"{node}\"\n\
         lease_seconds = 2\nclient_addr = \"{client}\"\n",
        data = dir.join("data"),
        client = spec.client,
        sock = dir.join("admin.sock"),
        durability = spec.durability,
        replication = spec.replication,
        cert = home.join(format!("{}.pem", spec.node)),
        key = home.join(format!("{}.key", spec.node)),
        ca = home.join("ca.pem"),
        // Every appliance an account may move to shares the sealing key: the account's
        // secrets (customer keys) and session tokens travel sealed with it.
        token = home.join("token.key"),
        endpoints = endpoints.join(", "),
        pair = spec.pair,
        node = spec.node,
    );
    let path = dir.join("kefud.toml");
    std::fs::write(&path, text).unwrap();
    path
}

impl Kefud {
    /// Starts the process and waits for its readiness line (at most a minute).
    // The child is reaped by `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start(home: &Path, spec: &Spec) -> Kefud {
        let path = config(home, spec);
        let mut child = Command::new(env!("CARGO_BIN_EXE_kefud"))
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
                if line.starts_with("kefud: ready") {
                    let _ = tx.send(());
                }
                if std::env::var_os("CLUSTER_LOG").is_some() {
                    eprintln!("[{node}] {line}");
                }
                lines.lock().unwrap().push(line);
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("kefud printed its readiness line");
        Kefud {
            child,
            client: spec.client,
            admin: home.join(spec.node).join("admin.sock"),
            log,
        }
    }

    /// A connection to its admin socket.
    pub fn admin(&self) -> Client {
        Client::connect_unix(&self.admin, super::opts()).expect("admin connect")
    }

    /// Whether a log line contains `what`.
    pub fn logged(&self, what: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(what))
    }
}

/// Polls etcd until `pair`'s leader key names `node` (at most a minute); its value.
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
        assert!(Instant::now() < deadline, "{node} never led {pair}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Runs `kefuctl` (built beside `kefud`: `cargo build --release -p kefu-tools`, which
/// `cargo test --workspace` does) with `args`; its output.
pub fn kefuctl(args: &[&str]) -> Output {
    let path = Path::new(env!("CARGO_BIN_EXE_kefud")).with_file_name("kefuctl");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --release -p kefu-tools)",
        path.display()
    );
    Command::new(path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kefuctl runs")
}
