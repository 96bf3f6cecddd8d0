//! The admin-socket connection shared by the provisioning commands.

use anyhow::{anyhow, Result};
use kefu_wire::{Client, ClientError, ClientOptions, Request, Response};
use std::path::{Path, PathBuf};

/// A handshaken connection to the daemon's local admin socket.
pub struct Admin {
    client: Client,
    path: PathBuf,
}

impl Admin {
    /// Connects to the admin socket at `path`.
    pub fn connect(path: &Path) -> Result<Admin> {
        let client = Client::connect_unix(path, client_options()).map_err(|e| {
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

    /// Sends one request; a server error becomes an error naming the request.
    pub fn request(&mut self, request: &Request) -> Result<Response> {
        self.client.request(request).map_err(|e| {
            anyhow!(
                "{} via {}: {}",
                request.name(),
                self.path.display(),
                describe(&e)
            )
        })
    }
}

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
