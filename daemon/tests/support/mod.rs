//! Shared helpers of the daemon's integration tests: start a daemon on a
//! temporary data directory, provision accounts, connect clients.
#![allow(dead_code)]

pub mod centre_page;
pub mod centre_ws;
pub mod etcd;
pub mod export;
pub mod pair;
pub mod pair_client;
pub mod raw;
pub mod value_added;
pub mod webdriver;

use kefu_daemon::config::Config;
use kefu_daemon::server::{self, ServerHandle};
use kefu_daemon::store::Cf;
use kefu_wire::{Client, ClientOptions, Plan, Request, Response};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The password tests give agent 1001.
pub const PASSWORD: &str = "correct horse";
/// The super password tests give accounts.
pub const SUPER: &str = "super secret";

/// A daemon running in this process.
pub struct TestServer {
    pub handle: Option<ServerHandle>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(|_| {})
    }

    /// A daemon whose domain logic reads `clock` (tests set the time instead of waiting).
    pub fn start_clocked(clock: std::sync::Arc<kefu_daemon::clock::ManualClock>) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = Config::for_tests(dir.path());
        let handle = server::start_with_clock(config, clock).expect("daemon starts");
        TestServer {
            handle: Some(handle),
            dir,
        }
    }

    pub fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::for_tests(dir.path());
        adjust(&mut config);
        let handle = server::start(config).expect("daemon starts");
        TestServer {
            handle: Some(handle),
            dir,
        }
    }

    /// A daemon over an existing data directory (a fixture copied into `dir`).
    pub fn start_over(dir: tempfile::TempDir) -> TestServer {
        let config = Config::for_tests(dir.path());
        let handle = server::start(config).expect("daemon starts over the data directory");
        TestServer {
            handle: Some(handle),
            dir,
        }
    }

    /// Stops and starts again over the same data directory.
    pub fn restart(&mut self) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
        let config = Config::for_tests(self.dir.path());
        self.handle = Some(server::start(config).expect("daemon restarts"));
    }

    /// Stops and starts again over the same data directory, configured by `adjust`.
    pub fn restart_with(&mut self, adjust: impl FnOnce(&mut Config)) {
        if let Some(h) = self.handle.take() {
            h.shutdown();
        }
        let mut config = Config::for_tests(self.dir.path());
        adjust(&mut config);
        self.handle = Some(server::start(config).expect("daemon restarts"));
    }

    pub fn handle(&self) -> &ServerHandle {
        self.handle.as_ref().expect("running")
    }

    pub fn addr(&self) -> SocketAddr {
        self.handle().tcp_addr().expect("tcp listener")
    }

    pub fn client(&self) -> Client {
        Client::connect(self.addr(), opts()).expect("connect")
    }

    pub fn admin(&self) -> Client {
        Client::connect_unix(self.handle().admin_socket().expect("admin socket"), opts())
            .expect("admin connect")
    }
}

pub fn opts() -> ClientOptions {
    ClientOptions {
        timeout: Duration::from_secs(20),
        ..ClientOptions::default()
    }
}

#[allow(
    clippy::disallowed_methods,
    reason = "the daemons under test run on the real clock"
)]
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Creates an account (1001 with [`PASSWORD`]) valid for a year.
pub fn create_account(admin: &mut Client, account: u64) {
    create_account_expiring(admin, account, now() + 365 * 86_400);
}

pub fn create_account_expiring(admin: &mut Client, account: u64, expires_at: i64) {
    let r = admin
        .request(&Request::AdminCreateAccount {
            account,
            name: format!("Enterprise {account}"),
            plan: Plan::Gold,
            expires_at,
            password_1001: PASSWORD.into(),
            super_password: SUPER.into(),
        })
        .expect("account created");
    assert!(
        matches!(r, Response::Account(ref a) if a.account == account),
        "{r:?}"
    );
}

/// Adds an agent with a password through the admin socket.
pub fn add_agent(admin: &mut Client, account: u64, agent: u32, password: Option<&str>) {
    admin
        .request(&Request::AdminAddAgent {
            account,
            agent,
            nickname: format!("agent {agent}"),
            role: None,
        })
        .expect("agent added");
    if let Some(p) = password {
        admin
            .request(&Request::AdminSetAgentPassword {
                account,
                agent,
                new_password: p.into(),
            })
            .expect("password set");
    }
}

/// A `kefud` child process, with the addresses from its readiness line.
pub struct DaemonProcess {
    pub child: Child,
    pub tcp: SocketAddr,
    pub admin: PathBuf,
    pub stderr_tail: std::sync::mpsc::Receiver<String>,
}

