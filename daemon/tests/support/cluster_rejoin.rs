//! Plumbing of the pair tests in which members change roles (`daemon/tests/rejoin.rs`):
//! `kefud` members as processes whose configuration names both replication addresses
//! (each one's own listener and the other's), a TCP proxy that can be cut and healed
//! (the partition), `kefuctl` as a process, and polling helpers with deadlines.

use super::{opts, PASSWORD};
use kefu_daemon::cluster::etcd::Etcd;
use kefu_daemon::cluster::{LeaderValue, MemberStatus};
use kefu_wire::chat::MessageBody;
use kefu_wire::pair::PairClient;
use kefu_wire::{Client, Request, Response};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The pair's name in etcd.
pub const PAIR: &str = "p1";
/// The lease, seconds (short: the tests wait for expiries).
pub const LEASE: u32 = 2;
/// How long any awaited change may take.
pub const WITHIN: Duration = Duration::from_secs(90);

/// The pair's CA and a certificate per node (`a`, `b`) naming 127.0.0.1, in `dir`.
pub fn pki(dir: &Path) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca = ca_params.self_signed(&ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    for node in ["a", "b"] {
        let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
        std::fs::write(dir.join(format!("{node}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{node}.key")), key.serialize_pem()).unwrap();
    }
}

/// One member's settings. Both members run `durability = "replicated"`: a standby
/// serves its own listener once promoted.
pub struct Spec<'a> {
    pub node: &'a str,
    pub primary: bool,
    pub client: SocketAddr,
    /// Where this member serves its standby (when it leads).
    pub listen: SocketAddr,
    /// Where it reaches the other member's replication.
    pub peer: SocketAddr,
    pub etcd: &'a [SocketAddr],
}

/// A `kefud` process of the pair, killed when dropped. A member that re-executes
/// itself keeps its process id and its standard error.
pub struct Member {
    pub child: Child,
    pub client: SocketAddr,
    pub admin: PathBuf,
    pub data: PathBuf,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Member {
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
         [storage]\ndurability = \"replicated\"\nwal_archive_seconds = 86400\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n\
         token_key_file = {token:?}\n\
         [cluster]\nrole = \"{role}\"\nreplication_listen = \"{listen}\"\npeer = \"{peer}\"\n\
         certificate = {cert:?}\nkey = {key:?}\nca = {ca:?}\n\
         [cluster.etcd]\nendpoints = [{endpoints}]\npair = \"{PAIR}\"\nnode = \"{node}\"\n\
         lease_seconds = {LEASE}\nclient_addr = \"{client}\"\n",
        data = dir.join("data"),
        client = spec.client,
        sock = dir.join("admin.sock"),
        role = if spec.primary { "primary" } else { "standby" },
        listen = spec.listen,
        peer = spec.peer,
        cert = home.join(format!("{}.pem", spec.node)),
        key = home.join(format!("{}.key", spec.node)),
        ca = home.join("ca.pem"),
        // Shared by the pair, installed by the operator on both (CLUSTER.md §5).
        token = home.join("token.key"),
        endpoints = endpoints.join(", "),
        node = spec.node,
    );
    let path = dir.join("kefud.toml");
    std::fs::write(&path, text).unwrap();
    path
}

impl Member {
    /// Starts `kefud` and waits for its readiness line (a standby prints it too).
    // The child is reaped by `Drop`.
    #[allow(clippy::zombie_processes)]
    pub fn start(home: &Path, spec: &Spec) -> Member {
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
                if std::env::var_os("REJOIN_LOG").is_some() {
                    eprintln!("[{node}] {line}");
                }
                lines.lock().unwrap().push(line);
            }
        });
        rx.recv_timeout(Duration::from_secs(60))
            .expect("kefud printed its readiness line");
        Member {
            child,
            client: spec.client,
            admin: home.join(spec.node).join("admin.sock"),
            data: home.join(spec.node).join("data"),
            log,
        }
    }

    /// A client of its admin socket (bound only while it serves).
    pub fn admin(&self) -> Client {
        Client::connect_unix(&self.admin, opts()).expect("admin connect")
    }

    /// Whether a line of its log contains `what`.
    pub fn logged(&self, what: &str) -> bool {
        self.log.lock().unwrap().iter().any(|l| l.contains(what))
    }

    /// Waits until a line of its log contains `what`.
    pub fn await_log(&self, what: &str) {
        poll(&format!("the log says {what:?}"), || self.logged(what));
    }

    /// SIGKILL, reaped.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Its metrics as the admin socket gives them (`kefuctl stats --prometheus`).
    pub fn metrics(&self) -> String {
        match self.admin().request(&Request::AdminMetrics) {
            Ok(Response::Metrics { text }) => text,
            other => panic!("metrics: {other:?}"),
        }
    }
}

