//! `kefuctl` end to end: the real binary run as a process against a daemon started in-process.

use std::process::Stdio;

mod support;
use support::*;

/// A sample seed file of the daemon's tests (`daemon/tests/data/pskc/README.md`).
fn sample(name: &str) -> String {
    format!(
        "{}/../daemon/tests/data/pskc/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The pre-shared key of `psk-aes128.pskcxml` and `bad-mac.pskcxml`.
const PSKC_KEY: &str = "f6312cec350b1dbe00ac71e111cd0b75";
/// The password of `pbkdf2-aes256.pskcxml` and `excessive-iterations.pskcxml`.
const PSKC_PASSWORD: &str = "Kefu-seeds-2026";
/// Seeds of the tokens in `seeds.csv`, in hex (from the samples' README).
const SEED_100001: &str = "2b38d6e3d58f729cbbeb90dd5f7c55a91ff9b3c8";
const SEED_100002: &str = "41b7b30a5cf883ed79a8d7e6a477e37352945407";
const SEED_100003: &str = "c74b24b337df819418e7da435c639bd6e3108c64";

/// The code a token with this seed shows at TOTP step `step` (60 s, 6 digits, SHA-1).
fn otp(seed_hex: &str, step: u64) -> String {
    use kefu_daemon::otp::hotp::{Algorithm, Digits};
    let secret: Vec<u8> = (0..seed_hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&seed_hex[i..i + 2], 16).expect("hex seed"))
        .collect();
    let step_secs = std::num::NonZeroU32::new(60).expect("non-zero");
    kefu_daemon::otp::totp::Totp::new(Algorithm::Sha1, &secret, Digits::SIX, step_secs)
        .code_for_step(step)
        .as_str()
        .to_string()
}

/// A six-digit code the token shows at none of the steps around `step`.
fn wrong_otp(seed_hex: &str, step: u64) -> String {
    let near: Vec<String> = (step - 3..=step + 3).map(|s| otp(seed_hex, s)).collect();
    (0..)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .expect("some code is wrong")
}

/// The TOTP step of the wall clock now (the server accepts the steps next to its own).
#[allow(
    clippy::disallowed_methods,
    reason = "the daemon under test runs on the real clock"
)]
fn now_step() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    now.as_secs() / 60
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
        .stdin(format!("{PASSWORD}\n{SUPER_PASSWORD}\n").as_bytes())
        .ok();
    assert_contains(&out, "800002");
    // The socket may come from the environment too.
    kefuctl(&[
        "account", "create", "--id", "800003", "--name", "Gamma", "--plan", "gold", "--days", "30",
    ])
    .env(
        "KEFU_ADMIN_SOCKET",
        d.admin_socket().to_str().expect("utf-8 path"),
    )
    .stdin(format!("{PASSWORD}\n{SUPER_PASSWORD}\n").as_bytes())
    .ok();

    // Creating it again is the server's refusal: exit 1, the code's name on stderr.
    let dup = d
        .kefuctl(&[
            "account", "create", "--id", "800001", "--name", "Again", "--plan", "gold", "--days",
            "1",
        ])
        .stdin(format!("{PASSWORD}\n{SUPER_PASSWORD}\n").as_bytes())
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
        .stdin(b"Agent-1002-pass\n")
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
    let mut cmd = d.kefuctl(&["account", "list"]).into_command();
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
    .stdin(b"Agent-1002-pass\n")
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
    assert_contains(&out.text(), "ok  connect");
    assert_contains(&out.text(), "FAIL login: WRONG_PASSWORD(11)");
    assert!(
        !out.text().contains("ok  ping"),
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
    let addr = d.tls_addr();
    let ca = d.dir().join("cert.pem");
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
    assert_contains(&out.text(), "FAIL tls");
}

