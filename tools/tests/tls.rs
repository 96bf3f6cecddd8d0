//! `kefuctl tls self-signed` and `kefuctl diagnose --tls` end to end: the trial
//! certificates it writes are served by a real daemon and accepted by a client that
//! trusts the trial CA; a CA certificate used as the server's own (what
//! `openssl req -x509` makes) is explained in plain words, not as `CaUsedAsEndEntity`.

mod support;

use std::os::unix::fs::PermissionsExt;
use support::*;

/// A daemon with a TLS listener serving `cert` and `key` (PEM files).
fn tls_daemon(cert: &std::path::Path, key: &std::path::Path) -> Daemon {
    let (cert, key) = (cert.to_path_buf(), key.to_path_buf());
    let d = Daemon::start_with(move |config, _| {
        config.tls_listen = Some("127.0.0.1:0".parse().expect("address"));
        config.tls_cert = Some(cert);
        config.tls_key = Some(key);
    });
    d.create_account(800_001, "Alpha Ltd");
    d
}

/// `kefuctl diagnose --tls --ca CA` against the daemon's TLS listener, as 1001@800001.
fn diagnose(d: &Daemon, ca: &std::path::Path, name: &str) -> Run {
    let addr = d.tls_addr();
    let ca = ca.to_str().expect("utf-8 path");
    kefuctl(&[
        "diagnose",
        "--server",
        &addr,
        "--tls",
        "--ca",
        ca,
        "--server-name",
        name,
        "--login",
        "1001@800001",
        "--pings",
        "1",
    ])
    .env("KEFU_PASSWORD", PASSWORD)
}

#[test]
fn trial_certificates_serve_tls_in_one_command() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let out = dir.path().join("tls");
    let o = out.to_str().expect("utf-8 path");
    let said = kefuctl(&["tls", "self-signed", "--out", o, "--name", "localhost"]).ok();
    assert_contains(&said, "ca.pem");
    let mode = std::fs::metadata(out.join("key.pem"))
        .expect("key.pem")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "the private key is its owner's only");
    // Files are not replaced by accident.
    let again = kefuctl(&["tls", "self-signed", "--out", o])
        .run()
        .expect_code(1);
    assert_contains(&again.stderr, "--force");

    let d = tls_daemon(&out.join("cert.pem"), &out.join("key.pem"));
    let report = diagnose(&d, &out.join("ca.pem"), "localhost").ok();
    for step in ["ok  tls", "ok  handshake", "ok  login"] {
        assert_contains(&report, step);
    }
    // The certificate is for localhost only.
    let wrong = diagnose(&d, &out.join("ca.pem"), "kefu.invalid")
        .run()
        .expect_code(1)
        .text();
    assert_contains(&wrong, "FAIL tls");
    assert_contains(&wrong, "not for \"kefu.invalid\"");
}

#[test]
fn a_ca_certificate_as_the_servers_own_is_explained() {
    let dir = tempfile::tempdir().expect("temporary directory");
    // What `openssl req -x509 -newkey …` makes: a self-signed CA certificate.
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");

    let d = tls_daemon(&cert_path, &key_path);
    let report = diagnose(&d, &cert_path, "localhost")
        .run()
        .expect_code(1)
        .text();
    assert_contains(&report, "FAIL tls");
    assert_contains(&report, "a CA certificate as its own");
    assert_contains(&report, "kefuctl tls self-signed");
    assert!(!report.contains("CaUsedAsEndEntity"), "{report}");
}
