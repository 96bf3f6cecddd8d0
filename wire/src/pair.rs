//! A client of a pair of appliances (PROTOCOL.md section 40.5): it knows both members'
//! addresses and, when its connection breaks, the server says `NOT_PRIMARY` or
//! `SHUTTING_DOWN`, or a request is not answered, it connects to the next address,
//! logs in again by itself (the caller's `login` step: a session token for an agent, a
//! fresh signature for a customer — the token secret is in the replicated database,
//! so the promoted member accepts the old primary's tokens) and sends the **same**
//! request again. Requests carry their client ids (`client_msg_id`), so a request that
//! was stored but not acknowledged is stored once however often it is retried.
//!
//! Accounts across appliances (section 40.6): a request answered `ACCOUNT_MOVING` is
//! sent again on the same connection every 100 ms (the account is being moved; nothing
//! was done); a connection told `GoAwayTo` (the account is served elsewhere now)
//! is replaced by one to the address it names, logged in again by the login step, and
//! the request sent there — at most one such redirect per request, so two appliances
//! that name each other cannot bounce a client forever (the second is returned as
//! [`ClientError::Redirected`]). A login that is redirected is followed by [`Client`]
//! itself, once.
//!
//! ```no_run
//! use kefu_wire::pair::PairClient;
//! use kefu_wire::{ClientOptions, Request};
//! use std::time::Duration;
//! let addrs = vec!["127.0.0.5:7070".parse().unwrap(), "127.0.0.6:7070".parse().unwrap()];
//! let mut c = PairClient::new(addrs, ClientOptions::default(), Duration::from_secs(30),
//!     Box::new(|c: &mut kefu_wire::Client| c.login(800_001, 1001, "secret").map(|_| ())));
//! c.request(&Request::WhoAmI)?;
//! # Ok::<(), kefu_wire::ClientError>(())
//! ```

use crate::client::{Client, ClientError, ClientOptions};
use crate::error::ErrorCode;
use crate::message::{GoAwayTo, Request, Response};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What makes a fresh connection the caller's session again (log in, resume).
pub type LoginStep = Box<dyn FnMut(&mut Client) -> Result<(), ClientError> + Send>;

/// Between two attempts on the next address.
const BACKOFF: Duration = Duration::from_millis(100);

/// A client that follows the primary of a pair.
pub struct PairClient {
    addrs: Vec<SocketAddr>,
    opts: ClientOptions,
    failover_within: Duration,
    login: LoginStep,
    current: Option<Client>,
    /// Index into `addrs` of the member tried next / connected to.
    at: usize,
    /// How many times a connection was (re)made.
    connects: u64,
    /// The address a `GoAwayTo` named, used for the next connection (then the pair's
    /// addresses again after a failover: their logins redirect by themselves).
    redirected: Option<SocketAddr>,
}

/// Whether `e` means "try the other member": the connection is gone or unusable, or
/// the server is not (any more) the primary, or it could not make the write durable.
pub fn is_failover(e: &ClientError) -> bool {
    match e {
        ClientError::Io(_) | ClientError::Closed(_) | ClientError::Timeout => true,
        ClientError::Server(b) => matches!(
            b.code,
            ErrorCode::NOT_PRIMARY | ErrorCode::STORAGE_FAILURE | ErrorCode::SHUTTING_DOWN
        ),
        _ => false,
    }
}

impl PairClient {
    /// A client of the members at `addrs` (in order of preference); a request keeps
    /// being retried over them for at most `failover_within`.
    pub fn new(
        addrs: Vec<SocketAddr>,
        opts: ClientOptions,
        failover_within: Duration,
        login: LoginStep,
    ) -> PairClient {
        PairClient {
            addrs,
            opts,
            failover_within,
            login,
            current: None,
            at: 0,
            connects: 0,
            redirected: None,
        }
    }

    /// The appliance connected to, if any (after a redirect, the one it named).
    pub fn connected_to(&self) -> Option<SocketAddr> {
        let c = self.current.as_ref()?;
        c.server_addr().or_else(|| self.addrs.get(self.at).copied())
    }

    /// How many connections were made (1 without any failover).
    pub fn connects(&self) -> u64 {
        self.connects
    }

    /// The connection, logged in; made on the current address if there is none.
    fn connection(&mut self) -> Result<&mut Client, ClientError> {
        if self.current.is_none() {
            let addr = match self.redirected {
                Some(a) => a,
                None => *self
                    .addrs
                    .get(self.at)
                    .ok_or_else(|| ClientError::Unexpected("no address".into()))?,
            };
            let mut c = Client::connect(addr, self.opts.clone())?;
            (self.login)(&mut c)?;
            self.connects += 1;
            self.current = Some(c);
        }
        self.current
            .as_mut()
            .ok_or_else(|| ClientError::Unexpected("no connection".into()))
    }

    /// Drops the connection and moves to the next address.
    fn fail_over(&mut self) {
        self.current = None;
        if self.redirected.take().is_none() {
            self.at = (self.at + 1) % self.addrs.len().max(1);
        }
    }

    /// Sends `request` and returns its answer, retrying it (the same request, so the
    /// same client ids) on the members in turn while the failures are failover ones
    /// ([`is_failover`]), for at most `failover_within`. Other errors are returned at
    /// once; the last failover error once the time is over.
    pub fn request(&mut self, request: &Request) -> Result<Response, ClientError> {
        let deadline = Instant::now() + self.failover_within;
        let mut followed = false;
        loop {
            let result = self.connection().and_then(|c| c.request(request));
            match result {
                Err(ClientError::Redirected(to)) if !followed => {
                    // The account is served elsewhere now: that appliance, at once.
                    followed = true;
                    self.current = None;
                    match to.address.parse::<SocketAddr>() {
                        Ok(a) if to.address.len() <= GoAwayTo::MAX_ADDRESS => {
                            self.redirected = Some(a)
                        }
                        _ => return Err(ClientError::Redirected(to)),
                    }
                }
                Err(ClientError::Server(b)) if b.code == ErrorCode::ACCOUNT_MOVING => {
                    // Nothing was done: the same request again once the move is over.
                    if Instant::now() >= deadline {
                        return Err(ClientError::Server(b));
                    }
                    std::thread::sleep(BACKOFF);
                }
                Err(e) if is_failover(&e) => {
                    self.fail_over();
                    if Instant::now() >= deadline {
                        return Err(e);
                    }
                    std::thread::sleep(BACKOFF);
                }
                other => return other,
            }
        }
    }
}
