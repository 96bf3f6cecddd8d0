//! A blocking client over TCP, TLS (rustls) or a Unix socket.
//!
//! ```no_run
//! use kefu_wire::{Client, ClientOptions, Request};
//! let mut client = Client::connect("127.0.0.1:7070", ClientOptions::default())?;
//! let session = client.login(800_001, 1001, "secret")?;
//! client.request(&Request::SetPresence { presence: kefu_wire::Presence::Online })?;
//! // Later, on a new connection, log in again cheaply with the token:
//! let mut again = Client::connect("127.0.0.1:7070", ClientOptions::default())?;
//! again.resume(800_001, 1001, session.token)?;
//!
//! // A session that survives its connection (PROTOCOL.md section 6.1):
//! let (token, _window_secs) = again.enable_resume()?;
//! // ... the connection drops; `last` is the seq of the last push processed on it ...
//! let last = again.last_processed_seq();
//! let mut third = Client::connect("127.0.0.1:7070", ClientOptions::default())?;
//! let _replayed = third.resume_session(token, last)?; // the missed pushes follow
//! # Ok::<(), kefu_wire::ClientError>(())
//! ```

use crate::conn::{ClientConnection, ClientEvent};
use crate::error::{ErrorCode, WireError};
use crate::message::*;
use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The client acknowledges pushes by itself once this many arrived unacknowledged,
/// so that a caller that never asks for pushes stays far inside the server's
/// window of unacknowledged pushes (PROTOCOL.md section 6).
pub const AUTO_ACK_EVERY: u64 = 64;

/// Connection options.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Name announced in the `Hello`.
    pub client_name: String,
    /// Largest frame body accepted from the server.
    pub max_frame: u32,
    /// How long one request may wait for its answer (and connect for the socket).
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            client_name: concat!("kefu-wire/", env!("CARGO_PKG_VERSION")).to_string(),
            max_frame: crate::DEFAULT_MAX_FRAME,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The transport failed.
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// The server sent bytes that are not valid protocol.
    #[error("protocol: {0}")]
    Wire(#[from] WireError),
    /// TLS could not be set up (bad CA file, bad server name...).
    #[error("tls: {0}")]
    Tls(String),
    /// The server answered with a typed error.
    #[error("server error {}: {}", .0.code, .0.message)]
    Server(ErrorBody),
    /// The server closed the connection, saying why where it did.
    #[error("connection closed by server{}", .0.as_ref().map(|g| format!(": {} {}", g.code, g.message)).unwrap_or_default())]
    Closed(Option<GoAway>),
    /// The server closed the connection and named another appliance (`GoAwayTo`,
    /// PROTOCOL.md section 40.6). A login follows one such redirect by itself
    /// ([`Client::request`]); this is the one it did not follow.
    #[error("redirected by server to {}: {} {}", .0.address, .0.code, .0.message)]
    Redirected(GoAwayTo),
    /// No answer within the timeout.
    #[error("timed out")]
    Timeout,
    /// The server answered with something other than what the call expects.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The protocol error code, where the server gave one.
    pub fn code(&self) -> Option<ErrorCode> {
        match self {
            ClientError::Server(e) => Some(e.code),
            ClientError::Closed(Some(g)) => Some(g.code),
            ClientError::Redirected(g) => Some(g.code),
            _ => None,
        }
    }
}

/// A byte stream the client can run over.
pub trait Transport: Read + Write + Send {
    /// Bounds how long one read may block.
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()>;
}

impl Transport for TcpStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        TcpStream::set_read_timeout(self, t)
    }
}

#[cfg(unix)]
impl Transport for std::os::unix::net::UnixStream {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        std::os::unix::net::UnixStream::set_read_timeout(self, t)
    }
}

impl Transport for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.sock.set_read_timeout(t)
    }
}

/// How a client connects again to another address (to follow a `GoAwayTo`).
#[derive(Clone)]
enum Dialer {
    /// Plain TCP.
    Tcp,
    /// TLS with this configuration and server name (the appliances of one deployment
    /// present certificates for the same name).
    Tls {
        server_name: String,
        config: Arc<rustls::ClientConfig>,
    },
    /// A transport the caller made (or a Unix socket): not redialable.
    Fixed,
}

/// A connected, handshaken client.
pub struct Client {
    /// How to connect again elsewhere, and with which options.
    dialer: Dialer,
    opts: ClientOptions,
    /// The server's address, for a TCP or TLS connection.
    addr: Option<SocketAddr>,
    transport: Box<dyn Transport>,
    conn: ClientConnection,
    welcome: Welcome,
    pushes: VecDeque<Push>,
    answers: VecDeque<ClientEvent>,
    timeout: Duration,
    pings_sent: u64,
    /// The `seq` of the last push [`Client::next_push`] handed out.
    processed: u64,
    /// The connection's end, reported once the pushes that came before it are out.
    ended: Option<ClientError>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("welcome", &self.welcome)
            .finish()
    }
}