#[test]
fn roles_round_trip() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let role = |args: &[&str]| d.kefuctl(&[&["role"][..], args, &["--account", "800001"]].concat());

    // The three default roles.
    let roles = role(&["list"]).ok();
    assert_contains(row(&roles, "1"), "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16");
    assert_eq!(
        permissions_cell(row(&roles, "2")),
        "1,2,3,4,5,6,7,8,9,10,11,12"
    );
    assert_contains(row(&roles, "3"), "4,5,8");

    // Create: the new id alone on stdout.
    let id = role(&["create", "--name", "主管", "--permissions", "4,5,11"]).ok();
    assert_eq!(id, "4\n");
    let id = role(&["create", "--name", "Nobody", "--permissions", "none"]).ok();
    assert_eq!(id, "5\n");
    let dup = role(&["create", "--name", "主管", "--permissions", "1"])
        .run()
        .expect_code(1);
    assert_contains(&dup.stderr, "ALREADY_EXISTS");
    let json = role(&["list", "--json"]).ok();
    assert_contains(
        &json,
        r#"{"role":4,"name":"主管","permissions":[4,5,11],"permission_bits":1048,"agents":0}"#,
    );
    assert_contains(&json, r#"{"role":5,"name":"Nobody","permissions":[],"#);
    assert_contains(row(&role(&["list"]).ok(), "5"), "none");

    // Assign: the role counts its holder, the agent shows it.
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
    let out = role(&["assign", "--agent", "1002", "--role", "4"]).ok();
    assert_contains(&out, "1002@800001");
    assert!(row(&role(&["list"]).ok(), "4").ends_with(" 1"));
    let agents = d.kefuctl(&["agent", "list", "--account", "800001"]).ok();
    assert_eq!(row(&agents, "1002").split_whitespace().nth(2), Some("4"));
    let out = role(&["assign", "--agent", "1001", "--role", "4"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "INVALID_ARGUMENT");
    let out = role(&["assign", "--agent", "1002", "--role", "77"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "NOT_FOUND");

    // A held role is not deleted; the daemon names the holder.
    let held = role(&["delete", "--role", "4"]).run().expect_code(1);
    assert_contains(&held.stderr, "DeleteRole on account 800001");
    assert_contains(&held.stderr, "INVALID_ARGUMENT");
    assert_contains(&held.stderr, "1002");

    // Update: what is not given is kept.
    role(&["update", "--role", "4", "--permissions", "all"]).ok();
    let roles = role(&["list"]).ok();
    assert_contains(row(&roles, "4"), "主管");
    assert_contains(row(&roles, "4"), "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16");
    let out = role(&["update", "--role", "4", "--name", "Lead"]).ok();
    assert_contains(&out, "1,2,3");
    assert_contains(row(&role(&["list"]).ok(), "4"), "Lead");
    role(&[
        "update",
        "--role",
        "4",
        "--name",
        "Team lead",
        "--permissions",
        "11",
    ])
    .ok();
    let roles = role(&["list"]).ok();
    assert_contains(row(&roles, "4"), "Team lead");
    assert_eq!(permissions_cell(row(&roles, "4")), "11");
    let out = role(&["update", "--role", "99", "--name", "x"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "no role 99");
    let out = role(&[
        "update",
        "--role",
        "99",
        "--name",
        "x",
        "--permissions",
        "1",
    ])
    .run()
    .expect_code(1);
    assert_contains(&out.stderr, "NOT_FOUND");
    let out = role(&["update", "--role", "1", "--permissions", "none"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "INVALID_ARGUMENT");

    // Free the role, then it goes; twice is NOT_FOUND.
    role(&["assign", "--agent", "1002", "--role", "3"]).ok();
    let out = role(&["delete", "--role", "4"]).ok();
    assert_contains(&out, "deleted");
    let roles = role(&["list"]).ok();
    assert!(
        !roles
            .lines()
            .any(|l| l.split_whitespace().next() == Some("4")),
        "{roles}"
    );
    let again = role(&["delete", "--role", "4"]).run().expect_code(1);
    assert_contains(&again.stderr, "NOT_FOUND");
    let out = role(&["delete", "--role", "3"]).run().expect_code(1);
    assert_contains(&out.stderr, "INVALID_ARGUMENT");

    let missing = d
        .kefuctl(&["role", "list", "--account", "799999"])
        .run()
        .expect_code(1);
    assert_contains(&missing.stderr, "UNKNOWN_ACCOUNT");
}

/// The permissions column of a `role list` row (the last but one).
fn permissions_cell(line: &str) -> &str {
    line.split_whitespace().rev().nth(1).unwrap_or_default()
}

#[test]
fn tokens_import_the_sample_seed_files() {
    let d = Daemon::start();
    let import = |file: &str| d.kefuctl(&["tokens", "import", &sample(file)]);

    // A bad MAC: refused, naming the element, and nothing imported...
    let bad = import("bad-mac.pskcxml")
        .env("KEFU_PSKC_KEY", PSKC_KEY)
        .run()
        .expect_code(1);
    assert_contains(&bad.stderr, "INVALID_ARGUMENT");
    assert_contains(&bad.stderr, "KeyPackage[2]/Key/Data/Secret/ValueMAC");
    // ...nor from an encrypted file without its key...
    let no_key = import("psk-aes128.pskcxml").run().expect_code(1);
    assert_contains(&no_key.stderr, "INVALID_ARGUMENT");
    assert_contains(&no_key.stderr, "KEFU_PSKC_KEY");
    // ...so the good file with the same serials imports all three.
    let out = import("psk-aes128.pskcxml")
        .env("KEFU_PSKC_KEY", PSKC_KEY)
        .ok();
    assert_eq!(out, "imported 3 tokens\nKF-300001\nKF-300002\nKF-300003\n");

    // Broken plaintext files name the place; then the good one imports its four.
    for (file, element) in [
        ("malformed.pskcxml", "KeyPackage[2]: malformed XML"),
        (
            "missing-serial.pskcxml",
            "KeyPackage[2]/DeviceInfo/SerialNo",
        ),
    ] {
        let out = import(file).run().expect_code(1);
        assert_contains(&out.stderr, element);
    }
    let json = d
        .kefuctl(&[
            "tokens",
            "import",
            &sample("plain-totp.pskcxml"),
            "--format",
            "pskc",
            "--json",
        ])
        .ok();
    assert_eq!(
        json.trim_end(),
        r#"{"imported":4,"serials":["KF-200001","KF-200002","KF-200003","KF-200004"]}"#
    );

    // PBKDF2: too many iterations is refused before deriving; the good file imports.
    let out = import("excessive-iterations.pskcxml")
        .env("KEFU_PSKC_PASSWORD", PSKC_PASSWORD)
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "IterationCount");
    let out = import("pbkdf2-aes256.pskcxml")
        .env("KEFU_PSKC_PASSWORD", PSKC_PASSWORD)
        .ok();
    assert_eq!(out, "imported 2 tokens\nKF-400001\nKF-400002\n");

    // CSV, the format taken from the extension.
    let out = import("seeds.csv").ok();
    assert_eq!(out, "imported 3 tokens\nKF-100001\nKF-100002\nKF-100003\n");

    // Importing again: the daemon names the serials that exist.
    let again = import("plain-totp.pskcxml").run().expect_code(1);
    assert_contains(&again.stderr, "ALREADY_EXISTS");
    assert_contains(&again.stderr, "KF-200001");

    // A name that says nothing needs --format.
    let seeds = d.dir().join("seeds.txt");
    std::fs::copy(sample("seeds.csv"), &seeds).expect("copy");
    let seeds = seeds.to_str().expect("utf-8 path");
    let out = d.kefuctl(&["tokens", "import", seeds]).run().expect_code(1);
    assert_contains(&out.stderr, "--format");
    let out = d
        .kefuctl(&["tokens", "import", seeds, "--format", "csv"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "ALREADY_EXISTS");

    // Exactly 1 MiB passes the file check but not the frame: refused before sending.
    let big = d.dir().join("big.csv");
    std::fs::write(&big, vec![b'\n'; 1 << 20]).expect("write");
    let out = d
        .kefuctl(&["tokens", "import", big.to_str().expect("utf-8 path")])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "frame limit");
    // The connection was not spoiled for the next one.
    d.kefuctl(&["stats"]).ok();
}

#[test]
fn tokens_over_1_mib_are_refused_before_connecting() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let big = dir.path().join("big.csv");
    std::fs::write(&big, vec![b'\n'; (1 << 20) + 1]).expect("write");
    let socket = dir.path().join("admin.sock");
    let out = kefuctl(&[
        "--admin-socket",
        socket.to_str().expect("utf-8 path"),
        "tokens",
        "import",
        big.to_str().expect("utf-8 path"),
    ])
    .run()
    .expect_code(1);
    assert_contains(&out.stderr, "1 MiB");
    assert!(!out.stderr.contains("admin socket"), "{}", out.stderr);
}

#[test]
fn tokens_bind_calibrate_unlock_and_security_level() {
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
    d.kefuctl(&["tokens", "import", &sample("seeds.csv")]).ok();
    let level = |args: &[&str]| {
        d.kefuctl(&[&["security", "level", "--account", "800001"][..], args].concat())
    };
    let tokens = |args: &[&str]| d.kefuctl(&[&["tokens"][..], args].concat());
    let bind = |agent: &str, serial: &str| {
        tokens(&[
            "bind",
            "--account",
            "800001",
            "--agent",
            agent,
            "--serial",
            serial,
        ])
    };

    let shown = level(&[]).ok();
    assert_contains(row(&shown, "level:"), "medium");
    assert_contains(row(&shown, "token"), "none");

    // High needs a token bound to 1001 first.
    let refused = level(&["--set", "high"]).run().expect_code(1);
    assert_contains(&refused.stderr, "SetSecurityLevel on account 800001");
    assert_contains(&refused.stderr, "INVALID_ARGUMENT");
    assert_contains(row(&level(&[]).ok(), "level:"), "medium");

    // Codes: not six digits is refused here; a wrong one by the daemon.
    let step = now_step();
    let out = bind("1001", "KF-100001")
        .env("KEFU_OTP", "12345")
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "6 digits");
    let out = bind("1001", "KF-100001")
        .env("KEFU_OTP", &wrong_otp(SEED_100001, step))
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "OTP_INVALID");
    let out = bind("1001", "KF-999999")
        .env("KEFU_OTP", "123456")
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "TOKEN_UNKNOWN");
    let out = bind("1001", "KF-100001")
        .env("KEFU_OTP", &otp(SEED_100001, step))
        .ok();
    assert_contains(&out, "KF-100001 bound to agent 1001@800001");

    let shown = level(&["--json"]).ok();
    assert_eq!(
        shown.trim_end(),
        r#"{"account":800001,"level":"medium","token_1001":"KF-100001"}"#
    );
    let out = level(&["--set", "high"]).ok();
    assert_contains(&out, "set to high");
    assert_contains(row(&level(&[]).ok(), "level:"), "high");
    // At high, an agent without a token cannot log in with its password alone.
    let out = kefuctl(&[
        "diagnose",
        "--server",
        &d.tcp_addr(),
        "--login",
        "1002@800001",
    ])
    .env("KEFU_PASSWORD", "Agent-1002-pass")
    .run()
    .expect_code(1);
    assert_contains(&out.text(), "FAIL login: OTP_REQUIRED");

    // Bind 1002's token with the code on stdin, calibrate it with two lines.
    bind("1002", "KF-100002")
        .stdin(format!("{}\n", otp(SEED_100002, step)).as_bytes())
        .ok();
    let out = tokens(&["calibrate", "--account", "800001", "--serial", "KF-100002"])
        .stdin(
            format!(
                "{}\n{}\n",
                otp(SEED_100002, step + 1),
                otp(SEED_100002, step + 2)
            )
            .as_bytes(),
        )
        .ok();
    assert_contains(&out, "KF-100002 calibrated");
    // ...and 1001's from the environment.
    tokens(&["calibrate", "--account", "800001", "--serial", "KF-100001"])
        .env("KEFU_OTP", &otp(SEED_100001, step + 1))
        .env("KEFU_OTP_NEXT", &otp(SEED_100001, step + 2))
        .ok();
    let out = tokens(&["calibrate", "--account", "800001", "--serial", "KF-100001"])
        .env("KEFU_OTP", &otp(SEED_100001, step + 1))
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "KEFU_OTP_NEXT");

    // Unbind; a second time there is nothing to unbind.
    let unbind = || tokens(&["unbind", "--account", "800001", "--agent", "1002"]);
    assert_contains(&unbind().ok(), "1002@800001 unbound");
    assert_contains(&unbind().run().expect_code(1).stderr, "TOKEN_UNKNOWN");

    // Wrong codes for an unbound token count against the guessing account (so no
    // account can lock tokens imported for another): one wrong bind was made above,
    // nine more and the account must wait.
    let step = now_step();
    for _ in 0..9 {
        let out = bind("1002", "KF-100003")
            .env("KEFU_OTP", &wrong_otp(SEED_100003, step))
            .run()
            .expect_code(1);
        assert_contains(&out.stderr, "OTP_INVALID");
    }
    let out = bind("1002", "KF-100003")
        .env("KEFU_OTP", &otp(SEED_100003, step))
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "LOGIN_THROTTLED");

    // A bound token locks after ten wrong codes, even against the right ones, until
    // the operator unlocks it.
    let calibrate = |code: &str, next: &str| {
        tokens(&["calibrate", "--account", "800001", "--serial", "KF-100001"])
            .env("KEFU_OTP", code)
            .env("KEFU_OTP_NEXT", next)
    };
    let step = now_step();
    let wrong = wrong_otp(SEED_100001, step);
    for _ in 0..10 {
        let out = calibrate(&wrong, &wrong).run().expect_code(1);
        assert!(
            out.stderr.contains("OTP_INVALID") || out.stderr.contains("TOKEN_LOCKED"),
            "{}",
            out.stderr
        );
    }
    let (now1, now2) = (otp(SEED_100001, step + 3), otp(SEED_100001, step + 4));
    let out = calibrate(&now1, &now2).run().expect_code(1);
    assert_contains(&out.stderr, "TOKEN_LOCKED");
    assert_contains(&tokens(&["unlock", "KF-100001"]).ok(), "KF-100001 unlocked");
    calibrate(&now1, &now2).ok();
    let out = tokens(&["unlock", "KF-999999"]).run().expect_code(1);
    assert_contains(&out.stderr, "TOKEN_UNKNOWN");

    // The operator can always lower the level.
    level(&["--set", "low"]).ok();
    assert_contains(row(&level(&[]).ok(), "level:"), "low");
}

