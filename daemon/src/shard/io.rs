//! The byte side of a shard: accepting, reading, framing, writing, closing.

use super::{Shard, ShardMsg, FIRST_CONN, READ_BUDGET_PER_TURN};
use crate::centre::{Outgoing, ReplyTo};
use crate::conn::{Connection, Phase, ReadOutcome, TlsTransport, Transport};
use crate::log;
use crate::session::{Caller, Flow as Control};
use kefu_wire::frame::HEADER_LEN;
use kefu_wire::{
    Body, ErrorBody, ErrorCode, FrameDecoder, FrameKind, GoAway, Hello, Ping, Pong, Push, PushAck,
    Request, Welcome, WireError,
};
use mio::Token;

/// Longest client name a `Hello` may carry.
const MAX_CLIENT_NAME_BYTES: usize = 64;

impl Shard {
    pub(super) fn accept_tcp(&mut self, tls: bool) {
        loop {
            let listener = if tls {
                self.listeners.tls.as_ref()
            } else {
                self.listeners.tcp.as_ref()
            };
            let Some(listener) = listener else { return };
            let (socket, peer) = match listener.accept() {
                Ok(x) => x,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: log and let the next turn retry.
                    log::warn(self.id, format_args!("accept failed: {e}"));
                    return;
                }
            };
            let _ = socket.set_nodelay(true);
            if self.over_connection_limit() {
                refuse_overloaded(socket);
                continue;
            }
            let transport = if tls {
                let Some(config) = self.tls_config.clone() else {
                    return;
                };
                match rustls::ServerConnection::new(config) {
                    Ok(tls) => Transport::Tls(Box::new(TlsTransport { socket, tls })),
                    Err(e) => {
                        log::warn(self.id, format_args!("tls session setup failed: {e}"));
                        continue;
                    }
                }
            } else {
                Transport::Tcp(socket)
            };
            self.counters.add_accepted();
            let mut conn = Connection::new(transport, false, self.clock);
            conn.peer = Some(peer.ip());
            self.install(conn);
        }
    }

    pub(super) fn accept_admin(&mut self) {
        loop {
            let Some(listener) = self.listeners.admin.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((socket, _)) => {
                    let conn = Connection::new(Transport::Unix(socket), true, self.clock);
                    self.install(conn);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log::warn(self.id, format_args!("admin accept failed: {e}"));
                    return;
                }
            }
        }
    }

    fn over_connection_limit(&self) -> bool {
        let total: u64 = self.shared.counters.iter().map(|c| c.connections()).sum();
        total >= self.settings.max_connections as u64
    }

    /// Puts a connection in the slab and registers it.
    fn install(&mut self, conn: Connection) -> Option<usize> {
        let (idx, _) = self.conns.insert(conn);
        let registry = self.poll.registry();
        let conn = self.conns.get_any(idx)?;
        if let Err(e) = conn.register(registry, Token(idx + FIRST_CONN)) {
            log::warn(self.id, format_args!("register failed: {e}"));
            self.conns.remove(idx);
            return None;
        }
        self.counters.connection_opened();
        Some(idx)
    }

    /// A connection handed over by another shard: install it and go on
    /// reading its buffered input (which starts with its login request).
    pub(super) fn adopt(&mut self, mut conn: Connection) {
        if self.shutting_down {
            return;
        }
        conn.last_seen = self.clock;
        if let Some(idx) = self.install(conn) {
            self.counters.add_adopted();
            self.process_input(idx, &[]);
            // Bytes that arrived during the move raised no event here yet.
            self.unfinished.push(idx);
            self.mark_dirty(idx);
        }
    }

    pub(super) fn on_readable(&mut self, idx: usize) {
        if self.turn_budget == 0 {
            // This turn has read enough; the connection is served first next turn.
            self.unfinished.push(idx);
            return;
        }
        let mut budget = READ_BUDGET_PER_TURN.min(self.turn_budget);
        let mut scratch = std::mem::take(&mut self.scratch);
        while let Some(conn) = self.conns.get_any(idx) {
            if matches!(conn.phase, Phase::LoggingIn | Phase::Closing) {
                // Input waits in the kernel until the login completes (or we close).
                if conn.phase == Phase::Closing {
                    // Drain and discard so a closing peer cannot fill our buffers.
                    if matches!(conn.read(&mut scratch[..]), ReadOutcome::Closed) {
                        self.close(idx);
                    }
                }
                break;
            }
            match conn.read(&mut scratch[..]) {
                ReadOutcome::Data(n) => {
                    self.counters.add_bytes_in(n as u64);
                    self.process_input(idx, scratch.get(..n).unwrap_or_default());
                    budget = budget.saturating_sub(n);
                    self.turn_budget = self.turn_budget.saturating_sub(n);
                    if budget == 0 {
                        self.unfinished.push(idx);
                        break;
                    }
                }
                ReadOutcome::WouldBlock => break,
                ReadOutcome::Closed => {
                    self.close(idx);
                    break;
                }
            }
        }
        self.scratch = scratch;
        self.mark_dirty(idx);
    }

    /// Parses whole frames from the connection's leftover input followed by
    /// `fresh`, handling each; keeps a trailing partial frame.
    pub(super) fn process_input(&mut self, idx: usize, fresh: &[u8]) {
        let Some(conn) = self.conns.get_any(idx) else {
            return;
        };
        let mut owned = conn.input.take();
        let data: &[u8] = match owned.as_mut() {
            Some(buf) => {
                buf.extend_from_slice(fresh);
                buf
            }
            None => fresh,
        };
        let decoder = FrameDecoder::new(self.settings.max_frame);
        let mut at = 0;
        let mut handed_to = None;
        while at < data.len() {
            let rest = &data[at..];
            let header = match decoder.peek_header(rest) {
                Ok(Some(h)) => h,
                Ok(None) => break,
                Err(e) => {
                    self.protocol_error(idx, &e);
                    return;
                }
            };
            let end = HEADER_LEN + header.len as usize;
            let Some(body) = rest.get(HEADER_LEN..end) else {
                break;
            };
            self.counters.add_frame_in();
            match self.handle_frame(idx, header.kind, header.correlation, body) {
                Control::Continue => at += end,
                Control::Pause => {
                    at += end;
                    break;
                }
                Control::HandOver(shard) => {
                    handed_to = Some(shard);
                    break;
                }
            }
            if self.conns.get_any(idx).is_none() {
                return;
            }
        }
        let leftover = &data[at..];
        let keep = if leftover.is_empty() {
            None
        } else {
            Some(leftover.to_vec())
        };
        if let Some(conn) = self.conns.get_any(idx) {
            conn.input = keep;
        }
        if let Some(shard) = handed_to {
            self.hand_over(idx, shard);
        }
    }

    fn hand_over(&mut self, idx: usize, shard: usize) {
        let Some(mut conn) = self.conns.remove(idx) else {
            return;
        };
        let _ = conn.deregister(self.poll.registry());
        self.counters.connection_closed();
        self.counters.add_handed_over();
        conn.writable_interest = false;
        if !self.links[shard].send(ShardMsg::Adopt(Box::new(conn))) {
            log::warn(
                self.id,
                format_args!("shard {shard} is gone; connection dropped"),
            );
        }
    }

    /// Handles one frame; the request logic lives in `requests.rs`.
    fn handle_frame(
        &mut self,
        idx: usize,
        kind: FrameKind,
        correlation: u32,
        body: &[u8],
    ) -> Control {
        let clock = self.clock;
        let Some(conn) = self.conns.get_any(idx) else {
            return Control::Pause;
        };
        conn.last_seen = clock;
        let generation = conn.generation;
        let phase = conn.phase;
        match (phase, kind) {
            (Phase::AwaitHello, FrameKind::Hello) => self.on_hello(idx, body),
            (Phase::AwaitHello, _) => {
                self.fatal(
                    idx,
                    ErrorCode::HANDSHAKE_REQUIRED,
                    "the first frame must be Hello",
                );
                Control::Pause
            }
            (_, FrameKind::Ping) => match Ping::decode(body) {
                Ok(p) => {
                    self.send_body(idx, &Pong { nonce: p.nonce }, 0);
                    Control::Continue
                }
                Err(e) => {
                    self.protocol_error(idx, &e);
                    Control::Pause
                }
            },
            (_, FrameKind::Pong) => Control::Continue,
            (_, FrameKind::PushAck) => match PushAck::decode(body) {
                Ok(_) => Control::Continue,
                Err(e) => {
                    self.protocol_error(idx, &e);
                    Control::Pause
                }
            },
            (_, FrameKind::Request) if correlation == 0 => {
                // The answer could not be told apart from a connection-level error.
                self.fatal(
                    idx,
                    ErrorCode::BAD_REQUEST,
                    "a request needs a non-zero correlation id",
                );
                Control::Pause
            }
            (_, FrameKind::Request) => {
                let reply = ReplyTo {
                    shard: self.id,
                    conn: idx,
                    generation,
                    correlation,
                };
                match Request::decode(body) {
                    Ok(request) => self.on_request(idx, reply, request),
                    Err(e) => {
                        // A bad request body is the request's fault, not the stream's:
                        // framing is intact, so answer and carry on.
                        let result = Err(ErrorBody {
                            code: ErrorCode::BAD_REQUEST,
                            message: e.to_string(),
                        });
                        self.centre.queue(Outgoing::Answer { reply, result });
                        Control::Continue
                    }
                }
            }
            (_, _) => {
                self.fatal(
                    idx,
                    ErrorCode::UNEXPECTED_FRAME,
                    format!(
                        "frame kind {} is not accepted from a client here",
                        kind as u16
                    ),
                );
                Control::Pause
            }
        }
    }

    /// Hands a request to the centre with the connection it came from, then
    /// applies what the centre decided about that connection.
    fn on_request(&mut self, idx: usize, reply: ReplyTo, request: Request) -> Control {
        let Some(conn) = self.conns.get_any(idx) else {
            return Control::Pause;
        };
        let caller = Caller {
            conn: idx,
            generation: conn.generation,
            is_admin: conn.is_admin,
            phase: conn.phase,
            peer: conn.peer,
            customer: conn.customer.as_deref().cloned(),
        };
        let flow = self.centre.handle_request(&caller, reply, request);
        self.apply_conn_updates();
        flow
    }

    fn on_hello(&mut self, idx: usize, body: &[u8]) -> Control {
        let hello = match Hello::decode(body) {
            Ok(h) if h.magic == kefu_wire::MAGIC && h.client.len() <= MAX_CLIENT_NAME_BYTES => h,
            Ok(h) if h.magic == kefu_wire::MAGIC => {
                self.fatal(
                    idx,
                    ErrorCode::HANDSHAKE_REQUIRED,
                    format!("client name longer than {MAX_CLIENT_NAME_BYTES} bytes"),
                );
                return Control::Pause;
            }
            Ok(_) => {
                self.fatal(idx, ErrorCode::HANDSHAKE_REQUIRED, "bad magic in Hello");
                return Control::Pause;
            }
            Err(e) => {
                self.fatal(
                    idx,
                    ErrorCode::HANDSHAKE_REQUIRED,
                    format!("bad Hello: {e}"),
                );
                return Control::Pause;
            }
        };
        let ours = kefu_wire::PROTOCOL_VERSIONS;
        let chosen = hello.max_version.min(*ours.end());
        if chosen < hello.min_version.max(*ours.start()) || hello.min_version > hello.max_version {
            self.fatal(
                idx,
                ErrorCode::UNSUPPORTED_VERSION,
                format!(
                    "server speaks protocol versions {}..={}, client offered {}..={}",
                    ours.start(),
                    ours.end(),
                    hello.min_version,
                    hello.max_version
                ),
            );
            return Control::Pause;
        }
        let welcome = Welcome {
            version: chosen,
            server: concat!("kefud/", env!("CARGO_PKG_VERSION")).into(),
            max_frame: self.settings.max_frame,
            heartbeat_ms: duration_ms(self.settings.heartbeat),
            idle_timeout_ms: duration_ms(self.settings.idle_timeout),
        };
        self.send_body(idx, &welcome, 0);
        if let Some(conn) = self.conns.get_any(idx) {
            conn.phase = Phase::Ready;
        }
        Control::Continue
    }

    /// A stream-level error: tell the peer why (correlation 0) and close.
    pub(super) fn protocol_error(&mut self, idx: usize, e: &WireError) {
        self.counters.add_protocol_error();
        self.fatal(idx, e.code(), e.to_string());
    }

    /// Sends a connection-level error and closes once it is written.
    pub(super) fn fatal(&mut self, idx: usize, code: ErrorCode, message: impl Into<String>) {
        let body = ErrorBody {
            code,
            message: message.into(),
        };
        self.send_body(idx, &body, 0);
        self.start_closing(idx);
    }

    /// Writes the frame now-ish (end of turn), bypassing the outbox: only for
    /// frames that depend on no storage write (handshake, pong, errors).
    pub(super) fn send_body<B: Body>(&mut self, idx: usize, body: &B, correlation: u32) {
        self.frame.clear();
        body.write_frame(correlation, &mut self.frame);
        let frame = std::mem::take(&mut self.frame);
        self.queue_bytes(idx, &frame);
        self.frame = frame;
    }

    fn queue_bytes(&mut self, idx: usize, bytes: &[u8]) {
        let limit = self.settings.max_pending_output;
        let Some(conn) = self.conns.get_any(idx) else {
            return;
        };
        if conn.phase == Phase::Closing && conn.pending_output() > 0 {
            return;
        }
        conn.queue(bytes);
        self.counters.add_frame_out();
        if conn.pending_output() > limit {
            // The peer is not reading. Keep what memory it cost bounded: drop its
            // backlog, tell it why, and close. It resumes from its last ack later.
            conn.output = None;
            let goaway = GoAway {
                code: ErrorCode::SLOW_CONSUMER,
                message: format!("more than {limit} bytes of output pending"),
            };
            self.frame.clear();
            goaway.write_frame(0, &mut self.frame);
            let frame = std::mem::take(&mut self.frame);
            if let Some(conn) = self.conns.get_any(idx) {
                conn.queue(&frame);
            }
            self.frame = frame;
            self.start_closing(idx);
        }
        self.mark_dirty(idx);
    }

    pub(super) fn start_closing(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_any(idx) else {
            return;
        };
        let (was, generation) = (conn.phase, conn.generation);
        conn.phase = Phase::Closing;
        let customer = conn.customer.take();
        self.centre
            .connection_gone(idx, generation, was, customer.as_deref());
        self.mark_dirty(idx);
    }

    /// Delivers one item of the outbox (after the commit).
    pub(super) fn release(&mut self, out: Outgoing) {
        match out {
            Outgoing::Answer { reply, result } => {
                if reply.shard != self.id {
                    if let Some(link) = self.links.get(reply.shard) {
                        link.send(ShardMsg::Answer { reply, result });
                    }
                    return;
                }
                if self.conns.get_mut(reply.conn, reply.generation).is_none() {
                    return;
                }
                match result {
                    Ok(response) => self.send_body(reply.conn, &response, reply.correlation),
                    Err(error) => self.send_body(reply.conn, &error, reply.correlation),
                }
            }
            Outgoing::Push { account, to, event } => {
                let targets = self.centre.recipients(account, &to);
                let mut push = Push { seq: 0, event };
                for (conn, generation) in targets {
                    let Some(c) = self.conns.get_mut(conn, generation) else {
                        continue;
                    };
                    if c.phase == Phase::Closing {
                        continue;
                    }
                    c.push_seq += 1;
                    push.seq = c.push_seq;
                    self.send_body(conn, &push, 0);
                }
            }
            Outgoing::GoAway {
                conn,
                generation,
                code,
                message,
            } => {
                if self.conns.get_mut(conn, generation).is_none() {
                    return;
                }
                self.send_body(conn, &GoAway { code, message }, 0);
                self.start_closing(conn);
            }
            Outgoing::Forward {
                shard,
                reply,
                request,
            } => {
                let sent = self.links.get(shard).is_some_and(|link| {
                    link.send(ShardMsg::Forward {
                        reply,
                        request,
                        operator: true,
                    })
                });
                if !sent {
                    log::warn(
                        self.id,
                        format_args!("shard {shard} is gone; request dropped"),
                    );
                }
            }
        }
    }

    pub(super) fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        for idx in dirty.drain(..) {
            let Some(conn) = self.conns.get_any(idx) else {
                continue;
            };
            let sent_before = conn.pending_output();
            let result = conn.flush();
            let sent = sent_before.saturating_sub(conn.pending_output());
            self.counters.add_bytes_out(sent as u64);
            let Some(conn) = self.conns.get_any(idx) else {
                continue;
            };
            let done_closing = conn.phase == Phase::Closing && !conn.wants_write();
            if result.is_err() || done_closing {
                self.close(idx);
                continue;
            }
            if let Err(e) = conn.update_interest(self.poll.registry(), Token(idx + FIRST_CONN)) {
                log::warn(self.id, format_args!("reregister failed: {e}"));
                self.close(idx);
            }
        }
        self.dirty = dirty;
    }

    /// Closes a connection now.
    pub(super) fn close(&mut self, idx: usize) {
        let Some(mut conn) = self.conns.remove(idx) else {
            return;
        };
        let _ = conn.deregister(self.poll.registry());
        self.centre
            .connection_gone(idx, conn.generation, conn.phase, conn.customer.as_deref());
        self.counters.connection_closed();
    }

    /// Once a second: drop connections that are silent for too long.
    pub(super) fn sweep(&mut self) {
        let handshake = secs(self.settings.handshake_timeout);
        let idle = secs(self.settings.idle_timeout);
        let now = self.clock;
        let mut expired = Vec::new();
        for (idx, generation) in self.conns.live() {
            let Some(conn) = self.conns.get_mut(idx, generation) else {
                continue;
            };
            let silent = now.saturating_sub(conn.last_seen);
            match conn.phase {
                Phase::AwaitHello if silent >= handshake => expired.push((idx, None)),
                // A closing connection gets one sweep to drain its goodbye.
                Phase::Closing if silent >= 1 => expired.push((idx, None)),
                Phase::LoggingIn => {}
                _ if silent >= idle => expired.push((idx, Some(generation))),
                _ => {}
            }
        }
        for (idx, goodbye) in expired {
            match goodbye {
                Some(generation) => {
                    // Released now rather than a second later: it depends on no write.
                    self.release(Outgoing::GoAway {
                        conn: idx,
                        generation,
                        code: ErrorCode::IDLE_TIMEOUT,
                        message: format!("nothing received for {idle} s"),
                    });
                    if let Some(c) = self.conns.get_any(idx) {
                        c.last_seen = now;
                    }
                }
                None => self.close(idx),
            }
        }
        self.flush_dirty();
    }
}

fn secs(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

fn duration_ms(d: std::time::Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

/// Best effort: tell a connection over the limit why, then drop it.
fn refuse_overloaded(mut socket: mio::net::TcpStream) {
    use std::io::Write;
    let mut out = bytes::BytesMut::new();
    ErrorBody {
        code: ErrorCode::OVERLOADED,
        message: "connection limit reached; retry later".into(),
    }
    .write_frame(0, &mut out);
    let _ = socket.write(&out);
}
