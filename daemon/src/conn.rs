//! One client connection: its socket (plain, TLS or Unix), the sans-IO
//! protocol state that speaks over it ([`ServerConnection`]: handshake, pings,
//! correlation rules, push numbering and acks, output bound, timers) and what
//! the loop and the centre agree it is (phase, session).
//!
//! Memory per idle connection is kept small on purpose: the protocol's input
//! and output buffers exist only while bytes are in flight, or for
//! [`kefu_wire::server::BUFFER_KEEP`] after the last frame received so that a busy
//! connection reuses them (reads go through the shard's shared scratch buffer): an
//! idle logged-in connection is this struct and the kernel's socket, nothing more.
//!
//! The kernel's share of a TCP connection's output is bounded too, and it always
//! has room for the goodbye (PROTOCOL.md section 5.4): [`Connection::bound_kernel_output`]
//! fixes the socket's send buffer ([`KERNEL_SEND_BUFFER`]) and lets the kernel take
//! new output only while less than [`KERNEL_UNSENT_LIMIT`] of it waits unsent
//! (`TCP_NOTSENT_LOWAT`; the kernel raises a writable event when it drains below).
//! A reader that stops therefore leaves at most about twice that limit in the
//! kernel, well inside the buffer, and the rest of its backlog with the protocol,
//! whose output bound sheds it and queues `GoAway` `SLOW_CONSUMER`. Once the
//! connection is closing, [`Connection::flush`] lifts the unsent limit, so the
//! goodbye goes into the room kept for it and reaches the peer when it reads again,
//! even after the connection was closed here.

use kefu_wire::ServerConnection;
use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};
use std::time::Instant;

/// The send buffer of a TCP connection (`SO_SNDBUF`; Linux doubles it to cover its
/// own bookkeeping). Fixed rather than auto-tuned, so that the room kept for the
/// goodbye is known: per connection the kernel holds at most this much output.
pub const KERNEL_SEND_BUFFER: usize = 256 * 1024;

/// Output the kernel of a TCP connection accepts only while less than this waits
/// unsent (`TCP_NOTSENT_LOWAT`): the kernel's share of a stalled reader's backlog
/// stays near this (plus one segment in the making), far under
/// [`KERNEL_SEND_BUFFER`], and the difference is the goodbye's room.
pub const KERNEL_UNSENT_LIMIT: usize = 64 * 1024;

/// The transport under the protocol.
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP; boxed because rustls state is large and TLS is optional.
    Tls(Box<TlsTransport>),
    /// The local admin socket.
    Unix(UnixStream),
    /// The web gateway: HTTP and a WebSocket carrying the protocol in JSON, over
    /// plain TCP or TLS (`crate::web`).
    Web(Box<WebTransport>),
}

/// A web connection's socket and its gateway state: the protocol above it reads and
/// writes binary frames, the gateway turns them into JSON over a WebSocket.
pub struct WebTransport {
    /// The socket, plain or TLS.
    pub io: WebIo,
    /// The gateway's state.
    pub web: crate::web::WebState,
}

/// The socket under a web connection.
pub enum WebIo {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS over TCP; boxed, so a plain web connection does not carry rustls' room.
    Tls(Box<TlsTransport>),
}

/// A TLS session and its socket.
pub struct TlsTransport {
    /// The socket.
    pub socket: TcpStream,
    /// rustls server state.
    pub tls: rustls::ServerConnection,
}

pub use crate::session::Phase;