#[test]
fn agent_unlock_lifts_login_throttling() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let login = |password: &str| {
        let mut client =
            kefu_wire::Client::connect(d.tcp_addr(), kefu_wire::ClientOptions::default())
                .expect("connect");
        client.login(800_001, 1001, password).map(|_| ())
    };
    for _ in 0..10 {
        let e = login("Not-The-Password").expect_err("wrong password");
        assert_eq!(e.code(), Some(kefu_wire::ErrorCode::WRONG_PASSWORD), "{e}");
    }
    let e = login(PASSWORD).expect_err("throttled");
    assert_eq!(e.code(), Some(kefu_wire::ErrorCode::LOGIN_THROTTLED), "{e}");

    let out = d
        .kefuctl(&["agent", "unlock", "--account", "800001", "--agent", "1001"])
        .ok();
    assert_contains(&out, "1001@800001");
    login(PASSWORD).expect("logs in again at once");

    let out = d
        .kefuctl(&["agent", "unlock", "--account", "800001", "--agent", "1009"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "UNKNOWN_AGENT");
    let out = d
        .kefuctl(&["agent", "unlock", "--account", "799999", "--agent", "1001"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "UNKNOWN_ACCOUNT");
}

#[test]
fn agent_profiles_show_and_set() {
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
        "Xiao Li",
    ])
    .ok();
    let profile = |args: &[&str]| {
        d.kefuctl(&[&["agent", "profile", "--account", "800001"][..], args].concat())
    };

    let shown = profile(&["--agent", "1002"]).ok();
    assert_contains(row(&shown, "nickname:"), "Xiao Li");
    assert_contains(row(&shown, "group:"), "(none)");
    assert_contains(row(&shown, "display:"), "nickname");
    assert_contains(row(&shown, "phone:"), "(none)");

    let out = profile(&[
        "--agent",
        "1002",
        "--set",
        "--group",
        "售后",
        "--display",
        "number",
        "--phone",
        "+86 10-6552 9988",
    ])
    .ok();
    assert_contains(&out, "profile of agent 1002@800001 set");
    assert_contains(row(&out, "group:"), "售后");
    let json = profile(&["--agent", "1002", "--json"]).ok();
    assert_eq!(
        json.trim_end(),
        r#"{"account":800001,"agent":1002,"nickname":"Xiao Li","group":"售后","display":"number","phone":"+86 10-6552 9988"}"#
    );

    // One field at a time; the others are kept. The nickname is the agent's everywhere.
    profile(&["--agent", "1002", "--set", "--nickname", "Li Wei"]).ok();
    let shown = profile(&["--agent", "1002"]).ok();
    assert_contains(row(&shown, "nickname:"), "Li Wei");
    assert_contains(row(&shown, "group:"), "售后");
    assert_contains(row(&shown, "display:"), "number");
    let agents = d.kefuctl(&["agent", "list", "--account", "800001"]).ok();
    assert_contains(row(&agents, "1002"), "Li Wei");
    // Empty clears.
    profile(&["--agent", "1002", "--set", "--group", ""]).ok();
    assert_contains(row(&profile(&["--agent", "1002"]).ok(), "group:"), "(none)");

    let out = profile(&["--agent", "1002", "--set", "--phone", "call me"])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "SetAgentProfile on account 800001");
    assert_contains(&out.stderr, "INVALID_ARGUMENT");
    let out = profile(&["--agent", "1009"]).run().expect_code(1);
    assert_contains(&out.stderr, "UNKNOWN_AGENT");
    let out = profile(&["--agent", "1002", "--set", "--nickname", " "])
        .run()
        .expect_code(1);
    assert_contains(&out.stderr, "--nickname is empty");
}

