//! Accepting on the web gateway's listener (`crate::web`): a web connection is an
//! ordinary connection of the shard whose transport is `Transport::Web`, counted
//! against its source address (`WebShared::admit`; over the limit it is answered
//! 429 and closed) and the shard's connection limit.

use super::io::{is_transient_accept_error, refuse_overloaded};
use super::{Listener, Shard, ACCEPTS_PER_TURN};
use crate::conn::{Connection, TlsTransport, Transport, WebIo, WebTransport};
use crate::log;
use crate::web::WebState;

impl Shard {
    /// Accepts what the web listener has, at most `ACCEPTS_PER_TURN` a turn.
    pub(super) fn accept_web(&mut self) {
        self.accept_backlog.remove(Listener::Web);
        let Some(shared) = self.listeners.web_shared.clone() else {
            return;
        };
        for _ in 0..ACCEPTS_PER_TURN {
            let Some(listener) = self.listeners.web.as_ref() else {
                return;
            };
            let (socket, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if is_transient_accept_error(&e) => continue,
                Err(e) => {
                    self.accept_failed(&e);
                    return;
                }
            };
            let _ = socket.set_nodelay(true);
            if self.over_connection_limit() {
                refuse_overloaded(socket);
                continue;
            }
            let Some(slot) = shared.admit(peer.ip()) else {
                refuse_busy_address(socket, shared.settings.tls);
                continue;
            };
            let io = if shared.settings.tls {
                let Some(config) = self.tls_config.clone() else {
                    return;
                };
                match rustls::ServerConnection::new(config) {
                    Ok(tls) => WebIo::Tls(Box::new(TlsTransport { socket, tls })),
                    Err(e) => {
                        log::warn(self.id, format_args!("tls session setup failed: {e}"));
                        continue;
                    }
                }
            } else {
                WebIo::Plain(socket)
            };
            let web = WebState::new(std::sync::Arc::clone(&shared), Some(slot));
            let transport = Transport::Web(Box::new(WebTransport { io, web }));
            self.counters.add_accepted();
            let mut conn = Connection::new(transport, self.new_protocol(), false, self.now);
            conn.bound_kernel_output();
            conn.peer = Some(peer.ip());
            self.install(conn);
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
