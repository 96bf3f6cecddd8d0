//! `kefuctl diagnose` (feature E4): checks a client listener step by step as a client would.
//!
//! After the round trips it compares the clocks (`GetServerTime`) and, over the admin
//! socket, has the daemon check its storage (`AdminCheckStorage`: a synced write and the
//! free space).
//!
//! Each step prints one line, `ok  <step> ...`, `skip <step> <why>` or `FAIL <step>: <why>`, and
//! the first failure stops the run. Steps are timed separately (TCP connect,
//! TLS handshake, protocol handshake, login) so a slow one stands out.

use crate::admin::client_options;
use crate::cli::DiagnoseArgs;
use crate::date;
use crate::output::printable;
use crate::secrets::{self, Secret};
use anyhow::{anyhow, Result};
use kefu_wire::{Client, ClientError, ClientOptions, Request, Response, Transport};
use std::fmt::Display;
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs the checks; an error means a step failed (its `FAIL` line is printed already).
pub fn run(args: &DiagnoseArgs, admin_socket: &Path, out: &mut dyn Write) -> Result<()> {
    // Read before any timing starts: a prompt must not count as latency.
    let what = format!("password of {}", args.login);
    let password = secrets::read(Secret {
        var: secrets::PASSWORD,
        what: &what,
    })?;
    let mut report = Report { out };
    let timeout = Duration::from_secs(args.timeout);
    let opts = ClientOptions {
        timeout,
        ..client_options()
    };

    let started = Instant::now();
    let (tcp, peer) = report.step("connect", connect(&args.server, timeout))?;
    report.ok("connect", peer, Some(started.elapsed()))?;

    let transport: Box<dyn Transport> = if args.tls {
        let started = Instant::now();
        let ca = args.ca.as_deref().unwrap_or(Path::new(""));
        let name = match &args.server_name {
            Some(name) => name.clone(),
            None => host_of(&args.server).to_string(),
        };
        let stream = report.step("tls", tls_handshake(tcp, ca, &name, timeout))?;
        let detail = format!(
            "{} {}, certificate valid for {name:?}",
            stream
                .conn
                .protocol_version()
                .map(|v| format!("{v:?}"))
                .unwrap_or_default(),
            stream
                .conn
                .negotiated_cipher_suite()
                .map(|s| format!("{:?}", s.suite()))
                .unwrap_or_default(),
        );
        report.ok("tls", detail, Some(started.elapsed()))?;
        Box::new(stream)
    } else {
        Box::new(tcp)
    };

    let started = Instant::now();
    let mut client = report.step("handshake", Client::handshake(transport, opts))?;
    let w = client.welcome();
    let detail = format!(
        "protocol v{}, server {:?}, max frame {} B, heartbeat {} ms, idle timeout {} ms",
        w.version, w.server, w.max_frame, w.heartbeat_ms, w.idle_timeout_ms
    );
    report.ok("handshake", detail, Some(started.elapsed()))?;

    let started = Instant::now();
    let (agent, account) = (args.login.agent, args.login.account);
    let session = report.step("login", client.login(account, agent, &password))?;
    let detail = format!(
        "{} as {:?} (role {}), account service until {}",
        args.login,
        session.nickname,
        session.role,
        date::format_unix_full(session.account_expires_at)
    );
    report.ok("login", detail, Some(started.elapsed()))?;

    let mut rtts = Vec::with_capacity(args.pings as usize);
    for _ in 0..args.pings {
        rtts.push(report.step("ping", client.ping())?);
    }
    let detail = match (rtts.iter().min(), rtts.iter().max()) {
        (Some(min), Some(max)) => {
            let avg = rtts.iter().sum::<Duration>() / args.pings;
            format!(
                "{} round trips: min {}, avg {}, max {}",
                args.pings,
                ms(*min),
                ms(avg),
                ms(*max)
            )
        }
        _ => "no round trips".into(),
    };
    report.ok("ping", detail, None)?;

    clock_step(&mut report, &mut client, args.max_skew_ms)?;
    if args.no_storage {
        report.skip("storage", "not checked (--no-storage)")?;
    } else {
        storage_step(&mut report, admin_socket)?;
    }

    report.step("logout", client.request(&Request::Logout))?;
    report.ok("logout", "", None)?;
    Ok(())
}

