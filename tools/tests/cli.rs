//! `kefuctl` end to end: the real binary run as a process against a daemon started in-process.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

// ---- support -------------------------------------------------------------

/// A running daemon in a temporary data directory; shut down on drop.
struct Daemon {
    server: Option<kefu_daemon::server::ServerHandle>,
    admin: PathBuf,
    dir: tempfile::TempDir,
}

impl Daemon {
    fn start() -> Daemon {
        Daemon::start_with(|_, _| {})
    }

    /// Starts a daemon after `tune` adjusted the test configuration (it gets the data dir too).
    fn start_with(tune: impl FnOnce(&mut kefu_daemon::config::Config, &Path)) -> Daemon {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = kefu_daemon::config::Config::for_tests(dir.path());
        tune(&mut config, dir.path());
        let server = kefu_daemon::server::start(config)
            .unwrap_or_else(|e| panic!("daemon does not start: {e:?}"));
        let admin = server.admin_socket().expect("admin socket configured");
        Daemon {
            server: Some(server),
            admin,
            dir,
        }
    }

    /// `kefuctl --admin-socket <ours> ARGS...`
    fn kefuctl(&self, args: &[&str]) -> Run {
        let mut run = kefuctl(&["--admin-socket"]);
        run.cmd.arg(&self.admin).args(args);
        run
    }

    fn tcp_addr(&self) -> String {
        let server = self.server.as_ref().expect("running");
        server.tcp_addr().expect("plain listener").to_string()
    }

    /// Creates an account with agent 1001's password `PASSWORD`.
    fn create_account(&self, id: u64, name: &str) {
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
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }
}

const PASSWORD: &str = "Open-Sesame-1001";
const SUPER_PASSWORD: &str = "Super-Sesame-42";

/// One `kefuctl` invocation being prepared; secrets and the socket are never inherited.
struct Run {
    cmd: Command,
    stdin: Option<String>,
}

fn kefuctl(args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefuctl"));
    cmd.args(args)
        .env_remove("KEFU_PASSWORD")
        .env_remove("KEFU_SUPER_PASSWORD")
        .env_remove("KEFU_ADMIN_SOCKET");
    Run { cmd, stdin: None }
}

impl Run {
    fn env(mut self, key: &str, value: &str) -> Run {
        self.cmd.env(key, value);
        self
    }

    fn stdin(mut self, text: &str) -> Run {
        self.stdin = Some(text.to_string());
        self
    }

    fn run(mut self) -> Outcome {
        self.cmd
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = self.cmd.spawn().expect("kefuctl runs");
        if let Some(text) = &self.stdin {
            let mut pipe = child.stdin.take().expect("stdin piped");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        let Output {
            status,
            stdout,
            stderr,
        } = child.wait_with_output().expect("kefuctl finishes");
        Outcome {
            what: format!("{:?}", self.cmd),
            code: status.code(),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }

    /// Runs and expects success; returns stdout.
    fn ok(self) -> String {
        self.run().expect_code(0).stdout
    }
}

struct Outcome {
    what: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn expect_code(self, code: i32) -> Outcome {
        assert_eq!(
            self.code,
            Some(code),
            "{}\n--- stdout\n{}--- stderr\n{}",
            self.what,
            self.stdout,
            self.stderr
        );
        self
    }
}

fn assert_contains(haystack: &str, needle: &str) {
    assert!(
        haystack.contains(needle),
        "expected {needle:?} in:\n{haystack}"
    );
}

/// The line of a table whose first column is `key`.
fn row<'a>(table: &'a str, key: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(key))
        .unwrap_or_else(|| panic!("no row {key:?} in:\n{table}"))
}

// ---- tests ---------------------------------------------------------------

