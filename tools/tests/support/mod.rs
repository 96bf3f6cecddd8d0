//! Shared support of `kefuctl`'s process tests: a daemon started in-process over a
//! temporary data directory (and restarted over the same one), and `kefuctl` run as
//! a process against its admin socket.

#![allow(dead_code)] // Each test file uses the part it needs.

use kefu_daemon::config::Config;
use kefu_daemon::server::ServerHandle;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Agent 1001's password in every account the tests create.
pub const PASSWORD: &str = "Open-Sesame-1001";
/// The super password of every account the tests create.
pub const SUPER_PASSWORD: &str = "Super-Sesame-42";

/// A running daemon in a temporary data directory; shut down on drop.
pub struct Daemon {
    server: Option<ServerHandle>,
    config: Config,
    admin: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    /// A daemon with the test configuration.
    pub fn start() -> Daemon {
        Daemon::start_with(|_, _| {})
    }

    /// Starts a daemon after `tune` adjusted the test configuration (it gets the data dir too).
    pub fn start_with(tune: impl FnOnce(&mut Config, &Path)) -> Daemon {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::for_tests(dir.path());
        tune(&mut config, dir.path());
        let server = start_server(&config);
        let admin = server.admin_socket().expect("admin socket configured");
        Daemon {
            server: Some(server),
            config,
            admin,
            dir,
        }
    }

    /// Stops the daemon gracefully (what `kefud` does on SIGTERM: stop accepting,
    /// say goodbye, commit, close the store), then starts it again over the same
    /// data directory and configuration.
    pub fn restart(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
        let server = start_server(&self.config);
        self.admin = server.admin_socket().expect("admin socket configured");
        self.server = Some(server);
    }

    /// Stops the daemon gracefully, leaving its data directory for the test to read.
    pub fn stop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }

    /// The temporary data directory (for the tests' own files too).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The plain listener's address.
    pub fn tcp_addr(&self) -> String {
        let server = self.server.as_ref().expect("running");
        server.tcp_addr().expect("a plain listener").to_string()
    }

    /// The TLS listener's address (the configuration must have one).
    pub fn tls_addr(&self) -> String {
        let server = self.server.as_ref().expect("running");
        server.tls_addr().expect("a TLS listener").to_string()
    }

    /// The admin socket.
    pub fn admin_socket(&self) -> &Path {
        &self.admin
    }

    /// A handshaken client on the admin socket, for what `kefuctl` cannot do.
    pub fn admin_client(&self) -> kefu_wire::Client {
        kefu_wire::Client::connect_unix(&self.admin, kefu_wire::ClientOptions::default())
            .expect("admin socket connects")
    }

    /// `kefuctl --admin-socket <ours> ARGS...`
    pub fn kefuctl(&self, args: &[&str]) -> Run {
        let mut run = kefuctl(&["--admin-socket"]);
        run.cmd.arg(&self.admin).args(args);
        run
    }

    /// Creates a gold account (100,000 contacts) with agent 1001's password [`PASSWORD`].
    pub fn create_account(&self, id: u64, name: &str) {
        self.kefuctl(&[
            "account",
            "create",
            "--id",
            &id.to_string(),
            "--name",
            name,
            "--plan",
            "gold",
            "--days",
            "365",
        ])
        .env("KEFU_PASSWORD", PASSWORD)
        .env("KEFU_SUPER_PASSWORD", SUPER_PASSWORD)
        .ok();
    }

    /// Agent 1001 of `account` logged in on the client port, the account's security
    /// level set to low (no hardware tokens in these tests: value-added requests would
    /// ask for a code) and customer `c1` made a friend contact — what a broadcast or a
    /// survey needs to reach someone.
    pub fn boss_with_contact(&self, account: u64) -> kefu_wire::Client {
        use kefu_wire::chat::CustomerId;
        use kefu_wire::crm::{ContactEdit, ContactState};
        use kefu_wire::{Request, SecurityLevel};
        let addr: std::net::SocketAddr = self.tcp_addr().parse().expect("client address");
        let mut boss = kefu_wire::Client::connect(addr, kefu_wire::ClientOptions::default())
            .expect("client port connects");
        boss.login(account, 1001, PASSWORD).expect("1001 logs in");
        boss.request(&Request::SetSecurityLevel {
            level: SecurityLevel::Low,
        })
        .expect("security level low");
        boss.request(&Request::CreateContact {
            customer: CustomerId::Identified("c1".into()),
            state: ContactState::Friend,
            edit: ContactEdit::default(),
        })
        .expect("c1 a contact");
        boss
    }
}

fn start_server(config: &Config) -> ServerHandle {
    kefu_daemon::server::start(config.clone())
        .unwrap_or_else(|e| panic!("daemon does not start: {e:?}"))
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }
}

/// One `kefuctl` invocation being prepared; secrets and the socket are never inherited.
pub struct Run {
    cmd: Command,
    stdin: Option<Vec<u8>>,
}

/// `kefuctl ARGS...` with a clean environment.
pub fn kefuctl(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefuctl"));
    cmd.args(args)
        .env_remove("KEFU_PASSWORD")
        .env_remove("KEFU_SUPER_PASSWORD")
        .env_remove("KEFU_OTP")
        .env_remove("KEFU_OTP_NEXT")
        .env_remove("KEFU_PSKC_KEY")
        .env_remove("KEFU_PSKC_PASSWORD")
        .env_remove("KEFU_ADMIN_SOCKET");
    Run { cmd, stdin: None }
}

impl Run {
    /// Sets an environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.cmd.env(key, value);
        self
    }

    /// Feeds these bytes on standard input.
    pub fn stdin(mut self, bytes: &[u8]) -> Run {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// Runs to the end, capturing both outputs.
    pub fn run(mut self) -> Outcome {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("kefuctl runs");
        if let Some(bytes) = self.stdin.take() {
            let mut pipe = child.stdin.take().expect("stdin piped");
            // Written from a thread: kefuctl may fill its stdout before reading all of it.
            std::thread::spawn(move || {
                let _ = pipe.write_all(&bytes);
            });
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("kefuctl finishes");
        Outcome {
            what: format!("{:?}", self.cmd),
            code: status.code(),
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// The command itself, for a test that runs it its own way.
    pub fn into_command(self) -> Command {
        self.cmd
    }

    /// Runs and expects success; returns stdout as text.
    pub fn ok(self) -> String {
        self.run().expect_code(0).text()
    }
}

/// What a `kefuctl` run did.
pub struct Outcome {
    what: String,
    /// Exit status.
    pub code: Option<i32>,
    /// Standard output, as bytes (an export is compared byte for byte).
    pub stdout: Vec<u8>,
    /// Standard error.
    pub stderr: String,
}

impl Outcome {
    /// Asserts the exit status, showing both outputs if it differs.
    pub fn expect_code(self, code: i32) -> Outcome {
        assert_eq!(
            self.code,
            Some(code),
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.what,
            self.text(),
            self.stderr
        );
        self
    }

    /// Standard output as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// Asserts that `haystack` contains `needle`.
pub fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}
