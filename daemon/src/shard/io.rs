//! The byte side of a shard: accepting, reading, writing, closing, and the
//! connection timers. The protocol itself (handshake, pings, correlation
//! rules, push numbering and acks, output bound, timeouts) is each
//! connection's [`ServerConnection`]; this file moves bytes between it and
//! the socket and hands its requests to the centre.

use super::overload::Admit;
use super::sessions::{departed, session_of};
use super::{
    Listener, Shard, ShardMsg, ACCEPTS_PER_TURN, ACCEPT_RETRY, FIRST_CONN, READ_BUDGET_PER_TURN,
};
use crate::centre::{Outgoing, ReplyTo};
use crate::conn::{Connection, Phase, ReadOutcome, TlsTransport, Transport};
use crate::log;
use crate::session::{Caller, Flow as Control, SessionId};
use kefu_wire::{Body, ErrorBody, ErrorCode, ServerConnection, ServerEvent};
use mio::Token;
use std::cmp::Reverse;

impl Shard {
    /// Accepts what the listener has, at most `ACCEPTS_PER_TURN` connections a turn: a
    /// crowd arriving together (a reconnect storm) is taken over several short turns,
    /// with the established connections served in between, not in one long one.
    pub(super) fn accept_tcp(&mut self, tls: bool) {
        let listener = if tls { Listener::Tls } else { Listener::Tcp };
        self.accept_backlog.remove(listener);
        for _ in 0..ACCEPTS_PER_TURN {
            let (socket, peer) = match self.accept_client(listener) {
                Accepted::Socket(socket, peer) => (socket, peer),
                Accepted::Next => continue,
                Accepted::Stop => return,
            };
            let transport = if tls {
                let Some(tls) = self.tls_session(socket) else {
                    continue;
                };
                Transport::Tls(tls)
            } else {
                Transport::Tcp(socket)
            };
            self.install_accepted(transport, peer);
        }
        self.accept_backlog.insert(listener);
    }