/// The clock against the server's (`GetServerTime`): the skew is the server's time
/// minus this machine's at the middle of the round trip, give or take half of it.
fn clock_step(report: &mut Report<'_>, client: &mut Client, max_skew_ms: u64) -> Result<()> {
    let before = date::now_unix_ms();
    let started = Instant::now();
    let answer = report.step("clock", client.request(&Request::GetServerTime))?;
    let rtt = started.elapsed();
    let rtt_ms = i64::try_from(rtt.as_millis()).unwrap_or(i64::MAX);
    let Response::Clock { unix_ms, test_mode } = answer else {
        return report.step("clock", Err::<(), _>(format!("{answer:?}")));
    };
    let local = before.saturating_add(rtt_ms / 2);
    let skew = unix_ms.saturating_sub(local);
    let detail = format!(
        "server {}, this machine {}: server {} by {} ms (±{} ms)",
        date::format_unix_ms(unix_ms),
        date::format_unix_ms(local),
        if skew >= 0 { "ahead" } else { "behind" },
        skew.unsigned_abs(),
        rtt_ms / 2 + 1
    );
    if test_mode {
        return report.ok(
            "clock",
            format!("{detail}; the server runs a TEST CLOCK"),
            None,
        );
    }
    if skew.unsigned_abs() > max_skew_ms.saturating_add(rtt_ms.unsigned_abs() / 2) {
        let why = format!(
            "{detail}: more than {max_skew_ms} ms apart; token codes, session expiry and \
             message times depend on it: synchronise both clocks (NTP)"
        );
        return report.step("clock", Err::<(), _>(why));
    }
    report.ok("clock", detail, None)
}

/// The daemon's storage, over the admin socket: a synced write and the free space.
fn storage_step(report: &mut Report<'_>, admin_socket: &Path) -> Result<()> {
    let opts = client_options();
    let mut admin = match Client::connect_unix(admin_socket, opts) {
        Ok(c) => c,
        Err(e) => {
            let detail = format!(
                "not checked: cannot open the admin socket {} ({}); run as root or the kefu \
                 user, or give --admin-socket",
                admin_socket.display(),
                e.describe()
            );
            return report.skip("storage", detail);
        }
    };
    let answer = report.step("storage", admin.request(&Request::AdminCheckStorage))?;
    let Response::StorageCheck(c) = answer else {
        return report.step("storage", Err::<(), _>(format!("{answer:?}")));
    };
    if !c.writable {
        let why = format!("a synced write to {} failed: {}", c.data_dir, c.error);
        return report.step("storage", Err::<(), _>(why));
    }
    let free = format!("{} free of {}", bytes(c.free_bytes), bytes(c.total_bytes));
    let detail = format!(
        "{} writable, synced write {:.1} ms, {free}",
        c.data_dir,
        c.synced_write_us as f64 / 1000.0
    );
    if c.disk_full {
        let why = format!("{detail}: the disk was full and writes are still refused");
        return report.step("storage", Err::<(), _>(why));
    }
    report.ok("storage", detail, None)
}

/// `1.5 GiB` style.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS.get(unit).copied().unwrap_or("B"))
}

/// Where the step lines go.
struct Report<'a> {
    out: &'a mut dyn Write,
}

impl Report<'_> {
    /// A step that was not run, and why: `skip <step> <why>`.
    fn skip(&mut self, step: &str, why: impl Display) -> Result<()> {
        writeln!(self.out, "skip {step} {}", printable(&why.to_string()))?;
        self.out.flush()?;
        Ok(())
    }

    fn ok(&mut self, step: &str, detail: impl Display, took: Option<Duration>) -> Result<()> {
        let detail = printable(&detail.to_string());
        let mut line = format!("ok  {step}");
        if !detail.is_empty() {
            line.push(' ');
            line.push_str(&detail);
        }
        if let Some(took) = took {
            line.push_str(&format!(" ({})", ms(took)));
        }
        writeln!(self.out, "{line}")?;
        self.out.flush()?;
        Ok(())
    }

    /// Passes a step's value through, or prints its `FAIL` line and stops.
    fn step<T, E: Failure>(&mut self, step: &str, result: Result<T, E>) -> Result<T> {
        match result {
            Ok(v) => Ok(v),
            Err(e) => {
                writeln!(self.out, "FAIL {step}: {}", printable(&e.describe()))?;
                self.out.flush()?;
                Err(anyhow!("diagnose failed at step {step:?}"))
            }
        }
    }
}