impl Client {
    /// Connects over plain TCP and completes the handshake.
    pub fn connect(addr: impl ToSocketAddrs, opts: ClientOptions) -> Result<Client, ClientError> {
        let (stream, at) = connect_tcp(addr, opts.timeout)?;
        let mut client = Client::handshake(Box::new(stream), opts)?;
        client.dialer = Dialer::Tcp;
        client.addr = Some(at);
        Ok(client)
    }

    /// Connects over TLS and completes the handshake.
    pub fn connect_tls(
        addr: impl ToSocketAddrs,
        server_name: &str,
        config: Arc<rustls::ClientConfig>,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        let name = rustls::pki_types::ServerName::try_from(server_name.to_string())
            .map_err(|e| ClientError::Tls(format!("bad server name {server_name:?}: {e}")))?;
        let tls = rustls::ClientConnection::new(Arc::clone(&config), name)
            .map_err(|e| ClientError::Tls(e.to_string()))?;
        let (stream, at) = connect_tcp(addr, opts.timeout)?;
        let mut client = Client::handshake(Box::new(rustls::StreamOwned::new(tls, stream)), opts)?;
        client.dialer = Dialer::Tls {
            server_name: server_name.to_string(),
            config,
        };
        client.addr = Some(at);
        Ok(client)
    }

    /// Connects to a Unix socket (the daemon's local admin socket).
    #[cfg(unix)]
    pub fn connect_unix(
        path: impl AsRef<std::path::Path>,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        let stream = std::os::unix::net::UnixStream::connect(path)?;
        Client::handshake(Box::new(stream), opts)
    }

    /// Runs the handshake over an already connected transport.
    pub fn handshake(
        transport: Box<dyn Transport>,
        opts: ClientOptions,
    ) -> Result<Client, ClientError> {
        let mut client = Client {
            dialer: Dialer::Fixed,
            opts: opts.clone(),
            addr: None,
            transport,
            conn: ClientConnection::new(&opts.client_name, opts.max_frame),
            welcome: Welcome {
                version: 0,
                server: String::new(),
                max_frame: 0,
                heartbeat_ms: 0,
                idle_timeout_ms: 0,
            },
            pushes: VecDeque::new(),
            answers: VecDeque::new(),
            timeout: opts.timeout,
            pings_sent: 0,
            processed: 0,
            ended: None,
        };
        client.flush()?;
        let deadline = Instant::now() + client.timeout;
        loop {
            match client.conn.poll_event() {
                Some(ClientEvent::Welcome(w)) => {
                    client.welcome = w;
                    return Ok(client);
                }
                Some(ClientEvent::ConnectionError(e)) => return Err(ClientError::Server(e)),
                Some(ClientEvent::GoAway(g)) => return Err(ClientError::Closed(Some(g))),
                Some(ClientEvent::GoAwayTo(g)) => return Err(ClientError::Redirected(g)),
                Some(other) => {
                    return Err(ClientError::Unexpected(format!("{other:?} before Welcome")))
                }
                None => client.read_some(deadline)?,
            }
        }
    }

    /// The server's `Welcome`.
    pub fn welcome(&self) -> &Welcome {
        &self.welcome
    }

    /// The address of the server (TCP or TLS connections): after a followed
    /// `GoAwayTo`, the appliance it named.
    pub fn server_addr(&self) -> Option<SocketAddr> {
        self.addr
    }

