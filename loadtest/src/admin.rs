//! A pipelining client for the daemon's local admin socket, and the stats query.
//!
//! `kefu_wire::Client` waits for each answer before the next request; slow
//! requests (password hashing) want several in flight. [`AdminPipe`] drives a
//! sans-IO `ClientConnection` over a blocking Unix socket, keeping up to a
//! window of requests outstanding and matching answers by correlation id.

use anyhow::{anyhow, bail, Context};
use kefu_wire::{
    Client, ClientConnection, ClientEvent, ClientOptions, ErrorBody, Request, Response, ShardStats,
};
use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::{Duration, Instant};

/// The answer to one request.
pub type Answer = Result<Response, ErrorBody>;

/// One admin-socket connection with requests in flight.
#[derive(Debug)]
pub struct AdminPipe {
    stream: UnixStream,
    conn: ClientConnection,
    buf: Vec<u8>,
}

impl AdminPipe {
    /// Connects and completes the handshake before `deadline`.
    pub fn connect(path: &Path, deadline: Instant) -> anyhow::Result<AdminPipe> {
        let stream = UnixStream::connect(path)
            .with_context(|| format!("connecting to admin socket {}", path.display()))?;
        let mut pipe = AdminPipe {
            stream,
            conn: ClientConnection::new(client_name(), kefu_wire::DEFAULT_MAX_FRAME),
            buf: vec![0; 64 * 1024],
        };
        pipe.flush()?;
        loop {
            match pipe.conn.poll_event() {
                Some(ClientEvent::Welcome(_)) => return Ok(pipe),
                Some(ClientEvent::ConnectionError(e)) => {
                    bail!(
                        "admin socket refused the handshake: {} {}",
                        e.code,
                        e.message
                    )
                }
                Some(ClientEvent::GoAway(g)) => {
                    bail!("admin socket closed: {} {}", g.code, g.message)
                }
                Some(_) => {}
                None => pipe.read_some(deadline)?,
            }
        }
    }

    /// Sends every request, at most `window` outstanding at a time, and
    /// returns the answers in request order.
    ///
    /// Typed server errors are answers; an `Err` means the connection failed
    /// or the deadline passed.
    pub fn call_many(
        &mut self,
        requests: &[Request],
        window: usize,
        deadline: Instant,
    ) -> anyhow::Result<Vec<Answer>> {
        let window = window.max(1);
        let mut answers: Vec<Option<Answer>> = vec![None; requests.len()];
        let mut waiting: HashMap<u32, usize> = HashMap::new();
        let mut next = 0;
        let mut done = 0;
        while done < requests.len() {
            while next < requests.len() && waiting.len() < window {
                let correlation = self.conn.send_request(&requests[next]);
                waiting.insert(correlation, next);
                next += 1;
            }
            self.flush()?;
            self.read_some(deadline)?;
            while let Some(event) = self.conn.poll_event() {
                match event {
                    ClientEvent::Response {
                        correlation,
                        result,
                    } => {
                        if let Some(i) = waiting.remove(&correlation) {
                            answers[i] = Some(result);
                            done += 1;
                        }
                    }
                    ClientEvent::GoAway(g) => {
                        bail!("admin socket closed: {} {}", g.code, g.message)
                    }
                    ClientEvent::GoAwayTo(g) => {
                        bail!("admin socket closed: {} {}", g.code, g.message)
                    }
                    ClientEvent::ConnectionError(e) => {
                        bail!("admin socket error: {} {}", e.code, e.message)
                    }
                    ClientEvent::Welcome(_) | ClientEvent::Push(_) | ClientEvent::Pong(_) => {}
                }
            }
        }
        answers
            .into_iter()
            .map(|a| a.ok_or_else(|| anyhow!("an admin request went unanswered")))
            .collect()
    }

    /// One request, one answer.
    pub fn call(&mut self, request: Request, deadline: Instant) -> anyhow::Result<Answer> {
        self.call_many(std::slice::from_ref(&request), 1, deadline)?
            .pop()
            .ok_or_else(|| anyhow!("an admin request went unanswered"))
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        while !self.conn.transmit().is_empty() {
            let n = self
                .stream
                .write(self.conn.transmit())
                .context("writing to the admin socket")?;
            if n == 0 {
                bail!("admin socket closed while writing");
            }
            self.conn.consume_transmit(n);
        }
        Ok(())
    }

    fn read_some(&mut self, deadline: Instant) -> anyhow::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("timed out waiting for the admin socket");
        }
        self.stream.set_read_timeout(Some(left))?;
        let n = match self.stream.read(&mut self.buf) {
            Ok(0) => bail!("the daemon closed the admin socket"),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                bail!("timed out waiting for the admin socket")
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(e) => return Err(e).context("reading the admin socket"),
        };
        self.conn
            .handle_input(&self.buf[..n])
            .context("the admin socket sent invalid protocol")?;
        // Pongs to server pings.
        self.flush()
    }
}

/// The daemon's per-shard counters, via `AdminStats`.
pub fn stats(path: &Path, timeout: Duration) -> anyhow::Result<Vec<ShardStats>> {
    match ask(path, timeout, &Request::AdminStats).context("AdminStats")? {
        Response::Stats { shards, .. } => Ok(shards),
        other => bail!("AdminStats answered {other:?}"),
    }
}

/// The daemon's metrics exposition (Prometheus text), via `AdminMetrics`.
pub fn metrics(path: &Path, timeout: Duration) -> anyhow::Result<String> {
    match ask(path, timeout, &Request::AdminMetrics).context("AdminMetrics")? {
        Response::Metrics { text } => Ok(text),
        other => bail!("AdminMetrics answered {other:?}"),
    }
}

/// One request on a connection of its own to the admin socket.
fn ask(path: &Path, timeout: Duration, request: &Request) -> anyhow::Result<Response> {
    let opts = ClientOptions {
        client_name: client_name().to_string(),
        timeout,
        ..ClientOptions::default()
    };
    let mut client = Client::connect_unix(path, opts)
        .with_context(|| format!("connecting to admin socket {}", path.display()))?;
    Ok(client.request(request)?)
}

/// Name announced in every `Hello`.
pub fn client_name() -> &'static str {
    concat!("kefu-load/", env!("CARGO_PKG_VERSION"))
}
