//! One client connection: its socket (plain, TLS or Unix), its protocol phase
//! and its byte buffers.
//!
//! Memory per idle connection is kept small on purpose: input and output
//! buffers exist only while bytes are in flight (reads go through the shard's
//! shared scratch buffer), so an idle logged-in connection is this struct and
//! the kernel's socket, nothing more.

use mio::net::{TcpStream, UnixStream};
use mio::{Interest, Registry, Token};
use std::io::{self, Read, Write};

/// The transport under the protocol.
pub enum Transport {
    /// Plain TCP.
    Tcp(TcpStream),
    /// TLS over TCP; boxed because rustls state is large and TLS is optional.
    Tls(Box<TlsTransport>),
    /// The local admin socket.
    Unix(UnixStream),
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
    /// Protocol phase.
    pub phase: Phase,
    /// Bumped each time the slab slot is reused, so stale replies are dropped.
    pub generation: u32,
    /// Whether this is the admin socket (operator authority).
    pub is_admin: bool,
    /// Unparsed input (a partial frame), only while there is some.
    pub input: Option<Vec<u8>>,
    /// Unsent output, only while there is some.
    pub output: Option<Vec<u8>>,
    /// Shard clock (seconds) when the last frame arrived.
    pub last_seen: u32,
    /// Number of the last push sent.
    pub push_seq: u64,
    /// Interest currently registered with the poll.
    pub writable_interest: bool,
    /// The peer's address (TCP and TLS), for login throttling.
    pub peer: Option<std::net::IpAddr>,
    /// The customer, on a customer connection (boxed: most connections are agents).
    pub customer: Option<Box<crate::session::CustomerLogin>>,
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
    /// A fresh connection awaiting `Hello`.
    pub fn new(transport: Transport, is_admin: bool, now: u32) -> Connection {
        Connection {
            transport,
            phase: Phase::AwaitHello,
            generation: 0,
            is_admin,
            input: None,
            output: None,
            last_seen: now,
            push_seq: 0,
            writable_interest: false,
            peer: None,
            customer: None,
        }
    }

    /// Registers the socket with a poll.
    pub fn register(&mut self, registry: &Registry, token: Token) -> io::Result<()> {
        let interest = self.interest();
        self.writable_interest = interest.is_writable();
        match &mut self.transport {
            Transport::Tcp(s) => registry.register(s, token, interest),
            Transport::Tls(t) => registry.register(&mut t.socket, token, interest),
            Transport::Unix(s) => registry.register(s, token, interest),
        }
    }

    /// Removes the socket from a poll (before a hand-over or a close).
    pub fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        match &mut self.transport {
            Transport::Tcp(s) => registry.deregister(s),
            Transport::Tls(t) => registry.deregister(&mut t.socket),
            Transport::Unix(s) => registry.deregister(s),
        }
    }

    fn interest(&self) -> Interest {
        if self.wants_write() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        }
    }

    /// Whether bytes are waiting to be written.
    pub fn wants_write(&self) -> bool {
        self.output.as_ref().is_some_and(|o| !o.is_empty())
            || matches!(&self.transport, Transport::Tls(t) if t.tls.wants_write())
    }

    /// Bytes of output not yet handed to the socket.
    pub fn pending_output(&self) -> usize {
        self.output.as_ref().map_or(0, Vec::len)
    }

    /// Appends an encoded frame to the output buffer.
    pub fn queue(&mut self, bytes: &[u8]) {
        self.output
            .get_or_insert_with(|| Vec::with_capacity(bytes.len().max(256)))
            .extend_from_slice(bytes);
    }

    /// Reads plaintext into the front of `buf`; `Data(n)` means `buf[..n]` holds it.
    pub fn read(&mut self, buf: &mut [u8]) -> ReadOutcome {
        match &mut self.transport {
            Transport::Tcp(s) => read_plain(s, buf),
            Transport::Unix(s) => read_plain(s, buf),
            Transport::Tls(t) => read_tls(t, buf),
        }
    }

    /// Writes as much output as the socket takes. Err means the socket is dead.
    pub fn flush(&mut self) -> io::Result<()> {
        let Connection {
            transport, output, ..
        } = self;
        match transport {
            Transport::Tcp(s) => write_plain(s, output),
            Transport::Unix(s) => write_plain(s, output),
            Transport::Tls(t) => {
                if let Some(out) = output.as_mut() {
                    if !out.is_empty() {
                        let n = t.tls.writer().write(out)?;
                        out.drain(..n);
                    }
                }
                while t.tls.wants_write() {
                    match t.tls.write_tls(&mut t.socket) {
                        Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => return Err(e),
                    }
                }
                release_if_empty(output);
                Ok(())
            }
        }
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
        }
    }
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

fn write_plain(s: &mut impl Write, output: &mut Option<Vec<u8>>) -> io::Result<()> {
    if let Some(out) = output.as_mut() {
        let mut written = 0;
        while written < out.len() {
            match s.write(&out[written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        out.drain(..written);
    }
    release_if_empty(output);
    Ok(())
}

/// Drops an emptied buffer so idle connections hold no heap memory.
fn release_if_empty(buf: &mut Option<Vec<u8>>) {
    if buf.as_ref().is_some_and(Vec::is_empty) {
        *buf = None;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_idle_connection_is_small() {
        // The per-connection budget is under 1 KiB of user-space memory; the
        // struct (boxed in the slab) is most of it.
        let size = std::mem::size_of::<super::Connection>();
        assert!(size <= 128, "Connection grew to {size} bytes");
    }
}