/// What a started `kefud` said in its readiness line, and the rest of its stderr.
pub struct Ready {
    pub pid: i32,
    pub tcp: SocketAddr,
    pub admin: PathBuf,
    pub stderr_tail: std::sync::mpsc::Receiver<String>,
}

/// Reads `child`'s stderr (piped) until kefud prints `kefud: ready …`, at most `within`
/// between lines; the lines after it stay readable in `stderr_tail`.
pub fn await_ready(child: &mut Child, within: Duration) -> Ready {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    loop {
        let line = rx
            .recv_timeout(within)
            .expect("kefud printed its readiness line");
        if let Some(rest) = line.strip_prefix("kefud: ready ") {
            let field = |name: &str| {
                rest.split(' ')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .unwrap()
                    .to_string()
            };
            return Ready {
                pid: field("pid").parse().unwrap(),
                tcp: field("tcp").parse().unwrap(),
                admin: PathBuf::from(field("admin")),
                stderr_tail: rx,
            };
        }
    }
}

/// Writes a test configuration file for a `kefud` process and returns its path.
pub fn write_config(dir: &Path, extra: &str) -> PathBuf {
    let path = dir.join("kefud.toml");
    let text = format!(
        "data_dir = {data:?}\nlisten = \"127.0.0.1:0\"\nadmin_socket = {sock:?}\nshards = 2\n{extra}\n\
         [security]\npbkdf2_iterations = 1000\nallow_weak_password_hashing = true\n",
        data = dir.join("data"),
        sock = dir.join("admin.sock"),
    );
    std::fs::write(&path, text).unwrap();
    path
}