#[test]
fn usage_errors_exit_2() {
    let create = ["account", "create", "--id", "1", "--name", "n"];
    let role_create = ["role", "create", "--account", "1", "--name", "n"];
    let profile = ["agent", "profile", "--account", "1", "--agent", "1002"];
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
        &["role", "list"],
        &[&role_create[..], &["--permissions", "17"]].concat(),
        &[&role_create[..], &["--permissions", "0"]].concat(),
        &[&role_create[..], &["--permissions", "1,,2"]].concat(),
        &[&role_create[..], &["--permissions", "some"]].concat(),
        &role_create,
        &["role", "update", "--account", "1", "--role", "4"],
        &["role", "assign", "--account", "1", "--agent", "1002"],
        &[&profile[..], &["--set"]].concat(),
        &[&profile[..], &["--phone", "1"]].concat(),
        &[&profile[..], &["--set", "--display", "photo"]].concat(),
        &[&profile[..], &["--set", "--group", "g", "--json"]].concat(),
        &["agent", "unlock", "--account", "1"],
        &["security", "level"],
        &["security", "level", "--account", "1", "--set", "extreme"],
        &[
            "security",
            "level",
            "--account",
            "1",
            "--set",
            "low",
            "--json",
        ],
        &["tokens", "import"],
        &["tokens", "import", "seeds.csv", "--format", "xlsx"],
        &["tokens", "import", "seeds.csv", "--key", "00"],
        &[
            "tokens",
            "bind",
            "--account",
            "1",
            "--agent",
            "1001",
            "--serial",
            "S",
            "--code",
            "123456",
        ],
        &["tokens", "calibrate", "--account", "1"],
        &["tokens", "unlock"],
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
        &["role", "list", "--account", "1"],
        &["security", "level", "--account", "1"],
        &["tokens", "unlock", "KF-1"],
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
    // kefuctl, account (3), agent (5), role (5), security (1), tokens (5), stats, diagnose.
    assert!(seen >= 27, "only {seen} help pages found");
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

#[test]
fn customer_key_rotation_prints_a_key_that_signs_customer_logins() {
    let d = Daemon::start();
    d.create_account(800_001, "Alpha Ltd");
    let first = d.kefuctl(&["account", "customer-key", "800001"]).ok();
    let hex = first.trim();
    assert_eq!(hex.len(), 64, "{hex}");
    let key: Vec<u8> = (0..32)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let key: [u8; 32] = key.try_into().unwrap();
    let mut c =
        kefu_wire::Client::connect(d.tcp_addr(), kefu_wire::ClientOptions::default()).unwrap();
    let expires_at = 4_000_000_000;
    let signature = kefu_daemon::shard::sign_customer(&key, 800_001, "alice", expires_at);
    let r = c
        .request(&kefu_wire::Request::CustomerLogin {
            account: 800_001,
            customer: "alice".into(),
            expires_at,
            signature,
            channel: kefu_wire::chat::Channel::Web,
        })
        .unwrap();
    assert!(
        matches!(r, kefu_wire::Response::CustomerLoggedIn(_)),
        "{r:?}"
    );
    // A new key replaces it.
    let second = d.kefuctl(&["account", "customer-key", "800001"]).ok();
    assert_ne!(first, second);
}