/// A connection's state.
pub struct Connection {
    /// The socket.
    pub transport: Transport,
    /// The protocol over it, bytes in and out.
    pub protocol: ServerConnection,
    /// The deadline of this connection's live entry in its shard's timer
    /// queue, if it has one (other entries for it are stale and skipped).
    pub timer: Option<Instant>,
    /// Protocol phase, as the centre sees it; changed only by [`Connection::set_phase`],
    /// which keeps the protocol's logged-in state with it.
    phase: Phase,
    /// Bumped each time the slab slot is reused, so stale replies are dropped.
    pub generation: u32,
    /// Frames received and sent already added to the shard's counters (low 32
    /// bits of the protocol's totals; the counters take the difference).
    pub counted_in: u32,
    /// See `counted_in`.
    pub counted_out: u32,
    /// Whether this is the admin socket (operator authority).
    pub is_admin: bool,
    /// Interest currently registered with the poll.
    pub writable_interest: bool,
    /// The goodbye is all out and the socket's write side is shut down: the
    /// connection only reads (and discards) until the peer closes.
    pub write_shut: bool,
    /// The peer's address (TCP and TLS), for login throttling.
    pub peer: Option<std::net::IpAddr>,
    /// The session logged in on it (agent or customer), if any.
    pub session: Option<crate::session::SessionId>,
}

/// Outcome of reading from a socket.
pub enum ReadOutcome {
    /// Some bytes were read into the scratch buffer (count), maybe more remain.
    Data(usize),
    /// Nothing more to read now.
    WouldBlock,
    /// The peer closed (or the socket failed).
    Closed,
}

impl Connection {
    /// A fresh connection awaiting `Hello`, opened at `now`; the admin socket's is
    /// logged in from the start (the operator).
    pub fn new(
        transport: Transport,
        protocol: ServerConnection,
        is_admin: bool,
        now: Instant,
    ) -> Connection {
        let mut conn = Connection {
            transport,
            protocol,
            timer: None,
            phase: Phase::AwaitHello,
            generation: 0,
            counted_in: 0,
            counted_out: 0,
            is_admin,
            writable_interest: false,
            write_shut: false,
            peer: None,
            session: None,
        };
        conn.set_phase(Phase::AwaitHello, now);
        conn
    }

    /// The connection's phase, as the centre sees it.
    /// A web connection's foreign `Origin` (PROTOCOL.md 38.4); `None` otherwise.
    pub fn web_origin(&self) -> Option<std::sync::Arc<str>> {
        match &self.transport {
            Transport::Web(w) => w.web.origin(),
            _ => None,
        }
    }

    pub fn phase(&self) -> Phase {
        self.phase
    }

    /// Moves to `phase` at `now`, and tells the protocol whether the connection is
    /// now logged in (the admin socket always is, as the operator): the frame limit
    /// (small before a login, PROTOCOL.md section 2) and the login deadline follow.
    /// The one place the phase changes, so the two cannot disagree.
    pub fn set_phase(&mut self, phase: Phase, now: Instant) {
        self.phase = phase;
        let logged_in =
            self.is_admin || matches!(phase, Phase::Agent { .. } | Phase::Customer { .. });
        self.protocol.set_logged_in(logged_in, now);
    }

    /// Bounds the kernel's share of the output of a TCP or TLS connection and keeps
    /// room in it for the goodbye (module docs). Best effort: a socket that refuses
    /// the options keeps the kernel's defaults.
    pub fn bound_kernel_output(&self) {
        if let Some(socket) = self.tcp_socket() {
            let sock = socket2::SockRef::from(socket);
            let _ = sock.set_send_buffer_size(KERNEL_SEND_BUFFER);
            set_unsent_limit(socket, KERNEL_UNSENT_LIMIT);
        }
    }

    /// The TCP socket under the connection, if it is TCP or TLS.
    fn tcp_socket(&self) -> Option<&TcpStream> {
        match &self.transport {
            Transport::Tcp(s) => Some(s),
            Transport::Tls(t) => Some(&t.socket),
            Transport::Unix(_) => None,
            Transport::Web(w) => Some(w.socket()),
        }
    }