/// How a failed step explains itself on its `FAIL` line.
trait Failure {
    fn describe(&self) -> String;
}

impl Failure for ClientError {
    fn describe(&self) -> String {
        crate::admin::describe(self)
    }
}

impl Failure for String {
    fn describe(&self) -> String {
        self.clone()
    }
}

/// Opens the TCP connection, trying each address the name resolves to.
fn connect(server: &str, timeout: Duration) -> Result<(TcpStream, SocketAddr), String> {
    let addrs: Vec<SocketAddr> = server
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {server}: {e}"))?
        .collect();
    let mut errors = Vec::new();
    for addr in &addrs {
        match TcpStream::connect_timeout(addr, timeout) {
            Ok(s) => {
                s.set_nodelay(true)
                    .map_err(|e| format!("{addr}: set TCP_NODELAY: {e}"))?;
                return Ok((s, *addr));
            }
            Err(e) => errors.push(format!("{addr}: {e}")),
        }
    }
    if errors.is_empty() {
        return Err(format!("{server} resolves to no address"));
    }
    Err(errors.join("; "))
}

type TlsStream = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

/// Runs the TLS handshake to completion, checking the certificate against `ca`.
fn tls_handshake(
    mut tcp: TcpStream,
    ca: &Path,
    server_name: &str,
    timeout: Duration,
) -> Result<TlsStream, String> {
    let pem =
        std::fs::read(ca).map_err(|e| format!("cannot read CA file {}: {e}", ca.display()))?;
    let config = kefu_wire::tls_config_with_ca_pem(&pem).map_err(|e| e.to_string())?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_string())
        .map_err(|e| format!("bad server name {server_name:?}: {e}"))?;
    let mut conn = rustls::ClientConnection::new(config, name).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(timeout))
        .and_then(|()| tcp.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    while conn.is_handshaking() {
        match conn.complete_io(&mut tcp) {
            Ok((0, 0)) => return Err("connection closed during the TLS handshake".into()),
            Ok(_) => {}
            Err(e) => return Err(explain_tls_failure(&e, server_name)),
        }
    }
    Ok(rustls::StreamOwned::new(conn, tcp))
}

/// A failed handshake in the operator's words, for the certificate mistakes people make.
fn explain_tls_failure(e: &std::io::Error, server_name: &str) -> String {
    use rustls::CertificateError as C;
    let Some(rustls::Error::InvalidCertificate(cert)) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    else {
        return e.to_string();
    };
    match cert {
        // webpki's error, named only in the debug text of `Other`.
        C::Other(other) if format!("{other:?}").contains("CaUsedAsEndEntity") => {
            "the server presents a CA certificate as its own (what `openssl req -x509` \
             makes); a server needs a certificate signed by a CA, with the CA given to \
             clients: `kefuctl tls self-signed --out DIR --name HOST` writes both"
                .into()
        }
        C::UnknownIssuer => "the server's certificate is not signed by a CA in --ca \
                             (give clients the CA's certificate, not the server's)"
            .into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => format!(
            "the server's certificate is not for {server_name:?} (--server-name, or the \
             host of --server); make it for the name clients use"
        ),
        C::Expired | C::ExpiredContext { .. } => "the server's certificate has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => {
            "the server's certificate is not valid yet (check both clocks)".into()
        }
        other => format!("the server's certificate was refused: {other:?}"),
    }
}

/// The host part of `HOST:PORT` (`[v6]:PORT` too), for the certificate check.
fn host_of(server: &str) -> &str {
    let host = match server.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => server,
    };
    host.strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host)
}

/// A duration in milliseconds with precision to match its size.
fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1000.0;
    if ms < 1.0 {
        format!("{ms:.3} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_part() {
        let cases = [
            ("localhost:7070", "localhost"),
            ("127.0.0.1:7070", "127.0.0.1"),
            ("[::1]:7070", "::1"),
            ("kefu.example", "kefu.example"),
        ];
        for (input, want) in cases {
            assert_eq!(host_of(input), want, "{input}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(ms(Duration::from_micros(300)), "0.300 ms");
        assert_eq!(ms(Duration::from_micros(12_340)), "12.3 ms");
        assert_eq!(ms(Duration::from_millis(1500)), "1500 ms");
    }
}