/// Polls `done` until it holds, at most [`WITHIN`]; panics naming `what` otherwise.
pub fn poll(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WITHIN;
    while !done() {
        assert!(Instant::now() < deadline, "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Polls etcd until the pair's leader key names `node` and `node` publishes itself
/// primary (it stored its epoch and serves); the key's value.
pub fn leader_is(etcd: &Etcd, node: &str) -> LeaderValue {
    let key = format!("/kefu/pairs/{PAIR}/leader");
    let mut found = None;
    poll(&format!("{node} leads"), || {
        found = etcd
            .get(key.as_bytes())
            .ok()
            .flatten()
            .and_then(|v| serde_json::from_slice::<LeaderValue>(&v).ok())
            .filter(|l| l.node == node);
        found.is_some()
    });
    poll(&format!("{node} publishes itself primary"), || {
        member_status(etcd, node).is_some_and(|s| s.role == "primary")
    });
    found.expect("polled")
}

/// The status member `node` publishes.
pub fn member_status(etcd: &Etcd, node: &str) -> Option<MemberStatus> {
    etcd.get(format!("/kefu/pairs/{PAIR}/members/{node}").as_bytes())
        .ok()
        .flatten()
        .and_then(|v| serde_json::from_slice(&v).ok())
}

/// The account, its customer key, and an agent taking conversations, on `primary`.
pub fn account(primary: &Member, account: u64) -> [u8; 32] {
    let mut admin = primary.admin();
    super::create_account(&mut admin, account);
    let key = super::customer_key(&mut admin, account);
    let mut agent = Client::connect(primary.client, opts()).expect("agent");
    agent.login(account, 1001, PASSWORD).expect("agent login");
    agent
        .request(&Request::SetAutoAccept { cap: 50 })
        .expect("auto-accept");
    key
}

/// A customer of the pair on `addrs`: logs in (again) by itself on whichever serves.
pub fn pair_customer(addrs: &[SocketAddr], account: u64, key: [u8; 32], id: &str) -> PairClient {
    let id = id.to_string();
    let mut client_opts = opts();
    client_opts.timeout = Duration::from_secs(15);
    PairClient::new(
        addrs.to_vec(),
        client_opts,
        Duration::from_secs(60),
        Box::new(move |c: &mut Client| {
            let expires_at = super::now() + 3600;
            c.request(&Request::CustomerLogin {
                account,
                customer: id.clone(),
                expires_at,
                signature: kefu_daemon::shard::sign_customer(&key, account, &id, expires_at),
                channel: kefu_wire::chat::Channel::Desktop,
            })
            .map(|_| ())
        }),
    )
}

/// The texts of `conversation`'s messages as `client` (a participant) reads them.
pub fn texts(client: &mut PairClient, conversation: u64) -> Vec<String> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = match client.request(&Request::ConversationMessages {
            conversation,
            after,
            limit: 500,
        }) {
            Ok(Response::Messages(list)) => list,
            other => panic!("messages: {other:?}"),
        };
        let Some(last) = page.last() else { break };
        after = last.id;
        out.extend(page.into_iter().filter_map(|m| match m.body {
            MessageBody::Text(t) => Some(t),
            _ => None,
        }));
    }
    out
}

/// `kefuctl` as a process: the binary built beside `kefud` (`cargo build --release
/// -p kefu-tools`; `cargo test --workspace` builds it before any test runs).
pub fn kefuctl(args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_BIN_EXE_kefud")).with_file_name("kefuctl");
    assert!(
        path.exists(),
        "{} is missing: build it first (cargo build --release -p kefu-tools)",
        path.display()
    );
    let out = Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kefuctl runs");
    assert!(
        out.status.success(),
        "kefuctl {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kefuctl cluster --etcd ... --pair PAIR ARGS...`, its output.
pub fn kefuctl_cluster(etcd: &[SocketAddr], args: &[&str]) -> String {
    let endpoints: Vec<String> = etcd.iter().map(ToString::to_string).collect();
    let endpoints = endpoints.join(",");
    let mut all = vec!["cluster", "--etcd", &endpoints, "--pair", PAIR];
    all.extend_from_slice(args);
    kefuctl(&all)
}

/// A TCP proxy the test can cut and heal: forwards to `target`; cut, it closes every
/// connection it carries and every new one at once; healed, it forwards again.
pub struct Proxy {
    pub addr: SocketAddr,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
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