    /// Frames received and sent since the last call (for the shard's counters).
    pub fn take_frame_counts(&mut self) -> (u64, u64) {
        // Truncation intended: only the difference of the low bits matters.
        let received = self.protocol.frames_received() as u32;
        let sent = self.protocol.frames_sent() as u32;
        let counts = (
            u64::from(received.wrapping_sub(self.counted_in)),
            u64::from(sent.wrapping_sub(self.counted_out)),
        );
        (self.counted_in, self.counted_out) = (received, sent);
        counts
    }

    /// Registers the socket with a poll.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.interest();
        self.writable_interest = interest.is_writable();
        match &mut self.transport {
            Transport::Tcp(s) => registry.register(s, token, interest),
            Transport::Tls(t) => registry.register(&mut t.socket, token, interest),
            Transport::Unix(s) => registry.register(s, token, interest),
            Transport::Web(w) => registry.register(w.socket_mut(), token, interest),
        }
    }

    /// Removes the socket from a poll (before a hand-over or a close).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match &mut self.transport {
            Transport::Tcp(s) => registry.deregister(s),
            Transport::Tls(t) => registry.deregister(&mut t.socket),
            Transport::Unix(s) => registry.deregister(s),
            Transport::Web(w) => registry.deregister(w.socket_mut()),
        }
    }

    fn interest(&self) -> Interest {
        if self.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    /// Whether bytes are waiting to be written (the protocol's, or TLS records).
    pub fn wants_write(&self) -> bool {
        !self.protocol.poll_transmit().is_empty()
            || match &self.transport {
                Transport::Tls(t) => t.tls.wants_write(),
                Transport::Web(w) => w.wants_write(),
                _ => false,
            }
    }

    /// Whether a read that did not fill its buffer took everything the kernel held
    /// (plain sockets; TLS hands out plaintext record by record).
    pub fn short_read_drains(&self) -> bool {
        !matches!(self.transport, Transport::Tls(_) | Transport::Web(_))
    }

    /// Reads plaintext into the front of `buf`; `Data(n)` means `buf[..n]` holds it.
    pub fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        match &mut self.transport {
            Transport::Tcp(s) => read_plain(s, buf),
            Transport::Unix(s) => read_plain(s, buf),
            Transport::Tls(t) => read_tls(t, buf),
            Transport::Web(w) => w.read(buf),
        }
    }

    /// Reads and drops what the peer sent, until the socket would block (at most
    /// 16 reads of `scratch`): before a close, so that the kernel has no unread
    /// input to answer with a reset.
    pub fn discard_unread(&mut self, scratch: &mut [u8]) {
        for _ in 0..16 {
            match self.read(scratch) {
                ReadOutcome::Data(_) => {}
                ReadOutcome::WouldBlock | ReadOutcome::Closed => return,
            }
        }
    }

    /// Writes as much of the protocol's output as the socket takes; returns
    /// the bytes taken. Err means the socket is dead.
    ///
    /// A closing connection's goodbye may use the room the unsent limit kept
    /// free in the kernel (module docs): the limit is lifted first.
    pub fn flush(&mut self) -> io::Result<usize> {
        if self.protocol.is_closing() && !self.protocol.poll_transmit().is_empty() {
            if let Some(socket) = self.tcp_socket() {
                set_unsent_limit(socket, KERNEL_SEND_BUFFER.saturating_mul(2));
            }
        }
        let Connection {
            transport,
            protocol,
            ..
        } = self;
        match transport {
            Transport::Tcp(s) => write_plain(s, protocol),
            Transport::Unix(s) => write_plain(s, protocol),
            Transport::Tls(t) => write_tls(t, protocol),
            Transport::Web(w) => w.flush(protocol),
        }
    }

    /// Sends FIN after the bytes written so far; the socket still reads.
    ///
    /// Closing outright while the peer still sends would make the kernel
    /// answer its bytes with a reset, which can destroy the goodbye it has not
    /// read yet; so a finished connection shuts its write side, reads on and
    /// discards until the peer closes (or the closing grace ends).
    pub fn shutdown_write(&mut self) {
        let how = std::net::Shutdown::Write;
        let _ = match &mut self.transport {
            Transport::Tcp(s) => s.shutdown(how),
            Transport::Tls(t) => t.socket.shutdown(how),
            Transport::Unix(s) => s.shutdown(how),
            Transport::Web(w) => w.socket().shutdown(how),
        };
        self.write_shut = true;
    }

    /// Re-registers with write interest if (and only if) that changed.
    pub fn update_interest(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let want = self.wants_write();
        if want == self.writable_interest {
            return Ok(());
        }
        self.writable_interest = want;
        let interest = self.interest();
        match &mut self.transport {
            Transport::Tcp(s) => registry.reregister(s, token, interest),
            Transport::Tls(t) => registry.reregister(&mut t.socket, token, interest),
            Transport::Unix(s) => registry.reregister(s, token, interest),
            Transport::Web(w) => registry.reregister(w.socket_mut(), token, interest),
        }
    }
}