    /// One accept on a client listener (plain, TLS or web), nodelay set, refused
    /// `OVERLOADED` over the shard's connection limit.
    pub(super) fn accept_client(&mut self, which: Listener) -> Accepted {
        let listener = match which {
            Listener::Tcp => self.listeners.tcp.as_ref(),
            Listener::Tls => self.listeners.tls.as_ref(),
            Listener::Web => self.listeners.web.as_ref(),
            Listener::Admin => None,
        };
        let Some(listener) = listener else {
            return Accepted::Stop;
        };
        match listener.accept() {
            Ok((socket, peer)) => {
                let _ = socket.set_nodelay(true);
                if self.over_connection_limit() {
                    refuse_overloaded(socket);
                    return Accepted::Next;
                }
                Accepted::Socket(socket, peer)
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Accepted::Stop,
            Err(e) if is_transient_accept_error(&e) => Accepted::Next,
            Err(e) => {
                self.accept_failed(&e);
                Accepted::Stop
            }
        }
    }

    /// A server TLS session over an accepted socket; `None` (logged) when rustls cannot
    /// start one, and the socket is dropped.
    pub(super) fn tls_session(&self, socket: mio::net::TcpStream) -> Option<Box<TlsTransport>> {
        let config = self.tls_config.clone()?;
        match rustls::ServerConnection::new(config) {
            Ok(tls) => Some(Box::new(TlsTransport { socket, tls })),
            Err(e) => {
                log::warn(self.id, format_args!("tls session setup failed: {e}"));
                None
            }
        }
    }

    /// Counts an accepted client connection and installs it with its kernel output bounded.
    pub(super) fn install_accepted(&mut self, transport: Transport, peer: std::net::SocketAddr) {
        self.counters.add_accepted();
        let mut conn = Connection::new(transport, self.new_protocol(), false, self.now);
        conn.bound_kernel_output();
        conn.peer = Some(peer.ip());
        self.install(conn);
    }

    /// Accepts operator connections, at most `ACCEPTS_PER_TURN` a turn (see `accept_tcp`).
    pub(super) fn accept_admin(&mut self) {
        self.accept_backlog.remove(Listener::Admin);
        for _ in 0..ACCEPTS_PER_TURN {
            let Some(listener) = self.listeners.admin.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((socket, _)) => {
                    let conn = Connection::new(
                        Transport::Unix(socket),
                        self.new_protocol(),
                        true,
                        self.now,
                    );
                    self.install(conn);
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if is_transient_accept_error(&e) => continue,
                Err(e) => {
                    self.accept_failed(&e);
                    return;
                }
            }
        }
        self.accept_backlog.insert(Listener::Admin);
    }

    /// Goes on accepting on the listeners that still had connections waiting at the end
    /// of the last turn (no new readiness event comes for those: the listeners are
    /// edge-triggered).
    pub(super) fn accept_leftovers(&mut self) {
        let backlog = self.accept_backlog;
        if backlog.contains(Listener::Tcp) {
            self.accept_tcp(false);
        }
        if backlog.contains(Listener::Tls) {
            self.accept_tcp(true);
        }
        if backlog.contains(Listener::Admin) {
            self.accept_admin();
        }
        if backlog.contains(Listener::Web) {
            self.accept_web();
        }
    }

    /// `accept` failed (EMFILE, ENFILE, ENOMEM…): the connections still in the
    /// backlog raise no new readiness event, so the listeners are tried again on a
    /// timer (`ACCEPT_RETRY`) until it works. Logged once per streak.
    pub(super) fn accept_failed(&mut self, e: &std::io::Error) {
        if !self.accept_failing {
            self.accept_failing = true;
            log::warn(
                self.id,
                format_args!(
                    "accept failed: {e}; retrying every {} ms (raise LimitNOFILE if it \
                     says too many open files)",
                    ACCEPT_RETRY.as_millis()
                ),
            );
        }
        if self.accept_retry.is_none() {
            self.accept_retry = self.now.checked_add(ACCEPT_RETRY);
        }
    }

    pub(super) fn new_protocol(&self) -> ServerConnection {
        ServerConnection::new(std::sync::Arc::clone(&self.server_config), self.now)
    }

    pub(super) fn over_connection_limit(&self) -> bool {
        let total: u64 = self.shared.counters.iter().map(|c| c.connections()).sum();
        total >= self.settings.max_connections as u64
    }

    /// Puts a connection in the slab, registers it and arms its timer.
    pub(super) fn install(&mut self, mut conn: Connection) -> Option<usize> {
        // A timer entry belongs to the shard that queued it.
        conn.timer = None;
        let (idx, _) = self.conns.insert(conn);
        let registry = self.poll.registry();
        let conn = self.conns.get_any(idx)?;
        if let Err(e) = conn.register(registry, Token(idx + FIRST_CONN)) {
            log::warn(self.id, format_args!("register failed: {e}"));
            self.conns.remove(idx);
            return None;
        }
        self.counters.connection_opened();
        self.schedule(idx);
        Some(idx)
    }

    /// A connection handed over by another shard: install it and go on with
    /// its buffered input (which starts with the request it was handed over for).
    pub(super) fn adopt(&mut self, conn: Connection) {
        if self.shutting_down {
            return;
        }
        if let Some(idx) = self.install(conn) {
            self.counters.add_adopted();
            self.process_events(idx);
            // Bytes that arrived during the move raised no event here yet.
            self.unfinished.push(idx);
            self.mark_dirty(idx);
        }
    }

    /// Handles what the connection has buffered, then reads its socket within
    /// the budgets, handling what arrives. A connection left with input (bytes or
    /// requests over a budget) is served first next turn and not read meanwhile.
    ///
    /// `drain`: read until the socket would block. Otherwise a plain socket's short
    /// read ends the reading, saving the read that would only say `EAGAIN` (one per
    /// readable connection per turn): the sockets are edge-triggered, and bytes that
    /// arrive later raise a new event. A peer's close or an error always drains, so
    /// that the end of the stream is seen now.
    pub(super) fn on_readable(&mut self, idx: usize, drain: bool) {
        // Input buffered before (an adopted or resumed connection) goes first.
        self.process_events(idx);
        if self.turn_budget == 0 || !self.budget.may_poll() || self.centre.backlogged() {
            // This turn has done enough (or the batch in flight has enough behind it);
            // the connection is served first next turn.
            self.unfinished.push(idx);
            return;
        }
        let mut budget = READ_BUDGET_PER_TURN.min(self.turn_budget);
        let mut scratch = std::mem::take(&mut self.scratch);
        let now = self.now;
        while let Some(conn) = self.conns.get_any(idx) {
            if conn.protocol.is_paused() {
                // Input waits in the kernel until the login completes.
                break;
            }
            let drains = !drain && conn.short_read_drains();
            match conn.read(&mut scratch[..]) {
                ReadOutcome::Data(n) => {
                    let drained = drains && n < scratch.len();
                    self.counters.add_bytes_in(n as u64);
                    // A closing connection's protocol discards it: a closing
                    // peer cannot fill our buffers, nor the socket's.
                    conn.protocol
                        .handle_input(scratch.get(..n).unwrap_or_default(), now);
                    self.process_events(idx);
                    budget = budget.saturating_sub(n);
                    self.turn_budget = self.turn_budget.saturating_sub(n);
                    if budget == 0 || !self.budget.may_poll() || self.centre.backlogged() {
                        self.unfinished.push(idx);
                        break;
                    }
                    if drained {
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

    /// Acts on every event the connection has for us: requests go to the
    /// centre (within the turn's request budget, `overload.rs`); a goodbye (said
    /// by us or forced by the peer) closes it.
    pub(super) fn process_events(&mut self, idx: usize) {
        loop {
            let Some(conn) = self.conns.get_any(idx) else {
                return;
            };
            if !conn.protocol.is_closing() && (!self.budget.may_poll() || self.centre.backlogged())
            {
                // Over the turn's budget (or behind a full pipeline, `centre/pipeline.rs`):
                // the rest waits, and so does the socket.
                self.unfinished.push(idx);
                break;
            }
            let Some(event) = conn.protocol.poll_event() else {
                break;
            };
            match event {
                ServerEvent::HandshakeDone { .. } => {
                    if conn.phase() == Phase::AwaitHello {
                        conn.set_phase(Phase::Ready, self.now);
                    }
                }
                ServerEvent::Request {
                    correlation,
                    request,
                } => {
                    let reply = ReplyTo {
                        shard: self.id,
                        conn: idx,
                        generation: conn.generation,
                        correlation,
                    };
                    if is_login(&request) && self.centre.turn_logins() >= super::LOGINS_PER_TURN {
                        // The turn's logins are spent: this one waits for the next turn.
                        conn.protocol.unread_request();
                        self.unfinished.push(idx);
                        break;
                    }
                    match self.budget.admit(conn.is_admin) {
                        Admit::Serve => {}
                        Admit::Refuse => {
                            self.refuse_overloaded(reply);
                            continue;
                        }
                        Admit::Defer => {
                            conn.protocol.unread_request();
                            self.unfinished.push(idx);
                            break;
                        }
                    }
                    match self.on_request(idx, reply, request) {
                        Control::Continue => {}
                        Control::Pause => {
                            if let Some(conn) = self.conns.get_any(idx) {
                                conn.protocol.pause();
                            }
                        }
                        Control::HandOver(shard) => {
                            self.hand_over(idx, shard);
                            return;
                        }
                    }
                }
                ServerEvent::PushAck(_) => {}
                ServerEvent::Fatal { protocol_error, .. } => {
                    if protocol_error {
                        self.counters.add_protocol_error();
                    }
                    self.start_closing(idx);
                }
                ServerEvent::GoAway { code, message } => {
                    if code == ErrorCode::SLOW_CONSUMER {
                        self.counters.add_slow_consumer();
                        let peer = conn.peer.map_or_else(|| "local".into(), |p| p.to_string());
                        log::warn(
                            self.id,
                            format_args!(
                                "connection {idx} from {peer} ({:?}) closed as a slow consumer: {message}",
                                conn.phase()
                            ),
                        );
                    }
                    self.start_closing(idx);
                }
                ServerEvent::HandshakeTimeout => self.start_closing(idx),
            }
        }
        self.mark_dirty(idx);
    }

    /// Answers a request `OVERLOADED` without looking at it: the shard is behind
    /// (`overload.rs`). Released with the turn's other answers; nothing changed.
    fn refuse_overloaded(&mut self, reply: ReplyTo) {
        self.counters.add_overloaded();
        self.centre.queue(Outgoing::Answer {
            reply,
            result: Err(ErrorBody {
                code: ErrorCode::OVERLOADED,
                message: "server busy; nothing was done, retry later".into(),
            }),
        });
    }

    /// Moves a connection to the shard that owns its account, with the request
    /// just polled put back in front of its input to be handled there.
    fn hand_over(&mut self, idx: usize, shard: usize) {
        let unread = self
            .conns
            .get_any(idx)
            .is_some_and(|c| c.protocol.unread_request());
        if !unread {
            // Cannot happen for a request just polled; should it, the peer
            // gets an orderly close rather than a request silently lost.
            log::warn(self.id, format_args!("hand-over without its request"));
            if let Some(c) = self.conns.get_any(idx) {
                c.protocol
                    .go_away(ErrorCode::INTERNAL, "connection could not move");
            }
            self.start_closing(idx);
            return;
        }
        let Some(mut conn) = self.conns.remove(idx) else {
            return;
        };
        // Its output goes with it, into the other shard's account.
        self.output.remove(idx);
        let _ = conn.deregister(self.poll.registry());
        self.count_frames(&mut conn);
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

    /// Hands a request to the centre with the connection it came from, then
    /// applies what the centre decided about that connection.
    fn on_request(&mut self, idx: usize, reply: ReplyTo, request: kefu_wire::Request) -> Control {
        let Some(conn) = self.conns.get_any(idx) else {
            return Control::Pause;
        };
        let caller = Caller {
            conn: idx,
            generation: conn.generation,
            is_admin: conn.is_admin,
            phase: conn.phase(),
            peer: conn.peer,
            session: conn.session,
            web_origin: conn.web_origin(),
        };
        let flow = self.centre.handle_request(&caller, reply, request);
        self.apply_conn_updates();
        flow
    }

    /// The connection is going: whoever was logged in on it goes offline now
    /// (its goodbye may take a while to leave).
    pub(super) fn start_closing(&mut self, idx: usize) {
        let Some(conn) = self.conns.get_any(idx) else {
            return;
        };
        let (was, generation) = (conn.phase(), conn.generation);
        if was != Phase::Closing {
            conn.set_phase(Phase::Closing, self.now);
            let attached = self.attached.get(&session_of(conn)) == Some(&(idx, generation));
            let departed = departed(conn, attached);
            if let (Some(d), true) = (&departed, attached) {
                self.attached.remove(&d.session);
            }
            self.centre.connection_gone(idx, generation, was, departed);
        }
        self.mark_dirty(idx);
    }

    /// After a frame was queued outside `process_events` (an answer, a push):
    /// the output or push-ack bound may have made the connection say goodbye.
    pub(super) fn after_output(&mut self, idx: usize) {
        let closing = self
            .conns
            .get_any(idx)
            .is_some_and(|c| c.protocol.is_closing());
        if closing {
            // A closing connection yields only its goodbye events, never frames.
            self.process_events(idx);
        } else {
            self.mark_dirty(idx);
        }
    }

    /// The connection of a session the centre has ended, detached from it: closing the
    /// connection then ends nothing more, and it is `Ready` again unless closing.
    fn detach_ended(&mut self, session: SessionId) -> Option<(usize, u32)> {
        let (conn, generation) = self.attached.remove(&session)?;
        if let Some(c) = self.conns.get_mut(conn, generation) {
            c.session = None;
            if c.phase() != Phase::Closing {
                c.set_phase(Phase::Ready, self.now);
            }
        }
        Some((conn, generation))
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
                let Some(conn) = self.conns.get_mut(reply.conn, reply.generation) else {
                    return;
                };
                conn.protocol.respond(reply.correlation, result);
                self.after_output(reply.conn);
            }
            Outgoing::Push { account, to, event } => {
                let targets = self.centre.recipients(account, &to);
                let mut event = Some(event);
                let last = targets.len().saturating_sub(1);
                for (i, session) in targets.into_iter().enumerate() {
                    // The last recipient takes the event itself, the others a copy.
                    let this = if i == last {
                        event.take()
                    } else {
                        event.clone()
                    };
                    let Some(this) = this else {
                        break;
                    };
                    self.push_to(session, this);
                }
            }
            Outgoing::GoAway {
                conn,
                generation,
                code,
                message,
            } => {
                let Some(c) = self.conns.get_mut(conn, generation) else {
                    return;
                };
                c.protocol.go_away(code, message);
                self.start_closing(conn);
            }
            Outgoing::Redirect {
                to,
                code,
                address,
                message,
            } => {
                let target = match to {
                    crate::centre::RedirectWho::Conn(conn, generation) => Some((conn, generation)),
                    crate::centre::RedirectWho::Session(session) => self.detach_ended(session),
                };
                let Some((conn, generation)) = target else {
                    return;
                };
                let Some(c) = self.conns.get_mut(conn, generation) else {
                    return;
                };
                c.protocol.go_away_to(code, message, address);
                self.start_closing(conn);
            }
            Outgoing::EndSession {
                session,
                code,
                message,
            } => {
                let Some((conn, generation)) = self.detach_ended(session) else {
                    return;
                };
                let Some(c) = self.conns.get_mut(conn, generation) else {
                    return;
                };
                c.protocol.go_away(code, message);
                self.start_closing(conn);
            }
            Outgoing::Attach { session, reply } => self.attach(session, reply),
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
            Outgoing::Call { shard, call } => {
                let sent = self
                    .links
                    .get(shard)
                    .is_some_and(|link| link.send(ShardMsg::Centre(call)));
                if !sent {
                    log::warn(self.id, format_args!("shard {shard} is gone; call dropped"));
                }
            }
        }
    }

    /// Writes what each touched connection has to say, closes the finished
    /// ones and re-arms the timers of the rest.
    pub(super) fn flush_dirty(&mut self) {
        let mut dirty = std::mem::take(&mut self.dirty);
        dirty.sort_unstable();
        dirty.dedup();
        let now = self.now;
        for idx in dirty.drain(..) {
            let Some(conn) = self.conns.get_any(idx) else {
                continue;
            };
            if conn.protocol.is_closing() && !conn.protocol.is_closed() {
                // Starts the closing grace (or ends it, when it has passed).
                if conn.protocol.poll_timeout().is_some_and(|t| t <= now) {
                    conn.protocol.handle_timeout(now);
                    if conn.protocol.is_closed() {
                        // The peer did not take its goodbye in time.
                        self.close(idx);
                        continue;
                    }
                }
            }
            let had_output = conn.writable_interest;
            let result = conn.flush();
            if let Ok(n) = result {
                self.counters.add_bytes_out(n as u64);
            }
            let Some(conn) = self.conns.get_any(idx) else {
                continue;
            };
            if result.is_err() {
                self.close(idx);
                continue;
            }
            // The daemon-wide output budget's account (`budget.rs`): only connections
            // that hold output, or held it until now, touch it.
            let pending = conn.protocol.poll_transmit().len();
            if had_output || pending > 0 {
                let taken = result.as_ref().map_or(0, |n| *n);
                self.output
                    .update(idx, conn.generation, pending, taken, now);
            }
            let finished = conn.protocol.is_closed() && !conn.wants_write();
            if finished && self.shutting_down {
                // The daemon is going: no lingering for peers that stay.
                self.close(idx);
                continue;
            }
            if finished && !conn.write_shut {
                // The goodbye is out: FIN behind it, then read until the peer
                // closes, for one closing grace at most (this entry replaces
                // any earlier one).
                conn.shutdown_write();
                if let Some(until) = now.checked_add(self.server_config.closing_grace) {
                    conn.timer = Some(until);
                    self.timers.push(Reverse((until, idx, conn.generation)));
                }
            }
            if let Err(e) = conn.update_interest(self.poll.registry(), Token(idx + FIRST_CONN)) {
                log::warn(self.id, format_args!("reregister failed: {e}"));
                self.close(idx);
                continue;
            }
            self.count_frames_of(idx);
            self.schedule(idx);
        }
        self.dirty = dirty;
    }

    /// Queues a timer entry for the connection when its next deadline is
    /// earlier than the one it has queued (a later one is found when the
    /// earlier entry fires: one entry per connection, not one per frame).
    pub(super) fn schedule(&mut self, idx: usize) {
        let grace = self.server_config.closing_grace;
        let now = self.now;
        let Some(conn) = self.conns.get_any(idx) else {
            return;
        };
        let want = if conn.write_shut {
            // Lingering: its deadline was set when the write side shut.
            return;
        } else if conn.protocol.is_closed() {
            // TLS records still wait for the peer: not forever.
            now.checked_add(grace)
        } else {
            // The protocol's timers, and when a busy connection's kept buffers go back.
            (conn.protocol.poll_timeout().into_iter())
                .chain(conn.protocol.buffers_release_at())
                .min()
        };
        let Some(want) = want else {
            return;
        };
        if conn.timer.is_none_or(|t| want < t) {
            conn.timer = Some(want);
            self.timers.push(Reverse((want, idx, conn.generation)));
        }
    }

    /// Runs the connection timers that are due: handshake and idle timeouts,
    /// closing grace.
    pub(super) fn run_timers(&mut self) {
        let now = self.now;
        while let Some(&Reverse((at, idx, generation))) = self.timers.peek() {
            if at > now {
                break;
            }
            self.timers.pop();
            let Some(conn) = self.conns.get_mut(idx, generation) else {
                continue;
            };
            if conn.timer != Some(at) {
                // Superseded by an earlier entry.
                continue;
            }
            conn.timer = None;
            if conn.protocol.is_closed() {
                // Lingering past the grace.
                self.close(idx);
                continue;
            }
            let protocol_due = conn.protocol.poll_timeout().is_some_and(|t| t <= now);
            let release_due = conn.protocol.buffers_release_at().is_some_and(|t| t <= now);
            if release_due && !protocol_due {
                // Only a busy connection's kept buffers go back: nothing to say or
                // write, so the connection is not flushed for it.
                conn.protocol.handle_timeout(now);
                self.schedule(idx);
                continue;
            }
            conn.protocol.handle_timeout(now);
            // Raises the timeout's goodbye, if it was due; re-arms either way.
            self.process_events(idx);
            if self
                .conns
                .get_any(idx)
                .is_some_and(|c| c.protocol.is_closed())
            {
                // Closed without a word (handshake timeout) or the closing
                // grace ended: nothing is left to say.
                self.close(idx);
            }
        }
    }

    /// When the next connection timer is due, if any.
    pub(super) fn next_timer(&self) -> Option<std::time::Instant> {
        self.timers.peek().map(|Reverse((at, _, _))| *at)
    }

    fn count_frames_of(&mut self, idx: usize) {
        if let Some(conn) = self.conns.get_any(idx) {
            let (received, sent) = conn.take_frame_counts();
            self.counters.add_frames_in(received);
            self.counters.add_frames_out(sent);
        }
    }

    fn count_frames(&self, conn: &mut Connection) {
        let (received, sent) = conn.take_frame_counts();
        self.counters.add_frames_in(received);
        self.counters.add_frames_out(sent);
    }

    /// Closes a connection now. One that said goodbye first reads and drops what
    /// the peer sent meanwhile: closing with unread input makes the kernel reset
    /// the connection, which would destroy the goodbye still waiting in its
    /// buffer for a peer that reads late.
    pub(super) fn close(&mut self, idx: usize) {
        let Some(mut conn) = self.conns.remove(idx) else {
            return;
        };
        self.output.remove(idx);
        if conn.protocol.is_closing() {
            conn.discard_unread(&mut self.scratch);
        }
        let _ = conn.deregister(self.poll.registry());
        self.count_frames(&mut conn);
        let attached = self.attached.get(&session_of(&conn)) == Some(&(idx, conn.generation));
        let departed = departed(&mut conn, attached);
        if let (Some(d), true) = (&departed, attached) {
            self.attached.remove(&d.session);
        }
        self.centre
            .connection_gone(idx, conn.generation, conn.phase(), departed);
        self.counters.connection_closed();
    }
}

/// Best effort: tell a connection over the limit why, then drop it.
/// What one accept on a client listener gave.
pub(super) enum Accepted {
    /// A connection to install.
    Socket(mio::net::TcpStream, std::net::SocketAddr),
    /// Nothing to install (refused, or a transient error): try the next.
    Next,
    /// The listener has nothing more this turn (or failed).
    Stop,
}

pub(super) fn refuse_overloaded(mut socket: mio::net::TcpStream) {
    use std::io::Write;
    let mut out = bytes::BytesMut::new();
    ErrorBody {
        code: ErrorCode::OVERLOADED,
        message: "connection limit reached; retry later".into(),
    }
    .write_frame(0, &mut out);
    let _ = socket.write(&out);
}

/// An `accept` error about one connection, not the listener: try the next one.
pub(super) fn is_transient_accept_error(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::Interrupted | std::io::ErrorKind::ConnectionAborted
    )
}

/// Whether a request may complete a login in the turn it is served (a session opens).
fn is_login(request: &kefu_wire::Request) -> bool {
    use kefu_wire::Request as R;
    matches!(
        request,
        R::Login { .. }
            | R::Resume { .. }
            | R::CustomerLogin { .. }
            | R::VisitorLogin { .. }
            | R::ResumeSession { .. }
            | R::LoginReadOnly { .. }
    )
}