impl DaemonProcess {
    /// Starts `kefud --config FILE` and waits for its readiness line.
    // The child is reaped by `Drop`; clippy cannot see through the early panics.
    #[allow(clippy::zombie_processes)]
    pub fn start(config: &Path) -> DaemonProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kefud"))
            .arg("--config")
            .arg(config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn kefud");
        let ready = await_ready(&mut child, Duration::from_secs(60));
        DaemonProcess {
            child,
            tcp: ready.tcp,
            admin: ready.admin,
            stderr_tail: ready.stderr_tail,
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn client(&self) -> Client {
        Client::connect(self.tcp, opts()).expect("connect")
    }

    pub fn admin(&self) -> Client {
        Client::connect_unix(&self.admin, opts()).expect("admin connect")
    }
}

impl Drop for DaemonProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A contacts CSV of `n` customers with ids `{prefix}000000`, `{prefix}000001`, …
pub fn id_rows(prefix: &str, n: usize) -> Vec<u8> {
    let mut csv = String::from("id\n");
    for i in 0..n {
        csv.push_str(&format!("{prefix}{i:06}\n"));
    }
    csv.into_bytes()
}

/// The operator imports `csv` into `account` over the admin socket, in chunks of
/// 200,000 bytes (an operator import is a migration: only the plan limit applies);
/// the answer to the last chunk.
pub fn operator_import(admin: &mut Client, account: u64, csv: &[u8]) -> Response {
    let chunks: Vec<&[u8]> = csv.chunks(200_000).collect();
    let mut answer = None;
    for (i, chunk) in chunks.iter().enumerate() {
        let inner = Request::ImportContacts {
            chunk: chunk.to_vec(),
            first: i == 0,
            last: i + 1 == chunks.len(),
        };
        answer = Some(
            admin
                .request(&Request::on_account(account, &inner))
                .expect("operator import"),
        );
    }
    answer.expect("a CSV of at least one chunk")
}

/// Makes (or rotates) `account`'s customer-signing key, as its enterprise backend keeps it.
pub fn customer_key(admin: &mut Client, account: u64) -> [u8; 32] {
    match admin
        .request(&Request::AdminRotateCustomerKey { account })
        .expect("customer key")
    {
        Response::CustomerKey(k) => k,
        other => panic!("{other:?}"),
    }
}

/// Logs customer `id` in to `account` with a signature valid until `expires_at`.
pub fn login_customer(
    addr_client: Client,
    key: &[u8; 32],
    account: u64,
    id: &str,
    expires_at: i64,
) -> Client {
    let mut c = addr_client;
    let r = c
        .request(&Request::CustomerLogin {
            account,
            customer: id.into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(key, account, id, expires_at),
            channel: kefu_wire::chat::Channel::Desktop,
        })
        .expect("customer login");
    assert!(matches!(r, Response::CustomerLoggedIn(_)), "{r:?}");
    c
}

/// Creates a role with exactly `permissions` (the manual's numbers 1..=16) and gives it
/// to `agent`; `c` must hold permission 11.
pub fn give_role(c: &mut Client, agent: u32, permissions: &[u16]) {
    let bits = permissions.iter().fold(0u16, |b, p| b | 1 << (p - 1));
    let role = match c
        .request(&Request::CreateRole {
            name: format!("role {agent} {bits:#06x}"),
            permissions: bits,
        })
        .expect("role created")
    {
        Response::Role(r) => r.role,
        other => panic!("{other:?}"),
    };
    c.request(&Request::SetAgentRole { agent, role })
        .expect("role given");
}

/// A logged-in customer opens a conversation, routed automatically.
pub fn open(c: &mut Client) -> kefu_wire::chat::ConversationInfo {
    match c
        .request(&Request::OpenConversation {
            entry: kefu_wire::chat::Entry::Auto,
        })
        .unwrap()
    {
        Response::Conversation(info) => info,
        other => panic!("{other:?}"),
    }
}

/// Stops the daemon and checks that each account's stored ledger adds up to its stored
/// balance; returns the balances.
pub fn ledger_balances(
    s: &mut TestServer,
    accounts: &[u64],
) -> Vec<kefu_wire::valueadded::BalanceInfo> {
    if let Some(h) = s.handle.take() {
        h.shutdown();
    }
    let store = kefu_daemon::store::open_rocks(
        &s.dir.path().join("db"),
        &kefu_daemon::store::RocksOptions::default(),
    )
    .unwrap();
    accounts
        .iter()
        .map(|a| {
            kefu_daemon::store::balance_records::check_ledger(&store, *a)
                .unwrap_or_else(|e| panic!("account {a}: {e}"))
                .info()
        })
        .collect()
}

/// Every (column family, key, value) of `store`, in order: two stores compare equal
/// key for key (a restored backup, a standby).
pub fn dump_store(store: &dyn kefu_daemon::store::KvStore) -> Vec<(Cf, Vec<u8>, Vec<u8>)> {
    let mut all = Vec::new();
    for cf in Cf::ALL {
        let mut start = Vec::new();
        loop {
            let rows = store
                .scan(cf, &start, &kefu_daemon::store::keys::AFTER_ALL_KEYS, 4_096)
                .expect("scan");
            let full = rows.len() == 4_096;
            if let Some((last, _)) = rows.last() {
                start.clone_from(last);
                start.push(0);
            }
            all.extend(rows.into_iter().map(|(k, v)| (cf, k, v)));
            if !full {
                break;
            }
        }
    }
    all
}

/// The error code of a refused request (panics if it was answered).
pub fn code<T: std::fmt::Debug>(r: Result<T, kefu_wire::ClientError>) -> kefu_wire::ErrorCode {
    r.expect_err("refused").code().expect("a server error")
}

/// An identified customer (a CRM contact's id).
pub fn id(s: &str) -> kefu_wire::chat::CustomerId {
    kefu_wire::chat::CustomerId::Identified(s.into())
}

/// Every key of `account` the daemon behind `admin` stores, every page of its
/// `AdminExportAccount`.
pub fn exported(admin: &mut Client, account: u64) -> Vec<kefu_wire::account_move::AccountEntry> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        match admin.request(&Request::AdminExportAccount { account, after }) {
            Ok(Response::AccountExport(page)) => {
                all.extend(page.entries);
                match page.next {
                    Some(n) => after = Some(n),
                    None => return all,
                }
            }
            other => panic!("export: {other:?}"),
        }
    }
}

/// The request for a customer's whole history (every kind, all time, any agent), newest
/// first, the first `limit` messages.
pub fn whole_history(customer: kefu_wire::chat::CustomerId, limit: u16) -> Request {
    Request::History(kefu_wire::crm::HistoryQuery {
        customer,
        all_time: true,
        agent: None,
        kind: kefu_wire::crm::HistoryKind::All,
        keyword: String::new(),
        before: None,
        limit,
    })
}

/// Copies the directory tree `from` (a data directory fixture) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("fixture") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// The next alert `c` is pushed within `wait`, skipping the who-serves-you notices
/// (PROTOCOL.md 12.12).
pub fn alert_of(c: &mut Client, wait: Duration) -> kefu_wire::chat::Alert {
    use kefu_wire::chat::Alert;
    loop {
        let p = c
            .next_push(wait)
            .expect("push stream")
            .expect("an alert within the bound");
        match p.event {
            kefu_wire::Event::ConversationAlert {
                alert: Alert::ServedBy { .. } | Alert::WaitingForAgent { .. },
                ..
            } => {}
            kefu_wire::Event::ConversationAlert { alert, .. } => return alert,
            _ => {}
        }
    }
}