impl WebTransport {
    fn socket(&self) -> &TcpStream {
        match &self.io {
            WebIo::Plain(s) => s,
            WebIo::Tls(t) => &t.socket,
        }
    }

    fn socket_mut(&mut self) -> &mut TcpStream {
        match &mut self.io {
            WebIo::Plain(s) => s,
            WebIo::Tls(t) => &mut t.socket,
        }
    }

    fn wants_write(&self) -> bool {
        !self.web.down().is_empty()
            || self.web.finished()
            || matches!(&self.io, WebIo::Tls(t) if t.tls.wants_write())
    }

    /// Reads the socket into `buf` and through the gateway until protocol frames come
    /// out (handed up in `buf`) or the socket would block; answers the gateway writes
    /// meanwhile (HTTP responses, pongs) wait in its `down` for the flush.
    fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        loop {
            if self.web.has_up() {
                return ReadOutcome::Data(self.web.take_up(buf));
            }
            let outcome = match &mut self.io {
                WebIo::Plain(s) => read_plain(s, buf),
                WebIo::Tls(t) => read_tls(t, buf),
            };
            match outcome {
                ReadOutcome::Data(n) => self.web.input(buf.get(..n).unwrap_or_default()),
                other => return other,
            }
        }
    }

    /// Moves the protocol's frames through the gateway and the gateway's bytes to the
    /// socket. A gateway that has said its last word (a refusal, a close frame) ends
    /// the connection once that is out: the error makes the loop close it.
    fn flush(&mut self, protocol: &mut ServerConnection) -> io::Result<usize> {
        let mut taken = 0;
        loop {
            let out = protocol.poll_transmit();
            if !out.is_empty() {
                let n = self.web.from_protocol(out);
                protocol.consume_transmit(n);
            }
            let down = self.web.down();
            if down.is_empty() {
                break;
            }
            let n = match &mut self.io {
                WebIo::Plain(s) => write_bytes(s, down)?,
                WebIo::Tls(t) => {
                    let n = t.tls.writer().write(down)?;
                    drain_tls(t)?;
                    n
                }
            };
            self.web.consume_down(n);
            taken += n;
            if n == 0 || protocol.poll_transmit().is_empty() && self.web.down().is_empty() {
                break;
            }
        }
        if let WebIo::Tls(t) = &mut self.io {
            drain_tls(t)?;
        }
        if self.web.finished() && !matches!(&self.io, WebIo::Tls(t) if t.tls.wants_write()) {
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        Ok(taken)
    }
}

