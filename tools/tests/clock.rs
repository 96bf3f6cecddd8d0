//! `kefuctl clock show|set|advance` end to end: the real binary run as a process
//! against a daemon started in-process, with and without `[test] clock_control`;
//! time rules (account expiry) seen through real logins on the client port.

mod support;

use kefu_daemon::config::Config;
use kefu_daemon::server::ServerHandle;
use kefu_wire::chat::Channel;
use kefu_wire::{Client, ClientOptions, ErrorCode, Request, Response};
use std::net::SocketAddr;
use support::{assert_contains, Run, PASSWORD, SUPER_PASSWORD};

const ACCOUNT: u64 = 800_001;
const DAY_MS: i64 = 86_400_000;

/// A daemon in a temporary data directory, with its client port at hand (the
/// logins) and its admin socket (`kefuctl`); shut down on drop.
struct Daemon {
    server: Option<ServerHandle>,
    tcp: SocketAddr,
    admin: String,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn start(clock_control: bool) -> Daemon {
        let dir = tempfile::tempdir().expect("temporary directory");
        let mut config = Config::for_tests(dir.path());
        config.test.clock_control = clock_control;
        let server = kefu_daemon::server::start(config)
            .unwrap_or_else(|e| panic!("daemon does not start: {e:?}"));
        let tcp = server.tcp_addr().expect("plain listener");
        let admin = server.admin_socket().expect("admin socket configured");
        Daemon {
            server: Some(server),
            tcp,
            admin: admin.to_str().expect("UTF-8 path").to_string(),
            _dir: dir,
        }
    }

    /// `kefuctl --admin-socket <ours> ARGS...`
    fn kefuctl(&self, args: &[&str]) -> Run {
        let mut all = vec!["--admin-socket", self.admin.as_str()];
        all.extend_from_slice(args);
        support::kefuctl(&all)
    }

    fn admin_client(&self) -> Client {
        Client::connect_unix(std::path::Path::new(&self.admin), ClientOptions::default())
            .expect("admin socket connects")
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown();
        }
    }
}

/// What `kefuctl clock show` (or set, advance) printed: (unix ms, test mode).
fn parse_clock(out: &str) -> (i64, bool) {
    let value = |key: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix(key))
            .map(str::trim)
            .unwrap_or_else(|| panic!("no {key:?} in:\n{out}"))
            .to_string()
    };
    let unix_ms = value("unix_ms:")
        .parse()
        .unwrap_or_else(|_| panic!("unix_ms is not a number in:\n{out}"));
    let test_mode = value("test mode:").starts_with("on");
    (unix_ms, test_mode)
}

fn show(d: &Daemon) -> (i64, bool) {
    parse_clock(&d.kefuctl(&["clock", "show"]).ok())
}

/// Creates `ACCOUNT`, its service period ending `days` days from now.
fn create_account_expiring_in(d: &Daemon, days: u32) {
    d.kefuctl(&[
        "account",
        "create",
        "--id",
        &ACCOUNT.to_string(),
        "--name",
        "Alpha Ltd",
        "--plan",
        "gold",
        "--days",
        &days.to_string(),
    ])
    .env("KEFU_PASSWORD", PASSWORD)
    .env("KEFU_SUPER_PASSWORD", SUPER_PASSWORD)
    .ok();
}

/// The account's customer-signing key, made by `kefuctl account customer-key`.
fn customer_key(d: &Daemon) -> [u8; 32] {
    let out = d
        .kefuctl(&["account", "customer-key", &ACCOUNT.to_string()])
        .ok();
    let hex = out.trim();
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .unwrap_or_else(|| panic!("not a hex key: {hex:?}"))
        })
        .collect();
    bytes
        .try_into()
        .unwrap_or_else(|_| panic!("not a 32-byte key: {hex:?}"))
}

fn connect(d: &Daemon) -> Client {
    Client::connect(d.tcp, ClientOptions::default()).expect("client port connects")
}

/// A new agent login (agent 1001) on a new connection: its answer or error code.
fn agent_login(d: &Daemon) -> Result<Response, Option<ErrorCode>> {
    connect(d)
        .request(&Request::Login {
            account: ACCOUNT,
            agent: 1001,
            password: PASSWORD.into(),
            otp: None,
        })
        .map_err(|e| e.code())
}

/// A new customer login (signed by the account's backend, valid until 2096) on a
/// new connection: its answer or error code.
fn customer_login(d: &Daemon, key: &[u8; 32]) -> Result<Response, Option<ErrorCode>> {
    let expires_at = 4_000_000_000;
    connect(d)
        .request(&Request::CustomerLogin {
            account: ACCOUNT,
            customer: "alice".into(),
            expires_at,
            signature: kefu_daemon::shard::sign_customer(key, ACCOUNT, "alice", expires_at),
            channel: Channel::Web,
        })
        .map_err(|e| e.code())
}

