//! The weekly CSAT mail over TLS (S2, manual §10.1.2; PROTOCOL.md 37.6) through a real
//! kefud with an injected clock and a local test SMTP relay on 127.0.0.1:0 with an rcgen
//! certificate: required STARTTLS upgrades and delivers, implicit TLS delivers, a relay
//! that does not offer STARTTLS (or whose certificate is not trusted) never receives
//! `MAIL FROM` and is retried, and `[mail]`'s defaults and bad CA files are judged at
//! start.

mod support;

use kefu_daemon::clock::ManualClock;
use kefu_daemon::config::{Config, MailConfig, MailTls};
use kefu_daemon::server;
use kefu_wire::csat::{CsatSettings, CsatStyle};
use kefu_wire::{Client, Request, Response};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use support::*;

const ACCOUNT: u64 = 815_101;
const MINUTE: i64 = 60_000;
/// Sunday 2027-01-03 12:00 UTC.
const SUNDAY_NOON: i64 = 1_798_977_600_000;

/// How the test relay talks.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Plain ESMTP, no STARTTLS offered.
    Plain,
    /// Offers STARTTLS and upgrades.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// What the relay saw in one session.
#[derive(Debug, Default)]
struct Session {
    tls: bool,
    mail_from: bool,
    rcpt: Vec<String>,
    data: String,
}

/// A test certificate for 127.0.0.1 written as `cert.pem` under `dir`, and the relay's
/// rustls configuration.
fn certificate(dir: &Path, name: &str) -> (PathBuf, Arc<ServerConfig>) {
    let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, cert.cert.pem()).unwrap();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(cert.key_pair.serialize_der()));
    let config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![CertificateDer::from(cert.cert.der().to_vec())], key)
            .unwrap();
    (path, Arc::new(config))
}

/// The SMTP dialog on `stream` until QUIT or the end; `Some(stream)` after a STARTTLS
/// accepted (when `offer`), for the caller to wrap.
fn dialog<S: Read + Write>(stream: S, greet: bool, offer: bool, s: &mut Session) -> Option<S> {
    let mut r = BufReader::new(stream);
    if greet {
        let _ = r.get_mut().write_all(b"220 test ESMTP\r\n");
    }
    let (mut line, mut in_data) = (String::new(), false);
    loop {
        line.clear();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return None;
        }
        if in_data {
            if line == ".\r\n" {
                in_data = false;
                let _ = r.get_mut().write_all(b"250 OK queued\r\n");
                let _ = r.get_mut().flush();
            } else {
                s.data.push_str(&line);
            }
            continue;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            if offer {
                b"250-test\r\n250 STARTTLS\r\n"
            } else {
                b"250 test\r\n"
            }
        } else if upper.starts_with("STARTTLS") && offer {
            let _ = r.get_mut().write_all(b"220 go ahead\r\n");
            let _ = r.get_mut().flush();
            return Some(r.into_inner());
        } else if upper.starts_with("MAIL FROM:") {
            s.mail_from = true;
            b"250 OK\r\n"
        } else if upper.starts_with("RCPT TO:") {
            s.rcpt
                .push(line[8..].trim().trim_matches(['<', '>']).to_owned());
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            in_data = true;
            b"354 go on\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = r.get_mut().write_all(b"221 bye\r\n");
            let _ = r.get_mut().flush();
            return None;
        } else {
            b"250 OK\r\n"
        };
        let _ = r.get_mut().write_all(reply);
        let _ = r.get_mut().flush();
    }
}

fn serve(stream: TcpStream, mode: Mode, tls: &Arc<ServerConfig>) -> Session {
    let mut s = Session::default();
    let wrap =
        |plain: TcpStream| StreamOwned::new(ServerConnection::new(tls.clone()).unwrap(), plain);
    match mode {
        Mode::Implicit => {
            s.tls = true;
            dialog(wrap(stream), true, false, &mut s);
        }
        Mode::Plain | Mode::StartTls => {
            if let Some(plain) = dialog(stream, true, mode == Mode::StartTls, &mut s) {
                s.tls = true;
                dialog(wrap(plain), false, false, &mut s);
            }
        }
    }
    s
}

/// A relay on 127.0.0.1:0 serving one client at a time; every session is reported.
fn relay(mode: Mode, tls: Arc<ServerConfig>) -> (u16, mpsc::Receiver<Session>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            if tx.send(serve(stream, mode, &tls)).is_err() {
                return;
            }
        }
    });
    (port, rx)
}

fn start(clock: Arc<ManualClock>, dir: tempfile::TempDir, mail: MailConfig) -> TestServer {
    let mut config = Config::for_tests(dir.path());
    config.mail = mail;
    let handle = server::start_with_clock(config, clock).expect("daemon starts");
    TestServer {
        handle: Some(handle),
        dir,
    }
}

fn mail(port: u16, tls: MailTls, ca_file: Option<PathBuf>) -> MailConfig {
    MailConfig {
        smtp_host: Some("127.0.0.1".into()),
        smtp_port: Some(port),
        from: Some("kefu@example.com".into()),
        tls: Some(tls),
        ca_file,
        ..MailConfig::default()
    }
}

/// An account whose boss subscribes to the weekly mail; returns the boss.
fn subscribed(s: &TestServer) -> Client {
    let mut admin = s.admin();
    create_account(&mut admin, ACCOUNT);
    let mut boss = s.client();
    boss.login(ACCOUNT, 1001, PASSWORD).unwrap();
    let settings = CsatSettings {
        enabled: true,
        style: CsatStyle::Faces,
        reasons_enabled: false,
        reasons: Vec::new(),
        subscribers: vec!["boss@example.com".into()],
    };
    let r = boss.request(&Request::SetCsatSettings(settings)).unwrap();
    assert_eq!(r, Response::Ok);
    settle(&mut boss);
    boss
}

