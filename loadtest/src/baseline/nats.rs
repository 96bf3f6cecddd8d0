//! The nats-server baseline: start a `nats-server` on a random loopback port
//! and speak the NATS text protocol to it (CONNECT, SUB, PUB, MSG, PING/PONG).
//!
//! A receiver of pair `k` subscribes to `kefu.k`; its sender publishes there.
//! `PING` after `SUB` is answered with `PONG` only once the subscription is
//! in place, so a connection is ready at its first `PONG`.

use crate::pinning::Pinning;
use anyhow::{bail, Context};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// How long nats-server may take to say where it listens.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A nats-server child process, killed on drop.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    addr: SocketAddr,
}

impl NatsServer {
    /// Finds `program` (a path, or a name on PATH or in /usr/sbin) and starts
    /// it on 127.0.0.1 with a random port (on the servers' CPUs of `pinning`,
    /// if given); `Ok(None)` if it is not installed.
    pub fn start(program: &str, pinning: Option<&Pinning>) -> anyhow::Result<Option<NatsServer>> {
        let Some(path) = find(program) else {
            return Ok(None);
        };
        let mut command = Command::new(&path);
        command
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some(p) = pinning {
            p.pin_server(&mut command)?;
        }
        let mut child = command
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stderr = child.stderr.take().context("nats-server stderr")?;
        // Its log says where it listens; read it on a thread so a silent
        // server cannot hang us past the timeout.
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if !sent {
                    if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                        let _ = tx.send(rest.trim().to_string());
                        sent = true;
                    }
                }
                // Keep draining, so the server never blocks on a full pipe.
            }
        });
        let addr = match rx.recv_timeout(START_TIMEOUT) {
            Ok(a) => a,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                bail!("nats-server did not report its port within {START_TIMEOUT:?}");
            }
        };
        let addr: SocketAddr = addr
            .parse()
            .with_context(|| format!("nats-server address {addr:?}"))?;
        Ok(Some(NatsServer { child, addr }))
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(program: &str) -> Option<std::path::PathBuf> {
    let p = std::path::Path::new(program);
    if p.components().count() > 1 {
        return p.is_file().then(|| p.to_path_buf());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/local/sbin".into()])
        .map(|d| d.join(program))
        .find(|c| c.is_file())
}

/// The client side of the protocol.
pub mod wire {
    /// `CONNECT` (no `+OK`s), then for a receiver `SUB`, then `PING`.
    pub fn hello(receiver: bool, pair: usize) -> Vec<u8> {
        let mut v =
            b"CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"kefu-load\"}\r\n".to_vec();
        if receiver {
            v.extend_from_slice(format!("SUB kefu.{pair} 1\r\n").as_bytes());
        }
        v.extend_from_slice(b"PING\r\n");
        v
    }

    /// Appends one `PUB`.
    pub fn publish(pair: usize, payload: &[u8], out: &mut Vec<u8>) {
        use std::io::Write;
        // Into the buffer directly: no allocation per message (writing to a Vec cannot fail).
        let _ = write!(out, "PUB kefu.{pair} {}\r\n", payload.len());
        out.extend_from_slice(payload);
        out.extend_from_slice(b"\r\n");
    }

    /// What a parse of the input found, handed over in place (no copy).
    #[derive(Debug, PartialEq, Eq)]
    pub enum Item<'a> {
        /// A `PONG`.
        Pong,
        /// A `MSG`'s payload.
        Msg(&'a [u8]),
    }

    /// Takes every complete item from the front of `input`, handing each to
    /// `on_item`; answers `PING`s into `reply`. `Err` on `-ERR` or a malformed line.
    pub fn parse(
        input: &mut Vec<u8>,
        reply: &mut Vec<u8>,
        on_item: &mut dyn FnMut(Item<'_>),
    ) -> Result<(), String> {
        let mut at = 0;
        loop {
            let rest = &input[at..];
            let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
                break;
            };
            let line = &rest[..eol];
            if line.starts_with(b"MSG ") {
                // MSG <subject> <sid> [reply-to] <#bytes>
                let text = std::str::from_utf8(line).map_err(|_| "non-UTF-8 MSG line")?;
                let n: usize = text
                    .split_whitespace()
                    .last()
                    .and_then(|w| w.parse().ok())
                    .ok_or_else(|| format!("bad MSG line {text:?}"))?;
                let start = eol + 2;
                if rest.len() < start + n + 2 {
                    break; // the payload is not all here yet
                }
                on_item(Item::Msg(&rest[start..start + n]));
                at += start + n + 2;
                continue;
            }
            if line == b"PING" {
                reply.extend_from_slice(b"PONG\r\n");
            } else if line == b"PONG" {
                on_item(Item::Pong);
            } else if line.starts_with(b"-ERR") {
                return Err(String::from_utf8_lossy(line).into_owned());
            }
            // INFO, +OK: nothing to do.
            at += eol + 2;
        }
        input.drain(..at);
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn messages_pings_and_partial_input_are_parsed() {
            let mut input = b"INFO {\"x\":1}\r\nPONG\r\nMSG kefu.3 1 5\r\nhello\r\nPING\r\nMSG kefu.3 1 4\r\nab".to_vec();
            let mut reply = Vec::new();
            let mut items = Vec::new();
            let mut keep = |i: Item<'_>| {
                items.push(match i {
                    Item::Pong => None,
                    Item::Msg(p) => Some(p.to_vec()),
                })
            };
            parse(&mut input, &mut reply, &mut keep).unwrap();
            assert_eq!(reply, b"PONG\r\n");
            assert_eq!(input, b"MSG kefu.3 1 4\r\nab");
            input.extend_from_slice(b"cd\r\n");
            parse(&mut input, &mut reply, &mut keep).unwrap();
            assert!(input.is_empty());
            let mut bad = b"-ERR 'Slow Consumer'\r\n".to_vec();
            assert!(parse(&mut bad, &mut reply, &mut keep).is_err());
            assert_eq!(
                items,
                [None, Some(b"hello".to_vec()), Some(b"abcd".to_vec())]
            );
            let mut out = Vec::new();
            publish(7, b"xy", &mut out);
            assert_eq!(out, b"PUB kefu.7 2\r\nxy\r\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_program_is_not_an_error() {
        assert!(NatsServer::start("/nonexistent/nats-server", None)
            .unwrap()
            .is_none());
    }
}