#[test]
fn accounts_and_agents_round_trip() {
    let d = Daemon::start();

    // Secrets from the environment, and from stdin one line each.
    d.create_account(800_001, "Alpha Ltd");
    let out = d
        .kefuctl(&[
            "account",
            "create",
            "--id",
            "800002",
            "--name",
            "客服 \"Beta\"",
            "--plan",
            "silver",
            "--expires",
            "2099-12-31",
        ])
        .stdin(&format!("{PASSWORD}\n{SUPER_PASSWORD}\n"))
        .ok();
    assert_contains(&out, "800002");
    // The socket may come from the environment too.
    kefuctl(&[
        "account", "create", "--id", "800003", "--name", "Gamma", "--plan", "gold", "--days", "30",
    ])
    .env("KEFU_ADMIN_SOCKET", d.admin.to_str().expect("utf-8 path"))
    .stdin(&format!("{PASSWORD}\n{SUPER_PASSWORD}\n"))
    .ok();

    // Creating it again is the server's refusal: exit 1, the code's name on stderr.
    let dup = d
        .kefuctl(&[
            "account", "create", "--id", "800001", "--name", "Again", "--plan", "gold", "--days",
            "1",
        ])
        .stdin(&format!("{PASSWORD}\n{SUPER_PASSWORD}\n"))
        .run()
        .expect_code(1);
    assert_contains(&dup.stderr, "ALREADY_EXISTS");

    let table = d.kefuctl(&["account", "list"]).ok();
    assert_contains(row(&table, "800001"), "Alpha Ltd");
    assert_contains(row(&table, "800002"), "2099-12-31");
    assert_contains(row(&table, "800002"), "silver");
    assert_contains(row(&table, "800003"), "gold");

    let json = d.kefuctl(&["account", "list", "--json"]).ok();
    assert!(json.trim_start().starts_with('['), "{json}");
    assert_contains(&json, r#""name":"客服 \"Beta\"""#);
    assert_contains(&json, r#""account":800003"#);

    let first_two = d.kefuctl(&["account", "list", "--limit", "2"]).ok();
    assert_contains(&first_two, "800002");
    assert!(!first_two.contains("800003"), "{first_two}");
    // Page by page: every account once, and --limit across pages.
    let paged = d.kefuctl(&["account", "list", "--page-size", "1"]).ok();
    assert_eq!(paged, table, "one page at a time lists the same");
    let paged = d
        .kefuctl(&[
            "account",
            "list",
            "--limit",
            "2",
            "--page-size",
            "1",
            "--json",
        ])
        .ok();
    assert_eq!(paged.matches(r#""account":"#).count(), 2, "{paged}");
    let after = d.kefuctl(&["account", "list", "--after", "800001"]).ok();
    assert!(!after.contains("800001"), "{after}");
    assert_contains(&after, "800003");

    // Agents: add, no password yet; set one; listed as set.
    let out = d
        .kefuctl(&[
            "agent",
            "add",
            "--account",
            "800001",
            "--agent",
            "1002",
            "--nickname",
            "Xiao Li",
        ])
        .ok();
    assert_contains(&out, "1002");
    let agents = d.kefuctl(&["agent", "list", "--account", "800001"]).ok();
    assert_contains(row(&agents, "1001"), "set");
    assert_contains(row(&agents, "1002"), "Xiao Li");
    assert_contains(row(&agents, "1002"), "none");

    d.kefuctl(&["agent", "passwd", "--account", "800001", "--agent", "1002"])
        .stdin("Agent-1002-pass\n")
        .ok();
    let agents = d
        .kefuctl(&["agent", "list", "--account", "800001", "--json"])
        .ok();
    assert_contains(&agents, r#""agent":1002,"nickname":"Xiao Li""#);
    assert!(!agents.contains(r#""has_password":false"#), "{agents}");

    let show = d.kefuctl(&["account", "show", "800001"]).ok();
    assert_contains(&show, "Alpha Ltd");
    assert_contains(row(&show, "1002"), "Xiao Li");

    // Failures reported by the server exit 1 and name the error code.
    let missing = d
        .kefuctl(&["account", "show", "799999"])
        .run()
        .expect_code(1);
    assert_contains(&missing.stderr, "UNKNOWN_ACCOUNT");
    let no_secret = d
        .kefuctl(&["agent", "passwd", "--account", "800001", "--agent", "1002"])
        .run()
        .expect_code(1);
    assert_contains(&no_secret.stderr, "KEFU_PASSWORD");

    // A reader that goes away early is not an error.
    let mut cmd = d.kefuctl(&["account", "list"]).cmd;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kefuctl runs");
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("kefuctl finishes");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

#[test]
fn stats_show_every_shard() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let text = d.kefuctl(&["stats"]).ok();
    assert_contains(&text, "uptime");
    assert_contains(&text, "connections");
    let json = d.kefuctl(&["stats", "--json"]).ok();
    assert!(json.starts_with(r#"{"uptime_s":"#), "{json}");
    assert_eq!(json.matches(r#""shard":"#).count(), 2, "{json}");
}

#[test]
fn diagnose_plain_tcp_after_setting_a_password() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    d.kefuctl(&[
        "agent",
        "add",
        "--account",
        "800001",
        "--agent",
        "1002",
        "--nickname",
        "Li",
    ])
    .ok();
    d.kefuctl(&["agent", "passwd", "--account", "800001", "--agent", "1002"])
        .env("KEFU_PASSWORD", "Agent-1002-pass")
        .ok();

    let out = kefuctl(&[
        "diagnose",
        "--server",
        &d.tcp_addr(),
        "--login",
        "1002@800001",
        "--pings",
        "3",
    ])
    .stdin("Agent-1002-pass\n")
    .ok();
    for step in ["connect", "handshake", "login", "ping", "clock"] {
        assert_contains(&out, &format!("ok  {step}"));
    }
    assert_contains(&out, "3 round trips");
    assert!(!out.contains("FAIL"), "{out}");
}

#[test]
fn diagnose_reports_a_wrong_password_by_name() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let out = kefuctl(&[
        "diagnose",
        "--server",
        &d.tcp_addr(),
        "--login",
        "1001@800001",
    ])
    .env("KEFU_PASSWORD", "Not-The-Password")
    .run()
    .expect_code(1);
    assert_contains(&out.stdout, "ok  connect");
    assert_contains(&out.stdout, "FAIL login: WRONG_PASSWORD(11)");
    assert!(
        !out.stdout.contains("ok  ping"),
        "stops at the first failure"
    );
    assert_contains(&out.stderr, "login");
}

#[test]
fn diagnose_over_tls() {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).expect("certificate");
    let d = Daemon::start_with(|config, dir| {
        let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
        std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write key");
        config.tls_listen = Some("127.0.0.1:0".parse().expect("address"));
        config.tls_cert = Some(cert_path);
        config.tls_key = Some(key_path);
    });
    d.create_account(800_001, "Alpha Ltd");
    let server = d.server.as_ref().expect("running");
    let addr = server.tls_addr().expect("TLS listener").to_string();
    let ca = d.dir.path().join("cert.pem");
    let ca = ca.to_str().expect("utf-8 path");

    let out = kefuctl(&[
        "diagnose",
        "--server",
        &addr,
        "--tls",
        "--ca",
        ca,
        "--server-name",
        "localhost",
        "--login",
        "1001@800001",
        "--pings",
        "2",
    ])
    .env("KEFU_PASSWORD", PASSWORD)
    .ok();
    for step in ["connect", "tls", "handshake", "login", "ping"] {
        assert_contains(&out, &format!("ok  {step}"));
    }

    // The certificate is for "localhost": another name fails at the TLS step.
    let out = kefuctl(&[
        "diagnose",
        "--server",
        &addr,
        "--tls",
        "--ca",
        ca,
        "--server-name",
        "kefu.invalid",
        "--login",
        "1001@800001",
    ])
    .env("KEFU_PASSWORD", PASSWORD)
    .run()
    .expect_code(1);
    assert_contains(&out.stdout, "FAIL tls");
}

#[test]
fn usage_errors_exit_2() {
    let create = ["account", "create", "--id", "1", "--name", "n"];
    let cases: &[&[&str]] = &[
        &[],
        &["frobnicate"],
        &["account"],
        &["account", "show"],
        &["account", "show", "abc"],
        &["account", "list", "--limit", "0"],
        &[&create[..], &["--plan", "bronze", "--days", "3"]].concat(),
        &[&create[..], &["--plan", "gold"]].concat(),
        &[&create[..], &["--plan", "gold", "--expires", "2030-02-30"]].concat(),
        &[
            &create[..],
            &["--plan", "gold", "--expires", "2030-01-01", "--days", "3"],
        ]
        .concat(),
        &[
            &create[..],
            &["--plan", "gold", "--days", "3", "--password", "x"],
        ]
        .concat(),
        &["agent", "add", "--account", "1"],
        &["agent", "passwd", "--account", "1", "--agent", "x"],
        &["stats", "--pings", "3"],
        &["diagnose", "--server", "127.0.0.1:1", "--login", "1001"],
        &[
            "diagnose",
            "--server",
            "127.0.0.1:1",
            "--login",
            "1001@1",
            "--ca",
            "ca.pem",
        ],
        &[
            "diagnose",
            "--server",
            "127.0.0.1:1",
            "--login",
            "1001@1",
            "--pings",
            "0",
        ],
    ];
    for args in cases {
        let out = kefuctl(args).run().expect_code(2);
        assert!(!out.stderr.is_empty(), "{args:?}: no explanation");
    }
}

#[test]
fn no_daemon_is_a_clear_failure() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let socket = dir.path().join("admin.sock");
    let socket = socket.to_str().expect("utf-8 path");
    for args in [
        &["account", "list"][..],
        &["stats"],
        &["agent", "list", "--account", "1"],
    ] {
        let out = kefuctl(&[&["--admin-socket", socket][..], args].concat())
            .run()
            .expect_code(1);
        assert_contains(&out.stderr, "admin socket");
        assert_contains(&out.stderr, socket);
    }
}

#[test]
fn help_works_for_every_command() {
    // Walk the command tree from the top-level help, so a new command is covered too.
    let mut todo: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = todo.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = kefuctl(&args).ok();
        assert_contains(&out, "Usage: kefuctl");
        seen += 1;
        for sub in subcommands(&out) {
            let mut next = path.clone();
            next.push(sub);
            todo.push(next);
        }
    }
    // kefuctl, account (3), agent (3), stats, diagnose.
    assert!(seen >= 11, "only {seen} help pages found");
}

/// The names listed under "Commands:" in a help text (without `help` itself).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}