    /// Sends a request and waits for its answer; pushes that arrive meanwhile
    /// are kept for [`Client::next_push`].
    ///
    /// A login (`Login`, `Resume`, `CustomerLogin`, `VisitorLogin`, `CentreLogin`,
    /// `CentreTicketLogin`, `LoginReadOnly`) answered with `GoAwayTo` — the account is served by another
    /// appliance — is sent again, once, on a new connection to the address it names;
    /// this client then talks to that appliance. A second redirect is returned as
    /// [`ClientError::Redirected`] (two appliances that name each other cannot bounce a
    /// client forever), as is a redirect of any other request.
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let corr = self.send(request)?;
        match self.wait(corr) {
            Err(ClientError::Redirected(to)) if request.is_login() => {
                self.follow(&to)?;
                let corr = self.send(request)?;
                self.wait(corr)
            }
            other => other,
        }
    }

    /// Replaces this connection with one to the address `to` names (same options, same
    /// TLS settings). The old connection's unread pushes are dropped with it.
    pub fn follow(&mut self, to: &GoAwayTo) -> Result<(), ClientError> {
        let refused = || ClientError::Redirected(to.clone());
        if to.address.len() > GoAwayTo::MAX_ADDRESS {
            return Err(refused());
        }
        let addr: SocketAddr = to.address.parse().map_err(|_| refused())?;
        let next = match &self.dialer {
            Dialer::Tcp => Client::connect(addr, self.opts.clone())?,
            Dialer::Tls {
                server_name,
                config,
            } => Client::connect_tls(addr, server_name, Arc::clone(config), self.opts.clone())?,
            Dialer::Fixed => return Err(refused()),
        };
        *self = next;
        Ok(())
    }

    /// Sends a request without waiting; returns its correlation id for [`Client::wait`].
    /// Several requests may be in flight; the server answers them in order.
    pub fn send(&mut self, request: &Request) -> Result<u32, ClientError> {
        let corr = self.conn.send_request(request);
        self.flush()?;
        Ok(corr)
    }

    /// Waits for the answer to the request sent with correlation id `corr`.
    pub fn wait(&mut self, corr: u32) -> Result<Response, ClientError> {
        let deadline = Instant::now() + self.timeout;
        loop {
            self.pump_events()?;
            if let Some(pos) = self.answers.iter().position(
                |e| matches!(e, ClientEvent::Response { correlation, .. } if *correlation == corr),
            ) {
                if let Some(ClientEvent::Response { result, .. }) = self.answers.remove(pos) {
                    return result.map_err(ClientError::Server);
                }
            }
            self.read_some(deadline)?;
        }
    }

    /// Logs in with a password; returns the session (with its token).
    pub fn login(
        &mut self,
        account: u64,
        agent: u32,
        password: &str,
    ) -> Result<SessionInfo, ClientError> {
        self.expect_session(&Request::Login {
            account,
            agent,
            password: password.to_string(),
            otp: None,
        })
    }

    /// Opens a read-only session with a password (`LoginReadOnly`, PROTOCOL.md 40.7):
    /// on the primary or its standby, reads only, no token.
    pub fn login_read_only(
        &mut self,
        account: u64,
        agent: u32,
        password: &str,
    ) -> Result<SessionInfo, ClientError> {
        self.expect_session(&Request::LoginReadOnly {
            account,
            agent,
            password: password.to_string(),
            otp: None,
        })
    }

    /// Logs in again with a session token.
    pub fn resume(
        &mut self,
        account: u64,
        agent: u32,
        token: [u8; 16],
    ) -> Result<SessionInfo, ClientError> {
        self.expect_session(&Request::Resume {
            account,
            agent,
            token,
        })
    }

    /// Makes the logged-in session resumable: returns the token for
    /// [`Client::resume_session`] and how long, in seconds, the session waits for it
    /// once this connection is gone.
    pub fn enable_resume(&mut self) -> Result<(ResumeToken, u32), ClientError> {
        match self.request(&Request::EnableResume)? {
            Response::ResumeEnabled { token, window_secs } => Ok((token, window_secs)),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// On a new connection (not logged in): takes over the detached session `token`
    /// names. `last_ack` is the highest push `seq` processed on the session's previous
    /// connection (that client's [`Client::last_processed_seq`]). Returns how many kept
    /// pushes follow; [`Client::next_push`] hands them out, numbered from 1 here.
    pub fn resume_session(
        &mut self,
        token: ResumeToken,
        last_ack: u64,
    ) -> Result<u64, ClientError> {
        match self.request(&Request::ResumeSession { token, last_ack })? {
            Response::Resumed { replayed } => Ok(replayed),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// The `seq` of the last push [`Client::next_push`] returned on this connection
    /// (0 before the first): what `ResumeSession` carries as `last_ack`.
    pub fn last_processed_seq(&self) -> u64 {
        self.processed
    }

    fn expect_session(&mut self, request: &Request) -> Result<SessionInfo, ClientError> {
        match self.request(request)? {
            Response::LoggedIn(s) => Ok(s),
            other => Err(ClientError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Sends a ping and waits for the pong; returns the round-trip time.
    pub fn ping(&mut self) -> Result<Duration, ClientError> {
        let start = Instant::now();
        self.pings_sent += 1;
        let nonce = self.pings_sent;
        self.conn.send_ping(nonce);
        self.flush()?;
        let deadline = start + self.timeout;
        loop {
            self.pump_events()?;
            if let Some(pos) = self
                .answers
                .iter()
                .position(|e| matches!(e, ClientEvent::Pong(p) if p.nonce == nonce))
            {
                self.answers.remove(pos);
                return Ok(start.elapsed());
            }
            self.read_some(deadline)?;
        }
    }

    /// The next push, waiting up to `wait` for one; acknowledges it.
    ///
    /// Pushes that arrive while the client waits for answers are kept here and
    /// acknowledged every [`AUTO_ACK_EVERY`], whether or not they are asked for.
    pub fn next_push(&mut self, wait: Duration) -> Result<Option<Push>, ClientError> {
        let deadline = Instant::now() + wait;
        loop {
            // Pushes that came before a goodbye are handed out before it is reported.
            if self.pushes.is_empty() {
                if let Some(e) = self.ended.take() {
                    return Err(e);
                }
                if let Err(e) = self.pump_events() {
                    if self.pushes.is_empty() {
                        return Err(e);
                    }
                    self.ended = Some(e);
                }
            }
            if let Some(p) = self.pushes.pop_front() {
                self.processed = self.processed.max(p.seq);
                self.conn.ack_pushes();
                // The push is handed out even if the ack cannot leave (the server
                // has gone): the next call reports the connection's end.
                let _ = self.flush();
                return Ok(Some(p));
            }
            match self.read_some(deadline) {
                Err(ClientError::Timeout) => return Ok(None),
                Err(e) => return Err(e),
                Ok(()) => {}
            }
        }
    }

    fn pump_events(&mut self) -> Result<(), ClientError> {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                ClientEvent::Push(p) => self.pushes.push_back(p),
                ClientEvent::GoAway(g) => return Err(ClientError::Closed(Some(g))),
                ClientEvent::GoAwayTo(g) => return Err(ClientError::Redirected(g)),
                ClientEvent::ConnectionError(e) => return Err(ClientError::Server(e)),
                other => self.answers.push_back(other),
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ClientError> {
        while !self.conn.transmit().is_empty() {
            let n = self.transport.write(self.conn.transmit())?;
            if n == 0 {
                return Err(ClientError::Closed(None));
            }
            self.conn.consume_transmit(n);
        }
        self.transport.flush()?;
        Ok(())
    }

    fn read_some(&mut self, deadline: Instant) -> Result<(), ClientError> {
        let now = Instant::now();
        if now >= deadline {
            return Err(ClientError::Timeout);
        }
        self.transport.set_read_timeout(Some(deadline - now))?;
        let mut buf = [0u8; 16 * 1024];
        let n = match self.transport.read(&mut buf) {
            Ok(0) => return Err(self.closed()),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(ClientError::Timeout)
            }
            Err(e) if is_reset(&e) => return Err(self.closed()),
            Err(e) => return Err(e.into()),
        };
        self.conn.handle_input(&buf[..n])?;
        // Pushes kept for `next_push` count as processed: they are in our hands.
        if self.conn.unacked_pushes() >= AUTO_ACK_EVERY {
            self.conn.ack_pushes();
        }
        // Pongs to server pings (and acks) go out straight away.
        self.flush()?;
        Ok(())
    }

    /// The server hung up: report its last words if it sent any.
    fn closed(&mut self) -> ClientError {
        while let Some(ev) = self.conn.poll_event() {
            match ev {
                ClientEvent::GoAway(g) => return ClientError::Closed(Some(g)),
                ClientEvent::GoAwayTo(g) => return ClientError::Redirected(g),
                ClientEvent::ConnectionError(e) => return ClientError::Server(e),
                ClientEvent::Push(p) => self.pushes.push_back(p),
                other => self.answers.push_back(other),
            }
        }
        ClientError::Closed(None)
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::UnexpectedEof
    )
}

fn connect_tcp(
    addr: impl ToSocketAddrs,
    timeout: Duration,
) -> Result<(TcpStream, SocketAddr), ClientError> {
    let mut last = None;
    for a in addr.to_socket_addrs()? {
        match TcpStream::connect_timeout(&a, timeout) {
            Ok(s) => {
                s.set_nodelay(true)?;
                return Ok((s, a));
            }
            Err(e) => last = Some(e),
        }
    }
    Err(last
        .unwrap_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address"))
        .into())
}

/// A TLS client configuration trusting the CA certificates in a PEM file's bytes.
pub fn tls_config_with_ca_pem(pem: &[u8]) -> Result<Arc<rustls::ClientConfig>, ClientError> {
    let mut roots = rustls::RootCertStore::empty();
    let mut reader = pem;
    let mut n = 0;
    for cert in rustls_pemfile::certs(&mut reader) {
        let cert = cert.map_err(|e| ClientError::Tls(format!("CA file: {e}")))?;
        roots
            .add(cert)
            .map_err(|e| ClientError::Tls(format!("CA certificate: {e}")))?;
        n += 1;
    }
    if n == 0 {
        return Err(ClientError::Tls("CA file holds no certificate".into()));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ClientError::Tls(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