/// Writes what `bytes` the socket takes now.
fn write_bytes(s: &mut impl Write, bytes: &[u8]) -> io::Result<usize> {
    let mut written = 0;
    while let Some(rest) = bytes.get(written..).filter(|r| !r.is_empty()) {
        match s.write(rest) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(written)
}

/// Writes TLS records rustls holds until it holds none or the socket would block.
fn drain_tls(t: &mut TlsTransport) -> io::Result<()> {
    while t.tls.wants_write() {
        match t.tls.write_tls(&mut t.socket) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

fn read_plain(s: &mut impl Read, buf: &mut [u8]) -> ReadOutcome {
    loop {
        match s.read(buf) {
            Ok(0) => return ReadOutcome::Closed,
            Ok(n) => return ReadOutcome::Data(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return ReadOutcome::Closed,
        }
    }
}

fn read_tls(t: &mut TlsTransport, buf: &mut [u8]) -> ReadOutcome {
    // First hand out plaintext rustls already decrypted.
    match t.tls.reader().read(buf) {
        Ok(0) => return ReadOutcome::Closed,
        Ok(n) => return ReadOutcome::Data(n),
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(_) => return ReadOutcome::Closed,
    }
    loop {
        match t.tls.read_tls(&mut t.socket) {
            Ok(0) => return ReadOutcome::Closed,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadOutcome::WouldBlock,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => return ReadOutcome::Closed,
        }
        if t.tls.process_new_packets().is_err() {
            // rustls queued an alert; try to send it, then give up.
            let _ = t.tls.write_tls(&mut t.socket);
            return ReadOutcome::Closed;
        }
        match t.tls.reader().read(buf) {
            Ok(0) => return ReadOutcome::Closed,
            Ok(n) => return ReadOutcome::Data(n),
            // Handshake records only: the handshake reply must go out now.
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if t.tls.wants_write() {
                    let _ = t.tls.write_tls(&mut t.socket);
                }
            }
            Err(_) => return ReadOutcome::Closed,
        }
    }
}

/// Moves plaintext into rustls and records to the socket until the protocol's
/// output is all out or the socket would block: rustls takes what its buffer limit
/// allows, the rest stays with the protocol, which knows where its frames start.
fn write_tls(t: &mut TlsTransport, protocol: &mut ServerConnection) -> io::Result<usize> {
    let mut taken = 0;
    loop {
        let out = protocol.poll_transmit();
        let n = if out.is_empty() {
            0
        } else {
            t.tls.writer().write(out)?
        };
        protocol.consume_transmit(n);
        taken += n;
        while t.tls.wants_write() {
            match t.tls.write_tls(&mut t.socket) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(taken),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        // The records are all out: go on while rustls takes more plaintext.
        if n == 0 || protocol.poll_transmit().is_empty() {
            return Ok(taken);
        }
    }
}

/// Sets `TCP_NOTSENT_LOWAT`: the kernel takes new output only while less than
/// `bytes` wait unsent, and says writable again when it drains below. Best effort.
fn set_unsent_limit(socket: &TcpStream, bytes: usize) {
    use std::os::fd::AsRawFd;
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: a plain setsockopt on a descriptor this connection owns, with a
    // pointer to a live c_int and its exact size.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            (&value as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

fn write_plain(s: &mut impl Write, protocol: &mut ServerConnection) -> io::Result<usize> {
    let mut written = 0;
    loop {
        let out = protocol.poll_transmit();
        if out.is_empty() {
            return Ok(written);
        }
        match s.write(out) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => {
                // The protocol drops its buffer once it is all written.
                protocol.consume_transmit(n);
                written += n;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(written),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_idle_connection_is_small() {
        // The per-connection budget is under 1 KiB of user-space memory; the
        // struct (inline in the slab) is most of it. 128 bytes before the
        // protocol moved into `ServerConnection` (224 bytes of its own, no
        // heap while idle: wire/src/server.rs tests that); 312 with it; 328 with
        // the session number (16, for the customer's boxed identity's 8) and the
        // protocol's box for a resumable session's kept pushes (8); 344 with the
        // protocol's login deadline (16) and logged-in flag (in padding), which bound
        // what an unauthenticated peer may cost; 232 with the protocol's buffers,
        // cursors and event queue boxed, present only while the connection is busy.
        let size = std::mem::size_of::<super::Connection>();
        assert!(size <= 232, "Connection grew to {size} bytes");
    }
}