#[test]
fn advancing_the_test_clock_past_an_accounts_expiry_refuses_new_logins() {
    let d = Daemon::start(true);
    let (start_ms, test_mode) = show(&d);
    assert!(test_mode, "clock_control on: show says test mode");

    create_account_expiring_in(&d, 3);
    let key = customer_key(&d);
    assert!(
        matches!(agent_login(&d), Ok(Response::LoggedIn(_))),
        "agent login before the expiry"
    );
    assert!(
        matches!(customer_login(&d, &key), Ok(Response::CustomerLoggedIn(_))),
        "customer login before the expiry"
    );

    let out = d.kefuctl(&["clock", "advance", "4d"]).ok();
    let (moved_ms, test_mode) = parse_clock(&out);
    assert!(test_mode);
    assert!(moved_ms >= start_ms + 4 * DAY_MS, "{out}");
    let (now_ms, _) = show(&d);
    assert!(
        now_ms >= moved_ms,
        "the clock kept the move: {now_ms} < {moved_ms}"
    );

    assert_eq!(
        customer_login(&d, &key).err(),
        Some(Some(ErrorCode::ACCOUNT_EXPIRED)),
        "customer login 4 days on, past the 3-day expiry"
    );
    assert_eq!(
        agent_login(&d).err(),
        Some(Some(ErrorCode::ACCOUNT_EXPIRED)),
        "agent login 4 days on, past the 3-day expiry"
    );
}

#[test]
fn the_test_clock_only_moves_forward_and_only_for_the_operator() {
    let d = Daemon::start(true);
    create_account_expiring_in(&d, 365);
    // Logged in before the clock moves past the account's expiry.
    let mut agent = connect(&d);
    agent
        .request(&Request::Login {
            account: ACCOUNT,
            agent: 1001,
            password: PASSWORD.into(),
            otp: None,
        })
        .expect("agent logs in");

    // Forward to a time: RFC 3339 with an offset, and as a date.
    let out = d
        .kefuctl(&["clock", "set", "2099-01-01T08:00:00+08:00"])
        .ok();
    let target = 4_070_908_800_000; // 2099-01-01T00:00:00Z
    assert_eq!(parse_clock(&out), (target, true), "{out}");
    assert_contains(&out, "2099-01-01T00:00:00.");
    let (after_set, _) = show(&d);
    assert!(after_set >= target);

    // Back in time is refused and changes nothing, whichever way it is asked.
    let refused = d
        .kefuctl(&["clock", "set", "2098-12-31"])
        .run()
        .expect_code(1);
    assert_contains(&refused.stderr, "INVALID_ARGUMENT");
    assert_contains(&refused.stderr, "only moves forward");
    let mut admin = d.admin_client();
    let negative = admin.request(&Request::AdminClockAdvance { ms: -1 });
    assert_eq!(
        negative.map_err(|e| e.code()).err(),
        Some(Some(ErrorCode::INVALID_ARGUMENT))
    );
    let past_the_end = admin.request(&Request::AdminClockSet { unix_ms: i64::MAX });
    assert_eq!(
        past_the_end.map_err(|e| e.code()).err(),
        Some(Some(ErrorCode::INVALID_ARGUMENT))
    );
    let nested = admin.request(&Request::on_account(
        ACCOUNT,
        &Request::AdminClockAdvance { ms: 365 * DAY_MS },
    ));
    assert!(
        nested.is_err(),
        "AdminOnAccount must not move the clock: {nested:?}"
    );
    let (now_ms, _) = show(&d);
    assert!(
        (after_set..target + DAY_MS).contains(&now_ms),
        "refused moves changed the clock: {now_ms}"
    );

    // An agent on the client port may not even look (checked before any other rule).
    for request in [
        Request::AdminClockShow,
        Request::AdminClockAdvance { ms: DAY_MS },
    ] {
        assert_eq!(
            agent.request(&request).map_err(|e| e.code()).err(),
            Some(Some(ErrorCode::ADMIN_ONLY)),
            "{}",
            request.name()
        );
    }

    // JSON for scripts.
    let json = d.kefuctl(&["clock", "advance", "1h30m", "--json"]).ok();
    assert_contains(&json, "\"test_mode\":true");
    assert_contains(&json, "\"unix_ms\":");
}

#[test]
fn without_clock_control_the_clock_cannot_be_moved() {
    let d = Daemon::start(false);
    let (before_ms, test_mode) = show(&d);
    assert!(!test_mode, "the default is the real clock");

    for args in [
        &["clock", "advance", "1d"][..],
        &["clock", "set", &(before_ms + DAY_MS).to_string()][..],
    ] {
        let refused = d.kefuctl(args).run().expect_code(1);
        assert_contains(&refused.stderr, "CLOCK_CONTROL_DISABLED");
        assert_contains(&refused.stderr, "clock_control");
    }

    let (after_ms, test_mode) = show(&d);
    assert!(!test_mode);
    // The real clock moved a little meanwhile; a refused day did not.
    assert!(
        after_ms < before_ms + DAY_MS,
        "the clock moved: {before_ms} → {after_ms}"
    );
}

#[test]
fn bad_times_and_durations_are_usage_errors() {
    for args in [
        &["clock", "advance", "1y"][..],
        &["clock", "advance", "-1d"][..],
        &["clock", "advance", "soon"][..],
        &["clock", "set", "2027-02-30"][..],
        &["clock", "set", "tomorrow"][..],
    ] {
        let out = support::kefuctl(args).run().expect_code(2);
        assert!(!out.stderr.is_empty(), "{args:?}: no message");
    }
}
