//! Accepting on the web gateway's listener (`crate::web`): a web connection is an
//! ordinary connection of the shard whose transport is `Transport::Web`, counted
//! against its source address (`WebShared::admit`; over the limit it is answered
//! 429 and closed) and the shard's connection limit.

use super::io::Accepted;
use super::{Listener, Shard, ACCEPTS_PER_TURN};
use crate::conn::{Transport, WebIo, WebTransport};
use crate::web::WebState;

impl Shard {
    /// Accepts what the web listener has, at most `ACCEPTS_PER_TURN` a turn.
    pub(super) fn accept_web(&mut self) {
        self.accept_backlog.remove(Listener::Web);
        let Some(shared) = self.listeners.web_shared.clone() else {
            return;
        };
        for _ in 0..ACCEPTS_PER_TURN {
            let (socket, peer) = match self.accept_client(Listener::Web) {
                Accepted::Socket(socket, peer) => (socket, peer),
                Accepted::Next => continue,
                Accepted::Stop => return,
            };
            let Some(slot) = shared.admit(peer.ip()) else {
                refuse_busy_address(socket, shared.settings.tls);
                continue;
            };
            let io = if shared.settings.tls {
                let Some(tls) = self.tls_session(socket) else {
                    continue;
                };
                WebIo::Tls(tls)
            } else {
                WebIo::Plain(socket)
            };
            let web = WebState::new(std::sync::Arc::clone(&shared), Some(slot));
            self.install_accepted(Transport::Web(Box::new(WebTransport { io, web })), peer);
        }
        self.accept_backlog.insert(Listener::Web);
    }
}

/// Answers a connection over its address's limit `429` (plain only: a TLS peer
/// would read garbage, so it is just closed).
fn refuse_busy_address(mut socket: mio::net::TcpStream, tls: bool) {
    use std::io::Write;
    if !tls {
        let mut out = Vec::new();
        crate::web::http::refuse(&mut out, 429);
        let _ = socket.write(&out);
    }
}
