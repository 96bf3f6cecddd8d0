//! The admin-socket connection shared by the provisioning commands.

use anyhow::{anyhow, Result};
use kefu_wire::{Client, ClientError, ClientOptions, ErrorCode, Request, Response, WireError};
use std::path::{Path, PathBuf};

/// A handshaken connection to the daemon's local admin socket.
pub struct Admin {
    client: Client,
    path: PathBuf,
}

impl Admin {
    /// Connects to the admin socket at `path`.
    pub fn connect(path: &Path) -> Result<Admin> {
        Admin::connect_with(path, client_options())
    }

    /// Connects to the admin socket at `path` with these client options.
    pub fn connect_with(path: &Path, options: ClientOptions) -> Result<Admin> {
        let client = Client::connect_unix(path, options).map_err(|e| {
            anyhow!(
                "cannot use the admin socket {} (is kefud running, and may this user open it?): {}",
                path.display(),
                describe(&e)
            )
        })?;
        Ok(Admin {
            client,
            path: path.to_path_buf(),
        })
    }

    /// Sends one request; a server error becomes an error naming the request
    /// (a [`RequestError`], for callers that look at the code).
    pub fn request(&mut self, request: &Request) -> Result<Response> {
        self.client.request(request).map_err(|e| {
            RequestError::wrap(
                format!("{} via {}", request.name(), self.path.display()),
                &e,
            )
        })
    }

    /// Sends `request` to run in `account` with the authority of its super
    /// admin (`AdminOnAccount`); errors name the inner request and the account.
    pub fn on_account(&mut self, account: u64, request: &Request) -> Result<Response> {
        let wrapped = Request::on_account(account, request);
        self.client.request(&wrapped).map_err(|e| {
            RequestError::wrap(
                format!(
                    "{} on account {account} via {}",
                    request.name(),
                    self.path.display()
                ),
                &e,
            )
        })
    }

    /// The largest frame body the daemon accepts (from its `Welcome`).
    pub fn max_frame(&self) -> u32 {
        self.client.welcome().max_frame
    }
}

/// A request that failed: what was asked, and the daemon's error code where it gave one.
#[derive(Debug)]
pub struct RequestError {
    /// The code the daemon answered, if the failure was its answer.
    pub code: Option<ErrorCode>,
    /// The daemon answered the request with an error (the connection is still usable).
    pub answered: bool,
    /// The answer was too large for the connection: the daemon closed it as a
    /// slow consumer, or the frame was over the limit this client accepts.
    pub answer_too_large: bool,
    text: String,
}

impl RequestError {
    fn wrap(what: String, e: &ClientError) -> anyhow::Error {
        let answer_too_large = e.code() == Some(ErrorCode::SLOW_CONSUMER)
            || matches!(e, ClientError::Wire(WireError::FrameTooLarge { .. }));
        anyhow::Error::new(RequestError {
            code: e.code(),
            answered: matches!(e, ClientError::Server(_)),
            answer_too_large,
            text: format!("{what}: {}", describe(e)),
        })
    }

    /// The failed request in `e`, if that is what `e` is.
    pub fn of(e: &anyhow::Error) -> Option<&RequestError> {
        e.downcast_ref::<RequestError>()
    }

    /// The daemon's code in `e`, if `e` is a failed request the daemon answered.
    pub fn code_of(e: &anyhow::Error) -> Option<ErrorCode> {
        e.downcast_ref::<RequestError>().and_then(|r| r.code)
    }
}

impl std::fmt::Display for RequestError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::error::Error for RequestError {}

/// Options of every connection `kefuctl` opens.
pub fn client_options() -> ClientOptions {
    ClientOptions {
        client_name: concat!("kefuctl/", env!("CARGO_PKG_VERSION")).to_string(),
        ..ClientOptions::default()
    }
}

/// The error for an answer of the wrong kind.
pub fn unexpected(request: &str, response: &Response) -> anyhow::Error {
    anyhow::anyhow!("{request}: unexpected answer from the daemon: {response:?}")
}

/// Accepts `Ok`, the answer of a mutation.
pub fn expect_ok(request: &str, response: Response) -> Result<()> {
    match response {
        Response::Ok => Ok(()),
        other => Err(unexpected(request, &other)),
    }
}

/// A client error in one line: the code's name first where the server gave one.
///
/// (`ClientError`'s own `Display` repeats its source's text, which a
/// `{:#}` chain would print twice.)
pub fn describe(e: &ClientError) -> String {
    let text = match e {
        ClientError::Server(body) => format!("{} {}", body.code, body.message),
        ClientError::Closed(Some(g)) => {
            format!("connection closed by the daemon: {} {}", g.code, g.message)
        }
        ClientError::Io(io) => io.to_string(),
        other => other.to_string(),
    };
    crate::output::printable(&text)
}