/// Two round trips: the first request's turn sees the clock's new time and its
/// commit runs the weekly check; the second is answered after it.
fn settle(c: &mut Client) {
    c.request(&Request::GetServerTime).unwrap();
    c.request(&Request::GetServerTime).unwrap();
}

/// Monday 01:00: the relay's first session.
fn monday_session(clock: &ManualClock, boss: &mut Client, rx: &mpsc::Receiver<Session>) -> Session {
    clock.set(SUNDAY_NOON + 13 * 3_600_000);
    settle(boss);
    rx.recv_timeout(Duration::from_secs(30))
        .expect("a session on Monday")
}

/// Required STARTTLS with a private CA: the mail is sent after the upgrade.
#[test]
fn s2_weekly_mail_through_required_starttls_with_a_private_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, tls) = certificate(dir.path(), "relay.pem");
    let (port, rx) = relay(Mode::StartTls, tls);
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut handle = start(clock.clone(), dir, mail(port, MailTls::Starttls, Some(ca)));
    let mut boss = subscribed(&handle);
    let s = monday_session(&clock, &mut boss, &rx);
    assert!(s.tls, "upgraded before the mail");
    assert!(s.mail_from);
    assert_eq!(s.rcpt, vec!["boss@example.com".to_owned()]);
    assert!(s.data.contains("CSAT weekly report"), "{}", s.data);
    handle.handle.take().expect("running").shutdown();
}

/// Implicit TLS (`tls = "tls"`): the mail is sent inside TLS from the first byte.
#[test]
fn s2_weekly_mail_through_implicit_tls() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, tls) = certificate(dir.path(), "relay.pem");
    let (port, rx) = relay(Mode::Implicit, tls);
    let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
    let mut handle = start(clock.clone(), dir, mail(port, MailTls::Tls, Some(ca)));
    let mut boss = subscribed(&handle);
    let s = monday_session(&clock, &mut boss, &rx);
    assert!(s.tls && s.mail_from);
    assert!(s.data.contains("CSAT weekly report"), "{}", s.data);
    handle.handle.take().expect("running").shutdown();
}

/// `tls = "starttls"` to a relay that does not offer STARTTLS, and to one whose
/// certificate is not from the configured CA: no `MAIL FROM` ever, and the attempt is
/// retried after the backoff.
#[test]
fn s2_relay_without_starttls_or_with_an_untrusted_certificate_never_gets_the_mail() {
    for mode in [Mode::Plain, Mode::StartTls] {
        let dir = tempfile::tempdir().unwrap();
        let (_, relay_tls) = certificate(dir.path(), "relay.pem");
        let (other_ca, _) = certificate(dir.path(), "other.pem");
        let (port, rx) = relay(mode, relay_tls);
        let clock = Arc::new(ManualClock::new(SUNDAY_NOON));
        let config = mail(port, MailTls::Starttls, Some(other_ca));
        let mut handle = start(clock.clone(), dir, config);
        let mut boss = subscribed(&handle);
        let first = monday_session(&clock, &mut boss, &rx);
        assert!(
            !first.mail_from,
            "nothing sent in clear or to an untrusted relay"
        );
        // Each round moves the clock past the backoff (the failure may reach the centre
        // after the relay saw the session): a second attempt, refused the same way.
        let mut second = None;
        for _ in 0..20 {
            clock.advance(5 * MINUTE);
            settle(&mut boss);
            if let Ok(s) = rx.recv_timeout(Duration::from_millis(500)) {
                second = Some(s);
                break;
            }
        }
        let second = second.expect("the attempt is retried");
        assert!(!second.mail_from && second.data.is_empty());
        handle.handle.take().expect("running").shutdown();
    }
}

/// The defaults: loopback → plain on 25, another host → required STARTTLS on 25,
/// `tls` → 465; a missing or non-PEM CA file, or a CA file with `tls = "none"`, and
/// kefud refuses to start.
#[test]
fn mail_tls_defaults_and_bad_ca_files_refused_at_start() {
    let relay = |host: &str, tls: Option<MailTls>| {
        MailConfig {
            smtp_host: Some(host.into()),
            tls,
            ..MailConfig::default()
        }
        .relay()
        .unwrap()
    };
    for host in ["127.0.0.1", "localhost", "::1", "[::1]"] {
        let r = relay(host, None);
        assert_eq!((r.tls, r.port), (MailTls::None, 25), "{host}");
    }
    let r = relay("mail.example.com", None);
    assert_eq!((r.tls, r.port), (MailTls::Starttls, 25));
    let r = relay("mail.example.com", Some(MailTls::Tls));
    assert_eq!((r.tls, r.port), (MailTls::Tls, 465));

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
    let bad = [
        (
            MailTls::Starttls,
            dir.path().join("missing.pem"),
            "missing.pem",
        ),
        (MailTls::Tls, dir.path().join("junk.pem"), "junk.pem"),
        (MailTls::None, dir.path().join("junk.pem"), "ca_file"),
    ];
    for (tls, ca, says) in bad {
        let mut config = Config::for_tests(dir.path());
        config.mail = mail(25, tls, Some(ca));
        let e = config.validate().expect_err("refused").to_string();
        assert!(e.contains(says), "{e}");
    }
}
